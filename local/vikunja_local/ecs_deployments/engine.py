"""Amazon ECS's own blue/green, which moto does not run (it ignores a service's
`deploymentConfiguration` and has no service revisions or service deployments).

- After `CreateService` of a `BLUE_GREEN` service (controller `ECS`): the service keeps its
  deployment configuration, gets its first service revision (tasks behind the load
  balancer's `targetGroupArn`) and a SUCCESSFUL first deployment, as on AWS.
- After `UpdateService` with a new task definition on such a service: a new revision and a
  service deployment that runner.py carries out. A deployment still running is stopped
  (rolled back) first: on AWS the newer deployment takes over too.
- `ListServiceDeployments`, `DescribeServiceDeployments`, `DescribeServiceRevisions` and
  `StopServiceDeployment` are answered here.
- Each revision whose tasks run is a unit of the data plane: a stand-in registered in the
  target group ECS put it in (`live_units`).
"""

from __future__ import annotations

import json
import logging
import threading
import time

from ..accounts import account_for
from ..dataplane.tasksets import LiveTaskSet
from ..router import CallView, Reply
from .model import Revision, ServiceDeployment
from .runner import DeploymentRunner, Timings

log = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
OPERATIONS = ("ListServiceDeployments", "DescribeServiceDeployments", "DescribeServiceRevisions",
              "StopServiceDeployment")


class EcsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class _Service:
    """What the engine keeps of one blue/green service."""

    def __init__(self, account: str, region: str, arn: str):
        self.account, self.region, self.arn = account, region, arn
        self.revisions: list[Revision] = []
        self.deployments: list[ServiceDeployment] = []  # oldest first


