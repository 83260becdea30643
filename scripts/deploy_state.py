"""Small read-only helpers deploy.sh uses to compare what a project has with what it wants (no gcloud calls here).

Each sub-command reads gcloud's output on stdin where it needs it and answers with its exit code (0 = already
right) or one line on stdout. Secret values are only ever hashed, never printed.

  secrets-plan                        manifest secrets, one "NAME required|optional" a line (from mam.settings)
  has-binding ROLE MEMBER             stdin: an IAM policy (JSON); 0 if MEMBER holds ROLE
  queue-same KEY=VALUE...             stdin: `tasks queues describe --format=json`; 0 if every manifest value matches
  ttl-on COLLECTION FIELD             stdin: `firestore fields ttls list --format=value(name,ttlConfig.state)`; 0 if on
  tree-hash DIR [WORD...]             a short hash of DIR's files plus WORDs (the deploy flags), for a function label
  function-field PATH                 stdin: `functions describe --format=json` (or nothing); the value at PATH
  function-current HASH               stdin: the same; 0 if the function is ACTIVE and labelled with HASH
  secret-same ENV_NAME                stdin: `secrets versions access --format=get(payload.data)`; 0 if it equals $ENV_NAME
  decode                              stdin: the same base64; the raw value on stdout (for a process, never a terminal)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Manifest queue keys -> (part, field, parser) of a Cloud Tasks queue resource.
QUEUE_FIELDS = {
    "max_attempts": ("retryConfig", "maxAttempts", int),
    "min_backoff": ("retryConfig", "minBackoff", "duration"),
    "max_backoff": ("retryConfig", "maxBackoff", "duration"),
    "max_doublings": ("retryConfig", "maxDoublings", int),
    "max_retry_duration": ("retryConfig", "maxRetryDuration", "duration"),
    "max_dispatches_per_second": ("rateLimits", "maxDispatchesPerSecond", float),
    "max_concurrent_dispatches": ("rateLimits", "maxConcurrentDispatches", int),
}


def secrets_plan() -> list[tuple[str, bool]]:
    """Every secret the manifest grants, in order, with whether the functions require it (mam.settings decides)."""
    import yaml  # imported here: the other sub-commands run many times per deploy and need only the stdlib

    sys.path.insert(0, str(ROOT / "functions"))
    from mam.settings import knobs  # stdlib-only module: cheap to import

    optional = {k.env for k in knobs() if k.secret and not k.required}
    manifest = yaml.safe_load((ROOT / "functions" / "manifest.yaml").read_text())
    names: list[str] = []
    for f in manifest["functions"]:
        names += [s for s in f.get("secrets", []) if s not in names]
    return [(n, n not in optional) for n in names]


def has_binding(policy: dict, role: str, member: str) -> bool:
    """True if `member` holds `role` in an IAM policy without a condition."""
    return any(b.get("role") == role and member in b.get("members", []) and not b.get("condition")
               for b in policy.get("bindings", []))


def _seconds(value: object) -> float:
    return float(str(value).rstrip("s"))


def queue_same(queue: dict, wanted: dict[str, str]) -> bool:
    """True if the described queue already has every manifest setting (durations compared as seconds)."""
    for key, value in wanted.items():
        if key not in QUEUE_FIELDS:
            return False  # a setting this helper cannot read back: let deploy.sh update
        part, field, kind = QUEUE_FIELDS[key]
        have = (queue.get(part) or {}).get(field)
        if have is None:
            return False
        if kind == "duration":
            if abs(_seconds(have) - _seconds(value)) > 1e-6:
                return False
        elif kind(have) != kind(value):
            return False
    return True


def ttl_on(listing: str, collection: str, field: str) -> bool:
    """True if the TTL listing shows `collection`.`field` as ACTIVE or being applied (CREATING)."""
    suffix = f"/collectionGroups/{collection}/fields/{field}"
    for line in listing.splitlines():
        name, _, state = line.partition("\t")
        if name.strip().endswith(suffix) and state.strip() in ("ACTIVE", "CREATING"):
            return True
    return False


def tree_hash(directory: Path, words: list[str]) -> str:
    """sha256 over every file (path + bytes, sorted, caches skipped) and the words; 32 hex chars fit a label."""
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(directory).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    for word in words:
        h.update(word.encode() + b"\0")
    return h.hexdigest()[:32]


def dig(obj: object, path: str) -> object:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _b64(data: str) -> bytes:
    data = data.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


def main(argv: list[str]) -> int:
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    if cmd == "secrets-plan":
        for name, required in secrets_plan():
            print(name, "required" if required else "optional")
        return 0
    if cmd == "has-binding":
        return 0 if has_binding(json.loads(sys.stdin.read() or "{}"), args[0], args[1]) else 1
    if cmd == "queue-same":
        wanted = dict(a.split("=", 1) for a in args)
        return 0 if queue_same(json.loads(sys.stdin.read() or "{}"), wanted) else 1
    if cmd == "ttl-on":
        return 0 if ttl_on(sys.stdin.read(), args[0], args[1]) else 1
    if cmd == "tree-hash":
        print(tree_hash(Path(args[0]), args[1:]))
        return 0
    if cmd == "function-field":
        raw = sys.stdin.read().strip()
        value = dig(json.loads(raw), args[0]) if raw else None
        print("" if value is None else value)
        return 0
    if cmd == "function-current":
        raw = sys.stdin.read().strip()
        fn = json.loads(raw) if raw else {}
        return 0 if dig(fn, "labels.mam-deploy") == args[0] and fn.get("state") == "ACTIVE" else 1
    if cmd == "secret-same":
        stored = _b64(sys.stdin.read())
        wanted = os.environ.get(args[0], "").encode()
        # Compare digests in constant time; neither value is printed.
        same = hmac.compare_digest(hashlib.sha256(stored).digest(), hashlib.sha256(wanted).digest())
        return 0 if same else 1
    if cmd == "decode":
        if sys.stdout.isatty():  # a secret never goes to a terminal
            print("deploy_state.py decode: refusing to write a secret to a terminal", file=sys.stderr)
            return 2
        sys.stdout.buffer.write(_b64(sys.stdin.read()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
