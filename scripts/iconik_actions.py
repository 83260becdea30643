#!/usr/bin/env python3
"""Create, delete or list the six iconik custom actions (Add/Remove to LucidLink x ASSET/COLLECTION/BULK).

  python scripts/iconik_actions.py create <endpoint> <b2_storage_id> <ll_storage_id> [formats]
  python scripts/iconik_actions.py delete <endpoint> [formats]
  python scripts/iconik_actions.py list [endpoint]

<endpoint> is the iconik_handler URL (e.g. https://us-central1-proj.cloudfunctions.net/iconik_handler, locally
http://127.0.0.1:8084). Environment: ICONIK_URL (default https://app.iconik.io; locally the stand-in,
http://127.0.0.1:8860), ICONIK_APP_ID (or ICONIK_ID) and ICONIK_TOKEN (an application token of that app),
BZ_SHARED_SECRET (create: the value iconik will send in x-bz-secret). `create` is idempotent; the titles reflect
the formats ("Remove original, Premiere Pro proxy file(s) from LucidLink").
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / "functions")]


def _client():
    from mam.clients.iconik import IconikClient

    app_id = os.environ.get("ICONIK_APP_ID") or os.environ.get("ICONIK_ID")
    token = os.environ.get("ICONIK_TOKEN")
    missing = [n for n, v in (("ICONIK_APP_ID", app_id), ("ICONIK_TOKEN", token)) if not v]
    if missing:
        raise SystemExit(f"set {' and '.join(missing)} in the environment")
    return IconikClient(os.environ.get("ICONIK_URL", "https://app.iconik.io"), app_id, token, timeout=15), app_id


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="iconik_actions.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create", help="create or correct the six actions (idempotent)")
    c.add_argument("endpoint")
    c.add_argument("b2_storage_id")
    c.add_argument("ll_storage_id")
    c.add_argument("formats", nargs="?", help="comma-separated, e.g. ORIGINAL,PPRO_PROXY (default: FORMAT_NAMES)")
    d = sub.add_parser("delete", help="delete the actions of an endpoint (and formats)")
    d.add_argument("endpoint")
    d.add_argument("formats", nargs="?")
    ls = sub.add_parser("list", help="list custom actions (of an endpoint)")
    ls.add_argument("endpoint", nargs="?")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from mam.clients.iconik import IconikError
    from mam.iconik import actions
    from mam.iconik.request import is_uuid

    client, app_id = _client()
    try:
        if args.command == "create":
            for sid in (args.b2_storage_id, args.ll_storage_id):
                if not is_uuid(sid):
                    raise SystemExit(f"not an iconik storage id: {sid!r}")
            for sid in (args.ll_storage_id, args.b2_storage_id):
                client.get_storage(sid)  # fail now, not when an editor clicks
            changes = actions.sync_actions(client, args.endpoint, args.b2_storage_id, args.ll_storage_id,
                                           args.formats, secret=os.environ.get("BZ_SHARED_SECRET", ""),
                                           app_id=app_id)
        elif args.command == "delete":
            changes = actions.delete_actions(client, args.endpoint, args.formats)
        else:
            for a in client.list_actions():
                if not args.endpoint or (a.get("url") or "").startswith(args.endpoint.rstrip("/")):
                    print(f"{a.get('context'):<10} {a.get('id')}  {a.get('title')}  ->  {a.get('url')}")
            return 0
    except IconikError as exc:
        if "ConnectionError" in str(exc):  # nothing answered: say where we looked and what to check
            url = os.environ.get("ICONIK_URL", "https://app.iconik.io")
            print(f"iconik_actions.py: could not reach iconik at {url} — is ICONIK_URL right (locally: is "
                  "./scripts/dev.sh running)?", file=sys.stderr)
            return 1
        print(f"iconik error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for ch in changes:
        print(f"{ch.what:<9} {ch.context:<10} {ch.action_id}  {ch.title}")
    if not changes:
        print("nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
