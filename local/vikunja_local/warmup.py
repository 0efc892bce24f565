"""moto builds each service the first time it is called: its Flask app, its backend, the
botocore model its serializer reads. That costs 20 ms to 1.7 s per service (ECS the most),
paid inside whichever workflow step calls the service first — time AWS never spends, which
the bench would count as orchestration. One read-only call per service at start-up pays it
before the port opens.

The calls go to moto directly: no fault is injected into them, no IAM rule sees them, no
route or after-hook runs, and none creates a resource."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from werkzeug.test import EnvironBuilder

from . import cbor_rpc
from .router import WsgiApp, call_wsgi

log = logging.getLogger(__name__)

_JSON = "application/x-amz-json-1.1"
_JSON_10 = "application/x-amz-json-1.0"
_FORM = "application/x-www-form-urlencoded"
CLOUDWATCH_TARGET_PREFIX = "GraniteServiceVersion20100801"


@dataclass(frozen=True)
class Warm:
    """One read-only request, as the SDK would sign it for `service` (the signing name)."""

    service: str
    method: str = "POST"
    path: str = "/"
    target: str | None = None
    body: str = ""
    content_type: str | None = None


def _json(service: str, target: str, body: str = "{}", content_type: str = _JSON) -> Warm:
    return Warm(service, target=target, body=body, content_type=content_type)


def _query(service: str, action: str, version: str) -> Warm:
    return Warm(service, body=f"Action={action}&Version={version}", content_type=_FORM)


# Every service the stack's functions, workflows and CLI call.
REQUESTS: tuple[Warm, ...] = (
    _query("sts", "GetCallerIdentity", "2011-06-15"),
    _query("iam", "ListRoles", "2010-05-08"),
    _query("ec2", "DescribeVpcs", "2016-11-15"),
    _query("rds", "DescribeDBInstances", "2014-10-31"),
    _query("elasticloadbalancing", "DescribeLoadBalancers", "2015-12-01"),
    _query("monitoring", "DescribeAlarms", "2010-08-01"),
    _query("cloudformation", "ListStacks", "2010-05-15"),
    _query("elasticache", "DescribeCacheClusters", "2015-02-02"),
    _json("ecs", "AmazonEC2ContainerServiceV20141113.ListClusters"),
    _json("ecr", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"),
    _json("logs", "Logs_20140328.DescribeLogGroups"),
    _json("application-autoscaling", "AnyScaleFrontendService.DescribeScalableTargets",
          '{"ServiceNamespace": "ecs"}'),
    _json("codedeploy", "CodeDeploy_20141006.ListApplications"),
    _json("ssm", "AmazonSSM.DescribeParameters"),
    _json("secretsmanager", "secretsmanager.ListSecrets"),
    _json("acm", "CertificateManager.ListCertificates"),
    _json("events", "AWSEvents.ListRules"),
    _json("states", "AWSStepFunctions.ListStateMachines", content_type=_JSON_10),
    Warm("s3", method="GET"),
    Warm("lambda", method="GET", path="/2015-03-31/functions/"),
    Warm("cloudfront", method="GET", path="/2020-05-31/distribution"),
    Warm("route53", method="GET", path="/2013-04-01/hostedzone"),
    Warm("elasticfilesystem", method="GET", path="/2015-02-01/file-systems"),
)


def environ_for(request: Warm, region: str) -> dict:
    headers = {
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=warmup/20260101/{region}/{request.service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        ),
    }
    if request.target:
        headers["X-Amz-Target"] = request.target
    return EnvironBuilder(
        path=request.path,
        method=request.method,
        headers=headers,
        data=request.body.encode(),
        content_type=request.content_type,
    ).get_environ()


def warm(app: WsgiApp, region: str) -> dict[str, float]:
    """Seconds per service; a service that answers an error is logged, not fatal: the
    stack still serves it, only slower on its first call."""
    seconds: dict[str, float] = {}
    for request in REQUESTS:
        started = time.perf_counter()
        try:
            reply = call_wsgi(app, environ_for(request, region))
            if reply.status >= 400:
                log.warning("warm-up of %s answered %s: %s", request.service, reply.status, reply.body[:200])
        except Exception:  # noqa: BLE001 — a warm-up failure must not stop the stack
            log.exception("warm-up of %s failed", request.service)
        seconds[request.service] = time.perf_counter() - started
    # CloudWatch's SDK speaks RPC v2 CBOR, which the router translates with botocore's model.
    started = time.perf_counter()
    cbor_rpc.service_model_for(CLOUDWATCH_TARGET_PREFIX)
    seconds["monitoring (CBOR)"] = time.perf_counter() - started
    return seconds
