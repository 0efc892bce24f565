"""The router's table: which of our handlers answer which requests before (or
after) moto. Add new routes and after-hooks here; see local/README.md."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .cbor_rpc import CborRpcTranslator, is_rpc_v2_cbor
from .lambda_host import LambdaHost
from .router import CallView, Reply, Router, json_reply
from .settings import Settings

HEALTH_PATH = "/_vikunja_local/health"


@dataclass
class Stack:
    """What route handlers may use of the running stack."""

    settings: Settings
    lambda_host: LambdaHost


def install(router: Router, stack: Stack) -> None:
    router.add_route("health", _is_health_check, lambda call: _health(stack))
    router.add_route("lambda-invoke", LambdaHost.is_invoke, stack.lambda_host.handle_invoke)
    # Smithy RPC v2 CBOR (the Rust SDK's CloudWatch) → AWS JSON, back through this router.
    router.add_route("rpc-v2-cbor", is_rpc_v2_cbor, CborRpcTranslator(router).handle)
    # Planned: router.add_route("codedeploy", lambda c: c.amz_target.startswith("CodeDeploy_20141006."), ...)
    # Planned: router.add_hook("ecr-image-action", <is ECR PutImage>, <emit the EventBridge event>)


def _is_health_check(call: CallView) -> bool:
    return call.method == "GET" and call.path == HEALTH_PATH


def _health(stack: Stack) -> Reply:
    return json_reply(200, {
        "status": "ok",
        "pid": os.getpid(),
        "port": stack.settings.port,
        "endpoint": stack.settings.endpoint,
        "lambda_workers": stack.lambda_host.worker_count(),
    })
