"""The CodeDeploy API for ECS blue/green deployments (X-Amz-Target CodeDeploy_20141006.*).

moto keeps applications and deployment groups (their CRUD still goes to moto; this
reads them from moto's backend in-process) but never runs a deployment. This answers
what a deployment needs and runs each one (lifecycle.py) on moto's ECS and ELBv2.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from typing import Callable

from ..accounts import account_for
from ..router import CallView, Reply
from .appspec import EcsAppSpec, appspec_content, check_against_task_definition, parse_appspec
from .errors import CodeDeployError, invalid_revision
from .lifecycle import DeploymentRunner, Timings
from .model import Deployment, LifecycleEvent, new_deployment_id

log = logging.getLogger(__name__)

TARGET_PREFIX = "CodeDeploy_20141006."
_DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")
_BATCH_LIMIT = 25


class CodeDeploySimulator:
    OPERATIONS = (
        "CreateDeployment", "GetDeployment", "BatchGetDeployments", "ListDeployments", "StopDeployment",
        "ContinueDeployment", "PutLifecycleEventHookExecutionStatus", "ListDeploymentTargets",
        "GetDeploymentTarget", "BatchGetDeploymentTargets", "DeleteApplication", "DeleteDeploymentGroup",
    )

    def __init__(self, lambda_host, data_plane, timings: Timings):
        self.lambda_host = lambda_host
        self.data_plane = data_plane
        self.timings = timings
        self._deployments: OrderedDict[str, Deployment] = OrderedDict()
        self._lock = threading.Lock()  # one CreateDeployment per group at a time

    # -- router integration -------------------------------------------------------------------

    def handles(self, call: CallView) -> bool:
        return call.amz_target.startswith(TARGET_PREFIX) and call.amz_target[len(TARGET_PREFIX):] in self.OPERATIONS

    def handle(self, call: CallView) -> Reply:
        operation = call.amz_target[len(TARGET_PREFIX):]
        try:
            request = json.loads(call.body or b"{}")
        except ValueError:
            return _error(CodeDeployError("SerializationException", "The request body is not JSON"))
        handler: Callable[[dict, CallView], dict] = getattr(self, _snake(operation))
        try:
            return _json(200, handler(request, call))
        except CodeDeployError as error:
            return _error(error)

    # -- deployments ----------------------------------------------------------------------------

    def create_deployment(self, request: dict, call: CallView) -> dict:
        account, region = account_for(call), call.region or self.lambda_host.default_region
        application = _required(request, "applicationName", "ApplicationNameRequiredException", "Application name is required")
        group_name = _required(request, "deploymentGroupName", "DeploymentGroupNameRequiredException",
                               "Deployment group name is required")
        revision = request.get("revision") or _raise(CodeDeployError("RevisionRequiredException", "Revision is required"))
        group = deployment_group(account, region, application, group_name)
        appspec = parse_appspec(appspec_content(revision))
        check_against_task_definition(appspec, task_definition(account, region, appspec))
        with self._lock:
            running = next((d for d in self._deployments.values()
                            if d.active and (d.account, d.region, d.application_name, d.group_name)
                            == (account, region, application, group_name)), None)
            if running is not None:
                raise CodeDeployError("DeploymentLimitExceededException",
                                      f"The Deployment Group '{group_name}' already has an active Deployment "
                                      f"'{running.deployment_id}'")
            deployment = Deployment(
                deployment_id=new_deployment_id(), account=account, region=region, application_name=application,
                group_name=group_name,
                config_name=request.get("deploymentConfigName") or group.get("deploymentConfigName")
                or "CodeDeployDefault.ECSAllAtOnce",
                revision=revision, appspec=appspec, group=group, description=request.get("description"),
                auto_rollback=request.get("autoRollbackConfiguration"),
                previous_revision=self._last_successful_revision(account, region, application, group_name),
            )
            self._deployments[deployment.deployment_id] = deployment
        DeploymentRunner(deployment, self.lambda_host, self.data_plane, self.timings, self._record_rollback).start()
        log.info("deployment %s created for %s/%s: %s", deployment.deployment_id, application, group_name,
                 appspec.task_definition)
        return {"deploymentId": deployment.deployment_id}

    def get_deployment(self, request: dict, call: CallView) -> dict:
        return {"deploymentInfo": self._deployment(request.get("deploymentId"), call).render_info()}

    def batch_get_deployments(self, request: dict, call: CallView) -> dict:
        ids = request.get("deploymentIds") or []
        if len(ids) > _BATCH_LIMIT:
            raise CodeDeployError("BatchLimitExceededException", f"At most {_BATCH_LIMIT} deployment IDs at once")
        for deployment_id in ids:
            _check_id_format(deployment_id)
        found = [self._deployments.get(deployment_id) for deployment_id in ids]
        return {"deploymentsInfo": [d.render_info() for d in found if d is not None and _visible(d, call)]}

    def list_deployments(self, request: dict, call: CallView) -> dict:
        account, region = account_for(call), call.region or self.lambda_host.default_region
        application, group_name = request.get("applicationName"), request.get("deploymentGroupName")
        if application and not group_name:
            raise CodeDeployError("DeploymentGroupNameRequiredException",
                                  "If applicationName is specified, then deploymentGroupName must be specified")
        if group_name and not application:
            raise CodeDeployError("ApplicationNameRequiredException",
                                  "If deploymentGroupName is specified, then applicationName must be specified")
        if application:
            # Existence only: AWS lists a group's deployments even after its ECS service is gone.
            _require_group(account, region, application, group_name)
        statuses = request.get("includeOnlyStatuses") or []
        window = request.get("createTimeRange") or {}
        matching = [
            d for d in reversed(list(self._deployments.values()))  # newest first, as AWS lists them
            if _visible(d, call)
            and (not application or (d.application_name, d.group_name) == (application, group_name))
            and (not statuses or d.status in statuses)
            and (window.get("start") is None or d.create_time >= float(window["start"]))
            and (window.get("end") is None or d.create_time <= float(window["end"]))
        ]
        return {"deployments": [d.deployment_id for d in matching]}

    # -- deleting (moto answers NotImplementedError) -------------------------------------------

    def delete_deployment_group(self, request: dict, call: CallView) -> dict:
        """Removes the group from moto; a group that is not there is already deleted."""
        from moto.codedeploy.models import codedeploy_backends

        account, region = account_for(call), call.region or self.lambda_host.default_region
        application = _required(request, "applicationName", "ApplicationNameRequiredException", "applicationName is required")
        group_name = _required(request, "deploymentGroupName", "DeploymentGroupNameRequiredException",
                               "deploymentGroupName is required")
        backend = codedeploy_backends[account][region]
        if application not in backend.applications:
            raise CodeDeployError("ApplicationDoesNotExistException", f"No application found for name: {application}")
        self._refuse_while_deploying(application, group_name)
        backend.deployment_groups.get(application, {}).pop(group_name, None)
        return {"hooksNotCleanedUp": []}

    def delete_application(self, request: dict, call: CallView) -> dict:
        """Removes the application and its groups from moto; an absent one is already deleted."""
        from moto.codedeploy.models import codedeploy_backends

        account, region = account_for(call), call.region or self.lambda_host.default_region
        application = _required(request, "applicationName", "ApplicationNameRequiredException", "applicationName is required")
        backend = codedeploy_backends[account][region]
        self._refuse_while_deploying(application, None)
        backend.deployment_groups.pop(application, None)
        backend.applications.pop(application, None)
        return {}

    def _refuse_while_deploying(self, application: str, group_name: str | None) -> None:
        running = [d for d in self._deployments.values()
                   if d.application_name == application and (group_name is None or d.group_name == group_name)
                   and d.status in ("Created", "Queued", "InProgress", "Ready")]
        if running:
            raise CodeDeployError("InvalidOperationException",
                                  f"deployment {running[0].deployment_id} is still running; stop it first")

    def stop_deployment(self, request: dict, call: CallView) -> dict:
        deployment = self._deployment(request.get("deploymentId"), call)
        self._require_active(deployment)
        rollback = request.get("autoRollbackEnabled")
        with deployment.changed:
            deployment.stop_request = {"rollback": rollback}
            deployment.changed.notify_all()
        return {"status": "Pending", "statusMessage": "Stopping Pending. Stopping to deploy the revision."}

    def continue_deployment(self, request: dict, call: CallView) -> dict:
        deployment = self._deployment(request.get("deploymentId"), call)
        self._require_active(deployment)
        wait = request.get("deploymentWaitType") or "READY_WAIT"
        if wait not in ("READY_WAIT", "TERMINATION_WAIT"):
            raise CodeDeployError("InvalidDeploymentWaitTypeException", f"{wait} is not a deployment wait type")
        if wait == "READY_WAIT" and deployment.status != "Ready":
            raise CodeDeployError("DeploymentIsNotInReadyStateException",
                                  f"The deployment {deployment.deployment_id} is not in the Ready state")
        if wait == "TERMINATION_WAIT" and not deployment.termination_wait_started:
            raise CodeDeployError("InvalidDeploymentStatusException",
                                  f"The deployment {deployment.deployment_id} is not waiting to terminate the original task set")
        with deployment.changed:
            deployment.continued.add(wait)
            deployment.changed.notify_all()
        return {}

    def put_lifecycle_event_hook_execution_status(self, request: dict, call: CallView) -> dict:
        deployment = self._deployment(request.get("deploymentId"), call)
        execution_id = request.get("lifecycleEventHookExecutionId") or ""
        status = request.get("status")
        if status not in ("Succeeded", "Failed"):
            raise CodeDeployError("InvalidLifecycleEventHookExecutionStatusException",
                                  f"The status {status!r} is not valid: only Succeeded and Failed can be reported")
        with deployment.changed:
            execution = deployment.hook_executions.get(execution_id)
            if execution is None:
                raise CodeDeployError("InvalidLifecycleEventHookExecutionIdException",
                                      f"The lifecycle event hook execution ID is not valid for deployment {deployment.deployment_id}")
            if execution.status is not None or deployment.events[execution.event_name].status != "InProgress":
                raise CodeDeployError("LifecycleEventAlreadyCompletedException",
                                      f"The {execution.event_name} lifecycle event has already completed")
            execution.status = status
            deployment.changed.notify_all()
        log.info("deployment %s: %s hook reported %s", deployment.deployment_id, execution.event_name, status)
        return {"lifecycleEventHookExecutionId": execution_id}

    # -- targets --------------------------------------------------------------------------------

    def list_deployment_targets(self, request: dict, call: CallView) -> dict:
        deployment = self._started(request.get("deploymentId"), call)
        filters = request.get("targetFilters") or {}
        unknown = [name for name in filters if name not in ("TargetStatus", "ServerInstanceLabel")]
        if unknown:
            raise CodeDeployError("InvalidTargetFilterNameException", f"Unknown target filter(s): {', '.join(unknown)}")
        statuses = filters.get("TargetStatus") or []
        if statuses and deployment.target_status not in statuses:
            return {"targetIds": []}
        return {"targetIds": [deployment.target_id]}

    def get_deployment_target(self, request: dict, call: CallView) -> dict:
        deployment = self._started(request.get("deploymentId"), call)
        return {"deploymentTarget": self._target(deployment, request.get("targetId"))}

    def batch_get_deployment_targets(self, request: dict, call: CallView) -> dict:
        deployment = self._started(request.get("deploymentId"), call)
        ids = request.get("targetIds") or []
        if not ids:
            raise CodeDeployError("DeploymentTargetIdRequiredException", "At least one target ID is required")
        if len(ids) > _BATCH_LIMIT:
            raise CodeDeployError("DeploymentTargetListSizeExceededException", f"At most {_BATCH_LIMIT} target IDs at once")
        return {"deploymentTargets": [self._target(deployment, target_id) for target_id in ids]}

    # -- helpers --------------------------------------------------------------------------------

    def _deployment(self, deployment_id: str | None, call: CallView) -> Deployment:
        if not deployment_id:
            raise CodeDeployError("DeploymentIdRequiredException", "Deployment ID is required")
        _check_id_format(deployment_id)
        deployment = self._deployments.get(deployment_id)
        if deployment is None or not _visible(deployment, call):
            raise CodeDeployError("DeploymentDoesNotExistException", f"The deployment {deployment_id} could not be found")
        return deployment

    def _started(self, deployment_id: str | None, call: CallView) -> Deployment:
        deployment = self._deployment(deployment_id, call)
        if deployment.status in ("Created", "Queued"):
            raise CodeDeployError("DeploymentNotStartedException", f"The deployment {deployment_id} has not started")
        return deployment

    @staticmethod
    def _target(deployment: Deployment, target_id: str | None) -> dict:
        if not target_id:
            raise CodeDeployError("DeploymentTargetIdRequiredException", "A target ID is required")
        if target_id != deployment.target_id:
            raise CodeDeployError("DeploymentTargetDoesNotExistException",
                                  f"The target {target_id} is not part of deployment {deployment.deployment_id}")
        return deployment.render_target()

    @staticmethod
    def _require_active(deployment: Deployment) -> None:
        if not deployment.active:
            raise CodeDeployError("DeploymentAlreadyCompletedException",
                                  f"The deployment {deployment.deployment_id} has already completed")

    def _last_successful_revision(self, account: str, region: str, application: str, group: str) -> dict | None:
        for deployment in reversed(list(self._deployments.values())):
            if ((deployment.account, deployment.region, deployment.application_name, deployment.group_name)
                    == (account, region, application, group) and deployment.status == "Succeeded"):
                return deployment.revision
        return None

    def _record_rollback(self, failed: Deployment) -> Deployment:
        """The rollback deployment CodeDeploy creates for a failed or stopped one. Here
        the rollback itself has already happened in the failed deployment's thread."""
        now = time.time()
        rollback = Deployment(
            deployment_id=new_deployment_id(), account=failed.account, region=failed.region,
            application_name=failed.application_name, group_name=failed.group_name, config_name=failed.config_name,
            revision=failed.previous_revision or failed.revision, appspec=failed.appspec, group=failed.group,
            creator="codeDeployRollback", auto_rollback=failed.auto_rollback, service_arn=failed.service_arn,
            status="Succeeded", create_time=now, start_time=now, complete_time=now,
            rollback_info={"rollbackTriggeringDeploymentId": failed.deployment_id,
                           "rollbackMessage": f"Rollback of deployment {failed.deployment_id}"},
        )
        rollback.events = {name: LifecycleEvent(name, "Succeeded" if name == "AllowTraffic" else "Skipped", now, now)
                           for name in rollback.events}
        rollback.set_target_status("Succeeded")
        with self._lock:
            self._deployments[rollback.deployment_id] = rollback
        return rollback


