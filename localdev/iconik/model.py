"""In-memory state of the iconik stand-in (storages, assets, collections, formats, file sets, files, jobs, custom
actions) and the list envelopes iconik uses for paging."""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode


class ApiError(Exception):
    """An iconik-style error answer: status + `{"errors": [...]}` (or a field -> message dict)."""

    def __init__(self, status: int, errors: list[str] | dict[str, str], headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def now_iso() -> str:
    """iconik-style timestamp (UTC, microseconds, with offset; iconik is inconsistent about the offset)."""
    return dt.datetime.now(dt.UTC).isoformat()


def new_id() -> str:
    return str(uuid.uuid4())


class Store:
    """All records, guarded by one re-entrant lock (requests run on many threads, copies on workers)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.storages: dict[str, dict] = {}
            self.assets: dict[str, dict] = {}
            self.collections: dict[str, dict] = {}
            self.children: dict[str, list[tuple[str, str]]] = {}   # collection -> [(object_type, id)] in order
            self.formats: dict[str, dict] = {}
            self.formats_by_asset: dict[str, list[str]] = {}
            self.file_sets: dict[str, dict] = {}
            self.file_sets_by_asset: dict[str, list[str]] = {}
            self.files: dict[str, dict] = {}
            self.files_by_asset: dict[str, list[str]] = {}
            self.files_by_set: dict[str, list[str]] = {}
            self.jobs: dict[str, dict] = {}
            self.custom_actions: dict[str, dict] = {}
            self.tokens: dict[str, str | None] = {}  # issued auth token -> app id it belongs to

    # ---- lookups that raise iconik's 404s -------------------------------------------------------------
    def storage(self, storage_id: str) -> dict:
        s = self.storages.get(storage_id)
        if s is None:
            raise ApiError(404, ["Storage doesn't exist"])
        return s

    def asset(self, asset_id: str) -> dict:
        a = self.assets.get(asset_id)
        if a is None or a["status"] == "DELETED":
            raise ApiError(404, ["Asset doesn't exist"])
        return a

    def collection(self, collection_id: str) -> dict:
        c = self.collections.get(collection_id)
        if c is None or c["status"] == "DELETED":
            raise ApiError(404, ["Collection doesn't exist"])
        return c

    def format_of(self, asset_id: str, id_or_name: str) -> dict:
        """A format of an asset by id or by name (the plugin asks by name)."""
        for fid in self.formats_by_asset.get(asset_id, []):
            f = self.formats[fid]
            if f["status"] != "DELETED" and (fid == id_or_name or f["name"] == id_or_name):
                return f
        raise ApiError(404, ["Format for this asset doesn't exist"])

    def file_set(self, asset_id: str, file_set_id: str) -> dict:
        fs = self.file_sets.get(file_set_id)
        if fs is None or fs["asset_id"] != asset_id:
            raise ApiError(404, ["File set doesn't exist"])
        return fs

    def file(self, asset_id: str, file_id: str) -> dict:
        f = self.files.get(file_id)
        if f is None or f["asset_id"] != asset_id:
            raise ApiError(404, ["File doesn't exist"])
        return f

    # ---- creation -------------------------------------------------------------------------------------------
    def add_storage(self, storage_id: str, name: str, method: str, settings: dict) -> dict:
        rec = {"id": storage_id, "name": name, "method": method, "purpose": "FILES", "status": "ACTIVE",
               "default": False, "description": f"local stand-in storage ({method})", "settings": settings,
               "version": 1, "date_created": now_iso(), "date_modified": now_iso()}
        with self.lock:
            self.storages[storage_id] = rec
        return rec

    def add_asset(self, title: str, *, asset_id: str | None = None, collection_id: str | None = None) -> dict:
        ts = now_iso()
        rec = {"id": asset_id or new_id(), "title": title, "type": "ASSET", "status": "ACTIVE",
               "archive_status": "NOT_ARCHIVED", "is_online": True, "date_created": ts, "date_modified": ts,
               "in_collections": []}
        with self.lock:
            self.assets[rec["id"]] = rec
            if collection_id:
                self.add_child(collection_id, "assets", rec["id"])
        return rec

    def add_collection(self, title: str, *, parent_id: str | None = None, collection_id: str | None = None) -> dict:
        ts = now_iso()
        rec = {"id": collection_id or new_id(), "title": title, "status": "ACTIVE", "parent_id": parent_id,
               "date_created": ts, "date_modified": ts, "in_collections": []}
        with self.lock:
            self.collections[rec["id"]] = rec
            self.children[rec["id"]] = []
            if parent_id:
                self.add_child(parent_id, "collections", rec["id"])
        return rec

    def add_child(self, collection_id: str, object_type: str, object_id: str) -> None:
        with self.lock:
            self.collection(collection_id)
            kids = self.children.setdefault(collection_id, [])
            if (object_type, object_id) not in kids:
                kids.append((object_type, object_id))
            owner = self.assets if object_type == "assets" else self.collections
            if object_id in owner and collection_id not in owner[object_id]["in_collections"]:
                owner[object_id]["in_collections"].append(collection_id)

    def add_format(self, asset_id: str, name: str, **extra: Any) -> dict:
        ts = now_iso()
        rec = {"id": new_id(), "asset_id": asset_id, "name": name, "status": "ACTIVE",
               "archive_status": "NOT_ARCHIVED", "is_online": True, "components": [], "metadata": [],
               "storage_methods": [], "warnings": [], "date_created": ts, "date_modified": ts, **extra}
        with self.lock:
            self.formats[rec["id"]] = rec
            self.formats_by_asset.setdefault(asset_id, []).append(rec["id"])
        return rec

    def add_file_set(self, asset_id: str, format_id: str, storage_id: str, name: str, base_dir: str,
                     **extra: Any) -> dict:
        ts = now_iso()
        rec = {"id": new_id(), "asset_id": asset_id, "format_id": format_id, "storage_id": storage_id,
               "name": name, "base_dir": base_dir, "component_ids": [], "status": "ACTIVE", "file_count": 0,
               "is_archive": False, "original_storage_id": storage_id, "version_id": None,
               "date_created": ts, "date_modified": ts, "date_deleted": None, "deleted_by_user": None, **extra}
        with self.lock:
            self.file_sets[rec["id"]] = rec
            self.file_sets_by_asset.setdefault(asset_id, []).append(rec["id"])
            self.files_by_set[rec["id"]] = []
        return rec

    def add_file(self, file_set: dict, name: str, *, size: int | None, checksum: str | None, status: str,
                 storage_method: str, **extra: Any) -> dict:
        ts = now_iso()
        rec = {"id": new_id(), "asset_id": file_set["asset_id"], "file_set_id": file_set["id"],
               "format_id": file_set["format_id"], "storage_id": file_set["storage_id"], "name": name,
               "original_name": name, "directory_path": file_set["base_dir"], "size": size, "checksum": checksum,
               "type": "FILE", "status": status, "file_set_status": file_set["status"], "format_status": "ACTIVE",
               "storage_method": storage_method, "file_date_created": ts, "file_date_modified": ts,
               "date_created": ts, "date_modified": ts, "parent_id": None, "version_id": None, **extra}
        with self.lock:
            self.files[rec["id"]] = rec
            self.files_by_asset.setdefault(rec["asset_id"], []).append(rec["id"])
            self.files_by_set.setdefault(file_set["id"], []).append(rec["id"])
            file_set["file_count"] = len(self.files_by_set[file_set["id"]])
        return rec

    def remove_file_set(self, file_set_id: str) -> list[dict]:
        """Forget a file set and its files (purge); returns the file records so the caller deletes the bytes."""
        with self.lock:
            fs = self.file_sets.pop(file_set_id)
            self.file_sets_by_asset[fs["asset_id"]].remove(file_set_id)
            gone = [self.files.pop(fid) for fid in self.files_by_set.pop(file_set_id, [])]
            ids = {f["id"] for f in gone}
            self.files_by_asset[fs["asset_id"]] = [f for f in self.files_by_asset.get(fs["asset_id"], [])
                                                   if f not in ids]
            return gone

    def issue_token(self, app_id: str | None) -> str:
        import secrets

        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = app_id
        return token


def blob_key(file_rec: dict) -> str:
    """Where a file's bytes live inside its storage."""
    d = (file_rec.get("directory_path") or "").strip("/")
    return f"{d}/{file_rec['name']}" if d else file_rec["name"]


def int_arg(args, name: str, default: int, lo: int, hi: int) -> int:
    """A bounded integer query parameter; iconik answers 400 with a field error otherwise."""
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, {name: "Not a valid integer."}) from None
    if not lo <= value <= hi:
        raise ApiError(400, {name: f"Must be greater than or equal to {lo} and less than or equal to {hi}."})
    return value


