"""A minimal slice of Vikunja's task attachment API, for the stand-ins.

Mirrors `pkg/routes/api/v1/task_attachment.go`, `pkg/models/task_attachment.go` and
`pkg/files/files.go` of go-vikunja/vikunja:

- `PUT /api/v1/tasks/{id}/attachments`, a multipart form whose `files` fields are the files
  (several allowed), answers 200 `{"errors": null, "success": [TaskAttachment, …]}` — `null`
  where Go marshals an empty slice, as Vikunja does; a file over the size limit (20 MB, the
  `max_file_size` the stand-ins' `/api/v1/info` reports) goes to `errors` as
  `{"message": {"code": 4012, "message": …}}`; a body that is not multipart: 400
  `{"message": "No multipart form provided"}`.
- `GET /api/v1/tasks/{id}/attachments` lists the task's attachments (a JSON array).
- `GET /api/v1/tasks/{id}/attachments/{attachmentID}` answers the file's bytes
  (`Content-Type` from the name's extension, `Content-Length`, `Last-Modified`); an
  attachment that does not exist, or belongs to another task: 404
  `{"code": 4011, "message": "This task attachment does not exist."}`; one whose file is
  missing from storage: 500 `{"message": "Internal Server Error"}`.

A `TaskAttachment` is `{"id", "task_id", "created_by", "file": {"id", "name", "mime", "size",
"created"}, "created"}` (`mime` is empty: Vikunja does not detect it for attachments). The
file's bytes are stored as `<files dir>/<file id>`, Vikunja's `files.basepath` layout.

**The stand-in is not Vikunja.** No authentication: no token is asked for or checked, every
caller is user 1. No tasks: any numeric task ID is accepted (Vikunja answers 404 for a task
that does not exist and 403 for one the user may not see). No previews (`preview_size` is
ignored), no deletion. Vikunja keeps the attachment and file rows in its database; here they
are kept, in the stack's memory, with the files directory they describe (one table per
directory): every stand-in that mounts the same directory sees the same attachments, and a
stand-in with other storage sees none of them (where Vikunja, with its rows in a shared
database, would find the row and fail on the missing file).
"""

from __future__ import annotations

import json
import mimetypes
import os
import posixpath
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

MAX_FILE_SIZE = 20 * 1024 * 1024  # "20MB" as Vikunja's datasize reads it
MAX_BODY = 64 * 1024 * 1024  # what one upload may send the stand-in at all

_ATTACHMENTS = re.compile(r"^/api/v1/tasks/([^/]+)/attachments/?$")
_ATTACHMENT = re.compile(r"^/api/v1/tasks/([^/]+)/attachments/([^/]+)$")
_USER_ID = 1


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, document) -> Reply:
    return Reply(status, json.dumps(document).encode(), "application/json; charset=UTF-8")


NOT_FOUND = json_reply(404, {"code": 4011, "message": "This task attachment does not exist."})
INTERNAL_ERROR = json_reply(500, {"message": "Internal Server Error"})


@dataclass
class Attachment:
    id: int
    task_id: int
    file_id: int
    name: str
    size: int
    created: datetime

    def document(self) -> dict:
        created = _timestamp(self.created)
        return {
            "id": self.id,
            "task_id": self.task_id,
            "created_by": {"id": _USER_ID, "name": "", "username": "vikunja-local", "created": created,
                           "updated": created},
            "file": {"id": self.file_id, "name": self.name, "mime": "", "size": self.size, "created": created},
            "created": created,
        }


