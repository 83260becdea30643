"""Per-asset checks, pure functions over what iconik lists for an asset (formats, file sets, files).

Remove: an asset's LucidLink file sets may be deleted only when every format that must be safe on B2 is there:
an ACTIVE B2 file set whose files are present and CLOSED, each LucidLink file of that format matched on B2 by
name with the same size, and the same checksum when both sides have one. Anything less keeps the files.

Add: every LucidLink file of a requested format must be CLOSED and match its source (the same format's file on B2,
else on another storage) by name, size, and checksum when both sides have one: a short or different copy fails.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

GONE = "DELETED"


@dataclass(frozen=True)
class Check:
    """Outcome for one asset: ok, a reason when not, and the LucidLink file sets to delete (remove only)."""

    ok: bool
    reason: str = ""
    delete_ids: tuple[str, ...] = ()      # ACTIVE LucidLink file sets: delete, then purge
    purge_ids: tuple[str, ...] = ()       # already marked DELETED (an interrupted run): purge only
    notes: tuple[str, ...] = field(default_factory=tuple)


def _by_name(formats: Iterable[dict]) -> dict[str, dict]:
    return {f.get("name"): f for f in formats if f.get("status", "ACTIVE") != GONE}


def _sets(file_sets: Iterable[dict], format_id: str, storage_id: str, *, active: bool = True) -> list[dict]:
    return [s for s in file_sets if s.get("format_id") == format_id and s.get("storage_id") == storage_id
            and (s.get("status", "ACTIVE") == "ACTIVE" if active else True)]


def _files_of(files: Iterable[dict], set_ids: set[str]) -> list[dict]:
    return [f for f in files if f.get("file_set_id") in set_ids and f.get("status") != GONE
            and f.get("type", "FILE") == "FILE"]


def _differs(copy: dict, source: dict, *, copy_on: str, source_on: str) -> str:
    """"" if `copy` (on `copy_on`) is a complete copy of `source` (on `source_on`), else why not."""
    name = source.get("name")
    if copy.get("status") != "CLOSED":
        return f"{copy_on} copy of {name} is {copy.get('status') or 'not closed'}"
    if source.get("size") is None or copy.get("size") is None:
        return f"size of {name} unknown on {copy_on if copy.get('size') is None else source_on}"
    if int(source["size"]) != int(copy["size"]):
        return f"{copy_on} copy of {name} has {copy['size']} bytes, {source_on} has {source['size']}"
    if source.get("checksum") and copy.get("checksum") and str(source["checksum"]).lower() != str(copy["checksum"]).lower():
        return f"{copy_on} copy of {name} has a different checksum"
    return ""


def confirm_on_b2(fmt_name: str, formats: dict[str, dict], file_sets: list[dict], files: list[dict], *,
                  ll: str, b2: str) -> str:
    """"" if format `fmt_name` of the asset is safely on B2, else the reason."""
    fmt = formats.get(fmt_name)
    if fmt is None:
        return f"asset has no {fmt_name} format"
    b2_sets = _sets(file_sets, fmt["id"], b2)
    if not b2_sets:
        return f"{fmt_name} is not on B2 (the copy failed or did not finish)"
    b2_files = [f for f in _files_of(files, {s["id"] for s in b2_sets})]
    if not b2_files:
        return f"{fmt_name} file set on B2 has no files"
    ll_files = _files_of(files, {s["id"] for s in _sets(file_sets, fmt["id"], ll)})
    if not ll_files:
        # Nothing of this format on LucidLink to compare with: every B2 file must at least be complete.
        for f in b2_files:
            if f.get("status") != "CLOSED" or f.get("size") is None:
                return f"B2 copy of {f.get('name')} is not complete"
        return ""
    for src in ll_files:
        candidates = [f for f in b2_files if f.get("name") == src.get("name")]
        if not candidates:
            return f"{src.get('name')} ({fmt_name}) is missing on B2"
        reasons = [_differs(c, src, copy_on="B2", source_on="LucidLink") for c in candidates]
        if all(reasons):
            return reasons[0]
    return ""


def check_remove(formats: list[dict], file_sets: list[dict], files: list[dict], *, ll: str, b2: str,
                 verify_formats: Iterable[str], delete_formats: Iterable[str]) -> Check:
    """May this asset's LucidLink file sets of `delete_formats` be deleted? Only if `verify_formats` are on B2."""
    by_name = _by_name(formats)
    for name in verify_formats:
        reason = confirm_on_b2(name, by_name, file_sets, files, ll=ll, b2=b2)
        if reason:
            return Check(False, reason)
    delete: list[str] = []
    purge: list[str] = []
    notes: list[str] = []
    for name in delete_formats:
        fmt = by_name.get(name)
        if fmt is None:
            notes.append(f"no {name} format")
            continue
        sets = _sets(file_sets, fmt["id"], ll, active=False)
        # ACTIVE sets are deleted then purged; DELETED-but-listed ones (an interrupted run) are only purged.
        delete += [s["id"] for s in sets if s.get("status", "ACTIVE") != GONE]
        purge += [s["id"] for s in sets if s.get("status") == GONE]
        if not sets:
            notes.append(f"no {name} on LucidLink")
    return Check(True, "", tuple(dict.fromkeys(delete)), tuple(dict.fromkeys(purge)), tuple(notes))


