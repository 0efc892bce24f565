"""Where function output goes: a file per function, and moto's CloudWatch Logs."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from .model import FunctionSpec

log = logging.getLogger(__name__)


class LambdaLogs:
    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()
        self._streams: set[tuple[str, str, str, str]] = set()

    def write(self, spec: FunctionSpec, stream: str, line: str) -> None:
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.directory / f"{spec.name}.log", "a", encoding="utf-8") as file:
                file.write(f"{stream} {line}\n")
            self._to_cloudwatch(spec, stream, line)

    def _to_cloudwatch(self, spec: FunctionSpec, stream: str, line: str) -> None:
        try:
            from moto.logs.models import logs_backends

            backend = logs_backends[spec.account][spec.region]
            key = (spec.account, spec.region, spec.log_group, stream)
            if key not in self._streams:
                backend.ensure_log_group(spec.log_group)
                if stream not in backend.groups[spec.log_group].streams:
                    backend.create_log_stream(spec.log_group, stream)
                self._streams.add(key)
            backend.put_log_events(spec.log_group, stream, [{"timestamp": int(time.time() * 1000), "message": line}])
        except Exception as error:  # the file log above is the one that must not fail
            self._streams.discard((spec.account, spec.region, spec.log_group, stream))
            log.debug("could not copy a log line of %s to CloudWatch Logs: %s", spec.name, error)
