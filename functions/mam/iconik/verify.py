"""Per-asset checks, pure functions over what iconik lists for an asset (formats, file sets, files).

Remove: an asset's LucidLink file sets may be deleted only when every format that must be safe on B2 is there:
an ACTIVE B2 file set whose files are present and CLOSED, each LucidLink file of that format matched on B2 by
name with the same size, and the same checksum when both sides have one. Anything less keeps the files.
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


def _same_copy(ll: dict, b2: dict) -> str:
    """"" if `b2` is a confirmed copy of `ll`, else why not."""
    if b2.get("status") != "CLOSED":
        return f"B2 copy of {ll.get('name')} is {b2.get('status') or 'not closed'}"
    if ll.get("size") is None or b2.get("size") is None:
        return f"size of {ll.get('name')} unknown on {'B2' if b2.get('size') is None else 'LucidLink'}"
    if int(ll["size"]) != int(b2["size"]):
        return f"B2 copy of {ll.get('name')} has {b2['size']} bytes, LucidLink has {ll['size']}"
    if ll.get("checksum") and b2.get("checksum") and str(ll["checksum"]).lower() != str(b2["checksum"]).lower():
        return f"B2 copy of {ll.get('name')} has a different checksum"
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
        reasons = [_same_copy(src, c) for c in candidates]
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


def check_add(formats: list[dict], file_sets: list[dict], files: list[dict], *, ll: str,
              add_formats: Iterable[str]) -> Check:
    """Did the copy to LucidLink land? Formats the asset does not have are noted, not failures."""
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
        present += 1
    if present == 0:
        return Check(False, "asset has none of the requested formats", notes=tuple(notes))
    return Check(True, "", notes=tuple(notes))
