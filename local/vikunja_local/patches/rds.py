"""RDS: new instances and snapshots take time to create (latency models)."""

from __future__ import annotations

import time

from .registry import Finding, adds, probe


def _creating_for(seconds: float) -> property:
    """A `status` that reads `creating` for `seconds` after it is first set, then whatever
    moto set it to."""

    def get_status(self) -> str:
        status = self.__dict__.get("_vikunja_status", "available")
        created = self.__dict__.get("_vikunja_created_at")
        if status == "available" and created is not None and time.monotonic() - created < seconds:
            return "creating"
        return status

    def set_status(self, value: str) -> None:
        self.__dict__.setdefault("_vikunja_created_at", time.monotonic())
        self.__dict__["_vikunja_status"] = value

    return property(get_status, set_status)


@adds("moto.rds.models.DBInstance.status")
def rds_instances_take_time_to_create(seconds: float) -> None:
    """moto's RDS instances are `available` the moment they are created, so a caller's
    wait loop is never exercised. Now a new instance reports `creating` for `seconds`
    (VIKUNJA_LOCAL_RDS_CREATE_SECONDS) before whatever moto says."""
    from moto.rds.models import DBInstance

    if seconds <= 0:
        return

    DBInstance.status = _creating_for(seconds)


@adds("moto.rds.models.DBSnapshot.status")
def rds_snapshots_take_time_to_create(seconds: float) -> None:
    """moto's snapshots are `available` the moment they are created, so the release
    workflow's wait for its snapshot before an upgrade never waits. Now a new snapshot
    reports `creating` for `seconds` (VIKUNJA_LOCAL_RDS_SNAPSHOT_SECONDS) before whatever
    moto says."""
    from moto.rds.models import DBSnapshot

    if seconds <= 0:
        return

    DBSnapshot.status = _creating_for(seconds)


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(rds_instances_take_time_to_create)
def _probe_instance_status() -> Finding:
    """A latency model: moto will always answer `available` at once; the probe shows it."""
    from .probing import client

    rds = client("rds")
    rds.create_db_instance(DBInstanceIdentifier="probe", DBInstanceClass="db.t4g.micro", Engine="postgres",
                           MasterUsername="probe", MasterUserPassword="probe-password", AllocatedStorage=20)
    status = rds.describe_db_instances(DBInstanceIdentifier="probe")["DBInstances"][0]["DBInstanceStatus"]
    return Finding(status == "available", f"a new instance is {status}")


@probe(rds_snapshots_take_time_to_create)
def _probe_snapshot_status() -> Finding:
    """A latency model: moto will always answer `available` at once; the probe shows it."""
    from .probing import client

    rds = client("rds")
    rds.create_db_instance(DBInstanceIdentifier="probe-snap", DBInstanceClass="db.t4g.micro", Engine="postgres",
                           MasterUsername="probe", MasterUserPassword="probe-password", AllocatedStorage=20)
    rds.create_db_snapshot(DBInstanceIdentifier="probe-snap", DBSnapshotIdentifier="probe-snap-1")
    status = rds.describe_db_snapshots(DBSnapshotIdentifier="probe-snap-1")["DBSnapshots"][0]["Status"]
    return Finding(status == "available", f"a new snapshot is {status}")
