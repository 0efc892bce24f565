"""One deployment's state, and how the CodeDeploy API shows it (AWS's field names).

The runner (lifecycle.py) changes it from its own thread; API requests read it and
report hook results into it. `changed` (a Condition) wakes the runner whenever a
hook reports, a stop is asked for or a wait is cut short.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field

from .appspec import LIFECYCLE_EVENTS, EcsAppSpec

ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_deployment_id() -> str:
    """`d-` and nine upper-case letters or digits, as AWS makes them."""
    return "d-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))


@dataclass
class LifecycleEvent:
    name: str
    status: str = "Pending"  # Pending | InProgress | Succeeded | Failed | Skipped
    start_time: float | None = None
    end_time: float | None = None
    diagnostics: dict | None = None

    def start(self) -> None:
        self.status, self.start_time = "InProgress", time.time()

    def finish(self, status: str, diagnostics: dict | None = None) -> None:
        self.status, self.end_time = status, time.time()
        if diagnostics:
            self.diagnostics = diagnostics

    def render(self) -> dict:
        rendered: dict = {"lifecycleEventName": self.name, "status": self.status}
        if self.start_time is not None:
            rendered["startTime"] = self.start_time
        if self.end_time is not None:
            rendered["endTime"] = self.end_time
        if self.diagnostics:
            rendered["diagnostics"] = self.diagnostics
        return rendered


@dataclass
class HookExecution:
    """One invocation of a hook function, waiting for PutLifecycleEventHookExecutionStatus."""

    execution_id: str
    event_name: str
    function: str
    status: str | None = None  # Succeeded | Failed once reported
    invoke_error: str | None = None  # the last invocation's own failure, if it had one
    log_tail: str = ""
    invocations: int = 0  # the first and Lambda's asynchronous retries

    @classmethod
    def new(cls, event_name: str, function: str) -> "HookExecution":
        # Opaque to the hook, as on AWS: it only hands it back.
        return cls(secrets.token_urlsafe(48), event_name, function)


@dataclass
class TaskSetInfo:
    """Blue or green, for the ECS target's `taskSetsInfo`."""

    label: str  # Blue | Green
    identifier: str
    target_group_name: str
    desired_count: int
    status: str = "ACTIVE"  # PRIMARY | ACTIVE | DRAINING
    traffic_weight: float = 0.0
    running: bool = True

    def render(self) -> dict:
        count = self.desired_count if self.running else 0
        return {
            "identifer": self.identifier,  # sic: AWS's spelling
            "desiredCount": count,
            "pendingCount": 0,
            "runningCount": count,
            "status": self.status,
            "trafficWeight": self.traffic_weight,
            "targetGroup": {"name": self.target_group_name},
            "taskSetLabel": self.label,
        }


@dataclass
class Deployment:
    deployment_id: str
    account: str
    region: str
    application_name: str
    group_name: str
    config_name: str
    revision: dict
    appspec: EcsAppSpec
    group: dict  # the deployment group's settings when the deployment was created
    description: str | None = None
    creator: str = "user"
    auto_rollback: dict | None = None  # the deployment's own override, else the group's
    previous_revision: dict | None = None
    service_arn: str = ""
    status: str = "Created"
    error: dict | None = None  # {"code", "message"}
    rollback_info: dict | None = None
    create_time: float = field(default_factory=time.time)
    start_time: float | None = None
    complete_time: float | None = None
    termination_wait_started: bool = False
    status_messages: list[str] = field(default_factory=list)
    target_status: str = "Pending"
    target_updated: float = field(default_factory=time.time)
    events: dict[str, LifecycleEvent] = field(default_factory=lambda: {n: LifecycleEvent(n) for n in LIFECYCLE_EVENTS})
    hook_executions: dict[str, HookExecution] = field(default_factory=dict)
    task_sets: list[TaskSetInfo] = field(default_factory=list)
    stop_request: dict | None = None  # {"rollback": bool} once StopDeployment was called
    continued: set[str] = field(default_factory=set)  # READY_WAIT / TERMINATION_WAIT
    changed: threading.Condition = field(default_factory=threading.Condition)

    # -- what API calls do to it -----------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def cluster_and_service(self) -> tuple[str, str]:
        service = self.group["ecsServices"][0]
        return service["clusterName"], service["serviceName"]

    @property
    def target_id(self) -> str:
        """An ECS target is named `<cluster>:<service>`."""
        return ":".join(self.cluster_and_service)

    def hook_execution(self, event_name: str, function: str) -> HookExecution:
        execution = HookExecution.new(event_name, function)
        with self.changed:
            self.hook_executions[execution.execution_id] = execution
        return execution

    def notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def rollback_enabled_for(self, trigger: str) -> bool:
        """Whether an auto-rollback event (DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM,
        DEPLOYMENT_STOP_ON_REQUEST) rolls this deployment back."""
        config = self.auto_rollback if self.auto_rollback is not None else self.group.get("autoRollbackConfiguration") or {}
        return bool(config.get("enabled")) and trigger in (config.get("events") or [])

    # -- how the API shows it ---------------------------------------------------------------

    def render_info(self) -> dict:
        info = {
            "applicationName": self.application_name,
            "deploymentGroupName": self.group_name,
            "deploymentConfigName": self.config_name,
            "deploymentId": self.deployment_id,
            "revision": self.revision,
            "status": self.status,
            "createTime": self.create_time,
            "creator": self.creator,
            "ignoreApplicationStopFailures": False,
            "updateOutdatedInstancesOnly": False,
            "autoRollbackConfiguration": self.auto_rollback if self.auto_rollback is not None
            else self.group.get("autoRollbackConfiguration") or {"enabled": False},
            "deploymentStyle": self.group.get("deploymentStyle") or {},
            "blueGreenDeploymentConfiguration": self.group.get("blueGreenDeploymentConfiguration") or {},
            "loadBalancerInfo": self.group.get("loadBalancerInfo") or {},
            "instanceTerminationWaitTimeStarted": self.termination_wait_started,
            "deploymentStatusMessages": list(self.status_messages),
            "computePlatform": "ECS",
            "deploymentOverview": self._overview(),
        }
        optional = {
            "description": self.description,
            "previousRevision": self.previous_revision,
            "errorInformation": self.error,
            "rollbackInfo": self.rollback_info,
            "startTime": self.start_time,
            "completeTime": self.complete_time,
        }
        info.update({key: value for key, value in optional.items() if value is not None})
        return info

    def _overview(self) -> dict:
        overview = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
        overview[self.target_status if self.target_status in overview else "Pending"] = 1
        return overview

    def render_target(self) -> dict:
        return {
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": self.deployment_id,
                "targetId": self.target_id,
                "targetArn": self.service_arn,
                "lastUpdatedAt": self.target_updated,
                "lifecycleEvents": [event.render() for event in self.events.values()],
                "status": self.target_status,
                "taskSetsInfo": [task_set.render() for task_set in self.task_sets],
            },
        }

    def set_target_status(self, status: str) -> None:
        self.target_status, self.target_updated = status, time.time()

