"""Data-plane stand-ins: what answers where AWS would run containers and load balancers.

`DataPlane.sync()` reconciles both halves with moto's state: a stand-in per ECS task
set (registered in its target groups, with the files storage its task definition mounts:
an EFS file system's directory under `<state dir>/efs/`, or ephemeral storage) and a
loopback port per listener. It runs
after every mutating ECS/ELBv2 call (router hooks), after each step of a CodeDeploy
deployment, on `GET /_vikunja_local/listeners`, and once a second in the background
for anything else (CloudFormation, direct backend calls).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .listeners import LISTENERS_ENV, ListenerForwarders
from .standin import StandIn
from .storage import StorageResolver
from .tasksets import TaskSetStandIns

log = logging.getLogger(__name__)

__all__ = ["DataPlane", "LISTENERS_ENV", "StandIn"]


class DataPlane:
    def __init__(self, listeners_file: Path, poll_seconds: float = 1.0, state_dir: Path | None = None):
        """`state_dir`: where EFS file systems' and tasks' ephemeral files live (`efs/`,
        `ephemeral/`); default: the directory of the listener map."""
        self.storage = StorageResolver(state_dir if state_dir is not None else listeners_file.parent)
        self.task_sets = TaskSetStandIns(self.storage)
        self.listeners = ListenerForwarders(listeners_file)
        self.poll_seconds = poll_seconds
        self._lock = threading.RLock()
        self._closed = threading.Event()

    def sync(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            # Task sets first: a listener's first connection should find its target.
            self.task_sets.sync()
            self.listeners.sync()

    def start(self) -> None:
        self.storage.start()  # a new stack has no file systems: an earlier one's files go
        self.sync()  # publishes the (empty) listener map at once
        threading.Thread(target=self._poll, name="data-plane-sync", daemon=True).start()

    def listener_map(self) -> dict[str, str]:
        self.sync()
        return self.listeners.listener_map()

    def crash_stand_in(self, target: str) -> str | None:
        with self._lock:
            return self.task_sets.crash(target)

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            self.listeners.close()
            self.task_sets.close()

    def _poll(self) -> None:
        while not self._closed.wait(self.poll_seconds):
            try:
                self.sync()
            except RuntimeError:  # a moto dict changed size under us: next round
                pass
            except Exception:
                log.exception("data-plane sync failed")