def _require_group(account: str, region: str, application: str, group_name: str) -> None:
    from moto.codedeploy.models import codedeploy_backends

    backend = codedeploy_backends[account][region]
    if application not in backend.applications:
        raise CodeDeployError("ApplicationDoesNotExistException", f"No application found for name: {application}")
    if group_name not in backend.deployment_groups.get(application, {}):
        raise CodeDeployError("DeploymentGroupDoesNotExistException", f"No Deployment Group found for name: {group_name}")


def deployment_group(account: str, region: str, application: str, group_name: str) -> dict:
    """The group's settings from moto, as AWS JSON, checked for what ECS blue/green needs."""
    from moto.codedeploy.models import codedeploy_backends

    backend = codedeploy_backends[account][region]
    app = backend.applications.get(application)
    if app is None:
        raise CodeDeployError("ApplicationDoesNotExistException", f"No application found for name: {application}")
    group = backend.deployment_groups.get(application, {}).get(group_name)
    if group is None:
        raise CodeDeployError("DeploymentGroupDoesNotExistException", f"No Deployment Group found for name: {group_name}")
    if app.compute_platform != "ECS":
        raise CodeDeployError("InvalidComputePlatformException",
                              f"The local CodeDeploy simulator runs ECS deployments only; {application} is "
                              f"{app.compute_platform}")
    settings = {
        "deploymentConfigName": str(group.deployment_config_name or ""),
        "deploymentStyle": group.deployment_style,
        "blueGreenDeploymentConfiguration": group.blue_green_deployment_configuration,
        "loadBalancerInfo": group.load_balancer_info,
        "ecsServices": group.ecs_services,
        "autoRollbackConfiguration": group.auto_rollback_configuration or {"enabled": False},
        "alarmConfiguration": _alarm_configuration(group.alarm_configuration),
    }
    _check_blue_green(settings, group_name)
    _check_ecs_service(account, region, settings["ecsServices"][0])
    return settings


