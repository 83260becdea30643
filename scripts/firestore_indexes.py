"""The Firestore composite indexes of the data layer: write the index file, or say which ones a project lacks.

  write     regenerate functions/firestore.indexes.json from mam.store.library_find.required_indexes()
  missing   stdin: `gcloud firestore indexes composite list --format=json`; one line per declared index the project
            does not have, as the gcloud flags that create it (deploy.sh runs `indexes composite create` with them)

No gcloud calls here: deploy.sh does those, so a dry run and the fake gcloud of tests/deploy see every call.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX_FILE = ROOT / "functions" / "firestore.indexes.json"


def _key(collection: str, scope: str, fields: list[dict]) -> tuple:
    """Comparable form of an index; Firestore lists its implicit trailing `__name__` field, declarations omit it."""
    parts = tuple((f["fieldPath"], f.get("order") or "", f.get("arrayConfig") or "") for f in fields
                  if f.get("fieldPath") != "__name__")
    return collection, scope or "COLLECTION", parts


def declared() -> list[dict]:
    return json.loads(INDEX_FILE.read_text())["indexes"]


def missing(listed: list[dict]) -> list[dict]:
    """Declared indexes absent from `listed` (gcloud's list; an index being built counts as present)."""
    have = set()
    for idx in listed:
        group = idx.get("name", "").split("/collectionGroups/")[-1].split("/")[0]
        have.add(_key(group, idx.get("queryScope", ""), idx.get("fields", [])))
    return [i for i in declared() if _key(i["collectionGroup"], i.get("queryScope", ""), i["fields"]) not in have]


def create_flags(index: dict) -> str:
    """gcloud flags that create `index` (no spaces inside a flag, so deploy.sh may split on spaces)."""
    flags = [f"--collection-group={index['collectionGroup']}", f"--query-scope={index.get('queryScope', 'COLLECTION').lower().replace('_', '-')}"]
    for f in index["fields"]:
        if f.get("arrayConfig"):
            flags.append(f"--field-config=field-path={f['fieldPath']},array-config={f['arrayConfig'].lower()}")
        else:
            flags.append(f"--field-config=field-path={f['fieldPath']},order={f['order'].lower()}")
    return " ".join(flags)


def main(argv: list[str]) -> int:
    if argv[:1] == ["write"]:
        sys.path.insert(0, str(ROOT / "functions"))
        from mam.store.library_find import required_indexes

        INDEX_FILE.write_text(json.dumps({"indexes": required_indexes(), "fieldOverrides": []}, indent=2) + "\n")
        print(f"wrote {INDEX_FILE.relative_to(ROOT)}")
        return 0
    if argv[:1] == ["missing"]:
        raw = sys.stdin.read().strip()
        for index in missing(json.loads(raw) if raw else []):
            print(create_flags(index))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