class EcsDeployments:
    def __init__(self, lambda_host, data_plane, timings: Timings):
        self.lambda_host = lambda_host
        self.data_plane = data_plane
        self.timings = timings
        self._services: dict[str, _Service] = {}  # service ARN -> state
        self._lock = threading.RLock()
        data_plane.task_sets.add_source(self.live_units)

    # -- router integration -------------------------------------------------------------------

    def handles(self, call: CallView) -> bool:
        return call.amz_target.startswith(TARGET_PREFIX) and call.amz_target[len(TARGET_PREFIX):] in OPERATIONS

    def handle(self, call: CallView) -> Reply:
        operation = call.amz_target[len(TARGET_PREFIX):]
        try:
            request = json.loads(call.body or b"{}")
            handler = {
                "ListServiceDeployments": self.list_service_deployments,
                "DescribeServiceDeployments": self.describe_service_deployments,
                "DescribeServiceRevisions": self.describe_service_revisions,
                "StopServiceDeployment": self.stop_service_deployment,
            }[operation]
            return _json(200, handler(request, call))
        except ValueError:
            return _error(EcsError("SerializationException", "The request body is not JSON"))
        except EcsError as error:
            return _error(error)

    @staticmethod
    def is_service_change(call: CallView) -> bool:
        return call.amz_target in (TARGET_PREFIX + "CreateService", TARGET_PREFIX + "UpdateService")

    def after_service_change(self, call: CallView, reply: Reply) -> None:
        if reply.status != 200:
            return
        try:
            request = json.loads(call.body or b"{}")
            service_arn = (json.loads(reply.body or b"{}").get("service") or {}).get("serviceArn")
        except ValueError:
            return
        if not service_arn:
            return
        account, region = account_for(call), call.region or self.lambda_host.default_region
        service = _moto_service(account, region, service_arn)
        if service is None:
            return
        if call.amz_target.endswith("CreateService"):
            self._created(account, region, service, request)
        else:
            self._updated(account, region, service, request)

    # -- what a service change starts ---------------------------------------------------------

    def _created(self, account: str, region: str, service, request: dict) -> None:
        configuration = request.get("deploymentConfiguration") or {}
        service.deployment_configuration = configuration  # moto drops it
        if not _blue_green(service):
            return
        with self._lock:
            state = self._services[service.arn] = _Service(account, region, service.arn)
            first = Revision.new(service, service.task_definition)
            first.target_group_arn = (service.load_balancers or [{}])[0].get("targetGroupArn")
            first.running = True
            deployment = ServiceDeployment.new(service, first, [], configuration)
            deployment.move("SUCCESSFUL", reason="Service deployment completed successfully.")
            deployment.started_at = deployment.finished_at = time.time()
            state.revisions.append(first)
            state.deployments.append(deployment)
        self.data_plane.sync()
        log.info("blue/green service %s: first revision %s", service.arn, first.arn)

    def _updated(self, account: str, region: str, service, request: dict) -> None:
        if not _blue_green(service):
            return
        with self._lock:
            state = self._services.get(service.arn)
            if state is None:  # a service that became blue/green through UpdateService
                state = self._services[service.arn] = _Service(account, region, service.arn)
                self._adopt_task_sets(state, service)
            live = [r for r in state.revisions if r.running]
            current = live[-1].task_definition if live else None
            wanted = service.task_definition
            if wanted == current and not request.get("forceNewDeployment"):
                return
            running = [d for d in state.deployments if d.in_flight]
            for earlier in running:
                earlier.stop_requested.set()
            target = Revision.new(service, wanted)
            sources = [r for r in state.revisions if r.running and r is not target]
            deployment = ServiceDeployment.new(service, target, sources,
                                               dict(getattr(service, "deployment_configuration", None) or {}))
            state.revisions.append(target)
            state.deployments.append(deployment)
        for earlier in running:  # its rollback must be done before the new one moves traffic
            _wait_until(lambda e=earlier: not e.in_flight, self.timings.hook_timeout + 30)
        DeploymentRunner(deployment, account, region, self.lambda_host, self.data_plane, self.timings,
                         on_end=lambda d: self.data_plane.sync()).start()
        log.info("blue/green service %s: deployment %s of %s", service.arn, deployment.arn, wanted)

    def _adopt_task_sets(self, state: _Service, service) -> None:
        """AWS's migration from CodeDeploy: the service's primary task set becomes its first
        service revision, serving from the same target group; no deployment runs. Its
        stand-in is placed before the task set's is retired (tasksets.py), so production
        keeps a target throughout."""
        primary = next((t for t in service.task_sets if t.status == "PRIMARY"), None)
        if primary is None:
            return
        first = Revision.new(service, primary.task_definition)
        first.target_group_arn = next((lb.get("targetGroupArn") for lb in primary.load_balancers or []
                                       if lb.get("targetGroupArn")), None)
        first.running = True
        first.network_configuration = dict(primary.network_configuration or first.network_configuration)
        deployment = ServiceDeployment.new(service, first, [], dict(service.deployment_configuration or {}))
        deployment.move("SUCCESSFUL", reason="The service moved from CodeDeploy to Amazon ECS blue/green.")
        deployment.started_at = deployment.finished_at = time.time()
        state.revisions.append(first)
        state.deployments.append(deployment)
        service.task_definition = primary.task_definition
        service.task_sets = []  # an ECS-controller service shows no task sets
        log.info("service %s moved from CodeDeploy: task set %s is revision %s", service.arn,
                 primary.task_set_arn, first.arn)

    # -- the data plane's units -----------------------------------------------------------------

    def live_units(self) -> dict[str, LiveTaskSet]:
        from moto.ecs.models import ecs_backends

        units: dict[str, LiveTaskSet] = {}
        with self._lock:
            states = list(self._services.values())
        for state in states:
            service = _moto_service(state.account, state.region, state.arn)
            if service is None or getattr(service, "status", "ACTIVE") != "ACTIVE":
                continue
            backend = ecs_backends[state.account][state.region]
            for revision in state.revisions:
                if revision.running and revision.target_group_arn:
                    units[revision.arn] = LiveTaskSet(state.account, state.region, backend, service, revision)
        return units

    # -- the API --------------------------------------------------------------------------------

    def _state_of_service(self, request: dict, call: CallView) -> _Service | None:
        account, region = account_for(call), call.region or self.lambda_host.default_region
        name = request.get("service") or ""
        cluster = (request.get("cluster") or "default").split("/")[-1]
        from moto.ecs.models import ecs_backends

        backend = ecs_backends[account][region]
        service = backend.services.get(f"{cluster}:{name.split('/')[-1]}")
        if service is None:
            raise EcsError("ServiceNotFoundException", "Service not found.")
        return self._services.get(service.arn)

    def list_service_deployments(self, request: dict, call: CallView) -> dict:
        state = self._state_of_service(request, call)
        wanted = set(request.get("status") or [])
        created = request.get("createdAt") or {}
        found = []
        for deployment in reversed(state.deployments if state else []):
            if wanted and deployment.status not in wanted:
                continue
            if "after" in created and deployment.created_at < float(created["after"]):
                continue
            if "before" in created and deployment.created_at > float(created["before"]):
                continue
            found.append(deployment.brief())
        return {"serviceDeployments": found}

    def _all(self):
        with self._lock:
            return list(self._services.values())

    def describe_service_deployments(self, request: dict, call: CallView) -> dict:
        arns = request.get("serviceDeploymentArns") or []
        by_arn = {d.arn: d for state in self._all() for d in state.deployments}
        weights = self._weights()
        return {"serviceDeployments": [by_arn[a].render(weights) for a in arns if a in by_arn],
                "failures": [{"arn": a, "reason": "MISSING"} for a in arns if a not in by_arn]}

    def describe_service_revisions(self, request: dict, call: CallView) -> dict:
        arns = request.get("serviceRevisionArns") or []
        by_arn = {r.arn: r for state in self._all() for r in state.revisions}
        return {"serviceRevisions": [by_arn[a].render() for a in arns if a in by_arn],
                "failures": [{"arn": a, "reason": "MISSING"} for a in arns if a not in by_arn]}

    def stop_service_deployment(self, request: dict, call: CallView) -> dict:
        arn = request.get("serviceDeploymentArn")
        deployment = next((d for state in self._all() for d in state.deployments if d.arn == arn), None)
        if deployment is None:
            raise EcsError("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")
        if not deployment.in_flight:
            raise EcsError("ConflictException", f"The service deployment {arn} has ended ({deployment.status}).")
        deployment.move("STOP_REQUESTED")
        deployment.stop_requested.set()
        return {"serviceDeploymentArn": arn}

    def _weights(self) -> dict[str, tuple[float, float]]:
        """Each running revision's share of (production, test) traffic: 100 where the
        listener forwards to the revision's target group, as the listeners say now."""
        weights: dict[str, tuple[float, float]] = {}
        for state in self._all():
            for revision in state.revisions:
                if not (revision.running and revision.target_group_arn):
                    continue
                advanced = (revision.service_load_balancers or [{}])[0].get("advancedConfiguration") or {}
                share = [100.0 if _forwards_to(state, advanced.get(key)) == revision.target_group_arn else 0.0
                         for key in ("productionListenerRule", "testListenerRule")]
                weights[revision.arn] = (share[0], share[1])
        return weights


def _forwards_to(state: _Service, listener_arn: str | None) -> str | None:
    if not listener_arn:
        return None
    from moto.elbv2.models import elbv2_backends

    from ..dataplane.listeners import forwarded_target_group

    try:
        listener = elbv2_backends[state.account][state.region].describe_listeners(None, [listener_arn])[0]
    except Exception:
        return None
    return forwarded_target_group(listener.default_actions)


def _blue_green(service) -> bool:
    controller = (service.deployment_controller or {}).get("type", "ECS")
    strategy = (getattr(service, "deployment_configuration", None) or {}).get("strategy")
    return controller == "ECS" and strategy == "BLUE_GREEN"


def _moto_service(account: str, region: str, service_arn: str):
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[account][region]
    return next((s for s in list(backend.services.values()) if s.arn == service_arn), None)


def _wait_until(done, seconds: float) -> None:
    deadline = time.time() + seconds
    while not done() and time.time() < deadline:
        time.sleep(0.1)


def _error(error: EcsError) -> Reply:
    return _json(error.status, {"__type": error.code, "message": error.message}, [("x-amzn-ErrorType", error.code)])


def _json(status: int, document: dict, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = json.dumps(document).encode()
    return Reply(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body))),
                          *(headers or [])], body)
