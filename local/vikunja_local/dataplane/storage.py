"""Where a stand-in keeps Vikunja's files: the task definition's EFS mount, or the task's own
ephemeral storage.

Vikunja writes attachments under `files.basepath` (`/app/vikunja/files` in the image, or the
container's `VIKUNJA_FILES_BASEPATH`). When the load-balanced container (else the first)
mounts an EFS volume there (`mountPoints[].containerPath` is the base path or a directory
above it, `sourceVolume` a volume with `efsVolumeConfiguration`), the stand-in's files
directory stands for that place on that file system:

    <state dir>/efs/<fileSystemId>/<access point's RootDirectory.Path, or the volume's rootDirectory>/<rest of the base path>

— one directory per place on a file system, shared by every stand-in of every task set that
mounts it (blue and green, a scaled-out task, the next release). Otherwise (no mount, or a
volume that is not EFS: Fargate bind mounts live with the task) the stand-in gets a private
directory under `<state dir>/ephemeral/`, deleted when the stand-in stops, as a task's storage
is lost with the task.

Before mounting, the stand-in checks what ECS and EFS would refuse when the task starts (the
task would stop with `ResourceInitializationError`): the file system and access point exist in
moto's EFS (and the access point is on that file system); with an access point, the volume's
`rootDirectory` is `/` or omitted and `transitEncryption` is `ENABLED`; with
`authorizationConfig.iam` `ENABLED`, transit encryption is on and the task definition has a
`taskRoleArn`; the file system has a mount target in the Availability Zone of each subnet the
task set may place a task in (any mount target when the task set names no subnets); the access
point's root directory exists or has `CreationInfo` to create it (it is created on first mount,
as EFS does), a plain `rootDirectory` other than `/` exists. A refused mount leaves the task
set without a stand-in (no target registers, health checks fail) and is logged once per reason.

Not modelled: NFS itself (the stand-ins are in-process, the directory is a local one), IAM
authorization of the mount (the task role's and the file system policy's
`elasticfilesystem:ClientMount`/`ClientWrite`/`ClientRootAccess` are not evaluated), the access
point's POSIX user and `CreationInfo` owner and permissions (files are written as the stack's
user), security groups between task and mount target, and EFS's own latency and consistency.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..accounts import existing_backends
from .attachments import forget_tables_under

log = logging.getLogger(__name__)

FILES_BASEPATH = "/app/vikunja/files"
BASEPATH_ENV = "VIKUNJA_FILES_BASEPATH"


class MountRefused(Exception):
    """The task could not start: ECS would stop it with this reason."""


@dataclass(frozen=True)
class FilesStorage:
    directory: Path
    shared: bool  # an EFS volume (outlives the stand-in) or the task's ephemeral storage
    description: str
    read_only: bool = False
    file_system_id: str | None = None
    access_point_id: str | None = None


class StorageResolver:
    def __init__(self, state_dir: Path | None = None):
        root = Path(state_dir) if state_dir is not None else Path(tempfile.gettempdir()) / "vikunja-local"
        self.efs_root = root / "efs"
        self.ephemeral_root = root / "ephemeral"
        self._file_systems_seen: set[str] = set()

    def start(self) -> None:
        """A new stack knows no file system (moto's state is in memory): what an earlier
        stack left in this state dir is gone with it."""
        for directory in (self.efs_root, self.ephemeral_root):
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True, exist_ok=True)

    # -- per stand-in ----------------------------------------------------------------------

    def storage_for(self, account: str, region: str, task_set: Any, task_definition: Any,
                    container_name: str | None) -> FilesStorage:
        """The files storage a new stand-in of `task_set` gets; MountRefused if the task
        could not start."""
        container = load_balanced_container(task_definition, container_name)
        basepath = posixpath.normpath(_environment(container).get(BASEPATH_ENV) or FILES_BASEPATH)
        mount = _mount_point_for(container, basepath)
        if mount is None:
            return self._ephemeral(task_set, "no volume is mounted at " + basepath)
        volume = next((v for v in getattr(task_definition, "volumes", None) or [] if v.get("name") == mount.get("sourceVolume")),
                      None)
        if volume is None or not volume.get("efsVolumeConfiguration"):
            return self._ephemeral(task_set, f"volume {mount.get('sourceVolume')} at {mount.get('containerPath')} is not EFS")
        below = posixpath.relpath(basepath, posixpath.normpath(mount["containerPath"]))
        return self._efs(account, region, task_set, task_definition, volume, below, bool(mount.get("readOnly")))

    def release(self, storage: FilesStorage) -> None:
        """The stand-in stopped: its ephemeral storage goes; EFS stays."""
        if storage.shared:
            return
        forget_tables_under(storage.directory)
        shutil.rmtree(storage.directory, ignore_errors=True)

    def _ephemeral(self, task_set: Any, why: str) -> FilesStorage:
        self.ephemeral_root.mkdir(parents=True, exist_ok=True)
        name = str(getattr(task_set, "id", None) or "task").replace("/", "-")
        directory = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.ephemeral_root))
        return FilesStorage(directory, shared=False, description=f"ephemeral storage ({why})")

    def _efs(self, account: str, region: str, task_set: Any, task_definition: Any, volume: dict, below: str,
             read_only: bool) -> FilesStorage:
        config = volume["efsVolumeConfiguration"]
        file_system_id = config.get("fileSystemId") or ""
        authorization = config.get("authorizationConfig") or {}
        access_point_id = authorization.get("accessPointId")
        transit = (config.get("transitEncryption") or "DISABLED").upper()
        root_directory = config.get("rootDirectory") or "/"
        backend = _efs_backend(account, region)
        file_system = backend.file_systems_by_id.get(file_system_id) if backend else None
        if file_system is None:
            raise MountRefused(f"ResourceInitializationError: failed to mount EFS volume {volume.get('name')}: "
                               f"file system {file_system_id or '(none)'} does not exist")
        self._file_systems_seen.add(file_system_id)
        access_point = None
        if access_point_id:
            access_point = backend.access_points.get(access_point_id)
            if access_point is None:
                raise MountRefused(f"ResourceInitializationError: access point {access_point_id} does not exist")
            if access_point.file_system_id != file_system_id:
                raise MountRefused(f"ResourceInitializationError: access point {access_point_id} belongs to file system "
                                   f"{access_point.file_system_id}, not {file_system_id}")
            if posixpath.normpath(root_directory) != "/":
                raise MountRefused(f"ClientException: with access point {access_point_id}, the EFS volume's rootDirectory "
                                   f"must be omitted or /, not {root_directory}")
            if transit != "ENABLED":
                raise MountRefused(f"ClientException: access point {access_point_id} needs transitEncryption ENABLED")
        if (authorization.get("iam") or "DISABLED").upper() == "ENABLED":
            if transit != "ENABLED":
                raise MountRefused("ClientException: EFS IAM authorization needs transitEncryption ENABLED")
            if not getattr(task_definition, "task_role_arn", None):
                raise MountRefused("ClientException: EFS IAM authorization needs a taskRoleArn in the task definition")
        self._check_mount_targets(account, region, backend, file_system, task_set)

        file_system_dir = self.efs_root / file_system_id
        file_system_dir.mkdir(parents=True, exist_ok=True)
        if access_point is not None:
            path = (access_point.root_directory or {}).get("Path") or "/"
            mounted = file_system_dir / _relative(path)
            if not mounted.is_dir():
                if not (access_point.root_directory or {}).get("CreationInfo"):
                    raise MountRefused(f"ResourceInitializationError: access point {access_point_id}'s root directory "
                                       f"{path} does not exist and the access point has no CreationInfo to create it")
                mounted.mkdir(parents=True, exist_ok=True)
            where = f"{file_system_id} through {access_point_id} ({path})"
        else:
            mounted = file_system_dir / _relative(root_directory)
            if not mounted.is_dir():
                raise MountRefused(f"ResourceInitializationError: {root_directory} does not exist on {file_system_id}")
            where = f"{file_system_id} ({root_directory})"
        directory = mounted / _relative(below) if below not in ("", ".") else mounted
        if not read_only:
            directory.mkdir(parents=True, exist_ok=True)
        return FilesStorage(directory, shared=True, description=f"EFS {where}", read_only=read_only,
                            file_system_id=file_system_id, access_point_id=access_point_id)

    def _check_mount_targets(self, account: str, region: str, backend: Any, file_system: Any, task_set: Any) -> None:
        zones = {mt.availability_zone_name for mt in list(file_system.iter_mount_targets())}
        if not zones:
            raise MountRefused(f"ResourceInitializationError: failed to resolve {file_system.file_system_id}.efs."
                               f"{region}.amazonaws.com: the file system has no mount target")
        for subnet_id in _subnets_of(task_set):
            zone = _zone_of(account, region, subnet_id)
            if zone is not None and zone not in zones:
                raise MountRefused(f"ResourceInitializationError: failed to resolve {file_system.file_system_id}.efs."
                                   f"{region}.amazonaws.com: no mount target in {zone} (subnet {subnet_id})")

    # -- file systems that go --------------------------------------------------------------

    def forget_deleted_file_systems(self) -> None:
        """A deleted file system's data goes with it."""
        if not self._file_systems_seen:
            return
        live = set()
        from moto.efs.models import efs_backends

        for _, _, backend in existing_backends(efs_backends):
            live.update(list(backend.file_systems_by_id))
        for file_system_id in sorted(self._file_systems_seen - live):
            self._file_systems_seen.discard(file_system_id)
            directory = self.efs_root / file_system_id
            forget_tables_under(directory)
            shutil.rmtree(directory, ignore_errors=True)
            log.info("file system %s was deleted: its data (%s) is gone", file_system_id, directory)


def load_balanced_container(task_definition: Any, container_name: str | None) -> dict:
    """The load-balanced container (else the first), as releases.container_image picks it."""
    containers = list(getattr(task_definition, "container_definitions", None) or [])
    return next((c for c in containers if c.get("name") == container_name), None) or (containers[0] if containers else {})


def _environment(container: dict) -> dict[str, str]:
    return {e.get("name"): e.get("value") for e in container.get("environment") or [] if e.get("name")}


def _mount_point_for(container: dict, basepath: str) -> dict | None:
    """The mount point whose containerPath is `basepath` or the nearest directory above it."""
    best = None
    for mount in container.get("mountPoints") or []:
        path = posixpath.normpath(mount.get("containerPath") or "")
        if not path.startswith("/"):
            continue
        if basepath == path or basepath.startswith(path.rstrip("/") + "/"):
            if best is None or len(path) > len(posixpath.normpath(best["containerPath"])):
                best = mount
    return best


def _relative(path: str) -> str:
    """An absolute path inside a file system as a relative one, refusing `..`."""
    parts = [p for p in posixpath.normpath("/" + (path or "/")).split("/") if p]
    if ".." in parts:
        raise MountRefused(f"ResourceInitializationError: invalid path {path}")
    return "/".join(parts) or "."


def _efs_backend(account: str, region: str) -> Any | None:
    from moto.efs.models import efs_backends

    try:
        return efs_backends[account][region]
    except KeyError:
        return None


def _subnets_of(task_set: Any) -> list[str]:
    """The subnets of the task set's awsvpc configuration (ECS's `awsvpcConfiguration.subnets`
    or an AppSpec's `AwsvpcConfiguration.Subnets`)."""
    network = getattr(task_set, "network_configuration", None) or {}
    awsvpc = network.get("awsvpcConfiguration") or network.get("AwsvpcConfiguration") or {}
    return list(awsvpc.get("subnets") or awsvpc.get("Subnets") or [])


def _zone_of(account: str, region: str, subnet_id: str) -> str | None:
    from moto.ec2.models import ec2_backends

    try:
        return ec2_backends[account][region].get_subnet(subnet_id).availability_zone
    except Exception:  # an unknown subnet: ECS would refuse the task set; not this check's concern
        return None
