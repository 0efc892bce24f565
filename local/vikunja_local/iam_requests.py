"""What one AWS call asks of IAM: the action(s) and, where the request names it
reliably, the resource ARN(s). Used by `iam_enforce.py`.

The operation comes from `faults.classify` (`ApiCall`); this module turns it into
`service:Action` with the service's IAM prefix, and reads resource ARNs from the
request for a few services whose ARNs are plain functions of what the request
carries. Everything else gets no resource (`Permission.resources == ()`), which the
evaluation treats in the caller's favour: see `iam_enforce.py`.

Resources are read for:
- s3 (path-style only): `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`; a
  DeleteObjects body's keys; CopyObject's source (`s3:GetObject` on it).
- lambda: the function (and qualifier) in the path.
- cloudfront: distribution, function, origin access control in the path; `?Resource=`.
- ssm: parameter names (`Name`, `Names`, `Path`, tagging of a `Parameter`); AWS's public
  parameters (`/aws/service/…`) with no account in their ARN, as AWS names them.
- rds: `DBInstanceIdentifier`, `DBSubnetGroupName`, `DBSnapshotIdentifier`, `ResourceName`.
- elasticloadbalancing: the ARN members (`LoadBalancerArn`, `TargetGroupArn`, …), with
  the load balancer's type put back where moto's ARNs say `app` for every type.
- codedeploy: application and deployment group of the operations that act on them.
- ecr: `repositoryName(s)`, `resourceArn`. cloudwatch: alarm names, `ResourceARN`.
- states: `stateMachineArn`, `executionArn`, `resourceArn`. secretsmanager: an ARN `SecretId`.
- `iam:PassRole` on the role ARNs a call hands to a service (ECS task definitions and
  services, CodeDeploy groups, Lambda functions, state machines).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qs, unquote

from .faults import ApiCall
from .router import CallView


@dataclass(frozen=True)
class Permission:
    """One action the call needs, on each of `resources` (empty: the resource is not
    determined here)."""

    action: str
    resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """Where the caller's ARNs live."""

    account: str
    region: str
    partition: str = "aws"


# Signing names whose IAM prefix differs.
_IAM_PREFIX = {"monitoring": "cloudwatch"}

# Operations whose IAM action is named otherwise (S3 and Lambda, mostly).
_ACTION_NAMES = {
    "s3": {
        "ListObjects": "ListBucket", "ListObjectsV2": "ListBucket", "HeadBucket": "ListBucket",
        "ListObjectVersions": "ListBucketVersions", "ListMultipartUploads": "ListBucketMultipartUploads",
        "ListParts": "ListMultipartUploadParts", "ListBuckets": "ListAllMyBuckets",
        "HeadObject": "GetObject", "CopyObject": "PutObject", "CreateMultipartUpload": "PutObject",
        "UploadPart": "PutObject", "UploadPartCopy": "PutObject", "CompleteMultipartUpload": "PutObject",
        "DeleteObjects": "DeleteObject",
        "PutBucketEncryption": "PutEncryptionConfiguration", "GetBucketEncryption": "GetEncryptionConfiguration",
        "DeleteBucketEncryption": "PutEncryptionConfiguration",
        "PutPublicAccessBlock": "PutBucketPublicAccessBlock", "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
        "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
        "PutBucketNotificationConfiguration": "PutBucketNotification",
        "GetBucketNotificationConfiguration": "GetBucketNotification",
        "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
        "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
        "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration", "DeleteBucketLifecycle": "PutLifecycleConfiguration",
        "DeleteBucketTagging": "PutBucketTagging",
        "PutBucketCors": "PutBucketCORS", "GetBucketCors": "GetBucketCORS", "DeleteBucketCors": "PutBucketCORS",
        "PutBucketReplication": "PutReplicationConfiguration", "GetBucketReplication": "GetReplicationConfiguration",
        "DeleteBucketReplication": "PutReplicationConfiguration",
    },
    "lambda": {"Invoke": "InvokeFunction", "InvokeWithResponseStream": "InvokeFunction"},
    "cloudfront": {"CreateDistributionWithTags": "CreateDistribution"},
}