def _alarm_configuration(config) -> dict:
    if config is None:
        return {}
    if isinstance(config, dict):
        return config
    return {"enabled": bool(config.enabled), "alarms": list(config.alarms),
            "ignorePollAlarmFailure": bool(config.ignore_poll_alarm_failure)}


def _check_blue_green(settings: dict, group_name: str) -> None:
    style = settings["deploymentStyle"] or {}
    if (style.get("deploymentType"), style.get("deploymentOption")) != ("BLUE_GREEN", "WITH_TRAFFIC_CONTROL"):
        raise CodeDeployError("InvalidDeploymentStyleException",
                              f"The deployment group {group_name} must be BLUE_GREEN WITH_TRAFFIC_CONTROL for ECS")
    if not settings["ecsServices"]:
        raise CodeDeployError("InvalidECSServiceException", f"The deployment group {group_name} names no ECS service")
    pairs = (settings["loadBalancerInfo"] or {}).get("targetGroupPairInfoList") or []
    if (not pairs or len(pairs[0].get("targetGroups") or []) != 2
            or not (pairs[0].get("prodTrafficRoute") or {}).get("listenerArns")):
        raise CodeDeployError("InvalidLoadBalancerInfoException",
                              f"The deployment group {group_name} needs a target group pair (two target groups) "
                              "with a production listener")


