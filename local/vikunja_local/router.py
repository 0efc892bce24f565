"""The one endpoint: a WSGI middleware in front of moto.

Requests are matched against a table of routes, in order; the first route whose
predicate accepts the request answers it. Anything unmatched goes to moto.
After moto (or a route) answered, every after-hook whose predicate accepts the
request is called with the request and the response, e.g. to emit the
EventBridge event AWS would have sent. See local/README.md, "Extending the router".
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/")


class CallView:
    """What routes and hooks see of one request. The body is read only on demand,
    then handed on to moto unchanged."""

    def __init__(self, environ: dict):
        self.environ = environ
        self._body: bytes | None = None

    @property
    def method(self) -> str:
        return self.environ.get("REQUEST_METHOD", "GET")

    @property
    def path(self) -> str:
        """Percent-decoded path, as werkzeug gives it."""
        return self.environ.get("PATH_INFO", "")

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.environ.get("QUERY_STRING", ""))

    def header(self, name: str, default: str | None = None) -> str | None:
        key = "HTTP_" + name.upper().replace("-", "_")
        if name.lower() == "content-type":
            key = "CONTENT_TYPE"
        return self.environ.get(key, default)

    @property
    def amz_target(self) -> str:
        """X-Amz-Target of JSON-protocol APIs, e.g. 'CodeDeploy_20141006.CreateDeployment'."""
        return self.header("X-Amz-Target", "") or ""

    @property
    def signing_service(self) -> str | None:
        match = _CREDENTIAL_SCOPE.search(self.header("Authorization", "") or "")
        return match.group(3) if match else None

    @property
    def region(self) -> str | None:
        match = _CREDENTIAL_SCOPE.search(self.header("Authorization", "") or "")
        return match.group(2) if match else None

    @property
    def access_key(self) -> str | None:
        match = _CREDENTIAL_SCOPE.search(self.header("Authorization", "") or "")
        return match.group(1) if match else None

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = self._read_body()
            # Give the next reader (moto) the same bytes, as a plain sized stream.
            self.environ["wsgi.input"] = io.BytesIO(self._body)
            self.environ["CONTENT_LENGTH"] = str(len(self._body))
            self.environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self._body

    def _read_body(self) -> bytes:
        stream = self.environ.get("wsgi.input")
        if stream is None:
            return b""
        length = self.environ.get("CONTENT_LENGTH")
        if length:
            return stream.read(int(length))
        if self.environ.get("wsgi.input_terminated"):
            return stream.read()
        return b""


@dataclass
class Reply:
    """A complete HTTP answer, for routes and for hooks to inspect."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


Predicate = Callable[[CallView], bool]
RouteHandler = Callable[[CallView], Reply]
AfterHook = Callable[[CallView, Reply], None]


@dataclass
class Route:
    name: str
    matches: Predicate
    handle: RouteHandler


@dataclass
class Hook:
    name: str
    matches: Predicate
    after: AfterHook


_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
    403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}


def status_line(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Unknown')}"


class Router:
    """WSGI app: our routes first, moto for everything else, then after-hooks."""

    def __init__(self, fallback: WsgiApp):
        self.fallback = fallback
        self.routes: list[Route] = []
        self.hooks: list[Hook] = []

    def add_route(self, name: str, matches: Predicate, handle: RouteHandler) -> None:
        self.routes.append(Route(name, matches, handle))

    def add_hook(self, name: str, matches: Predicate, after: AfterHook) -> None:
        self.hooks.append(Hook(name, matches, after))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        call = CallView(environ)
        route = next((r for r in self.routes if r.matches(call)), None)
        hooks = [h for h in self.hooks if h.matches(call)]

        if route is None and not hooks:
            # The common case streams straight through moto.
            return self.fallback(environ, start_response)

        reply = self._answer_with_route(route, call) if route else self._answer_with_moto(call)
        for hook in hooks:
            try:
                hook.after(call, reply)
            except Exception:  # a hook must never break the call it observes
                log.exception("after-hook %s failed for %s %s", hook.name, call.method, call.path)
        start_response(status_line(reply.status), reply.headers)
        return [reply.body]

    def _answer_with_route(self, route: Route, call: CallView) -> Reply:
        try:
            return route.handle(call)
        except Exception as error:
            log.exception("route %s failed for %s %s", route.name, call.method, call.path)
            return json_reply(500, {"__type": "ServiceException", "message": f"{route.name}: {error}"})

    def _answer_with_moto(self, call: CallView) -> Reply:
        call.body  # buffer the request so hooks can read it after moto did
        return call_wsgi(self.fallback, call.environ)


def call_wsgi(app: WsgiApp, environ: dict) -> Reply:
    """Run a WSGI app to completion and keep its whole answer (for hooks, and for
    routes that re-dispatch a translated request through the router)."""
    captured: dict = {}
    chunks: list[bytes] = []

    def capture(status: str, headers: list, exc_info=None):
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = list(headers)
        return chunks.append

    result = app(environ, capture)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Reply(captured["status"], captured["headers"], b"".join(chunks))


def json_reply(status: int, document, headers: list[tuple[str, str]] | None = None) -> Reply:
    import json

    body = json.dumps(document).encode()
    all_headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    all_headers += headers or []
    return Reply(status, all_headers, body)