def _source_files(file_sets: list[dict], files: list[dict], format_id: str, *, ll: str,
                  b2: str) -> tuple[str, list[dict]]:
    """Where the LucidLink copy of a format came from and its closed files: B2 when it has the format, else the
    other storages that do."""
    others = [s for s in file_sets if s.get("format_id") == format_id and s.get("storage_id") != ll
              and s.get("status", "ACTIVE") == "ACTIVE"]
    on_b2 = [s for s in others if s.get("storage_id") == b2]
    chosen = on_b2 or others
    closed = [f for f in _files_of(files, {s["id"] for s in chosen}) if f.get("status") == "CLOSED"]
    return ("B2" if on_b2 else "its source"), closed


def check_add(formats: list[dict], file_sets: list[dict], files: list[dict], *, ll: str, b2: str,
              add_formats: Iterable[str]) -> Check:
    """Did a complete copy land on LucidLink? Formats the asset does not have are noted, not failures."""
    by_name = _by_name(formats)
    notes: list[str] = []
    present = 0
    for name in add_formats:
        fmt = by_name.get(name)
        if fmt is None:
            notes.append(f"no {name} format")
            continue
        sets = _sets(file_sets, fmt["id"], ll)
        ll_files = _files_of(files, {s["id"] for s in sets})
        if not sets or not ll_files:
            return Check(False, f"{name} is not on LucidLink (the copy failed or did not finish)", notes=tuple(notes))
        open_files = [f.get("name") for f in ll_files if f.get("status") != "CLOSED"]
        if open_files:
            return Check(False, f"{name} copy on LucidLink is not complete ({open_files[0]})", notes=tuple(notes))
        source_on, sources = _source_files(file_sets, files, fmt["id"], ll=ll, b2=b2)
        if not sources:
            notes.append(f"{name}: no source copy to compare with")
            present += 1
            continue
        for copy in ll_files:
            same_name = [src for src in sources if src.get("name") == copy.get("name")]
            if not same_name:
                return Check(False, f"{copy.get('name')} ({name}) on LucidLink matches no file on {source_on}",
                             notes=tuple(notes))
            reasons = [_differs(copy, src, copy_on="LucidLink", source_on=source_on) for src in same_name]
            if all(reasons):
                return Check(False, reasons[0], notes=tuple(notes))
        present += 1
    if present == 0:
        return Check(False, "asset has none of the requested formats", notes=tuple(notes))
    return Check(True, "", notes=tuple(notes))
