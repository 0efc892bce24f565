"""The Lambda Runtime API, served on a loopback port to one worker process.

https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from .model import Invocation, Outcome

log = logging.getLogger(__name__)

API_PREFIX = "/2018-06-01/runtime"
_RESPONSE_PATH = re.compile(rf"^{API_PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")


class RuntimeClientSide(Protocol):
    """What the API needs from the worker it serves."""

    def next_invocation(self) -> Invocation | None: ...

    def invocation_result(self, request_id: str, outcome: Outcome) -> bool: ...

    def init_failed(self, outcome: Outcome) -> None: ...


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A killed worker (timeout, stop) drops its connection mid-request: expected.
        log.debug("runtime api connection from %s ended abruptly", client_address, exc_info=True)


class RuntimeApiServer:
    def __init__(self, worker: RuntimeClientSide):
        handler = type("BoundRuntimeApiHandler", (_RuntimeApiHandler,), {"worker": worker})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    worker: RuntimeClientSide

    def log_message(self, format, *args):  # noqa: A002 - keep the stack log quiet
        log.debug("runtime api: " + format, *args)

    def do_GET(self):
        if self.path != f"{API_PREFIX}/invocation/next":
            return self._send(404, {"errorType": "NotFound", "errorMessage": self.path})
        invocation = self.worker.next_invocation()
        if invocation is None:  # the worker is shutting down
            return self._send(500, {"errorType": "Runtime.ShuttingDown", "errorMessage": "worker stopping"})
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        self._send_raw(200, invocation.payload, headers)

    def do_POST(self):
        body = self._read_body()
        if self.path == f"{API_PREFIX}/init/error":
            self.worker.init_failed(_error_outcome(body, self.headers))
            return self._send(202, {"status": "OK"})
        match = _RESPONSE_PATH.match(self.path)
        if not match:
            return self._send(404, {"errorType": "NotFound", "errorMessage": self.path})
        if match["kind"] == "response":
            outcome = Outcome(body)
        else:
            outcome = _error_outcome(body, self.headers)
        if not self.worker.invocation_result(match["id"], outcome):
            return self._send(400, {"errorType": "InvalidRequestID", "errorMessage": "unknown or finished request"})
        self._send(202, {"status": "OK"})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        return b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                # Trailers (a streaming runtime may send its error type there), then a blank line.
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, status: int, document: dict) -> None:
        self._send_raw(status, json.dumps(document).encode(), {"Content-Type": "application/json"})

    def _send_raw(self, status: int, body: bytes, headers: dict) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _error_outcome(body: bytes, headers) -> Outcome:
    """Keep the runtime's errorType: Step Functions Retry/Catch match on it."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    error_type = document.get("errorType") or headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
    answer = {"errorType": error_type, "errorMessage": document.get("errorMessage", "")}
    if document.get("stackTrace"):
        answer["stackTrace"] = document["stackTrace"]
    return Outcome(json.dumps(answer).encode(), error_type)