def _check_ecs_service(account: str, region: str, reference: dict) -> None:
    from moto.ecs.models import ecs_backends

    cluster, name = reference.get("clusterName"), reference.get("serviceName")
    try:
        services, _ = ecs_backends[account][region].describe_services(cluster, [name])
    except Exception:
        services = []
    service = next((s for s in services if s.status == "ACTIVE"), None)
    if service is None:
        raise CodeDeployError("InvalidECSServiceException", f"The ECS service {name} in cluster {cluster} does not exist")
    if (service.deployment_controller or {}).get("type") != "CODE_DEPLOY":
        raise CodeDeployError("InvalidECSServiceException",
                              f"The ECS service {name} does not use the CODE_DEPLOY deployment controller")


def task_definition(account: str, region: str, appspec: EcsAppSpec):
    from moto.ecs.models import ecs_backends

    try:
        return ecs_backends[account][region].describe_task_definition(appspec.task_definition)
    except Exception:
        raise invalid_revision(f"The AppSpec's task definition {appspec.task_definition} does not exist") from None


def _visible(deployment: Deployment, call: CallView) -> bool:
    """A deployment belongs to the account and region it was made in."""
    region = call.region or deployment.region
    return (deployment.account, deployment.region) == (account_for(call), region)


def _check_id_format(deployment_id: str) -> None:
    if not _DEPLOYMENT_ID.match(deployment_id or ""):
        raise CodeDeployError("InvalidDeploymentIdException", f"Specified DeploymentId is not in the valid format: {deployment_id}")


def _required(request: dict, key: str, code: str, message: str) -> str:
    value = request.get(key)
    if not value:
        raise CodeDeployError(code, message)
    return value


def _raise(error: Exception):
    raise error


def _error(error: CodeDeployError) -> Reply:
    return _json(error.status, {"__type": error.code, "message": error.message}, [("x-amzn-ErrorType", error.code)])


def _json(status: int, document: dict, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = json.dumps(document).encode()
    return Reply(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body))),
                          *(headers or [])], body)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
