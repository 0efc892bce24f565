"""Every ECS task set in moto gets a stand-in, registered as the task set's target.

Reconciled from moto's state rather than told: a task set made by the CodeDeploy
simulator, by `CreateService` (a CODE_DEPLOY service's first task set) or by anyone
calling `CreateTaskSet` gets a stand-in on the next sync, and a deleted one loses it.
ECS does the same on AWS: it registers each task's IP in the task set's target
groups and deregisters it when the task stops.

Each stand-in gets the files storage its task definition gives Vikunja (storage.py): the
EFS volume mounted at Vikunja's files path, shared with every other stand-in that mounts
it, or ephemeral storage of its own. A task definition whose mount would fail on AWS gets
no stand-in (logged once per reason; retried on every sync, as ECS keeps starting tasks).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

from ..accounts import existing_backends
from .releases import release_of
from .standin import StandIn
from .storage import MountRefused, StorageResolver

log = logging.getLogger(__name__)


@dataclass
class Placement:
    stand_in: StandIn
    account: str
    region: str
    target_group_arns: list[str]


@dataclass(frozen=True)
class LiveTaskSet:
    account: str
    region: str
    backend: object
    service: object
    task_set: object


class TaskSetStandIns:
    def __init__(self, storage: StorageResolver | None = None):
        self._placements: dict[str, Placement] = {}  # task set ARN -> its stand-in
        self.storage = storage or StorageResolver()
        self._refused: dict[str, str] = {}  # task set ARN -> why it has no stand-in (logged once)
        # Units that are not moto task sets (an ECS blue/green service's revisions).
        self._sources: list[Callable[[], dict[str, LiveTaskSet]]] = []

    def add_source(self, units: Callable[[], dict[str, "LiveTaskSet"]]) -> None:
        self._sources.append(units)

    def refusal(self, arn: str) -> str | None:
        """Why this unit has no stand-in, if it was refused one."""
        return self._refused.get(arn)

    def sync(self) -> None:
        live = live_task_sets()
        for source in self._sources:
            live.update(source())
        # New units first: a unit that takes over from another one (a service moved from
        # CodeDeploy to ECS blue/green) registers before the old one deregisters.
        for arn, found in live.items():
            if arn not in self._placements:
                self._place(found)
        for arn in [arn for arn in self._placements if arn not in live]:
            self._retire(arn)
        for arn in [arn for arn in self._refused if arn not in live]:
            del self._refused[arn]
        self._report_task_counts(live)
        self.storage.forget_deleted_file_systems()

    def _report_task_counts(self, live: dict[str, LiveTaskSet]) -> None:
        """What DescribeServices counts: a task set's tasks run while its stand-in answers
        (one stand-in serves for all of them), and a service's running count is its task
        sets' sum, as ECS reports a CODE_DEPLOY service. moto counts none (its running count
        is an environment variable), so `status` would see 0 of n tasks running."""
        services: dict[int, tuple[object, int]] = {}
        for arn, found in live.items():
            task_set, service = found.task_set, found.service
            desired = _computed_desired_count(service.desired_count, task_set.scale)
            placement = self._placements.get(arn)
            answering = placement is not None and not placement.stand_in.crashed
            task_set.computed_desired_count = desired
            task_set.running_count = desired if answering else 0
            task_set.pending_count = 0 if answering else desired
            total = services.get(id(service), (service, 0))[1] + task_set.running_count
            services[id(service)] = (service, total)
        for service, running in services.values():
            service.running_count = running
            service.pending_count = max(service.desired_count - running, 0)

    def stand_in_for(self, task_set_arn: str) -> StandIn | None:
        placement = self._placements.get(task_set_arn)
        return placement.stand_in if placement else None

    def crash(self, target: str) -> str | None:
        """Crashes the stand-in serving `target` (`ip:port`), as a failed task: it stays a
        registered target that fails its health checks. The local stack does not replace it
        (ECS would start a new task): a release or `up` that makes a new task set does.
        Returns the task set's ARN, or None when no stand-in serves there."""
        for arn, placement in self._placements.items():
            if placement.stand_in.address == target:
                placement.stand_in.crash()
                return arn
        return None

    def close(self) -> None:
        for arn in list(self._placements):
            self._retire(arn, deregister=False)

    def _place(self, found: LiveTaskSet) -> None:
        task_set = found.task_set
        balancers = list(task_set.load_balancers or [])
        container = balancers[0].get("containerName") if balancers else None
        try:
            task_definition = found.backend.describe_task_definition(task_set.task_definition)
        except Exception:
            log.exception("task set %s: no task definition %s", task_set.task_set_arn, task_set.task_definition)
            return
        try:
            storage = self.storage.storage_for(found.account, found.region, task_set, task_definition, container)
        except MountRefused as refusal:
            if self._refused.get(task_set.task_set_arn) != str(refusal):
                log.warning("task set %s (%s) cannot start: %s", task_set.task_set_arn, task_set.task_definition, refusal)
            self._refused[task_set.task_set_arn] = str(refusal)
            return
        self._refused.pop(task_set.task_set_arn, None)
        try:
            stand_in = StandIn(task_set.task_set_arn, release_of(task_definition, container, found.account, found.region),
                               storage)
        except Exception:
            self.storage.release(storage)
            raise
        target_groups = [lb["targetGroupArn"] for lb in balancers if lb.get("targetGroupArn")]
        self._placements[task_set.task_set_arn] = Placement(stand_in, found.account, found.region, target_groups)
        for target_group in target_groups:
            _register(found.account, found.region, target_group, stand_in)

    def _retire(self, task_set_arn: str, deregister: bool = True) -> None:
        placement = self._placements.pop(task_set_arn)
        if deregister:
            for target_group in placement.target_group_arns:
                _deregister(placement.account, placement.region, target_group, placement.stand_in)
        placement.stand_in.stop()
        self.storage.release(placement.stand_in.storage)


def live_task_sets() -> dict[str, LiveTaskSet]:
    from moto.ecs.models import ecs_backends

    found: dict[str, LiveTaskSet] = {}
    for account, region, backend in existing_backends(ecs_backends):
        for service in list(backend.services.values()):
            if getattr(service, "status", "ACTIVE") != "ACTIVE":
                continue
            for task_set in list(service.task_sets):
                found[task_set.task_set_arn] = LiveTaskSet(account, region, backend, service, task_set)
    return found


def _computed_desired_count(service_desired: int, scale: dict | None) -> int:
    """ECS's computedDesiredCount: the service's desired count scaled by the task set's
    percentage, rounded up."""
    percent = float((scale or {}).get("value", 100.0))
    return max(math.ceil(service_desired * percent / 100.0), 0)


def _register(account: str, region: str, target_group_arn: str, stand_in: StandIn) -> None:
    from moto.elbv2.models import elbv2_backends

    try:
        elbv2_backends[account][region].register_targets(target_group_arn, [{"Id": stand_in.ip, "Port": stand_in.port}])
    except Exception:
        log.exception("could not register %s in %s", stand_in.address, target_group_arn)


def _deregister(account: str, region: str, target_group_arn: str, stand_in: StandIn) -> None:
    from moto.elbv2.models import elbv2_backends

    try:
        elbv2_backends[account][region].deregister_targets(target_group_arn, [{"Id": stand_in.ip, "Port": stand_in.port}])
    except Exception:  # the target group may be gone already
        log.debug("could not deregister %s from %s", stand_in.address, target_group_arn, exc_info=True)