# With a `versionId`, S3 checks the version's own action.
_S3_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion",
                 "GetObjectTagging": "GetObjectVersionTagging", "PutObjectTagging": "PutObjectVersionTagging"}

# Calls that need no permission at all on AWS, whatever the policies say.
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})


def iam_prefix(signing_service: str) -> str:
    return _IAM_PREFIX.get(signing_service, signing_service)


def is_named(api_call: ApiCall) -> bool:
    """False when the operation could not be told (faults.rest_operation's
    `METHOD /path` fallback): no IAM action can be named for it."""
    return " " not in api_call.operation


def primary_action(api_call: ApiCall, call: CallView) -> str:
    operation = _ACTION_NAMES.get(api_call.service, {}).get(api_call.operation, api_call.operation)
    if api_call.service == "s3" and _query_value(call, "versionId") is not None:
        operation = _S3_VERSIONED.get(operation, operation)
    return f"{iam_prefix(api_call.service)}:{operation}"


def required_permissions(api_call: ApiCall, call: CallView, scope: Scope) -> list[Permission]:
    """Every permission the call needs that this module can name: the call's own
    action (with its resources where known), then the extra ones (a copy's source,
    tags at create, roles passed)."""
    action = primary_action(api_call, call)
    if action in ALWAYS_ALLOWED:
        return []
    params = request_parameters(api_call, call)
    if api_call.service == "s3" and api_call.operation == "DeleteObjects":
        permissions = _s3_delete_objects(call, scope)
    else:
        resolver = _RESOURCE_RESOLVERS.get(api_call.service)
        resources = resolver(api_call.operation, params, call, scope) if resolver else ()
        permissions = [Permission(action, tuple(resources))]
    permissions += _extra_permissions(api_call, params, call, scope)
    return permissions


# -- the request's parameters ------------------------------------------------------------------


def request_parameters(api_call: ApiCall, call: CallView) -> dict:
    """The call's input as one dict: the JSON or CBOR document; query protocols'
    form fields (one value each, `X.member.N` kept flat); REST bodies that are JSON."""
    if api_call.service == "lambda" and api_call.operation.startswith("Invoke"):
        return {}  # the payload is the function's input, not the call's parameters
    try:
        if api_call.protocol == "rpc-v2-cbor":
            from .cbor_rpc import decode_request

            return decode_request(call.body)
        if api_call.protocol in ("json", "rest-json"):
            document = json.loads(call.body or b"{}")
            return document if isinstance(document, dict) else {}
        if api_call.protocol in ("query", "ec2"):
            fields = parse_qs(call.environ.get("QUERY_STRING", ""))
            if call.method == "POST":
                fields.update(parse_qs(call.body.decode("utf-8", "replace")))
            return {key: values[0] for key, values in fields.items()}
    except ValueError:  # not JSON / CBOR: nothing to read resources from
        return {}
    return {}


def _values(params: dict, name: str) -> list[str]:
    """A member's values whatever the protocol: a JSON string or list, or query
    `Name` / `Name.member.N` fields. A JSON path such as `list[].member.field` reads
    nested members (JSON protocols only)."""
    if "." in name or "[]" in name:
        return _nested_values(params, name.split("."))
    value = params.get(name)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    prefix = f"{name}.member."
    return [v for k, v in sorted(params.items(), key=lambda item: _member_index(item[0])) if k.startswith(prefix)]


def _nested_values(value, path: list[str]) -> list[str]:
    if not path:
        return [value] if isinstance(value, str) else []
    step, rest = path[0], path[1:]
    listed = step.endswith("[]")
    value = value.get(step.removesuffix("[]")) if isinstance(value, dict) else None
    if listed:
        return [found for item in (value if isinstance(value, list) else []) for found in _nested_values(item, rest)]
    return _nested_values(value, rest)


def _member_index(key: str) -> int:
    tail = key.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _query_value(call: CallView, name: str) -> str | None:
    values = parse_qs(call.environ.get("QUERY_STRING", ""), keep_blank_values=True).get(name)
    return values[0] if values else None


