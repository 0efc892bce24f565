"""The ECS AppSpec of a deployment's revision: parsed, then checked against the task
definition it names. Anything CodeDeploy would refuse is `InvalidRevisionException`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import yaml

from .errors import invalid_revision

# The ECS lifecycle events, in order; those that may name a hook function.
LIFECYCLE_EVENTS = (
    "BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic",
    "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic",
)
HOOK_EVENTS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")
REVISION_TYPES = ("AppSpecContent", "String")


@dataclass(frozen=True)
class EcsAppSpec:
    task_definition: str
    container_name: str
    container_port: int
    platform_version: str | None = None
    network_configuration: dict | None = None  # ECS API shape (awsvpcConfiguration…)
    hooks: dict[str, str] = field(default_factory=dict)  # lifecycle event -> function name or ARN


def appspec_content(revision: dict) -> str:
    """The AppSpec text of an `AppSpecContent` (or `String`) revision, its sha256 checked."""
    kind = revision.get("revisionType")
    if kind not in REVISION_TYPES:
        raise invalid_revision(
            f"revisionType {kind!r} is not supported by the local CodeDeploy simulator: use AppSpecContent (or String)"
        )
    body = revision.get("appSpecContent" if kind == "AppSpecContent" else "string") or {}
    content = body.get("content")
    if not content:
        raise invalid_revision("The AppSpec content is missing from the revision")
    expected = body.get("sha256")
    if expected and hashlib.sha256(content.encode()).hexdigest() != expected.lower():
        raise invalid_revision("The sha256 of the AppSpec content does not match the sha256 given with it")
    return content


def parse_appspec(content: str) -> EcsAppSpec:
    try:
        document = yaml.safe_load(content)  # JSON is YAML too
    except yaml.YAMLError as error:
        raise invalid_revision(f"The AppSpec is neither valid YAML nor JSON: {error}") from None
    if not isinstance(document, dict):
        raise invalid_revision("The AppSpec must be a mapping")
    if str(document.get("version")) not in ("0.0", "0"):
        raise invalid_revision("The AppSpec version must be 0.0")
    properties = _target_service_properties(document.get("Resources"))
    balancer = properties.get("LoadBalancerInfo") or {}
    task_definition = properties.get("TaskDefinition")
    if not isinstance(task_definition, str) or not task_definition:
        raise invalid_revision("The AppSpec's TargetService has no Properties.TaskDefinition")
    if not balancer.get("ContainerName") or balancer.get("ContainerPort") is None:
        raise invalid_revision("The AppSpec's TargetService needs LoadBalancerInfo.ContainerName and ContainerPort")
    try:
        port = int(balancer["ContainerPort"])
    except (TypeError, ValueError):
        raise invalid_revision("LoadBalancerInfo.ContainerPort must be a number") from None
    return EcsAppSpec(
        task_definition=task_definition,
        container_name=str(balancer["ContainerName"]),
        container_port=port,
        platform_version=properties.get("PlatformVersion"),
        network_configuration=_network_configuration(properties.get("NetworkConfiguration")),
        hooks=_hooks(document.get("Hooks")),
    )


def _target_service_properties(resources) -> dict:
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict) or len(resources[0]) != 1:
        raise invalid_revision("The AppSpec's Resources must hold exactly one ECS service (TargetService)")
    [(_, resource)] = resources[0].items()
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::ECS::Service":
        raise invalid_revision("The AppSpec's resource Type must be AWS::ECS::Service")
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        raise invalid_revision("The AppSpec's TargetService has no Properties")
    return properties


def _hooks(hooks) -> dict[str, str]:
    if hooks is None:
        return {}
    if not isinstance(hooks, list):
        raise invalid_revision("The AppSpec's Hooks must be a list of {LifecycleEvent: function}")
    found: dict[str, str] = {}
    for entry in hooks:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise invalid_revision("Each AppSpec hook must be one {LifecycleEvent: function} mapping")
        [(event, function)] = entry.items()
        if event not in HOOK_EVENTS:
            raise invalid_revision(f"{event} is not an ECS lifecycle event that takes a hook (one of {', '.join(HOOK_EVENTS)})")
        if event in found:
            raise invalid_revision(f"The AppSpec names more than one hook for {event}")
        if not isinstance(function, str) or not function:
            raise invalid_revision(f"The {event} hook must name a Lambda function")
        found[event] = function
    return found


def _network_configuration(config) -> dict | None:
    """AppSpec's PascalCase awsvpc block, in the ECS API's camelCase."""
    if not isinstance(config, dict):
        return None
    vpc = config.get("AwsvpcConfiguration") or config.get("awsvpcConfiguration") or {}
    translated = {
        "subnets": vpc.get("Subnets") or vpc.get("subnets") or [],
        "securityGroups": vpc.get("SecurityGroups") or vpc.get("securityGroups") or [],
    }
    if vpc.get("AssignPublicIp") or vpc.get("assignPublicIp"):
        translated["assignPublicIp"] = vpc.get("AssignPublicIp") or vpc.get("assignPublicIp")
    return {"awsvpcConfiguration": translated}


def check_against_task_definition(appspec: EcsAppSpec, task_definition) -> None:
    """The load-balanced container must exist and expose the AppSpec's port."""
    containers = {c.get("name"): c for c in task_definition.container_definitions}
    container = containers.get(appspec.container_name)
    if container is None:
        raise invalid_revision(
            f"The task definition {task_definition.arn} has no container named {appspec.container_name}"
        )
    ports = {int(m.get("containerPort")) for m in container.get("portMappings") or [] if m.get("containerPort") is not None}
    if appspec.container_port not in ports:
        raise invalid_revision(
            f"The container {appspec.container_name} of {task_definition.arn} does not map port {appspec.container_port}"
        )
