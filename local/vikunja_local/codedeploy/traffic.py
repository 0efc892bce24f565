"""What a blue/green deployment does to moto's ECS and ELBv2, in-process.

CodeDeploy's own moves for ECS: create the replacement (green) task set on the target
group that production is not on, point listeners at it, make it the service's
primary task set, delete the original (blue) one — or, rolling back, put every
listener back as it was and delete green.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

from ..dataplane.listeners import forwarded_target_group
from .appspec import EcsAppSpec

log = logging.getLogger(__name__)


class TrafficError(Exception):
    """The deployment group's ECS or ELBv2 resources are not what a deployment needs."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TargetGroup:
    arn: str
    name: str


@dataclass
class Traffic:
    account: str
    region: str
    cluster: str
    service: str
    prod_listeners: list[str]
    test_listeners: list[str]
    blue: TargetGroup
    green: TargetGroup
    service_arn: str = ""
    desired_count: int = 1
    blue_task_set: str | None = None  # ARN
    blue_task_set_id: str | None = None
    green_task_set: str | None = None
    green_task_set_id: str | None = None
    original_actions: dict[str, list[dict]] = field(default_factory=dict)

    @classmethod
    def resolve(cls, account: str, region: str, group: dict) -> "Traffic":
        """Read the group's service, target groups and listeners from moto: blue is
        the target group production forwards to now, green the other one."""
        ecs, elb = _ecs(account, region), _elbv2(account, region)
        cluster, service_name = group["ecsServices"][0]["clusterName"], group["ecsServices"][0]["serviceName"]
        service = _active_service(ecs, cluster, service_name)
        pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
        by_name = _target_groups_by_name(elb, [g["name"] for g in pair["targetGroups"]])
        prod = list(pair["prodTrafficRoute"]["listenerArns"])
        test = list((pair.get("testTrafficRoute") or {}).get("listenerArns") or [])
        listeners = _listeners(elb, prod + test)
        production = forwarded_target_group(listeners[prod[0]].default_actions)
        if production not in {tg.arn for tg in by_name.values()}:
            raise TrafficError("ELASTIC_LOAD_BALANCING_INVALID",
                               f"The production listener {prod[0]} does not forward to either target group of the deployment group")
        blue = next(tg for tg in by_name.values() if tg.arn == production)
        green = next(tg for tg in by_name.values() if tg.arn != production)
        traffic = cls(account, region, cluster, service_name, prod, test,
                      TargetGroup(blue.arn, blue.name), TargetGroup(green.arn, green.name),
                      service_arn=service.arn, desired_count=int(service.desired_count or 0))
        traffic.original_actions = {arn: [copy.deepcopy(a.data) for a in listener.default_actions]
                                    for arn, listener in listeners.items()}
        original = _task_set_behind(service, blue.arn)
        if original is not None:
            traffic.blue_task_set, traffic.blue_task_set_id = original.task_set_arn, original.id
        return traffic

    # -- the moves ----------------------------------------------------------------------------

    def create_green(self, appspec: EcsAppSpec, client_token: str) -> None:
        ecs = _ecs(self.account, self.region)
        service = _active_service(ecs, self.cluster, self.service)
        try:
            # No `scale`: moto would run tasks, which needs container memory and more;
            # the stand-in is the task set's data plane here.
            task_set = ecs.create_task_set(
                self.service, self.cluster, appspec.task_definition,
                network_configuration=appspec.network_configuration or service.network_configuration or None,
                load_balancers=[{"targetGroupArn": self.green.arn, "containerName": appspec.container_name,
                                 "containerPort": appspec.container_port}],
                launch_type=service.launch_type,
                platform_version=appspec.platform_version or getattr(service, "platform_version", None),
                client_token=client_token,
            )
        except Exception as error:
            raise TrafficError("ECS_UPDATE_ERROR", f"Could not create the replacement task set: {error}") from error
        task_set.scale = {"value": 100.0, "unit": "PERCENT"}
        task_set.started_by = "CodeDeploy"
        self.green_task_set, self.green_task_set_id = task_set.task_set_arn, task_set.id

    def route(self, listener_arns: list[str], target_group: TargetGroup) -> None:
        elb = _elbv2(self.account, self.region)
        for arn in listener_arns:
            elb.modify_listener(arn, actions=[{"Type": "forward", "TargetGroupArn": target_group.arn}])
            log.info("listener %s now forwards to %s", arn, target_group.name)

    def make_primary(self, task_set_arn: str) -> None:
        _ecs(self.account, self.region).update_service_primary_task_set(self.cluster, self.service, task_set_arn)

    def delete_task_set(self, task_set_arn: str) -> None:
        try:
            _ecs(self.account, self.region).delete_task_set(self.cluster, self.service, task_set_arn)
        except Exception:  # already gone (the service was deleted meanwhile)
            log.info("task set %s was already gone", task_set_arn)

    def restore_listeners(self) -> None:
        elb = _elbv2(self.account, self.region)
        for arn, actions in self.original_actions.items():
            elb.modify_listener(arn, actions=copy.deepcopy(actions))

    def roll_back(self) -> None:
        """Production back on the original task set, the replacement gone."""
        self.restore_listeners()
        if self.blue_task_set:
            self.make_primary(self.blue_task_set)
        if self.green_task_set:
            self.delete_task_set(self.green_task_set)


def _ecs(account: str, region: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def _elbv2(account: str, region: str):
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]


def _active_service(ecs, cluster: str, service_name: str):
    try:
        services, _ = ecs.describe_services(cluster, [service_name])
    except Exception:
        services = []
    service = next((s for s in services if s.status == "ACTIVE"), None)
    if service is None:
        raise TrafficError("INVALID_ECS_SERVICE", f"The ECS service {service_name} in cluster {cluster} does not exist")
    return service


def _target_groups_by_name(elb, names: list[str]) -> dict:
    found = {tg.name: tg for tg in list(elb.target_groups.values()) if tg.name in names}
    missing = [name for name in names if name not in found]
    if len(names) != 2 or missing:
        raise TrafficError("ELASTIC_LOAD_BALANCING_INVALID",
                           f"The deployment group's target group pair is not two existing target groups (missing: {missing})")
    return found


def _listeners(elb, arns: list[str]) -> dict:
    found = {}
    for arn in arns:
        try:
            found[arn] = elb.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
        except Exception:
            raise TrafficError("ELASTIC_LOAD_BALANCING_INVALID", f"The listener {arn} does not exist") from None
    return found


def _task_set_behind(service, target_group_arn: str):
    """The service's task set on this target group (the PRIMARY one if several)."""
    candidates = [ts for ts in service.task_sets
                  if any(lb.get("targetGroupArn") == target_group_arn for lb in ts.load_balancers or [])]
    candidates.sort(key=lambda ts: ts.status != "PRIMARY")
    return candidates[0] if candidates else None
