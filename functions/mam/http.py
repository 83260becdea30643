"""HTTP plumbing shared by every function: a tiny router, JSON errors, CORS for the front-end origin, body limits.

Each function's `main.py` builds one `Router`, registers its routes and exposes the router as its entry point.
Every error leaves as `{"error": {"code", "message"}}` with a 4xx/5xx status and never a stack trace.
"""
from __future__ import annotations

import json
import re
import time
import traceback
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import flask
from werkzeug.exceptions import HTTPException

from mam import log

Handler = Callable[..., Any]
MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 32  # our bodies nest 3 deep, TransloadIt's status about 8; Python's parser recurses per level
JSON_TYPES = ("application/json",)  # `application/json; charset=utf-8` too: the parameters are not part of mimetype

# A JSON string (its escapes included) and the bytes that are neither brackets nor braces: what the depth scan drops.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


class ApiError(Exception):
    """An error the caller should see: HTTP status, a stable machine code and a readable message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> flask.Response:
    """Build the JSON error body every function uses (its `code` also goes to the request's log line)."""
    resp = flask.Response(json.dumps({"error": {"code": code, "message": message}}), status=status,
                          mimetype="application/json")
    resp.error_code = code  # read by Router.__call__ for the one log line of the request
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> flask.Response:
    """Serialise `body` as a JSON response."""
    resp = flask.Response(json.dumps(body, default=str, separators=(",", ":")), status=status,
                          mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def raw_body(request: flask.Request, max_bytes: int, what: str = "request body") -> bytes:
    """The raw body (what signatures are computed over), or a 413 ApiError when it is larger than `max_bytes`."""
    if (request.content_length or 0) > max_bytes:
        raise ApiError(413, "body_too_large", f"{what} is larger than {max_bytes} bytes")
    try:
        raw = request.get_data(cache=True)
    except OSError:  # the body stopped arriving (the local launcher's read timeout; Cloud Run buffers bodies)
        raise ApiError(408, "body_timeout", f"the {what} did not arrive in time; send it again") from None
    if len(raw) > max_bytes:  # a chunked body has no Content-Length to check up front
        raise ApiError(413, "body_too_large", f"{what} is larger than {max_bytes} bytes")
    return raw


class JsonError(ValueError):
    """A body that is not acceptable JSON: `code` is `invalid_json` or `json_too_deep`, `message` says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def json_depth_exceeds(raw: bytes, max_depth: int) -> bool:
    """True when `raw` nests arrays/objects deeper than `max_depth`, found without recursion (strings skipped).

    Only structure outside strings counts; for text that is not JSON the answer is a guess, which is fine: the parser
    refuses it anyway."""
    brackets = _JSON_STRING.sub(b"", raw).translate(_BRACKET_STEPS, _NOT_BRACKETS)
    if len(brackets) <= max_depth:  # cheap exit: too few brackets to nest that deep
        return False
    return max(accumulate(array("b", brackets)), default=0) > max_depth


def _has_lone_surrogate(value: Any) -> bool:
    """True if a string anywhere in `value` holds a lone UTF-16 surrogate (`"\\ud800"`), which no store can write."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON text safely: nesting deeper than `max_depth`, invalid UTF-8, lone surrogates and anything the parser
    refuses (RecursionError included) raise JsonError; it never raises anything else."""
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            raise JsonError("invalid_json", "the body is not valid JSON (UTF-8)") from None
    else:
        data = raw
    if json_depth_exceeds(data, max_depth):
        raise JsonError("json_too_deep", f"the JSON nests deeper than {max_depth} levels")
    try:
        value = json.loads(data)
    except RecursionError:  # the depth check should have stopped it; never a 500 all the same
        raise JsonError("json_too_deep", f"the JSON nests deeper than {max_depth} levels") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError (invalid UTF-8) and too many digits are ValueErrors
        raise JsonError("invalid_json", "the body is not valid JSON (UTF-8)") from None
    # json.loads decodes with "surrogatepass": a surrogate arrives escaped (\\ud800) or as UTF-8-like bytes (0xED)
    if (b"\xed" in data or _LONE_SURROGATE.search(data)) and _has_lone_surrogate(value):
        raise JsonError("invalid_json", "the JSON holds an unpaired UTF-16 surrogate")
    return value


def require_json_type(request: flask.Request) -> None:
    """A 415 ApiError unless the request says its body is JSON (`application/json`, parameters allowed)."""
    if request.mimetype not in JSON_TYPES:
        given = (request.mimetype or "none")[:100]
        raise ApiError(415, "unsupported_media_type",
                       f"send the body as application/json (Content-Type was {given})", {"Accept-Post": JSON_TYPES[0]})


def json_body(request: flask.Request, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH,
              content_type: bool = True) -> dict[str, Any]:
    """The request body as a JSON object, or an ApiError: 415 wrong Content-Type (unless `content_type` is False:
    senders whose content type is not ours to choose), 413 larger than `max_bytes`, 400 not JSON, too deep, not an
    object. The one JSON reader of every route."""
    if content_type:
        require_json_type(request)
    raw = raw_body(request, max_bytes)
    if not raw:
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    try:
        body = parse_json(raw, max_depth=max_depth)
    except JsonError as exc:
        raise ApiError(400, exc.code, f"request body: {exc.message}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    return body


def id_list(value: Any, *, field: str = "ids", max_items: int = 1000) -> list[str]:
    """Validate a list of ids from a request body: strings of sane length, de-duplicated, bounded."""
    if not isinstance(value, list):
        raise ApiError(400, "invalid_ids", f"{field} must be a list of strings")
    if len(value) > max_items:
        raise ApiError(400, "too_many_ids", f"{field} may hold at most {max_items} ids")
    out: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str) or not item or len(item) > 200 or "/" in item:
            raise ApiError(400, "invalid_ids", f"{field} must hold non-empty id strings")
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def route_path(path: str, function_name: str) -> str:
    """The path a function routes on, the same for both URLs of a gen2 function: a leading `/<function_name>`
    segment (the `https://REGION-PROJECT.cloudfunctions.net/NAME/...` shape) is dropped, `/...` (run.app) kept."""
    path = path or "/"
    prefix = "/" + function_name
    # Only a whole first segment is the name: /library/videos -> /videos, but /libraryx stays as it is.
    if path == prefix or path.startswith(prefix + "/"):
        return path[len(prefix):] or "/"
    return path


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def backend_unavailable(exc: BaseException) -> bool:
    """True for a Google API outage (unreachable, timed out, overloaded): worth a 503 and a retry, not a 500."""
    if not type(exc).__module__.startswith("google.api_core"):
        return False  # cheap check first: google.api_core is only imported by functions that use it
    from google.api_core import exceptions as gexc

    return isinstance(exc, (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.TooManyRequests,
                            gexc.RetryError, gexc.InternalServerError))


class Router:
    """Dispatch a functions-framework request by method and path, with CORS and uniform errors.

    Paths may hold `{name}` segments, passed to the handler as keyword arguments. `GET /health` is built in.
    `name` is the function's manifest name: a request path starting with `/<name>` is routed without it
    (`route_path`), so both URL shapes of a deployed function reach the same routes.
    """

    def __init__(self, name: str, *, origins: Iterable[str] = (), cors_headers: str = "Authorization, Content-Type, If-None-Match"):
        self.name = name
        self.origins = frozenset(origins)
        self.cors_headers = cors_headers
        self._routes: list[_Route] = []
        self.route("GET", "/health")(lambda request: {"ok": True, "function": name})
        _answer_unmatched_paths(self)

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register `handler` for `method` `path`."""
        # \Z, not $: "$" also matches before a final newline, so "/videos/%0A" was routed as "/videos"
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.rstrip("/") or "/") + r"/?\Z"

        def register(handler: Handler) -> Handler:
            self._routes.append(_Route(method.upper(), re.compile(regex), handler))
            return handler

        return register

    def _cors(self, request: flask.Request, resp: flask.Response) -> flask.Response:
        origin = request.headers.get("Origin")
        if origin and origin in self.origins:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Vary"] = "Origin"
            resp.headers["Access-Control-Expose-Headers"] = "ETag"
        return resp

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.monotonic()
        resp = self._dispatch(request)
        resp = self._cors(request, resp)
        # one line per request; a refused one names its error code (a client error never logs a stack)
        fields = {"code": resp.error_code} if getattr(resp, "error_code", None) else {}
        log.info("request", function=self.name, method=request.method, path=request.path[:300],
                 status=resp.status_code, ms=round((time.monotonic() - started) * 1000, 1), **fields)
        return resp

    def _dispatch(self, request: flask.Request) -> flask.Response:
        path = route_path(request.path, self.name)
        matched = [(r, m) for r in self._routes if (m := r.pattern.match(path))]
        if request.method == "OPTIONS":
            # Any path, known or not: a failed preflight would hide the 404 that follows from the page, which then
            # says "could not reach the server" instead of "not found" (e.g. a malformed id with an encoded "/").
            resp = flask.Response(status=204)
            if request.headers.get("Origin") in self.origins:
                methods = {r.method for r, _ in matched} or {r.method for r in self._routes}
                resp.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(methods | {"OPTIONS"}))
                resp.headers["Access-Control-Allow-Headers"] = self.cors_headers
                resp.headers["Access-Control-Max-Age"] = "3600"
            return resp
        for route, match in matched:
            if route.method == request.method or (route.method == "GET" and request.method == "HEAD"):
                return self._run(route.handler, request, match.groupdict())
        if matched:
            allowed = ", ".join(sorted({r.method for r, _ in matched}))
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}",
                                  {"Allow": allowed})
        return error_response(404, "not_found", f"no route for {request.path}")

    def _run(self, handler: Handler, request: flask.Request, params: dict[str, str]) -> flask.Response:
        try:
            result = handler(request, **params)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.headers)
        except Exception as exc:  # noqa: BLE001 - a clean 4xx, 503 or 500; a stack goes to the log for a 500 only
            if isinstance(exc, HTTPException) and (exc.code or 500) < 500:  # werkzeug refused the request itself
                return error_response(exc.code or 400, "bad_request",
                                      "the request could not be read; check its body and headers")
            if backend_unavailable(exc):
                log.warning("backing service unavailable", function=self.name, path=request.path[:300],
                            error=type(exc).__name__, detail=str(exc)[:300])
                return error_response(503, "unavailable", "a backing service did not answer; please try again",
                                      {"Retry-After": "5"})
            log.error("unhandled error", function=self.name, path=request.path[:300], error=type(exc).__name__,
                      detail=str(exc)[:500], stack=traceback.format_exc()[-4000:])
            return error_response(500, "internal", "internal error; it has been logged")
        if isinstance(result, flask.Response):
            return result
        if isinstance(result, tuple):
            body, status = result
            return json_response(body, status)
        return json_response(result)


def _answer_unmatched_paths(router: Router) -> None:
    """Paths functions-framework's own `/<path:path>` rule does not match (one holding an encoded newline) get
    Flask's HTML 404; this makes them the router's, so they get its JSON 404 and CORS like every other path.
    functions-framework imports the entry module inside its new app's context, so that app is `current_app` here;
    imported elsewhere (in-process tests), there is no app to set up. In a module with two entry points the last
    router made answers them (both answer the same JSON 404)."""
    if not flask.has_app_context() or flask.has_request_context():
        return
    flask.current_app.register_error_handler(404, lambda _exc: router(flask.request))