def _arn(scope: Scope, service: str, resource: str, region: bool = True, account: str | None = None) -> str:
    return f"arn:{scope.partition}:{service}:{scope.region if region else ''}:{account or scope.account}:{resource}"


# -- resources, service by service --------------------------------------------------------------

Resolver = Callable[[str, dict, CallView, Scope], "list[str] | tuple[str, ...]"]
_LOOPBACK_HOST = re.compile(r"^(localhost|127(\.\d{1,3}){3}|\[::1\]|[\d.]+)(:\d+)?$")


def _s3_bucket_and_key(call: CallView) -> tuple[str, str] | None:
    """Path-style only: a virtual-hosted request (bucket in the Host) is not parsed."""
    if not _LOOPBACK_HOST.match(call.header("Host") or "localhost"):
        return None
    bucket, _, key = call.path.lstrip("/").partition("/")
    return (bucket, key) if bucket else None


def _s3_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    located = _s3_bucket_and_key(call)
    if located is None:
        return []
    bucket, key = located
    return [f"arn:{scope.partition}:s3:::{bucket}/{key}" if key else f"arn:{scope.partition}:s3:::{bucket}"]


def _s3_delete_objects(call: CallView, scope: Scope) -> list[Permission]:
    """DeleteObjects is checked key by key: s3:DeleteObject, or s3:DeleteObjectVersion
    for a key given with its version."""
    located = _s3_bucket_and_key(call)
    try:
        root = ElementTree.fromstring(call.body or b"<Delete/>")
    except ElementTree.ParseError:
        root = None
    if located is None or root is None:
        return [Permission("s3:DeleteObject")]
    bucket = located[0]
    by_action: dict[str, list[str]] = {}
    for item in root.iter():
        if _local_name(item.tag) != "Object":
            continue
        fields = {_local_name(child.tag): (child.text or "") for child in item}
        action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
        by_action.setdefault(action, []).append(f"arn:{scope.partition}:s3:::{bucket}/{fields.get('Key', '')}")
    return [Permission(action, tuple(resources)) for action, resources in by_action.items()] or [Permission("s3:DeleteObject")]


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_LAMBDA_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/functions/(?P<function>[^/]+)(/|$)")
_LAMBDA_TAGS_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/tags/(?P<arn>arn:.+)$")
_LAMBDA_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$")


def _lambda_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    tags = _LAMBDA_TAGS_PATH.match(call.path)
    if tags:
        return [tags["arn"]]
    match = _LAMBDA_PATH.match(call.path)
    if not match:
        return []
    reference = unquote(match["function"])
    if _LAMBDA_ARN.match(reference):
        arn = reference
    elif reference.count(":") <= 1:  # `name` or `name:qualifier`
        arn = _arn(scope, "lambda", f"function:{reference}")
    else:
        return []  # a partial ARN (`123456789012:function:name`): not worth guessing
    qualifier = _query_value(call, "Qualifier")
    unqualified = arn.count(":") == 6
    return [f"{arn}:{qualifier}" if qualifier and unqualified else arn]


_CLOUDFRONT_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/(?P<kind>distribution|function|origin-access-control)/(?P<id>[^/]+)")


def _cloudfront_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    tagged = _query_value(call, "Resource")
    if tagged and tagged.startswith("arn:"):
        return [tagged]
    match = _CLOUDFRONT_PATH.match(call.path)
    if not match:
        return []
    return [f"arn:{scope.partition}:cloudfront::{scope.account}:{match['kind']}/{match['id']}"]


PUBLIC_PARAMETERS = "/aws/service/"


def _ssm_parameter_arn(name: str, scope: Scope) -> str | None:
    if name.startswith("arn:"):
        return name
    if ":" in name:  # `name:version` / `name:label` selectors: not resolved
        return None
    path = name if name.startswith("/") else "/" + name
    if path.startswith(PUBLIC_PARAMETERS):
        # AWS's public parameters belong to no account: their ARNs leave it empty
        # (`arn:aws:ssm:us-east-1::parameter/aws/service/…`), and so do policies granting them.
        return f"arn:{scope.partition}:ssm:{scope.region}::parameter{path}"
    return _arn(scope, "ssm", "parameter" + path)


