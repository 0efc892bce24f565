"""The router's table: which of our handlers answer which requests before (or
after) moto. Add new routes and after-hooks here; see local/README.md."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from . import ecr_events
from .cbor_rpc import CborRpcTranslator, is_rpc_v2_cbor
from .codedeploy import CodeDeploySimulator
from .dataplane import DataPlane
from .ecs_deployments import EcsDeployments
from .faults import FaultInjector
from .iam_enforce import IamEnforcer
from .lambda_host import LambdaHost
from .router import CallView, Reply, Router, json_reply
from .settings import Settings

HEALTH_PATH = "/_vikunja_local/health"
LISTENERS_PATH = "/_vikunja_local/listeners"
# POST {"target": "ip:port"}: that stand-in crashes (stops answering, stays registered).
CRASH_STAND_IN_PATH = "/_vikunja_local/stand-ins/crash"
ECS_TARGET = "AmazonEC2ContainerServiceV20141113."


@dataclass
class Stack:
    """What route handlers may use of the running stack."""

    settings: Settings
    lambda_host: LambdaHost
    data_plane: DataPlane
    codedeploy: CodeDeploySimulator
    ecs_deployments: EcsDeployments
    faults: FaultInjector | None = None  # the layer in front of this router
    iam: IamEnforcer | None = None  # the layer between the fault layer and this router


def install(router: Router, stack: Stack) -> None:
    router.add_route("health", _is_health_check, lambda call: _health(stack))
    router.add_route("listeners", _is_listener_map, lambda call: json_reply(200, stack.data_plane.listener_map()))
    router.add_route("crash-stand-in", _is_stand_in_crash, lambda call: _crash_stand_in(stack, call))
    if stack.faults is not None:
        router.add_route("faults", FaultInjector.is_control, stack.faults.handle_control)
    if stack.iam is not None:
        router.add_route("iam", IamEnforcer.is_control, stack.iam.handle_control)
    router.add_route("lambda-reports", LambdaHost.is_reports_request, stack.lambda_host.handle_reports)
    router.add_route("lambda-invoke", LambdaHost.is_invoke, stack.lambda_host.handle_invoke)
    # Smithy RPC v2 CBOR (the Rust SDK's CloudWatch) → AWS JSON, back through this router.
    router.add_route("rpc-v2-cbor", is_rpc_v2_cbor, CborRpcTranslator(router).handle)
    # Deployments (not applications or groups, which stay moto's) run in the simulator.
    router.add_route("codedeploy", stack.codedeploy.handles, stack.codedeploy.handle)
    # ECS's own blue/green: service revisions and deployments, which moto does not have.
    router.add_route("ecs-deployments", stack.ecs_deployments.handles, stack.ecs_deployments.handle)

    router.add_hook("ecs-blue-green", EcsDeployments.is_service_change, stack.ecs_deployments.after_service_change)
    router.add_hook("ecr-image-push", ecr_events.is_put_image, ecr_events.after_put_image)
    router.add_hook("ecr-image-delete", ecr_events.is_batch_delete_image, ecr_events.after_batch_delete_image)
    # New function code is unpacked as the deploy that brings it returns (see prepare_code).
    router.add_hook("lambda-code", _deploys_function_code,
                    lambda call, reply: reply.status < 300 and stack.lambda_host.prepare_code())
    # Task sets and listeners changed: stand-ins and loopback ports follow at once.
    router.add_hook("data-plane", _changes_ecs_or_elbv2, lambda call, reply: stack.data_plane.sync())


_FUNCTIONS_PATH = re.compile(r"/2015-03-31/functions/?")
_FUNCTION_CODE_PATH = re.compile(r"/2015-03-31/functions/[^/]+/code/?")
_STACK_DEPLOYS = {"ExecuteChangeSet", "CreateStack", "UpdateStack"}


def _deploys_function_code(call: CallView) -> bool:
    """CloudFormation's deploys, Lambda's CreateFunction and UpdateFunctionCode."""
    if call.signing_service == "cloudformation" and call.method == "POST":
        return (parse_qs(call.body.decode(errors="replace")).get("Action") or [""])[0] in _STACK_DEPLOYS
    if call.signing_service == "lambda":
        return ((call.method == "POST" and _FUNCTIONS_PATH.fullmatch(call.path) is not None)
                or (call.method == "PUT" and _FUNCTION_CODE_PATH.fullmatch(call.path) is not None))
    return False


def _is_health_check(call: CallView) -> bool:
    return call.method == "GET" and call.path == HEALTH_PATH


def _is_listener_map(call: CallView) -> bool:
    return call.method == "GET" and call.path == LISTENERS_PATH


def _is_stand_in_crash(call: CallView) -> bool:
    return call.method == "POST" and call.path == CRASH_STAND_IN_PATH


def _crash_stand_in(stack: Stack, call: CallView) -> Reply:
    import json

    try:
        target = json.loads(call.body or b"{}").get("target")
    except (ValueError, AttributeError):
        target = None
    if not isinstance(target, str):
        return json_reply(400, {"error": 'expected {"target": "ip:port"}'})
    task_set = stack.data_plane.crash_stand_in(target)
    if task_set is None:
        return json_reply(404, {"error": f"no stand-in serves {target}"})
    return json_reply(200, {"crashed": target, "taskSet": task_set})


def _changes_ecs_or_elbv2(call: CallView) -> bool:
    if call.amz_target.startswith(ECS_TARGET):
        return not call.amz_target[len(ECS_TARGET):].startswith(("Describe", "List"))
    if call.signing_service == "elasticloadbalancing" and call.method == "POST":
        action = (parse_qs(call.body.decode("utf-8", "replace")).get("Action") or [""])[0]
        return not action.startswith("Describe")
    return False


def _health(stack: Stack) -> Reply:
    return json_reply(200, {
        "status": "ok",
        "pid": os.getpid(),
        "port": stack.settings.port,
        "endpoint": stack.settings.endpoint,
        "lambda_workers": stack.lambda_host.worker_count(),
    })
