#!/usr/bin/env python3
"""Fire an iconik custom action at our handler exactly as iconik would, and watch the run.

Local stack (default): the iconik stand-in makes the call itself, with a fresh auth token bound to our App-ID,
the action's x-bz-secret header and iconik's JSON body, so the handler cannot tell it from iconik:

  python scripts/fire_custom_action.py remove --seed 200 --watch          # seed 200 assets on "LucidLink", remove
  python scripts/fire_custom_action.py add --asset <id> --collection <id> --formats ORIGINAL --watch
  python scripts/fire_custom_action.py remove --action-id <id> --asset <id>   # a stored action, via iconik's callback

Against any handler with a real token (no stand-in): add --direct --token <auth_token> --b2-storage-id ...
--ll-storage-id ... --handler https://.../iconik_handler.

Defaults: --handler $FUNCTION_URL_ICONIK_HANDLER or the local stack's (http://127.0.0.1:8084); --iconik $ICONIK_URL
or the local stand-in (http://127.0.0.1:8860); local ports move by $MAM_PORT_OFFSET, as with scripts/dev.sh;
--secret $BZ_SHARED_SECRET or the local stack's; --app-id $ICONIK_APP_ID or the local one.
Errors are one line on stderr (exit 1), never a traceback.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import uuid
from urllib.parse import urlencode

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LOCAL_SECRET = "local-bz-secret"
LOCAL_APP_ID = "local-iconik-app"


def local_urls() -> tuple[str, str]:
    """(iconik handler, iconik stand-in) of the local stack, moved by MAM_PORT_OFFSET like scripts/dev.sh."""
    from localdev.stack import Stack

    raw = os.environ.get("MAM_PORT_OFFSET", "0") or "0"
    try:
        offset = int(raw)
    except ValueError:
        raise SystemExit(f"fire_custom_action.py: MAM_PORT_OFFSET must be a whole number, not {raw!r}") from None
    stack = Stack(offset=offset)
    return stack.url("iconik_handler"), stack.url("iconik")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    handler, iconik = local_urls()
    p = argparse.ArgumentParser(prog="fire_custom_action.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("op", choices=("add", "remove"))
    p.add_argument("--asset", action="append", default=[], help="asset id (repeatable)")
    p.add_argument("--collection", action="append", default=[], help="collection id (repeatable)")
    p.add_argument("--context", choices=("ASSET", "COLLECTION", "BULK"), help="default: from the selection")
    p.add_argument("--formats", help="the action URL's formats parameter, e.g. ORIGINAL,PPRO_PROXY")
    p.add_argument("--seed", type=int, default=0, help="stand-in only: create N assets in nested collections first")
    p.add_argument("--depth", type=int, default=2, help="with --seed: levels of sub-collections")
    p.add_argument("--fanout", type=int, default=3, help="with --seed: sub-collections per collection")
    p.add_argument("--handler", default=os.environ.get("FUNCTION_URL_ICONIK_HANDLER") or handler)
    p.add_argument("--iconik", default=os.environ.get("ICONIK_URL") or iconik)
    p.add_argument("--secret", default=os.environ.get("BZ_SHARED_SECRET", LOCAL_SECRET))
    p.add_argument("--app-id", default=os.environ.get("ICONIK_APP_ID", LOCAL_APP_ID))
    p.add_argument("--b2-storage-id")
    p.add_argument("--ll-storage-id")
    p.add_argument("--action-id", help="stand-in: fire this stored custom action through iconik's callback route")
    p.add_argument("--direct", action="store_true", help="POST the payload ourselves (needs --token)")
    p.add_argument("--token", help="with --direct: the iconik auth token to send")
    p.add_argument("--watch", action="store_true", help="follow the run until it ends")
    p.add_argument("--timeout", type=float, default=3600, help="with --watch: give up after this many seconds")
    return p.parse_args(argv)


def iconik_payload(context: str, assets: list[str], collections: list[str], token: str, action_id: str) -> dict:
    """iconik's custom-action body (date_created without a timezone, as iconik sends it)."""
    return {"user_id": str(uuid.uuid4()), "system_domain_id": str(uuid.uuid4()), "context": context,
            "action_id": action_id, "asset_ids": assets, "collection_ids": collections, "saved_search_ids": [],
            "metadata_view_id": None, "metadata_values": None,
            "date_created": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(), "auth_token": token}