def _ssm_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    if operation in ("AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"):
        names = _values(params, "ResourceId") if params.get("ResourceType") == "Parameter" else []
    else:
        names = _values(params, "Name") + _values(params, "Names") + _values(params, "Path")
    arns = [_ssm_parameter_arn(name, scope) for name in names]
    return [] if None in arns else arns  # type: ignore[return-value]


# RDS: each identifier member names a resource the action is checked on (a
# CreateDBInstance is checked on the instance and on its subnet group).
_RDS_IDENTIFIERS = {"DBInstanceIdentifier": "db", "DBSubnetGroupName": "subgrp", "DBSnapshotIdentifier": "snapshot"}


def _rds_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    resources = [name for name in _values(params, "ResourceName") if name.startswith("arn:")]
    for member, kind in _RDS_IDENTIFIERS.items():
        for value in _values(params, member):
            # RDS identifiers are case-insensitive and their ARNs lower case.
            resources.append(value if value.startswith("arn:") else _arn(scope, "rds", f"{kind}:{value.lower()}"))
    return resources


_ELBV2_ARN_MEMBERS = ("LoadBalancerArn", "TargetGroupArn", "ListenerArn", "RuleArn",
                      "LoadBalancerArns", "TargetGroupArns", "ListenerArns", "RuleArns", "ResourceArns")


def _elbv2_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    return [_elbv2_arn_as_aws_names_it(value, scope)
            for member in _ELBV2_ARN_MEMBERS for value in _values(params, member) if value.startswith("arn:")]


_ELBV2_TYPE_IN_ARN = {"network": "net", "gateway": "gwy"}
_MOTO_ELBV2_ARN = re.compile(r"^(?P<head>arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}:)(?P<kind>loadbalancer|listener|listener-rule)"
                             r"/app/(?P<name>[^/]+)/(?P<id>[^/]+)(?P<tail>(/.*)?)$")


def _elbv2_arn_as_aws_names_it(arn: str, scope: Scope) -> str:
    """moto names every load balancer `loadbalancer/app/…` (and its listeners
    `listener/app/…`); AWS puts the type there: `net` for a Network Load Balancer.
    Policies are written against AWS's names, so the type moto knows is put back."""
    match = _MOTO_ELBV2_ARN.match(arn)
    if match is None:
        return arn
    from moto.elbv2.models import elbv2_backends

    load_balancer_arn = f"{match['head']}loadbalancer/app/{match['name']}/{match['id']}"
    region = arn.split(":")[3]
    balancer = elbv2_backends[scope.account][region].load_balancers.get(load_balancer_arn)
    # Gone already (a delete retried after its answer was lost): moto no longer knows the
    # type, and AWS would answer the retry as done. The type this project makes, `net`, is
    # assumed, so the gap leans towards allowing, as the others do.
    kind = getattr(balancer, "type", "network")
    type_in_arn = _ELBV2_TYPE_IN_ARN.get(kind)
    if type_in_arn is None:
        return arn
    return f"{match['head']}{match['kind']}/{type_in_arn}/{match['name']}/{match['id']}{match['tail']}"


_CODEDEPLOY_APPLICATION_OPERATIONS = {
    "GetApplication", "CreateApplication", "DeleteApplication", "ListDeploymentGroups",
    "GetApplicationRevision", "RegisterApplicationRevision", "ListApplicationRevisions",
}
_CODEDEPLOY_GROUP_OPERATIONS = {"GetDeploymentGroup", "CreateDeploymentGroup", "DeleteDeploymentGroup", "CreateDeployment", "ListDeployments"}


def _codedeploy_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    arns = _values(params, "resourceArn") + _values(params, "ResourceArn")
    if arns:
        return arns
    application = params.get("applicationName")
    if not isinstance(application, str):
        return []
    if operation in _CODEDEPLOY_APPLICATION_OPERATIONS:
        return [_arn(scope, "codedeploy", f"application:{application}")]
    group = params.get("deploymentGroupName")
    if operation in _CODEDEPLOY_GROUP_OPERATIONS and isinstance(group, str):
        return [_arn(scope, "codedeploy", f"deploymentgroup:{application}/{group}")]
    if operation == "BatchGetDeploymentGroups":
        return [_arn(scope, "codedeploy", f"deploymentgroup:{application}/{name}")
                for name in _values(params, "deploymentGroupNames")]
    return []