class AttachmentTable:
    """Vikunja's `files` and `task_attachments` rows for one files directory."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()
        self._rows: dict[int, Attachment] = {}
        self._next_file_id = 1
        self._next_attachment_id = 1

    def add(self, task_id: int, name: str, data: bytes) -> Attachment:
        """Writes the file as `<directory>/<file id>` (whole or not at all), then records it."""
        with self._lock:
            file_id, self._next_file_id = self._next_file_id, self._next_file_id + 1
            attachment_id, self._next_attachment_id = self._next_attachment_id, self._next_attachment_id + 1
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / str(file_id)
        temporary = self.directory / f".{file_id}.{os.getpid()}.{threading.get_ident()}.upload"
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        attachment = Attachment(attachment_id, task_id, file_id, name, len(data), datetime.now(timezone.utc))
        with self._lock:
            self._rows[attachment_id] = attachment
        return attachment

    def get(self, task_id: int, attachment_id: int) -> Attachment | None:
        with self._lock:
            attachment = self._rows.get(attachment_id)
        return attachment if attachment is not None and attachment.task_id == task_id else None

    def of_task(self, task_id: int) -> list[Attachment]:
        with self._lock:
            return [a for a in self._rows.values() if a.task_id == task_id]

    def path_of(self, attachment: Attachment) -> Path:
        return self.directory / str(attachment.file_id)


_tables: dict[str, AttachmentTable] = {}
_tables_lock = threading.Lock()


def table_for(directory: Path) -> AttachmentTable:
    key = os.path.realpath(directory)
    with _tables_lock:
        table = _tables.get(key)
        if table is None:
            table = _tables[key] = AttachmentTable(Path(key))
        return table


def forget_tables_under(directory: Path) -> None:
    """The storage at `directory` is gone (a task's ephemeral storage, a deleted file system)."""
    prefix = os.path.realpath(directory)
    with _tables_lock:
        for key in [k for k in _tables if k == prefix or k.startswith(prefix + os.sep)]:
            del _tables[key]


# -- requests ----------------------------------------------------------------------------------


def handles(method: str, path: str) -> bool:
    if method == "PUT":
        return bool(_ATTACHMENTS.match(path))
    if method in ("GET", "HEAD"):
        return bool(_ATTACHMENTS.match(path) or _ATTACHMENT.match(path))
    return False


def handle(method: str, path: str, headers, body: bytes, files_dir: Path, read_only: bool) -> Reply:
    table = table_for(files_dir)
    single = _ATTACHMENT.match(path)
    if single:
        task_id, attachment_id = _int(single.group(1)), _int(single.group(2))
        if task_id is None or attachment_id is None:
            return json_reply(400, {"message": "No task ID provided"})
        return _download(table, task_id, attachment_id)
    task_id = _int(_ATTACHMENTS.match(path).group(1))
    if task_id is None:
        return json_reply(400, {"message": "No task ID provided"})
    if method == "PUT":
        return _upload(table, task_id, headers.get("Content-Type") or "", body, read_only)
    return json_reply(200, [a.document() for a in table.of_task(task_id)])


def _upload(table: AttachmentTable, task_id: int, content_type: str, body: bytes, read_only: bool) -> Reply:
    parts = parse_multipart(content_type, body)
    if parts is None:
        return json_reply(400, {"message": "No multipart form provided"})
    success: list[dict] = []
    errors: list[dict] = []
    for field, filename, data in parts:
        if field != "files" or filename is None:
            continue
        if len(data) > MAX_FILE_SIZE:
            errors.append({"message": {"code": 4012, "message": (
                f"The task attachment exceeds the configured file size of {MAX_FILE_SIZE} bytes, "
                f"filesize was {len(data)}")}})
            continue
        if read_only:  # a read-only mount point: the write fails as any I/O error does
            errors.append({"message": "Internal Server Error"})
            continue
        try:
            success.append(table.add(task_id, posixpath.basename(filename), data).document())
        except OSError:
            errors.append({"message": "Internal Server Error"})
    return json_reply(200, {"errors": errors or None, "success": success or None})


def _download(table: AttachmentTable, task_id: int, attachment_id: int) -> Reply:
    attachment = table.get(task_id, attachment_id)
    if attachment is None:
        return NOT_FOUND
    try:
        data = table.path_of(attachment).read_bytes()
    except OSError:
        return INTERNAL_ERROR
    content_type = mimetypes.guess_type(attachment.name)[0] or "application/octet-stream"
    return Reply(200, data, content_type, (("Last-Modified", format_datetime(attachment.created, usegmt=True)),
                                           ("Accept-Ranges", "bytes")))


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str | None, str | None, bytes]] | None:
    """[(field name, file name or None, bytes)] of a `multipart/form-data` body; None when
    the body is not one. Byte-exact: the parts' content is never decoded."""
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != "multipart/form-data":
        return None
    boundary = _parameter(parameters, "boundary")
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 2:
        return None
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # the close delimiter
        if piece.startswith(b"\r\n"):
            piece = piece[2:]
        head, separator, content = piece.partition(b"\r\n\r\n")
        if not separator:
            continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        _, _, disposition_parameters = disposition.partition(";")
        parts.append((_parameter(disposition_parameters, "name"), _parameter(disposition_parameters, "filename"),
                      content))
    return parts


def _parameter(parameters: str, wanted: str) -> str | None:
    for match in re.finditer(r'([\w*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', parameters):
        if match.group(1).lower() == wanted:
            value = match.group(2).strip()
            if value.startswith('"') and value.endswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            return value
    return None


def _int(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value > 0 else None


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