def seed(iconik: str, op: str, n: int, depth: int, fanout: int) -> str:
    """Seed N assets (on LucidLink for remove, on B2 for add) under one root collection; returns its id."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from localdev.iconik.seed import nested_tree

    where = "LL" if op == "remove" else "B2"
    spec = {**nested_tree(n, depth=depth, fanout=fanout, title="fire"),
            "formats": {"ORIGINAL": [where], "PPRO_PROXY": [where]}, "file_size": 4096}
    resp = requests.post(f"{iconik}/_admin/seed", json=spec, timeout=600)
    resp.raise_for_status()
    root = resp.json()["collections"][0]["id"]
    print(f"seeded {n} assets under collection {root} (on {where})")
    return root


def watch(handler: str, secret: str, run_id: str, timeout: float) -> dict:
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        resp = requests.get(f"{handler.rstrip('/')}/runs/{run_id}", headers={"x-bz-secret": secret}, timeout=30)
        if resp.status_code == 200:
            run = resp.json()
            line = f"phase={run['phase']:<8} assets={run.get('assets_total')} processed={run.get('processed')}"
            if run.get("last_error"):
                line += f" last_error={run['last_error'][:80]}"
            if line != last:
                print(time.strftime("%H:%M:%S"), line, flush=True)
                last = line
            if run["phase"] == "done":
                return run
        time.sleep(1)
    raise SystemExit(f"run {run_id} did not finish within {timeout}s")


def main(argv: list[str] | None = None) -> int:
    """Run the script; any failure to talk to iconik or the handler is one line on stderr and exit status 1."""
    args = parse_args(argv)
    try:
        return fire(args)
    except requests.RequestException as exc:
        print(f"fire_custom_action.py: {describe(exc, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fire_custom_action.py: stopped", file=sys.stderr)
        return 130


def describe(exc: requests.RequestException, args: argparse.Namespace) -> str:
    """One line saying which service failed and what to check."""
    url = getattr(exc.request, "url", None) or ""
    handler, iconik = args.handler.rstrip("/"), args.iconik.rstrip("/")
    name, base = ("the iconik handler", handler) if url.startswith(handler) else ("the iconik stand-in", iconik) \
        if url.startswith(iconik) else ("the server", url.split("?")[0])
    if isinstance(exc, requests.ConnectionError):
        return f"could not reach {name} at {base} — is ./scripts/dev.sh running?"
    if isinstance(exc, requests.Timeout):
        return f"{name} at {base} did not answer in time — try again, or check its log in .local/"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        detail = " ".join(exc.response.text.split())[:200]
        return f"{name} at {base} answered HTTP {exc.response.status_code}: {detail}"
    return f"{name} at {base} failed: {type(exc).__name__}"


def fire(args: argparse.Namespace) -> int:
    """Deliver the custom action and (with --watch) follow its run."""
    collections = list(args.collection)
    b2, ll = args.b2_storage_id, args.ll_storage_id
    if not args.direct:
        info = requests.get(f"{args.iconik}/_admin/info", timeout=10)
        info.raise_for_status()
        b2 = b2 or info.json()["b2_storage_id"]
        ll = ll or info.json()["ll_storage_id"]
        if args.seed:
            collections.append(seed(args.iconik, args.op, args.seed, args.depth, args.fanout))
    if not (args.asset or collections):
        raise SystemExit("select something: --asset, --collection or --seed N")
    if not (b2 and ll):
        raise SystemExit("--b2-storage-id and --ll-storage-id are required with --direct")
    context = args.context or ("BULK" if args.asset and collections else "COLLECTION" if collections else "ASSET")
    query = {"b2_storage_id": b2, "ll_storage_id": ll, **({"formats": args.formats} if args.formats else {})}
    url = f"{args.handler.rstrip('/')}/{args.op}?{urlencode(query)}"
    headers = {"x-bz-secret": args.secret}
    if args.direct:
        if not args.token:
            raise SystemExit("--direct needs --token")
        body = iconik_payload(context, args.asset, collections, args.token, args.action_id or str(uuid.uuid4()))
        started = time.monotonic()
        resp = requests.post(url, json=body, headers={**headers, "Content-Type": "application/json"}, timeout=30)
        delivery = {"status": resp.status_code, "body": resp.text[:500], "headers": dict(resp.headers),
                    "elapsed_ms": int(1000 * (time.monotonic() - started))}
    elif args.action_id:
        resp = requests.get(f"{args.iconik}/API/assets/v1/custom_actions/", timeout=10,
                            headers={"App-ID": args.app_id, "Auth-Token": "fire-script"})
        resp.raise_for_status()
        act = next((a for a in resp.json()["objects"] if a["id"] == args.action_id), None)
        if act is None:
            raise SystemExit(f"no custom action {args.action_id} on {args.iconik}")
        resp = requests.post(f"{args.iconik}/API/assets/v1/custom_actions/{act['context']}/{act['id']}/callback/",
                             json={"asset_ids": args.asset, "collection_ids": collections}, timeout=60,
                             headers={"App-ID": args.app_id, "Auth-Token": "fire-script"})
        resp.raise_for_status()
        delivery = resp.json()["delivery"]
    else:
        resp = requests.post(f"{args.iconik}/_admin/fire", timeout=60, json={
            "url": url, "headers": headers, "context": context, "asset_ids": args.asset,
            "collection_ids": collections, "app_id": args.app_id})
        resp.raise_for_status()
        delivery = resp.json()
    run_id = (delivery.get("headers") or {}).get("X-Run-Id")
    if delivery.get("status") is None and delivery.get("error"):  # the stand-in could not reach the handler
        print(f"fire_custom_action.py: could not reach the iconik handler at {args.handler.rstrip('/')} — is "
              f"./scripts/dev.sh running? ({str(delivery['error'])[:120]})", file=sys.stderr)
        return 1
    print(f"handler answered {delivery.get('status')} {delivery.get('body', delivery.get('error'))!r} "
          f"in {delivery.get('elapsed_ms')} ms; run {run_id}")
    if not (args.watch and run_id):
        return 0 if delivery.get("status") == 200 else 1
    run = watch(args.handler, args.secret, run_id, args.timeout)
    print(json.dumps({k: run.get(k) for k in ("status", "message", "summary", "error")}, indent=2))
    for problem in (run.get("problems") or [])[:10]:
        print(f"  {problem['asset_id']}: {problem['state']}: {problem['reason']}")
    return 0 if run["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
