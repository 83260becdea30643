"""Fast creation of test content (admin only): nested collections of assets whose formats have real files."""
from __future__ import annotations

import hashlib
from typing import Any

from .blobs import Blobs
from .model import Store, blob_key

DEFAULT_FORMATS = {"ORIGINAL": ["LL"], "PPRO_PROXY": ["LL"]}
MAX_SEED_ASSETS = 200_000
SUFFIX = {"ORIGINAL": ".mov", "PPRO_PROXY": "_proxy.mp4", "EDIT_PROXY": "_edit.mp4"}


def content(asset_id: str, fmt: str, size: int) -> bytes:
    """Deterministic bytes for one asset's format (different per asset, so a mix-up would show)."""
    block = hashlib.sha256(f"{asset_id}/{fmt}".encode()).digest()
    return (block * (size // len(block) + 1))[:size]


class Seeder:
    """Creates the tree described by a seed spec (see README) and writes every file's bytes."""

    def __init__(self, store: Store, blobs: dict[str, Blobs], aliases: dict[str, str]):
        self.store, self.blobs, self.aliases = store, blobs, aliases

    def storage_id(self, ref: str) -> str:
        sid = self.aliases.get(str(ref).upper(), ref)
        self.store.storage(sid)
        return sid

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        formats = spec.get("formats") or DEFAULT_FORMATS
        if not isinstance(formats, dict) or not all(isinstance(v, list) for v in formats.values()):
            raise ValueError("formats must map a format name to a list of storages")
        self.formats = {name: [self.storage_id(s) for s in where] for name, where in formats.items()}
        self.size = int(spec.get("file_size", 256))
        if not 0 <= self.size <= 64 * 1024 * 1024:
            raise ValueError("file_size must be between 0 and 64 MiB")
        self.checksum = bool(spec.get("checksum", True))
        self.prefix = str(spec.get("title_prefix", "asset"))
        self.count = 0
        self.all: list[str] = []
        if _count(spec) > MAX_SEED_ASSETS:
            raise ValueError(f"at most {MAX_SEED_ASSETS} assets per seed")
        loose = self._assets(spec.get("assets", 0), None)
        cols = [self._collection(c, None) for c in spec.get("collections", [])]
        return {"asset_ids": loose, "collections": cols, "all_asset_ids": self.all,
                "storages": {k: v for k, v in self.aliases.items()}}

    def _collection(self, spec: dict[str, Any], parent: str | None) -> dict[str, Any]:
        col = self.store.add_collection(spec.get("title") or f"collection {len(self.store.collections) + 1}",
                                        parent_id=parent)
        # iconik lists sub-collections and assets in one contents list; put sub-collections first, then assets,
        # unless the spec asks to interleave (exercise recursion mid-page).
        subs: list[dict[str, Any]] = []
        assets: list[str] = []
        if spec.get("interleave"):
            kids = list(spec.get("collections", []))
            n = spec.get("assets", 0)
            n = len(n) if isinstance(n, list) else int(n)
            for i in range(max(n, len(kids))):
                if i < n:
                    assets += self._assets(1, col["id"])
                if i < len(kids):
                    subs.append(self._collection(kids[i], col["id"]))
        else:
            subs = [self._collection(c, col["id"]) for c in spec.get("collections", [])]
            assets = self._assets(spec.get("assets", 0), col["id"])
        return {"id": col["id"], "title": col["title"], "asset_ids": assets, "collections": subs}

    def _assets(self, what: int | list, collection_id: str | None) -> list[str]:
        titles = what if isinstance(what, list) else [None] * int(what)
        out = []
        for title in titles:
            self.count += 1
            asset = self.store.add_asset(title or f"{self.prefix} {self.count:05d}", collection_id=collection_id)
            for fmt_name, where in self.formats.items():
                fmt = self.store.add_format(asset["id"], fmt_name)
                name = f"{_safe(asset['title'])}{SUFFIX.get(fmt_name, '.' + fmt_name.lower())}"
                data = content(asset["id"], fmt_name, self.size)
                for sid in where:
                    fs = self.store.add_file_set(asset["id"], fmt["id"], sid, name,
                                                 f"{asset['id']}/{fmt_name.lower()}")
                    rec = self.store.add_file(fs, name, size=None, checksum=None, status="OPEN",
                                              storage_method=self.store.storages[sid]["method"])
                    size, md5 = self.blobs[sid].write(blob_key(rec), [data])
                    rec.update(size=size, checksum=md5 if self.checksum else None, status="CLOSED")
            out.append(asset["id"])
            self.all.append(asset["id"])
        return out


def _safe(title: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in title)[:80] or "asset"


def _count(spec: dict[str, Any]) -> int:
    n = spec.get("assets", 0)
    total = len(n) if isinstance(n, list) else int(n)
    return total + sum(_count(c) for c in spec.get("collections", []))


def nested_tree(total_assets: int, *, depth: int = 2, fanout: int = 10, title: str = "bench") -> dict:
    """A seed spec for /_admin/seed (tests, benchmarks, scripts/fire_custom_action.py): one root collection, `depth`
    levels of `fanout` sub-collections, assets spread over the leaves."""
    leaves = fanout ** depth

    def build(level: int, path: str, budget: int) -> dict:
        node: dict[str, Any] = {"title": f"{title} {path}".strip()}
        if level == depth:
            node["assets"] = budget
            return node
        share, extra = divmod(budget, fanout)
        node["collections"] = [build(level + 1, f"{path}.{i}" if path else str(i), share + (1 if i < extra else 0))
                               for i in range(fanout)]
        return node
    assert leaves > 0
    return {"collections": [build(0, "", total_assets)]}
