"""Unpacks each function's code zip once per CodeSha256."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from pathlib import Path

from .model import FunctionSpec


class MissingBootstrap(Exception):
    """The code has no `bootstrap`: not a custom-runtime function."""


class CodeStore:
    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()

    def task_root(self, spec: FunctionSpec) -> Path:
        """The directory holding the unpacked code (Lambda's LAMBDA_TASK_ROOT)."""
        target = self.root / spec.code_id
        if not (target / "bootstrap").is_file():
            with self._lock:  # one unpack per code, even with concurrent first invokes
                if not (target / "bootstrap").is_file():
                    self._unpack(spec, target)
        return target

    def _unpack(self, spec: FunctionSpec, target: Path) -> None:
        if not spec.code_zip:
            raise MissingBootstrap(f"function {spec.name} has no zip code (image functions are not supported locally)")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self.root))
        try:
            with zipfile.ZipFile(io.BytesIO(spec.code_zip)) as archive:
                for info in archive.infolist():
                    archive.extract(info, staging)
                    _restore_mode(info, staging / info.filename)
            bootstrap = staging / "bootstrap"
            if not bootstrap.is_file():
                raise MissingBootstrap(
                    f"function {spec.name}: no `bootstrap` at the root of its code zip "
                    "(the local Lambda host runs provided.al2023 custom runtimes)"
                )
            bootstrap.chmod(bootstrap.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _restore_mode(info: zipfile.ZipInfo, path: Path) -> None:
    """zipfile drops Unix permissions; the executable bit matters here."""
    mode = (info.external_attr >> 16) & 0o777
    if mode and not info.is_dir():
        path.chmod(mode)