def _ecr_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    arns = _values(params, "resourceArn")
    if arns:
        return arns
    registry = params.get("registryId") if isinstance(params.get("registryId"), str) else None
    names = _values(params, "repositoryName") + _values(params, "repositoryNames")
    return [_arn(scope, "ecr", f"repository/{name}", account=registry) for name in names]


def _cloudwatch_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    arns = _values(params, "ResourceARN")
    if arns:
        return arns
    names = _values(params, "AlarmName") + _values(params, "AlarmNames")
    return [_arn(scope, "cloudwatch", f"alarm:{name}") for name in names]


def _states_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    return _values(params, "stateMachineArn") + _values(params, "executionArn") + _values(params, "resourceArn")


def _secretsmanager_resources(operation: str, params: dict, call: CallView, scope: Scope) -> list[str]:
    # A secret's ARN ends in a random suffix: only a SecretId given as an ARN is known.
    return [value for value in _values(params, "SecretId") if value.startswith("arn:")]


_RESOURCE_RESOLVERS: dict[str, Resolver] = {
    "s3": _s3_resources,
    "lambda": _lambda_resources,
    "cloudfront": _cloudfront_resources,
    "ssm": _ssm_resources,
    "rds": _rds_resources,
    "elasticloadbalancing": _elbv2_resources,
    "codedeploy": _codedeploy_resources,
    "ecr": _ecr_resources,
    "monitoring": _cloudwatch_resources,
    "states": _states_resources,
    "secretsmanager": _secretsmanager_resources,
}


# -- permissions beyond the call's own action -------------------------------------------------

# Members that hand a role to a service: the caller needs iam:PassRole on it.
_PASSED_ROLES = {
    ("ecs", "RegisterTaskDefinition"): ("executionRoleArn", "taskRoleArn"),
    ("ecs", "CreateService"): ("role", "loadBalancers[].advancedConfiguration.roleArn",
                               "deploymentConfiguration.lifecycleHooks[].roleArn"),
    ("ecs", "UpdateService"): ("loadBalancers[].advancedConfiguration.roleArn",
                               "deploymentConfiguration.lifecycleHooks[].roleArn"),
    ("codedeploy", "CreateDeploymentGroup"): ("serviceRoleArn",),
    ("codedeploy", "UpdateDeploymentGroup"): ("serviceRoleArn",),
    ("lambda", "CreateFunction"): ("Role",),
    ("lambda", "UpdateFunctionConfiguration"): ("Role",),
    ("states", "CreateStateMachine"): ("roleArn",),
    ("states", "UpdateStateMachine"): ("roleArn",),
}


def _extra_permissions(api_call: ApiCall, params: dict, call: CallView, scope: Scope) -> list[Permission]:
    extra = []
    roles = [role for member in _PASSED_ROLES.get((api_call.service, api_call.operation), ())
             for role in _values(params, member) if role.startswith("arn:")]
    if roles:
        extra.append(Permission("iam:PassRole", tuple(roles)))
    if api_call.service == "s3" and api_call.operation in ("CopyObject", "UploadPartCopy"):
        extra.append(_s3_copy_source(call, scope))
    if api_call.service == "cloudfront" and api_call.operation == "CreateDistributionWithTags":
        extra.append(Permission("cloudfront:TagResource"))
    return extra


def _s3_copy_source(call: CallView, scope: Scope) -> Permission:
    """A copy reads its source: s3:GetObject (or …Version) on `x-amz-copy-source`."""
    source = unquote(call.header("x-amz-copy-source") or "")
    path, _, query = source.partition("?")
    action = "s3:GetObjectVersion" if "versionId=" in query else "s3:GetObject"
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket or not key:
        return Permission(action)
    return Permission(action, (f"arn:{scope.partition}:s3:::{bucket}/{key}",))
