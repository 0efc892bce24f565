"""Service revisions and service deployments, and how the ECS API shows them (AWS's
field names: DescribeServiceRevisions, DescribeServiceDeployments, ListServiceDeployments).

A revision whose tasks run (`running`) is also a unit the data plane gives a stand-in,
registered in `target_group_arn` — it quacks like a task set there (tasksets.py).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

IN_FLIGHT = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")


def _numeric_id() -> str:
    return str(secrets.randbelow(10**19)).rjust(19, "0")


@dataclass
class Revision:
    arn: str
    cluster_arn: str
    service_arn: str
    task_definition: str
    # The service's load balancers when the revision was made (with advancedConfiguration).
    service_load_balancers: list[dict]
    network_configuration: dict
    launch_type: str | None
    platform_version: str | None
    created_at: float = field(default_factory=time.time)
    # Where its tasks are registered while they run (blue's or green's group).
    target_group_arn: str | None = None
    running: bool = False
    # What the data plane reads and writes of a unit (as of a task set).
    scale: dict = field(default_factory=lambda: {"value": 100.0, "unit": "PERCENT"})
    computed_desired_count: int = 0
    running_count: int = 0
    pending_count: int = 0

    @classmethod
    def new(cls, service, task_definition: str) -> "Revision":
        cluster, name = service.cluster_name, service.name
        prefix = service.arn.split(":service/")[0]
        return cls(
            arn=f"{prefix}:service-revision/{cluster}/{name}/{_numeric_id()}",
            cluster_arn=service.cluster_arn, service_arn=service.arn, task_definition=task_definition,
            service_load_balancers=[dict(lb) for lb in service.load_balancers or []],
            network_configuration=dict(service.network_configuration or {}),
            launch_type=service.launch_type, platform_version=getattr(service, "platform_version", None),
        )

    # -- as a data-plane unit ---------------------------------------------------------------

    @property
    def task_set_arn(self) -> str:
        return self.arn

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def load_balancers(self) -> list[dict]:
        if not self.target_group_arn:
            return []
        first = self.service_load_balancers[0] if self.service_load_balancers else {}
        return [{"targetGroupArn": self.target_group_arn, "containerName": first.get("containerName"),
                 "containerPort": first.get("containerPort")}]

    def render(self) -> dict:
        return {
            "serviceRevisionArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "taskDefinition": self.task_definition,
            "launchType": self.launch_type,
            "platformVersion": self.platform_version,
            "loadBalancers": self.service_load_balancers,
            "networkConfiguration": self.network_configuration,
            "createdAt": self.created_at,
        }


@dataclass
class ServiceDeployment:
    arn: str
    service_arn: str
    cluster_arn: str
    target: Revision
    sources: list[Revision]
    deployment_configuration: dict
    status: str = "PENDING"
    lifecycle_stage: str | None = None
    status_reason: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = field(default_factory=time.time)
    rollback: dict | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def new(cls, service, target: Revision, sources: list[Revision], configuration: dict) -> "ServiceDeployment":
        prefix = service.arn.split(":service/")[0]
        return cls(
            arn=f"{prefix}:service-deployment/{service.cluster_name}/{service.name}/{secrets.token_hex(11)}",
            service_arn=service.arn, cluster_arn=service.cluster_arn, target=target, sources=sources,
            deployment_configuration=configuration,
        )

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    def move(self, status: str | None = None, stage: str | None = None, reason: str | None = None) -> None:
        if status:
            self.status = status
        if stage:
            self.lifecycle_stage = stage
        if reason:
            self.status_reason = reason
        self.updated_at = time.time()

    def _summary(self, revision: Revision, production: float, test: float) -> dict:
        count = revision.computed_desired_count if revision.running else 0
        return {"arn": revision.arn, "requestedTaskCount": count, "runningTaskCount": revision.running_count
                if revision.running else 0, "pendingTaskCount": revision.pending_count if revision.running else 0,
                "requestedProductionTrafficWeight": production, "requestedTestTrafficWeight": test}

    def render(self, weights: dict[str, tuple[float, float]]) -> dict:
        rendered = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "status": self.status,
            "targetServiceRevision": self._summary(self.target, *weights.get(self.target.arn, (0.0, 0.0))),
            "sourceServiceRevisions": [self._summary(s, *weights.get(s.arn, (0.0, 0.0))) for s in self.sources],
            "deploymentConfiguration": self.deployment_configuration,
        }
        for key, value in (("startedAt", self.started_at), ("finishedAt", self.finished_at),
                           ("lifecycleStage", self.lifecycle_stage), ("statusReason", self.status_reason),
                           ("rollback", self.rollback)):
            if value is not None:
                rendered[key] = value
        return rendered

    def brief(self) -> dict:
        rendered = {"serviceDeploymentArn": self.arn, "serviceArn": self.service_arn,
                    "clusterArn": self.cluster_arn, "createdAt": self.created_at, "status": self.status,
                    "targetServiceRevisionArn": self.target.arn}
        for key, value in (("startedAt", self.started_at), ("finishedAt", self.finished_at),
                           ("statusReason", self.status_reason)):
            if value is not None:
                rendered[key] = value
        return rendered
