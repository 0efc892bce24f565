"""A stand-in for one ECS task set: a tiny HTTP server that answers like Vikunja's API.

Nothing runs containers here. What the release machinery needs from a task set is
what its smoke tests ask: `GET /health` and `GET /api/v1/info` with the deployed
version; and, to show that attachments outlive a release, a minimal slice of Vikunja's
attachment API (`PUT`/`GET /api/v1/tasks/{id}/attachments[/{attachmentID}]`, see
attachments.py) on the stand-in's files storage (the task definition's EFS mount or the
task's ephemeral storage, see storage.py). An image tag containing `broken` answers 500
on all of them, so rollbacks can be exercised. A 2.x tag answers `/api/v1/info` as Vikunja 2.x
does (`version` as `v2.5.0`, its fields); any other tag as 0.24 (the tag itself as `version`).

The stand-in is not Vikunja: no authentication, no database, no tasks (attachments.py says
what that leaves out).
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import attachments
from .storage import FilesStorage

log = logging.getLogger(__name__)

# Each stand-in gets its own loopback address (Linux routes all of 127.0.0.0/8 to lo),
# so target IDs in a target group never collide, like task IPs in a VPC.
_addresses = itertools.count(0)


@dataclass(frozen=True)
class Release:
    """What a task set runs, as far as the stand-in can tell."""

    image: str
    version: str

    @property
    def broken(self) -> bool:
        return "broken" in self.version


class StandIn:
    def __init__(self, task_set_arn: str, release: Release, storage: FilesStorage | None = None):
        """`storage`: where Vikunja's files go (storage.StorageResolver decides); without one,
        a private temporary directory, deleted when the stand-in stops."""
        self.task_set_arn = task_set_arn
        self.release = release
        self._owns_storage = storage is None
        if storage is None:
            storage = FilesStorage(Path(tempfile.mkdtemp(prefix="vikunja-local-stand-in-")), shared=False,
                                   description="ephemeral storage (a temporary directory)")
        self.storage = storage
        self._server = _bind(_handler_for(release, storage))
        threading.Thread(target=self._server.serve_forever, name=f"stand-in-{release.version}", daemon=True).start()
        log.info("stand-in for %s (%s) serving on %s, files in %s: %s", task_set_arn, release.image, self.address,
                 storage.directory, storage.description)

    @property
    def ip(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def stop(self) -> None:
        """Like a stopped task: no new connections, and the open ones (keep-alive
        clients, flows an NLB still holds) are cut rather than served on."""
        self._stop_serving()
        if self._owns_storage:
            attachments.forget_tables_under(self.storage.directory)
            shutil.rmtree(self.storage.directory, ignore_errors=True)
        log.info("stand-in for %s on %s stopped", self.task_set_arn, self.address)

    def crash(self) -> None:
        """Like a task whose container died: it stops answering (health checks fail) but
        stays registered, and its files stay. Idempotent; `stop` follows at retirement."""
        if not self.crashed:
            self._stop_serving()
            log.info("stand-in for %s on %s crashed", self.task_set_arn, self.address)

    def _stop_serving(self) -> None:
        """No more answers (what a crash and a stop share); `crashed` says it happened."""
        if self.crashed:
            return
        self.crashed = True
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()

    crashed = False


class _TrackingServer(ThreadingHTTPServer):
    """Remembers its open connections: shutdown() alone leaves keep-alive ones served."""

    daemon_threads = True

    def __init__(self, address, handler):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _bind(handler: type) -> _TrackingServer:
    number = next(_addresses)
    ip = f"127.42.{number // 250 % 250}.{number % 250 + 2}"
    try:
        return _TrackingServer((ip, 0), handler)
    except OSError:  # a loopback without 127.0.0.0/8 (not Linux): share 127.0.0.1
        return _TrackingServer(("127.0.0.1", 0), handler)


def major_version(tag: str) -> int | None:
    """The major version an image tag names (`2.5.0`, `v2.5`, `2`, `2.5.1-broken`), or None
    (`latest`, a digest, `broken-0`)."""
    head = tag[1:] if tag.startswith("v") else tag
    head = head.split("-", 1)[0].split("+", 1)[0].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def info_document(release: Release) -> dict:
    """The fields of Vikunja's `/api/v1/info` a client is likely to read, as the release's
    major version writes them."""
    major = major_version(release.version)
    if major is not None and major >= 2:
        return _info_document_2x(release.version)
    return _info_document_0_24(release.version)


def _info_document_2x(tag: str) -> dict:
    """Vikunja 2.x (go-vikunja/vikunja `pkg/routes/api/v1/info.go`): `version` is the build's
    `RELEASE_VERSION`, the release tag's `git describe` (`v2.5.0`: `magefile.go` setVersion,
    `.github/workflows/release.yml`); registration moved under `auth.local`; LDAP, the page
    size and the licensed features are new."""
    return {
        "version": tag if tag.startswith("v") else f"v{tag}",
        "frontend_url": "",
        "motd": "",
        "link_sharing_enabled": True,
        "max_file_size": "20MB",
        "max_items_per_page": 50,
        "available_migrators": ["vikunja-file", "ticktick", "wekan", "csv"],
        "task_attachments_enabled": True,
        "enabled_background_providers": ["upload"],
        "totp_enabled": True,
        "legal": {"imprint_url": "", "privacy_policy_url": ""},
        "caldav_enabled": True,
        "auth": {
            "local": {"enabled": True, "registration_enabled": True},
            "ldap": {"enabled": False},
            "openid_connect": {"enabled": False, "providers": None},
        },
        "email_reminders_enabled": False,
        "user_deletion_enabled": True,
        "task_comments_enabled": True,
        "demo_mode_enabled": False,
        "webhooks_enabled": True,
        "public_teams_enabled": False,
        "enabled_pro_features": [],
    }


def _info_document_0_24(version: str) -> dict:
    return {
        "version": version,
        "frontend_url": "",
        "motd": "",
        "link_sharing_enabled": True,
        "max_file_size": "20MB",
        "registration_enabled": True,
        "available_migrators": [],
        "task_attachments_enabled": True,
        "enabled_background_providers": [],
        "totp_enabled": True,
        "legal": {"imprint_url": "", "privacy_policy_url": ""},
        "caldav_enabled": True,
        "auth": {"local": {"enabled": True}, "openid_connect": {"enabled": False, "providers": None}},
        "email_reminders_enabled": False,
        "user_deletion_enabled": True,
        "task_comments_enabled": True,
        "demo_mode_enabled": False,
        "webhooks_enabled": True,
        "public_teams_enabled": False,
    }


def _handler_for(release: Release, storage: FilesStorage) -> type:
    class Handler(_VikunjaLikeHandler):
        pass

    Handler.release = release
    Handler.storage = storage
    return Handler


class _VikunjaLikeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    release: Release
    storage: FilesStorage
    server_version = "vikunja-local-stand-in"

    def log_message(self, format, *args):  # noqa: A002 - keep the stack log quiet
        log.debug("stand-in %s: " + format, self.release.version, *args)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if attachments.handles(self.command, path):
            return self._attachments(path)
        if path == "/health":
            if self.release.broken:
                return self._send(500, b"database ping failed", "text/plain; charset=utf-8")
            return self._send(200, b"OK", "text/plain; charset=utf-8")
        if path == "/api/v1/info":
            if self.release.broken:
                return self._send_json(500, {"message": "Internal Server Error"})
            return self._send_json(200, info_document(self.release))
        return self._send_json(404, {"message": "Not Found"})

    def do_HEAD(self):
        self.do_GET()

    def do_PUT(self):
        path = self.path.split("?", 1)[0]
        if attachments.handles("PUT", path):
            return self._attachments(path)
        self._discard_body()
        return self._send_json(404, {"message": "Not Found"})

    def _attachments(self, path: str) -> None:
        body = b""
        if self.command == "PUT":
            length = self.headers.get("Content-Length")
            if length is None:
                self.close_connection = True
                return self._send_json(411, {"message": "Length Required"})
            if int(length) > attachments.MAX_BODY:
                self.close_connection = True
                return self._send_json(413, {"message": "Request Entity Too Large"})
            body = self.rfile.read(int(length))
        if self.release.broken:
            return self._send_json(500, {"message": "Internal Server Error"})
        reply = attachments.handle(self.command, path, self.headers, body, self.storage.directory, self.storage.read_only)
        self._send(reply.status, reply.body, reply.content_type, reply.headers)

    def _discard_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= attachments.MAX_BODY:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _send_json(self, status: int, document: dict) -> None:
        self._send(status, json.dumps(document).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
