"""Check a live deployment the way an operator would, and say what to fix (`./deploy.sh --verify`).

  ./deploy.sh --verify              the cloud deployment .env.yaml describes
  ./deploy.sh --verify --local      the local stack (scripts/dev.sh; MAM_PORT_OFFSET moves its ports)

Checks: every function of the manifest answers GET /health; private functions refuse an anonymous call (in the
cloud IAM must refuse it; locally the task route's own OIDC check, which also stands behind IAM in the cloud); every
webhook refuses a forged signature; the front end serves a config.json naming the functions; the functions and
the B2 bucket allow the front-end origin (CORS preflights). Prints a table of check / PASS|FAIL|SKIP / what was
seen and, for a miss, the next step; exits 1 when anything FAILs. Every call has a time-out; forged requests
carry random values; no secret or token is ever printed.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
# The error codes of a task route refusing a delivery without Cloud Tasks' OIDC token (mam.task_auth).
TASK_AUTH_CODES = ("missing_token", "invalid_token")
# Functions the front end calls (config.json names them; each must allow the front-end origin).
FRONTEND_FUNCTIONS = ("upload_status", "index_videos", "library")
# Webhook routes whose secret is optional: a 404 with this error code means "feature off", not a failure.
OFF_CODES = {"webhooks_not_configured": "TWELVELABS_WEBHOOK_SECRET", "events_not_configured": "B2_EVENT_SIGNING_SECRET"}


@dataclass
class Result:
    """One row of the table: the check, its outcome, what was seen, and the next step for a miss."""

    check: str
    result: str
    seen: str
    fix: str = ""


@dataclass
class Target:
    """Where the deployment answers, and the settings the checks compare against."""

    local: bool
    functions: dict[str, str]  # name -> base URL
    private: set[str]
    frontend_url: str
    origins: tuple[str, ...]
    b2_endpoint: str
    bucket: str
    videos_prefix: str
    region: str = "us-central1"
    ports: dict[str, int] = field(default_factory=dict)


def _manifest() -> dict:
    return yaml.safe_load((ROOT / "functions" / "manifest.yaml").read_text())


def _split(value: str) -> tuple[str, ...]:
    return tuple(p.strip().rstrip("/") for p in str(value or "").split(",") if p.strip())


def cloud_target(env_file: Path) -> Target:
    """The deployment .env.yaml describes (URLs as deploy.sh derives them)."""
    env = {k: "" if v is None else str(v) for k, v in (yaml.safe_load(env_file.read_text()) or {}).items()}
    project, region = env.get("GCP_PROJECT", ""), env.get("GCP_REGION") or "us-central1"
    base = (env.get("FUNCTIONS_BASE_URL") or f"https://{region}-{project}.cloudfunctions.net").rstrip("/")
    fns = _manifest()["functions"]
    origins = _split(env.get("FRONTEND_ORIGIN", ""))
    return Target(local=False, functions={f["name"]: f"{base}/{f['name']}" for f in fns},
                  private={f["name"] for f in fns if not f["public"]}, frontend_url=origins[0] if origins else "",
                  origins=origins, b2_endpoint=env.get("B2_ENDPOINT", "").rstrip("/"), bucket=env.get("B2_BUCKET", ""),
                  videos_prefix=env.get("VIDEOS_PREFIX") or "videos/", region=region)


@functools.cache  # once per run: each private function asks, and each call would grow sys.path again
def _task_routes() -> dict[str, str]:
    """A route of each private function that does work, from its one declaration (`mam.task_routes`)."""
    sys.path[:0] = [str(ROOT / "functions")]
    from mam.task_routes import ROUTES

    out: dict[str, str] = {}
    for route in ROUTES:
        out.setdefault(route.target, route.path)
    return out


def local_target(offset: int) -> Target:
    """The local stack on `offset` (what scripts/dev.sh runs), from localdev/stack.py."""
    sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
    from localdev.stack import Stack

    stack = Stack(offset=offset)
    env = stack.settings()
    fns = _manifest()["functions"]
    names = [f["name"] for f in fns] + ["frontend"]
    return Target(local=True, functions={f["name"]: stack.url(f["name"]) for f in fns},
                  private={f["name"] for f in fns if not f["public"]}, frontend_url=stack.url("frontend"),
                  origins=_split(env.get("FRONTEND_ORIGIN", "")), b2_endpoint=env.get("B2_ENDPOINT", "").rstrip("/"),
                  bucket=env.get("B2_BUCKET", ""), videos_prefix=env.get("VIDEOS_PREFIX") or "videos/",
                  ports={n: stack.port(n) for n in names})


class Verifier:
    """Runs the checks against one target with one HTTP session."""

    def __init__(self, target: Target, timeout: float, token: Callable[[], str | None]):
        self.t = target
        self.timeout = (min(5.0, timeout), timeout)
        self.token = token
        self.http = requests.Session()
        self.http.trust_env = not target.local  # a proxy from the environment must not take loopback calls
        self.results: list[Result] = []
        self.broken: set[str] = set()  # functions whose health check failed: their other checks are not run

    def skip_broken(self, check: str, name: str) -> bool:
        """Report `check` as not run when `name` already failed its health check (one failure, one fix)."""
        if name in self.broken:
            self.add(check, SKIP, f"not checked: health {name} failed", f"fix health {name} first")
            return True
        return False

    # ---- helpers -----------------------------------------------------------------------------------------------
    def add(self, check: str, result: str, seen: str, fix: str = "") -> None:
        self.results.append(Result(check, result, seen, fix))

    def call(self, method: str, url: str, **kw) -> requests.Response | str:
        """The response, or a short description of why there was none."""
        try:
            return self.http.request(method, url, timeout=self.timeout, allow_redirects=False, **kw)
        except requests.Timeout:
            return f"no answer within {self.timeout[1]:.0f}s"
        except requests.ConnectionError:
            return "connection refused or host unreachable"
        except requests.RequestException as exc:
            return f"request failed ({type(exc).__name__})"

    @staticmethod
    def error_code(resp: requests.Response) -> str:
        try:
            body = resp.json()
        except ValueError:
            return ""
        return str((body.get("error") or {}).get("code", "")) if isinstance(body, dict) else ""

    def where(self, name: str) -> str:
        if self.t.local:
            return f"start the local stack: ./scripts/dev.sh ({name} listens on port {self.t.ports.get(name, '?')})"
        return (f"deploy it: ./deploy.sh (or ./deploy.sh --only {name}); its logs: "
                f"gcloud functions logs read {name} --region={self.t.region}")

    def logs(self, name: str) -> str:
        if self.t.local:
            return f"see {name}'s output in scripts/dev.sh (or .local/test-logs/{name}.log under the tests)"
        return f"read its logs: gcloud functions logs read {name} --region={self.t.region}"

    # ---- checks ------------------------------------------------------------------------------------------------
    def health(self, name: str, url: str) -> None:
        check = f"health {name}"
        headers = {}
        if name in self.t.private and not self.t.local:
            token = self.token()
            if not token:
                self.add(check, SKIP, "private: IAM refuses calls without an identity token, and none could be had",
                         "sign in with gcloud auth login (an account allowed to invoke it), then verify again")
                return
            headers["Authorization"] = f"Bearer {token}"
        resp = self.call("GET", f"{url}/health", headers=headers)
        if isinstance(resp, requests.Response) and resp.status_code == 200 and self._ok_json(resp):
            self.add(check, PASS, "HTTP 200 {ok: true}")
        elif isinstance(resp, requests.Response) and resp.status_code in (401, 403) and headers:
            # The function answers; only the operator's account may not call it (its other checks still run).
            self.add(check, FAIL, f"HTTP {resp.status_code} with your identity token",
                     "your account may not invoke it: use a project owner, or grant yourself roles/run.invoker on it")
        else:
            self.broken.add(name)
            if isinstance(resp, str):
                self.add(check, FAIL, resp, self.where(name))
            elif resp.status_code == 404 and not self.t.local:
                self.add(check, FAIL, "HTTP 404: no such function at this URL", self.where(name))
            else:
                self.add(check, FAIL, f"HTTP {resp.status_code} instead of 200 {{ok: true}}", self.logs(name))

    @staticmethod
    def _ok_json(resp: requests.Response) -> bool:
        try:
            return resp.json().get("ok") is True
        except (ValueError, AttributeError):
            return False

    def private(self, name: str, url: str) -> None:
        check = f"private {name} refuses anonymous"
        route = _task_routes().get(name, "/")
        if self.skip_broken(check, name):
            return
        resp = self.call("POST", f"{url}{route}", json={})
        refused_by_code = not isinstance(resp, str) and self.error_code(resp) in TASK_AUTH_CODES
        if isinstance(resp, str):
            self.add(check, SKIP, f"not reachable ({resp}); see health {name}", self.where(name))
        elif resp.status_code in (401, 403) and self.t.local:
            # No IAM locally: the task route's own check of Cloud Tasks' OIDC token (mam.task_auth) refuses it.
            self.add(check, PASS, f"anonymous POST {route}: HTTP {resp.status_code} {self.error_code(resp)} "
                     "(the task route's OIDC check)")
        elif resp.status_code in (401, 403) and not refused_by_code:
            self.add(check, PASS, f"anonymous POST {route}: HTTP {resp.status_code}")
        elif self.t.local:
            self.add(check, FAIL, f"anonymous POST {route} reached the handler (HTTP {resp.status_code}): the task "
                     "route did not check Cloud Tasks' OIDC token",
                     "task routes are served through TaskRoute.serve, which checks the token (mam.task_auth); "
                     f"restart scripts/dev.sh with the current code, then {self.logs(name)}")
        elif refused_by_code:
            # IAM let an anonymous call in; only the function's own token check stopped it (it still costs a run).
            self.add(check, FAIL, f"anonymous POST {route} passed IAM; only the code's token check refused it "
                     f"(HTTP {resp.status_code} {self.error_code(resp)})",
                     f"make it private: gcloud functions remove-invoker-policy-binding {name} --region={self.t.region} "
                     "--member=allUsers, then ./deploy.sh --redeploy (private functions deploy with "
                     "--no-allow-unauthenticated)")
        else:
            self.add(check, FAIL, f"anonymous POST {route} was let through (HTTP {resp.status_code})",
                     f"make it private: gcloud functions remove-invoker-policy-binding {name} --region={self.t.region} "
                     "--member=allUsers, then ./deploy.sh --redeploy (private functions deploy with "
                     "--no-allow-unauthenticated)")

    def forged(self, name: str, route: str, what: str, **request) -> None:
        check = f"forged {what} -> {name} {route}"
        url = self.t.functions[name]
        if self.skip_broken(check, name):
            return
        resp = self.call("POST", f"{url}{route}", **request)
        if isinstance(resp, str):
            self.add(check, SKIP, f"not reachable ({resp}); see health {name}", self.where(name))
            return
        code = resp.status_code
        if code in (401, 403):
            self.add(check, PASS, f"refused: HTTP {code}")
        elif code == 404 and self.error_code(resp) in OFF_CODES:
            secret = OFF_CODES[self.error_code(resp)]
            how = ("./deploy.sh prints how to turn it on" if not self.t.local
                   else "the local stack normally sets it: check your .env")
            self.add(check, SKIP, f"feature off ({secret} is not set): HTTP 404 {self.error_code(resp)}", how)
        elif 200 <= code < 300:
            self.add(check, FAIL, f"ACCEPTED a forged request (HTTP {code})",
                     f"{name} must verify the signature: check that it has its secret "
                     f"({'./deploy.sh again' if not self.t.local else 'restart scripts/dev.sh'}) and "
                     f"{self.logs(name)}")
        elif code >= 500:
            self.add(check, FAIL, f"HTTP {code} on a forged request instead of 401", self.logs(name))
        else:
            self.add(check, FAIL, f"HTTP {code} {self.error_code(resp)} instead of 401", self.logs(name))

    def webhooks(self) -> None:
        fns = self.t.functions
        junk = secrets.token_hex(32)
        if "transloadit_notify" in fns:
            status = json.dumps({"assembly_id": secrets.token_hex(16), "ok": "ASSEMBLY_COMPLETED"})
            self.forged("transloadit_notify", "/", "TransloadIt signature",
                        data={"transloadit": status, "signature": f"sha384:{secrets.token_hex(48)}"})
        if "index_videos" in fns:
            body = json.dumps({"id": "verify", "type": "index.task.ready", "data": {"id": "verify"}})
            self.forged("index_videos", "/webhook", "Twelve Labs TL-Signature", data=body,
                        headers={"Content-Type": "application/json", "TL-Signature": f"t={int(time.time())},v1={junk}"})
        if "library" in fns:
            body = json.dumps({"events": [{"eventType": "b2:ObjectCreated:Upload", "eventId": "verify",
                                           "bucketName": self.t.bucket, "objectName": f"{self.t.videos_prefix}verify.mp4"}]})
            self.forged("library", "/b2-events", "B2 event signature", data=body,
                        headers={"Content-Type": "application/json", "X-Bz-Event-Notification-Signature": f"v1={junk}"})
        if "iconik_handler" in fns:
            self.forged("iconik_handler", "/add", "iconik x-bz-secret", json={},
                        headers={"x-bz-secret": secrets.token_urlsafe(24)})

    def config_json(self) -> list[str]:
        """Check config.json; return the functions it names (for the CORS checks)."""
        check = "front end config.json"
        if not self.t.frontend_url:
            self.add(check, FAIL, "FRONTEND_ORIGIN is empty", "set FRONTEND_ORIGIN in .env.yaml to the front end's URL")
            return list(FRONTEND_FUNCTIONS)
        publish = ("restart ./scripts/dev.sh (it writes config.json and serves the front end)" if self.t.local else
                   "publish the front end: ./deploy.sh (it uploads site/ with config.json to B2), and point the "
                   "bunny.net pull zone of FRONTEND_ORIGIN at the bucket's site/ folder")
        url = f"{self.t.frontend_url}/config.json"
        try:
            resp = self.http.get(url, timeout=self.timeout)  # a CDN may redirect
        except requests.RequestException as exc:
            self.add(check, FAIL, f"{url}: {type(exc).__name__}", publish)
            return list(FRONTEND_FUNCTIONS)
        if resp.status_code != 200:
            self.add(check, FAIL, f"{url}: HTTP {resp.status_code}", publish)
            return list(FRONTEND_FUNCTIONS)
        try:
            config = resp.json()
            named = config["functions"]
            assert isinstance(named, dict)
        except (ValueError, KeyError, TypeError, AssertionError):
            self.add(check, FAIL, f"{url} is not JSON with a functions object", publish)
            return list(FRONTEND_FUNCTIONS)
        missing = [n for n in FRONTEND_FUNCTIONS if n in self.t.functions and n not in named]
        wrong = [f"{n} -> {named[n]}" for n in named if n in self.t.functions
                 and str(named[n]).rstrip("/") != self.t.functions[n]]
        if missing or wrong:
            seen = "; ".join(filter(None, [f"names no {', '.join(missing)}" if missing else "",
                                           f"points elsewhere: {', '.join(wrong)}" if wrong else ""]))
            self.add(check, FAIL, seen, publish)
        else:
            self.add(check, PASS, f"valid JSON naming {', '.join(sorted(named))}")
        return [n for n in named if n in self.t.functions]

    def functions_cors(self, names: list[str]) -> None:
        origin = self.t.origins[0] if self.t.origins else ""
        for name in names:
            check = f"cors {name} allows the front end"
            if self.skip_broken(check, name):
                continue
            resp = self.call("OPTIONS", f"{self.t.functions[name]}/health",
                             headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
            if isinstance(resp, str):
                self.add(check, SKIP, f"not reachable ({resp}); see health {name}", self.where(name))
            elif resp.headers.get("Access-Control-Allow-Origin") in (origin, "*") and resp.status_code < 300:
                self.add(check, PASS, f"preflight from {origin}: HTTP {resp.status_code}, origin allowed")
            else:
                self.add(check, FAIL, f"preflight from {origin}: HTTP {resp.status_code}, origin not allowed",
                         "set FRONTEND_ORIGIN in .env.yaml to the front end's origin (scheme://host[:port], no path) "
                         "and run ./deploy.sh again" if not self.t.local else "check FRONTEND_ORIGIN in your .env")

    def b2_cors(self) -> None:
        if not self.t.b2_endpoint or not self.t.bucket:
            self.add("b2 cors", FAIL, "B2_ENDPOINT or B2_BUCKET is empty", "fill them in .env.yaml")
            return
        key = f"{self.t.videos_prefix}verify-cors-probe.mp4"
        url = f"{self.t.b2_endpoint}/{self.t.bucket}/{key}"
        for origin in self.t.origins:
            check = f"b2 cors allows {origin}"
            resp = self.call("OPTIONS", url, headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
            fix = (f"add the front-end origin to the bucket's CORS rules: ./deploy.sh sets them "
                   f"(scripts/publish_frontend.py), or in the B2 console (Buckets > {self.t.bucket} > CORS Rules) "
                   f"allow {origin} for the S3 API's GET and HEAD")
            if self.t.local:
                fix = f"restart ./scripts/dev.sh (localdev/bootstrap.py gives the bucket its CORS rule for {origin})"
            if isinstance(resp, str):
                self.add(check, FAIL, f"{self.t.b2_endpoint}: {resp}", "check B2_ENDPOINT" if not self.t.local else fix)
                continue
            allowed = resp.headers.get("Access-Control-Allow-Origin")
            # A refused preflight is a non-2xx (some servers still echo the origin on it).
            if resp.status_code < 300 and allowed in (origin, "*"):
                self.add(check, PASS, f"preflight GET {key}: HTTP {resp.status_code}, allowed")
            else:
                self.add(check, FAIL, f"preflight GET {key}: HTTP {resp.status_code}, origin not allowed", fix)

    def run(self) -> list[Result]:
        """Every check, in the order an operator would look."""
        for name, url in self.t.functions.items():
            self.health(name, url)
        for name, url in self.t.functions.items():
            if name in self.t.private:
                self.private(name, url)
        self.webhooks()
        named = self.config_json()
        self.functions_cors([n for n in FRONTEND_FUNCTIONS if n in named])
        self.b2_cors()
        return self.results


def gcloud_identity_token() -> str | None:
    """An identity token of the signed-in gcloud account (for private functions' health), or None."""
    try:
        out = subprocess.run(["gcloud", "auth", "print-identity-token", "--quiet"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    token = out.stdout.strip()
    return token if out.returncode == 0 and token else None


def table(results: list[Result]) -> str:
    """The results as a plain-text table; each miss is followed by its next step."""
    width = min(60, max(len(r.check) for r in results)) if results else 10
    lines = [f"{'CHECK':<{width}}  RESULT  SEEN", f"{'-' * width}  ------  {'-' * 40}"]
    for r in results:
        lines.append(f"{r.check:<{width}}  {r.result:<6}  {r.seen}")
        if r.result != PASS and r.fix:
            lines.append(f"{'':<{width}}          -> {r.fix}")
    counts = {k: sum(r.result == k for r in results) for k in (PASS, FAIL, SKIP)}
    lines.append(f"\n{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-file", default=str(ROOT / ".env.yaml"), help="cloud settings (default .env.yaml)")
    parser.add_argument("--local", action="store_true", help="check the local stack instead (MAM_PORT_OFFSET)")
    parser.add_argument("--offset", type=int, default=None, help="local port offset (default $MAM_PORT_OFFSET or 0)")
    parser.add_argument("--function-url", action="append", default=[], metavar="NAME=URL",
                        help="where function NAME answers (also FUNCTION_URL_<NAME>)")
    parser.add_argument("--frontend-url", help="where the front end is served (default: the first FRONTEND_ORIGIN)")
    parser.add_argument("--frontend-origin", help="origins to check CORS for, comma-separated (default FRONTEND_ORIGIN)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call (default 10)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    if args.local:
        offset = args.offset if args.offset is not None else int(os.environ.get("MAM_PORT_OFFSET", "0") or 0)
        target = local_target(offset)
    else:
        env_file = Path(args.env_file)
        if not env_file.exists():
            print(f"verify: {env_file} not found: copy .env.yaml.template to .env.yaml and fill it in "
                  "(or use --local for the local stack)", file=sys.stderr)
            return 2
        target = cloud_target(env_file)
    for name in target.functions:
        override = os.environ.get(f"FUNCTION_URL_{name.upper()}")
        if override:
            target.functions[name] = override.rstrip("/")
    for item in args.function_url:
        name, _, url = item.partition("=")
        if name not in target.functions or not url:
            parser.error(f"--function-url {item}: expected NAME=URL with NAME one of {', '.join(target.functions)}")
        target.functions[name] = url.rstrip("/")
    if args.frontend_origin:
        target.origins = _split(args.frontend_origin)
    if args.frontend_url:
        target.frontend_url = args.frontend_url.rstrip("/")

    cache: list[str | None] = []

    def token() -> str | None:  # asked once, only when a private function's health needs it
        if not cache:
            cache.append(gcloud_identity_token())
        return cache[0]

    results = Verifier(target, args.timeout, token).run()
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=1))
    else:
        where = "local stack" if target.local else f"deployment ({Path(args.env_file).name})"
        print(f"Verifying the {where}\n")
        print(table(results))
    return 1 if any(r.result == FAIL for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