def page_by_number(items: list, path: str, args, *, default_per_page: int = 10, max_per_page: int = 1000,
                   keep: Iterable[str] = ()) -> dict:
    """iconik's page/per_page envelope with host-relative next/prev/first/last URLs."""
    per_page = int_arg(args, "per_page", default_per_page, 1, max_per_page)
    page = int_arg(args, "page", 1, 1, 10000)
    total = len(items)
    pages = max(1, -(-total // per_page))
    base = {k: args[k] for k in keep if args.get(k)}

    def url(p: int) -> str:
        return f"{path}?{urlencode({**base, 'page': p, 'per_page': per_page})}"
    return {"objects": items[(page - 1) * per_page: page * per_page], "page": page, "pages": pages,
            "per_page": per_page, "total": total, "first_url": url(1), "last_url": url(pages),
            "next_url": url(page + 1) if page < pages else None,
            "prev_url": url(page - 1) if page > 1 else None}


def page_by_cursor(items: list[dict], path: str, args, *, default_per_page: int = 10,
                   max_per_page: int = 1000) -> dict:
    """iconik's per_page + last_id cursor envelope (formats, file sets, files of an asset)."""
    per_page = int_arg(args, "per_page", default_per_page, 1, max_per_page)
    start = 0
    last_id = args.get("last_id")
    if last_id:
        ids = [o["id"] for o in items]
        if last_id not in ids:
            raise ApiError(400, {"last_id": "Unknown last_id."})
        start = ids.index(last_id) + 1
    chunk = items[start:start + per_page]
    more = start + per_page < len(items)
    next_url = f"{path}?{urlencode({'per_page': per_page, 'last_id': chunk[-1]['id']})}" if more and chunk else None
    return {"objects": chunk, "per_page": per_page, "total": len(items), "next_url": next_url,
            "first_url": f"{path}?{urlencode({'per_page': per_page})}"}
