"""Fixes for moto 5.2.5, applied in-process when the stack starts.

Each patch is one function whose docstring says which moto behaviour it fixes.
They are written against moto 5.2.5's source (pinned in local/requirements.txt);
`apply_all` refuses any other moto version, so an upgrade has to re-check them.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)

MOTO_VERSION = "5.2.5"


def apply_all(rds_create_seconds: float = 3.0, cloudfront_deploy_seconds: float = 2.0) -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"the local stack's patches are written for moto {MOTO_VERSION}, found {moto.__version__}")
    enable_state_machine_execution()
    unnamed_executions_get_unique_names()
    state_machines_from_cloudformation_use_executing_backend()
    eventbridge_targets_start_state_machines()
    s3_eventbridge_events_like_aws()
    s3_buckets_from_cloudformation_honour_eventbridge()
    s3_notification_configuration_shows_eventbridge()
    policy_statements_whose_conditions_fail_do_not_apply()
    rds_instances_take_time_to_create(rds_create_seconds)
    cloudfront_distributions_take_time_to_deploy(cloudfront_deploy_seconds)
    cloudfront_functions_can_be_published_and_updated()
    cloudfront_distributions_keep_oac_and_function_associations()
    code_deploy_services_start_with_a_task_set()
    target_health_follows_loopback_targets()
    ecr_image_digests_are_manifest_hashes()
    lambda_code_from_a_missing_s3_key_is_refused()
    lambda_environment_values_are_strings()
    cloudformation_calls_run_one_at_a_time()
    cloudformation_change_sets_like_aws()
    cloudformation_change_set_execution_like_aws()
    s3_expected_bucket_owner_is_checked()
    s3_bucket_versioning_answers_with_its_own_root_element()


# -- Step Functions ---------------------------------------------------------------------------


def enable_state_machine_execution() -> None:
    """moto only records executions unless told to run them: this is the in-process
    equivalent of `POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}`."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True


def unnamed_executions_get_unique_names() -> None:
    """With execution on, moto's StartExecution without a `name` names the execution
    `None` (ARN `...:execution:<machine>:None`), so a second unnamed start with the same
    input returns the first execution and one with other input collides. AWS names it
    with a UUID; so does this."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    moto_start_execution = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        return moto_start_execution(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution


def state_machines_from_cloudformation_use_executing_backend() -> None:
    """moto's CloudFormation writes `AWS::StepFunctions::StateMachine` into
    `stepfunctions_backends`, but with execution on the API reads
    `stepfunctions_parser_backends` (`responses.get_backend`), so the machines are
    invisible (`StateMachineDoesNotExist`). It also ignores `DefinitionSubstitutions`
    and the `Definition` (object) property. Create, update and delete now go through
    `get_backend` with the substitutions applied."""
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    def definition_of(properties: dict) -> str | None:
        if "Definition" in properties:
            definition = json.dumps(properties["Definition"])
        elif "DefinitionString" in properties:
            definition = properties["DefinitionString"]
        else:
            return None
        for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + name + "}", _substitution_text(value))
        return definition

    def tags_of(properties: dict) -> list[dict[str, str]]:
        return cfn_to_api_tags(properties.get("Tags", []))

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = get_backend(account_id, region_name)
        return backend.create_state_machine(
            name=properties.get("StateMachineName", resource_name),
            definition=definition_of(properties) or "",
            roleArn=properties.get("RoleArn", ""),
            tags=tags_of(properties),
            sm_type=properties.get("StateMachineType"),
            loggingConfiguration=properties.get("LoggingConfiguration"),
            tracingConfiguration=properties.get("TracingConfiguration"),
        )

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        get_backend(account_id, region_name).delete_state_machine(resource_name)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("StateMachineName", original_resource.name)
        backend = get_backend(account_id, region_name)
        if name != original_resource.name:  # a new name means replacement, as on AWS
            replacement = create(cls, name, cloudformation_json, account_id, region_name)
            backend.delete_state_machine(original_resource.arn)
            return replacement
        machine = backend.update_state_machine(
            original_resource.arn, definition=definition_of(properties), role_arn=properties.get("RoleArn")
        )
        tags = tags_of(properties)
        if tags:
            backend.tagger.tag_resource(machine.arn, tags)
        return machine

    StateMachine.create_from_cloudformation_json = classmethod(create)
    StateMachine.delete_from_cloudformation_json = classmethod(delete)
    StateMachine.update_from_cloudformation_json = classmethod(update)


def _substitution_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)


# -- Lambda -----------------------------------------------------------------------------------


def moto_internal_invokes_use_lambda_host(lambda_host: Any) -> None:
    """Where moto itself invokes a function (S3 `LambdaConfigurations`, SNS, SQS event
    sources, Secrets Manager rotation, EventBridge targets below) it calls
    `LambdaFunction.invoke`, which needs Docker. Now those run the function's real code
    in the local Lambda host too (`Event` invocations in the background)."""
    from moto.awslambda.models import LambdaFunction

    from .lambda_host.host import spec_from_moto

    def invoke(self, body, request_headers, response_headers):
        spec = spec_from_moto(self, self.region, self.account_id)
        payload = (body if isinstance(body, bytes) else (body or "{}").encode())
        if (request_headers or {}).get("x-amz-invocation-type") == "Event":
            lambda_host.invoke_in_background(spec, payload)
            return b""
        outcome = lambda_host.invoke(spec, payload)
        if outcome.failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return outcome.payload

    LambdaFunction.invoke = invoke


# -- EventBridge ------------------------------------------------------------------------------


def eventbridge_targets_start_state_machines() -> None:
    """moto's `Rule.send_to_targets` raises `NotImplementedError` for a Step Functions
    or Lambda target, and any error aborts `put_events` (and, on the S3 path, silently stops
    delivery to later rules). Now a state machine target starts an execution with the
    event (time in ISO-8601, a unique execution name; `Input`, `InputPath` and
    `InputTransformer` honoured), a function target is invoked asynchronously, disabled rules deliver nothing, and each target is
    delivered on its own: a failing one is logged and the rest still get the event."""
    from moto.events.models import Rule

    moto_send_to_targets = Rule.send_to_targets

    def send_to_targets(self, original_event, transform_input: bool = True) -> None:
        try:
            if getattr(self, "state", "ENABLED") != "ENABLED" or not self.event_pattern.matches_event(original_event):
                return
        except Exception:
            log.exception("rule %s: could not match an event", self.name)
            return
        for target in list(self.targets):
            try:
                if ":states:" in target["Arn"] and ":stateMachine:" in target["Arn"]:
                    _start_execution_for_event(target, original_event)
                elif ":lambda:" in target["Arn"] and ":function:" in target["Arn"]:
                    _invoke_function_for_event(target, original_event)
                else:
                    one_target_rule = copy.copy(self)
                    one_target_rule.targets = [target]
                    moto_send_to_targets(one_target_rule, original_event, transform_input)
            except Exception:
                log.exception("rule %s: delivery to target %s failed", self.name, target.get("Id"))

    Rule.send_to_targets = send_to_targets


def _start_execution_for_event(target: dict, event: dict) -> None:
    from moto.stepfunctions.responses import get_backend

    arn = target["Arn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    execution_input = json.dumps(_target_input(target, _event_as_aws_sends_it(event)))
    execution = get_backend(account, region).start_execution(
        arn, name=str(uuid.uuid4()), execution_input=execution_input
    )
    log.info("event %s (%s) started %s", event.get("id"), event.get("detail-type"), execution.execution_arn)


def _invoke_function_for_event(target: dict, event: dict) -> None:
    """Asynchronously, as EventBridge does (through the Lambda host, see above)."""
    from moto.awslambda.models import lambda_backends

    arn = target["Arn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    function = lambda_backends[account][region].get_function(arn)
    payload = json.dumps(_target_input(target, _event_as_aws_sends_it(event)))
    function.invoke(payload, {"x-amz-invocation-type": "Event"}, {})


def _event_as_aws_sends_it(event: dict) -> dict:
    """moto keeps `time` as epoch seconds and adds `ingestion-time`; AWS sends
    `"time": "2026-11-27T21:00:00Z"`."""
    shaped = {key: value for key, value in event.items() if key != "ingestion-time"}
    shaped["time"] = _iso_time(event.get("time"))
    return shaped


def _iso_time(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, (int, float)) or (isinstance(value, str) and _is_number(value)):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    elif isinstance(value, str) and value:
        return value
    else:
        moment = datetime.now(tz=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _target_input(target: dict, event: dict) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={**event, "ingestion-time": time.time()},
        )
    return event


# -- S3 ---------------------------------------------------------------------------------------

_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


def s3_eventbridge_events_like_aws() -> None:
    """moto's S3 → EventBridge events differ from AWS's: `reason` is `ObjectCreated`
    instead of `PutObject`/`CopyObject`/`CompleteMultipartUpload`, the object's ETag is
    `eTag` instead of `etag`, every event has the same fixed `id`, and they go to the
    rules of every bus rather than the default bus only. This sends AWS's shape to the
    default bus."""
    from moto.events.models import events_backends
    from moto.events.utils import _BASE_EVENT_MESSAGE
    from moto.s3 import notifications

    def send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        try:
            event = copy.deepcopy(_BASE_EVENT_MESSAGE)
            event.update({
                "id": str(uuid.uuid4()),
                "detail-type": notifications._detail_type(event_name),
                "source": "aws.s3",
                "account": account_id,
                "time": time.time(),
                "region": bucket.region_name,
                "resources": [bucket.arn],
                "detail": _s3_event_detail(account_id, bucket, event_name, key),
            })
            default_bus = events_backends[account_id][bucket.region_name].event_buses["default"]
            for rule in list(default_bus.rules.values()):
                rule.send_to_targets(event, transform_input=False)
        except Exception:  # S3 delivers asynchronously: the S3 call itself must succeed
            log.exception("could not send the S3 event %s for %s/%s", event_name, bucket.name, key.name)

    notifications._send_event_bridge_message = send_event_bridge_message


def _s3_event_detail(account_id: str, bucket: Any, event_name: Any, key: Any) -> dict:
    event_name = str(getattr(event_name, "value", event_name))  # moto passes an Enum
    s3_object: dict[str, Any] = {"key": key.name, "sequencer": f"{time.time_ns():X}"}
    if event_name.startswith("s3:ObjectCreated"):
        s3_object.update({"size": key.size, "etag": key.etag.replace('"', "")})
    if getattr(key, "version_id", None) and key.version_id != "null":
        s3_object["version-id"] = key.version_id
    detail = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": s3_object,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
        "reason": _S3_REASONS.get(event_name, event_name.split(":")[1]),
    }
    if event_name.startswith("s3:ObjectRemoved"):
        detail["deletion-type"] = (
            "Delete Marker Created" if event_name.endswith("DeleteMarkerCreated") else "Permanently Deleted"
        )
    return detail


def policy_statements_whose_conditions_fail_do_not_apply() -> None:
    """moto answers DENIED for any statement whose Condition does not hold — so a bucket
    policy's `Deny … {"Bool": {"aws:SecureTransport": "false"}}` denied every request, and an
    `Allow` with an unmet condition denied too. On AWS a statement whose conditions are not met
    does not apply at all. (moto knows no `aws:SecureTransport`; the local endpoint stands in
    for AWS's HTTPS endpoint, so treating the key as absent is the honest reading.)"""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def conditions_hold(statement: Any, incoming: dict | None) -> bool:
        known = {key.lower() for key in (incoming or {})}
        for operator, keys in statement._statement.get("Condition", {}).items():
            # A key the request does not carry fails its condition, unless the operator
            # is `…IfExists` or `Null` (moto's own check counted it as a match).
            if operator.endswith("IfExists") or operator == "Null":
                continue
            if any(key.lower() not in known for key in keys):
                return False
        return statement._check_conditions(incoming)

    def is_action_permitted(self: Any, action: str, resource: str = "*", principal: Any = None, incoming_condition_values: Any = None) -> Any:
        if self._statement.get("Condition") and not conditions_hold(self, incoming_condition_values):
            return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted


def s3_notification_configuration_shows_eventbridge() -> None:
    """moto stores `EventBridgeConfiguration` (and sends the events) but
    GetBucketNotificationConfiguration leaves it out, so a caller cannot see that a bucket
    sends its events to EventBridge. AWS answers with an empty `<EventBridgeConfiguration/>`."""
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification
    closing = "</NotificationConfiguration>"

    def get_bucket_notification(self: Any) -> Any:
        response = original(self)
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if configuration is None or configuration.event_bridge is None:
            return response
        status, headers, body = response
        text = body.decode() if isinstance(body, bytes) else body
        if "<EventBridgeConfiguration" in text:
            return response
        if closing in text:
            text = text.replace(closing, "<EventBridgeConfiguration/>" + closing)
        else:  # nothing else configured: moto wrote a self-closing element
            text = text.replace('"/>', '"><EventBridgeConfiguration/>' + closing, 1)
        return status, headers, text

    S3Response.get_bucket_notification = get_bucket_notification


def s3_buckets_from_cloudformation_honour_eventbridge() -> None:
    """moto's CloudFormation ignores a bucket's `NotificationConfiguration`, so
    `EventBridgeConfiguration: {EventBridgeEnabled: true}` sends nothing. Creating or
    updating the bucket now switches EventBridge delivery on or off, as
    PutBucketNotificationConfiguration does (moto keeps that as `event_bridge = {}`)."""
    from moto.s3.models import FakeBucket, NotificationConfiguration

    moto_create = FakeBucket.create_from_cloudformation_json.__func__
    moto_update = FakeBucket.update_from_cloudformation_json.__func__

    def apply_eventbridge_setting(bucket: Any, properties: dict) -> None:
        wanted = bool(
            (properties.get("NotificationConfiguration") or {})
            .get("EventBridgeConfiguration", {})
            .get("EventBridgeEnabled", False)
        )
        wanted = wanted and str(wanted).lower() != "false"
        if bucket.notification_configuration is None:
            if wanted:
                bucket.notification_configuration = NotificationConfiguration(event_bridge={})
            return
        bucket.notification_configuration.event_bridge = {} if wanted else None

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        bucket = moto_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        apply_eventbridge_setting(bucket, cloudformation_json.get("Properties", {}))
        return bucket

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        bucket = moto_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        apply_eventbridge_setting(bucket, cloudformation_json.get("Properties", {}))
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(create)
    FakeBucket.update_from_cloudformation_json = classmethod(update)


# -- latency model ----------------------------------------------------------------------------


def rds_instances_take_time_to_create(seconds: float) -> None:
    """moto's RDS instances are `available` the moment they are created, so a caller's
    wait loop is never exercised. Now a new instance reports `creating` for `seconds`
    (VIKUNJA_LOCAL_RDS_CREATE_SECONDS) before whatever moto says."""
    from moto.rds.models import DBInstance

    if seconds <= 0:
        return

    def get_status(self) -> str:
        status = self.__dict__.get("_vikunja_status", "available")
        created = self.__dict__.get("_vikunja_created_at")
        if status == "available" and created is not None and time.monotonic() - created < seconds:
            return "creating"
        return status

    def set_status(self, value: str) -> None:
        self.__dict__.setdefault("_vikunja_created_at", time.monotonic())
        self.__dict__["_vikunja_status"] = value

    DBInstance.status = property(get_status, set_status)


def cloudfront_distributions_take_time_to_deploy(seconds: float) -> None:
    """moto's distributions advance `InProgress` → `Deployed` on the next read; AWS
    takes minutes. Now a distribution stays `InProgress` for `seconds`
    (VIKUNJA_LOCAL_CLOUDFRONT_DEPLOY_SECONDS), through moto's own state manager."""
    from moto.moto_api import state_manager

    if seconds > 0:
        state_manager.set_transition("cloudfront::distribution", {"progression": "time", "seconds": seconds})


# -- CloudFront -------------------------------------------------------------------------------


def cloudfront_functions_can_be_published_and_updated() -> None:
    """moto has no `PublishFunction` (404) and no `UpdateFunction` (500) for CloudFront
    Functions, and ignores `If-Match`. Now: `UpdateFunction` replaces config and code
    (stage `DEVELOPMENT`, status `UNPUBLISHED`, new ETag), `PublishFunction` makes it
    `LIVE`/`UNASSOCIATED`; both answer `PreconditionFailed` (412) on a stale `If-Match`,
    as AWS does. moto keeps one copy of a function, so `DescribeFunction` shows the
    latest stage whatever `Stage` asks."""
    from moto.cloudfront import urls
    from moto.cloudfront.exceptions import CloudFrontException, InvalidIfMatchVersion
    from moto.cloudfront.models import CloudFrontBackend, random_id
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    class PreconditionFailed(CloudFrontException):
        def __init__(self) -> None:
            super().__init__("PreconditionFailed", "The If-Match version does not match the current version.")

    def matching(self, name: str, if_match: str | None):
        function = self.describe_function(name)
        if not if_match:
            raise InvalidIfMatchVersion()
        if if_match != function.etag:
            raise PreconditionFailed()
        return function

    def publish_function(self, name: str, if_match: str | None):
        function = matching(self, name, if_match)
        function.stage, function.status = "LIVE", "UNASSOCIATED"
        function.last_modified_time = utcnow()
        return function

    def update_function(self, name: str, if_match: str | None, function_config: dict, function_code: bytes):
        function = matching(self, name, if_match)
        function.config, function.code = function_config, function_code
        function.stage, function.status = "DEVELOPMENT", "UNPUBLISHED"
        function.last_modified_time = utcnow()
        function.etag = random_id()
        return function

    def publish_function_response(self) -> ActionResult:
        function = self.backend.publish_function(self._get_param("Name"), self._get_param("IfMatch"))
        return ActionResult({"FunctionSummary": function.function_summary})

    def update_function_response(self) -> ActionResult:
        function = self.backend.update_function(
            self._get_param("Name"), self._get_param("IfMatch"),
            self._get_param("FunctionConfig", {}), self._get_param("FunctionCode"),
        )
        return ActionResult({"FunctionSummary": function.function_summary, "ETag": function.etag})

    CloudFrontBackend.publish_function = publish_function
    CloudFrontBackend.update_function = update_function
    CloudFrontResponse.publish_function = publish_function_response
    CloudFrontResponse.update_function = update_function_response
    urls.url_paths["{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$"] = CloudFrontResponse.dispatch


def cloudfront_distributions_keep_oac_and_function_associations() -> None:
    """moto's distributions forget an origin's `OriginAccessControlId` and
    `S3OriginConfig`, and a cache behaviour's `FunctionAssociations` and
    `LambdaFunctionAssociations` (always `Quantity: 0`), so a create-or-adopt step
    cannot verify them. Now they are kept and returned by `GetDistribution(Config)`."""
    from moto.cloudfront.models import DefaultCacheBehaviour, Origin

    moto_origin_init = Origin.__init__
    moto_behaviour_init = DefaultCacheBehaviour.__init__

    def origin_init(self, origin: dict) -> None:
        moto_origin_init(self, origin)
        self.origin_access_control_id = origin.get("OriginAccessControlId", "")
        if "S3OriginConfig" in origin:
            self.s3_origin_config = origin["S3OriginConfig"]

    def behaviour_init(self, config: dict) -> None:
        moto_behaviour_init(self, config)
        for key, attribute in (("FunctionAssociations", "function_associations"),
                               ("LambdaFunctionAssociations", "lambda_function_associations")):
            associations = config.get(key) or {}
            items = associations.get("Items") or []
            setattr(self, attribute, {"Quantity": len(items), "Items": items} if items else {"Quantity": 0})

    Origin.__init__ = origin_init
    DefaultCacheBehaviour.__init__ = behaviour_init


# -- ECS and ELBv2 (the CodeDeploy simulator's ground) ----------------------------------------


def code_deploy_services_start_with_a_task_set() -> None:
    """On AWS, `CreateService` with the `CODE_DEPLOY` deployment controller creates the
    service's first task set (PRIMARY, on the service's load balancers); blue/green
    deployments then replace it. moto creates none, so a first deployment had nothing
    to shift traffic from. Now the task set is there. It is made without moto's
    `run_task` (no `scale`), which fails for task definitions without container
    `memory`: a CreateService that worked before still works."""
    from moto.ecs.models import EC2ContainerServiceBackend

    moto_create_service = EC2ContainerServiceBackend.create_service

    def create_service(self, cluster_str, service_name, *args, **kwargs):
        service = moto_create_service(self, cluster_str, service_name, *args, **kwargs)
        controller = (service.deployment_controller or {}).get("type")
        if controller == "CODE_DEPLOY" and service.task_definition and not service.task_sets:
            try:
                task_set = self.create_task_set(
                    service_name, cluster_str, service.task_definition,
                    network_configuration=service.network_configuration,
                    load_balancers=service.load_balancers,
                    launch_type=service.launch_type,
                    platform_version=getattr(service, "platform_version", None),
                )
                task_set.status = "PRIMARY"
                task_set.scale = {"value": 100.0, "unit": "PERCENT"}
            except Exception:
                log.exception("service %s: could not create its first task set", service_name)
        return service

    EC2ContainerServiceBackend.create_service = create_service


def target_health_follows_loopback_targets() -> None:
    """moto reports every registered target `healthy`. Targets on a loopback address are
    the local stack's stand-ins (see vikunja_local/dataplane): their health is now the
    target group's real health check against them — HTTP(S): `GET <HealthCheckPath>`
    and the matcher's codes; TCP: a connection — with AWS's reasons
    (`Target.ResponseCodeMismatch`, `Target.Timeout`, `Target.FailedHealthChecks`)."""
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    moto_health_for = FakeTargetGroup.health_for

    def health_for(self, target, ec2_backend):
        status = moto_health_for(self, target, ec2_backend)
        if status.status != "healthy" or not _is_loopback(status.instance_id):
            return status
        failure = _health_check_failure(self, status.instance_id, int(status.port))
        if failure is None:
            return status
        reason, description = failure
        return FakeHealthStatus(status.instance_id, status.port, self.health_check_port, "unhealthy", reason, description)

    FakeTargetGroup.health_for = health_for


def _is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _health_check_failure(target_group: Any, ip: str, port: int) -> tuple[str, str] | None:
    """None when healthy, else (reason, description) as ELBv2 words them. The stand-in
    answers everything on its traffic port, so that is where it is checked."""
    import socket
    import urllib.error
    import urllib.request

    protocol = (target_group.health_check_protocol or "TCP").upper()
    timeout = min(float(target_group.health_check_timeout_seconds or 5), 2.0)
    if protocol == "TCP":
        try:
            socket.create_connection((ip, port), timeout=timeout).close()
            return None
        except OSError:
            return "Target.FailedHealthChecks", "Health checks failed"
    url = f"http://{ip}:{port}{target_group.health_check_path or '/'}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            code = answer.status
    except urllib.error.HTTPError as error:
        code = error.code
    except (OSError, ValueError):
        return "Target.Timeout", "Request timed out"
    if _code_matches(code, (getattr(target_group, "matcher", None) or {}).get("HttpCode") or "200-399"):
        return None
    return "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"


def _code_matches(code: int, matcher: str) -> bool:
    """ELBv2 matchers: `200`, `200,202`, `200-399`."""
    for part in str(matcher).split(","):
        low, _, high = part.strip().partition("-")
        if low and int(low) <= code <= int(high or low):
            return True
    return False


def ecr_image_digests_are_manifest_hashes() -> None:
    """moto makes an image's digest from its layers' digests only (and a random one of
    101 values without layers), so two different manifests — a new config on the same
    layers, or any two layer-less test manifests — got the same digest, and a release
    by digest deployed the wrong image or none. A registry's digest is the sha256 of
    the manifest bytes; so is moto's now (an explicit `imageDigest` is still kept)."""
    import hashlib

    from moto.ecr.models import Image

    def create_digest(self) -> None:
        self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()

    Image._create_digest = create_digest


# -- Lambda -----------------------------------------------------------------------------------


def lambda_code_from_a_missing_s3_key_is_refused() -> None:
    """moto's S3 `get_object` returns None for a missing key instead of raising `MissingKey`,
    so Lambda's own check never fires: CreateFunction, UpdateFunctionCode and CloudFormation
    made a function with empty code from an S3 key that does not exist (it failed only when
    invoked). AWS refuses it with InvalidParameterValueException "Error occurred while
    GetObject. S3 Error Code: NoSuchKey. …"; so does this. (A missing bucket was already
    refused.)"""
    from moto.awslambda import models
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    original = models.LambdaFunction._set_function_code

    def set_function_code(self: Any, updated_spec: dict) -> None:
        if "S3Bucket" in updated_spec and "S3Key" in updated_spec and not updated_spec.get("DryRun") \
                and models.do_validate_s3():
            try:
                key = s3_backends[self.account_id][self.partition].get_object(
                    updated_spec["S3Bucket"], updated_spec["S3Key"], version_id=updated_spec.get("S3ObjectVersion")
                )
            except MissingBucket:
                key = True  # moto's own NoSuchBucket answer follows
            if key is None:
                raise InvalidParameterValueException(
                    "Error occurred while GetObject. S3 Error Code: NoSuchKey. "
                    "S3 Error Message: The specified key does not exist."
                )
        return original(self, updated_spec)

    models.LambdaFunction._set_function_code = set_function_code


def lambda_environment_values_are_strings() -> None:
    """moto's CloudFormation resolves a `Ref` to a Number parameter as a number, and its
    Lambda stores the number as is in `Environment.Variables` — then GetFunction and
    ListFunctions answer `"SMOKE_TEST_BUDGET_SECONDS": 12`, which the Rust SDK refuses
    ("expected ValueString"). On AWS a Ref to a parameter is a string, and Lambda's
    variables are strings; here they are made strings when a function is created or
    updated."""
    from moto.awslambda import models

    def as_text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)

    def stringify(function: Any) -> None:
        variables = getattr(function, "environment_vars", None)
        if isinstance(variables, dict):
            function.environment_vars = {key: as_text(value) for key, value in variables.items()}

    moto_init = models.LambdaFunction.__init__
    moto_update_configuration = models.LambdaFunction.update_configuration

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_init(self, *args, **kwargs)
        stringify(self)

    def update_configuration(self: Any, config_updates: dict) -> Any:
        moto_update_configuration(self, config_updates)
        stringify(self)
        return self.get_configuration()

    models.LambdaFunction.__init__ = init
    models.LambdaFunction.update_configuration = update_configuration


# -- CloudFormation change sets ---------------------------------------------------------------

# Properties whose change replaces the resource (AWS's "Update requires: Replacement"),
# for the types the bootstrap template uses. AWS decides from each type's full schema;
# a Modify of any other property is reported as `Replacement: False`.
_REPLACING_PROPERTIES = {
    "AWS::Lambda::Function": ("FunctionName", "PackageType"),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::IAM::Role": ("RoleName", "Path"),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", "StateMachineType"),
    "AWS::Events::Rule": ("Name",),
    "AWS::S3::Bucket": ("BucketName",),
}


def cloudformation_calls_run_one_at_a_time() -> None:
    """moto's CloudFormation is not thread-safe: two stacks created or changed at once
    (the server answers each request on its own thread) can fail with "dictionary changed
    size during iteration", half-way through a stack. AWS runs stack operations
    concurrently; here each CloudFormation call runs alone, which only delays parallel
    callers (an ExecuteChangeSet of the bootstrap template takes about a second)."""
    import threading

    from moto.cloudformation.responses import CloudFormationResponse

    lock = threading.RLock()
    original = CloudFormationResponse.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    CloudFormationResponse.call_action = call_action


def cloudformation_change_sets_like_aws() -> None:
    """moto's change sets differ from AWS's where a deploy tool notices:
    - CreateChangeSet of type CREATE for a stack name that exists made a second stack of
      that name. AWS reuses a stack in REVIEW_IN_PROGRESS (what a CREATE change set that was
      never executed leaves) and refuses any other; it also refuses an UPDATE change set for
      a stack that cannot be updated (REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE,
      UPDATE_ROLLBACK_FAILED, …).
    - CreateChangeSet of type UPDATE with an unchanged TemplateBody failed with "No updates
      are to be performed." AWS creates the change set, FAILED, with the reason "The
      submitted information didn't contain changes…" (moto already does that for a
      TemplateURL).
    - ListChangeSets listed every stack's change sets; AWS lists the named stack's.
    - A Modify carried no `Replacement`; AWS says True, False or Conditional. Here: True
      when a property in `_REPLACING_PROPERTIES` changed, else False.
    - Describe/DeleteChangeSet by name took the first change set of that name in any
      stack; now within the stack named (by ARN as before). A missing one is
      ChangeSetNotFound (moto: "Stack with id … does not exist"); deleting one that is
      executing is InvalidChangeSetStatus."""
    from moto.cloudformation import models, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult, EmptyResult

    Backend = models.CloudFormationBackend
    moto_create_change_set = Backend.create_change_set

    def create_change_set(self, stack_name, change_set_name, template, parameters, description,
                          change_set_type, notification_arns=None, tags=None, role_arn=None):
        existing = _stack_named(self, stack_name)
        if change_set_type == "CREATE" and existing is not None:
            if existing.status != "REVIEW_IN_PROGRESS":
                raise ValidationError(message=(
                    f"Stack [{stack_name}] already exists and cannot be created again with the "
                    f"changeSet [{change_set_name}]."))
            models.validate_create_change_set(change_set_name)
            change_set_id = models.generate_changeset_id(change_set_name, self.region_name, self.account_id)
            change_set = models.ChangeSet(
                change_set_type="CREATE", change_set_id=change_set_id, change_set_name=change_set_name,
                stack=existing, template=template, parameters=parameters, description=description,
                notification_arns=notification_arns, tags=tags, role_arn=role_arn,
            )
            change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
            self.change_sets[change_set_id] = change_set
            return change_set_id, existing.stack_id
        if change_set_type == "UPDATE" and existing is not None and existing.status in (
            "REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED",
        ):
            raise ValidationError(message=(
                f"Stack:{existing.stack_id} is in {existing.status} state and can not be updated."))
        return moto_create_change_set(self, stack_name, change_set_name, template, parameters,
                                      description, change_set_type, notification_arns, tags, role_arn)

    Backend.create_change_set = create_change_set

    moto_validate_different_update = responses.CloudFormationResponse._validate_different_update

    def validate_different_update(self, incoming_params, stack_body, old_stack):
        if self._get_action() == "CreateChangeSet":
            return  # the backend marks an unchanged change set FAILED, as AWS does
        return moto_validate_different_update(self, incoming_params, stack_body, old_stack)

    responses.CloudFormationResponse._validate_different_update = validate_different_update

    def list_change_sets(self):
        backend = self.cloudformation_backend
        stack = backend.get_stack(self._get_param("StackName"))
        summaries = [cs for cs in list(backend.change_sets.values()) if cs.stack_id == stack.stack_id]
        return ActionResult({"Summaries": summaries})

    def describe_change_set(self):
        backend = self.cloudformation_backend
        return ActionResult(_find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName")))

    def delete_change_set(self):
        backend = self.cloudformation_backend
        change_set = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
        if change_set.execution_status == "EXECUTE_IN_PROGRESS":
            raise _invalid_change_set_status(change_set)
        backend.change_sets.pop(change_set.change_set_id, None)
        return EmptyResult()

    responses.CloudFormationResponse.list_change_sets = list_change_sets
    responses.CloudFormationResponse.describe_change_set = describe_change_set
    responses.CloudFormationResponse.delete_change_set = delete_change_set

    moto_diff = models.ChangeSet.diff

    def diff(self):
        changes = moto_diff(self)
        old = self.stack.resource_map._resource_json_map
        new = (self.template_dict or {}).get("Resources", {})
        for change in changes:
            change.replacement = None
            change.physical_resource_id = None
            if change.action != "Modify":
                continue
            before, after = old.get(change.logical_resource_id, {}), new.get(change.logical_resource_id, {})
            replacing = _REPLACING_PROPERTIES.get(change.resource_type, ())
            changed = [
                name for name in replacing
                if (before.get("Properties") or {}).get(name) != (after.get("Properties") or {}).get(name)
            ]
            change.replacement = "True" if changed else "False"
            parsed = self.stack.resource_map._parsed_resources.get(change.logical_resource_id)
            change.physical_resource_id = getattr(parsed, "physical_resource_id", None)
        return changes

    models.ChangeSet.diff = diff


def _stack_named(backend: Any, name_or_id: str | None) -> Any:
    """The live (not deleted) stack with this name or id, or None."""
    for stack in list(backend.stacks.values()):
        if name_or_id in (stack.name, stack.stack_id):
            return stack
    return None


def _find_change_set(backend: Any, name_or_id: str, stack_name: str | None) -> Any:
    """A change set by ARN, or by name within the named stack (AWS: ChangeSetNotFound)."""
    from moto.cloudformation.exceptions import CloudFormationError

    found = backend.change_sets.get(name_or_id)
    if found is None:
        stack = _stack_named(backend, stack_name) if stack_name else None
        found = next((cs for cs in list(backend.change_sets.values())
                      if cs.change_set_name == name_or_id and (stack is None or cs.stack_id == stack.stack_id)), None)
    if found is None:
        class ChangeSetNotFound(CloudFormationError):
            code = "ChangeSetNotFound"

        raise ChangeSetNotFound(f"ChangeSet [{name_or_id}] does not exist")
    return found


def _invalid_change_set_status(change_set: Any) -> Exception:
    from moto.cloudformation.exceptions import CloudFormationError

    class InvalidChangeSetStatus(CloudFormationError):
        code = "InvalidChangeSetStatus"

    return InvalidChangeSetStatus(
        f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution "
        f"status of [{change_set.execution_status}]")


# The resource events of the stack operation running on this thread (None: not recording).
_recording = __import__("threading").local()


class _ResourceEvents:
    """Records per-resource stack events while moto creates, updates or deletes a
    stack's resources, as AWS reports them: …_IN_PROGRESS, then …_COMPLETE or …_FAILED
    with the handler's message; a resource interrupted by another's failure gets
    "Resource … cancelled"."""

    def __init__(self, stack: Any):
        self.stack = stack
        self.failed: list[str] = []
        self._failed_ops: set[tuple[str, str]] = set()

    def __enter__(self) -> "_ResourceEvents":
        self._outer = getattr(_recording, "events", None)
        _recording.events = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _recording.events = self._outer

    def add(self, logical_id: str, resource_type: str, status: str, reason: str | None = None,
            physical_id: str | None = None) -> None:
        from moto.cloudformation.models import Event

        self.stack.events.append(Event(
            stack_id=self.stack.stack_id, stack_name=self.stack.name, logical_resource_id=logical_id,
            physical_resource_id=physical_id or "", resource_type=resource_type,
            resource_status=status, resource_status_reason=reason, resource_properties=None,
        ))

    def around(self, logical_id: str, resource_type: str, operation: str, work: Any) -> Any:
        try:
            result = work()
        except Exception as error:
            if (logical_id, operation) not in self._failed_ops:
                self._failed_ops.add((logical_id, operation))
                self.add(logical_id, resource_type, f"{operation}_IN_PROGRESS")
                if getattr(error, "_vikunja_reported", False):
                    noun = {"CREATE": "creation", "UPDATE": "update", "DELETE": "deletion"}[operation]
                    self.add(logical_id, resource_type, f"{operation}_FAILED", f"Resource {noun} cancelled")
                else:
                    self.add(logical_id, resource_type, f"{operation}_FAILED", _handler_message(error))
                    self.failed.append(logical_id)
            try:
                error._vikunja_reported = True  # type: ignore[attr-defined]
            except AttributeError:
                pass
            raise
        if result is not None:
            physical = getattr(result, "physical_resource_id", None)
            self.add(logical_id, resource_type, f"{operation}_IN_PROGRESS", physical_id=physical)
            self.add(logical_id, resource_type, f"{operation}_COMPLETE", physical_id=physical)
        return result


def _handler_message(error: Exception) -> str:
    """AWS's wording for a resource handler's failure, from a moto exception."""
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    code = code if isinstance(code, str) else None  # RESTError.code is the HTTP status
    message = getattr(error, "message", None)
    if not message and len(getattr(error, "args", ())) == 2 and all(isinstance(a, str) for a in error.args):
        code, message = error.args  # moto's Lambda raises ValueError(code, message)
    if not message:
        message = str(error) or type(error).__name__
    code = code or type(error).__name__
    return f'Resource handler returned message: "{message}" (HandlerErrorCode: {code})'


class _Previous:
    """What a stack was before an update: what its rollback returns to."""

    def __init__(self, stack: Any):
        resource_map = stack.resource_map
        self.template = stack.template
        self.template_dict = copy.deepcopy(resource_map._template)
        self.resources = copy.deepcopy(dict(resource_map._resource_json_map))
        self.parameters = dict(stack.parameters or {})
        self.description = stack.description


def cloudformation_change_set_execution_like_aws() -> None:
    """moto executes a change set but: after a CREATE the stack keeps the Outputs (none),
    description and parameters of its empty REVIEW_IN_PROGRESS start, and after an UPDATE
    its old parameters and tags; it records stack events only, none per resource; a
    resource that fails aborts ExecuteChangeSet with a 500 and leaves the stack half-made
    in whatever status it had ("TODO: handle execution errors and implement rollback");
    the stack's other change sets stay; ContinueUpdateRollback is not implemented.
    Now as on AWS: events per resource (`_ResourceEvents`); a failed CREATE deletes what it
    made and ends ROLLBACK_COMPLETE (ROLLBACK_FAILED if a delete fails); a failed UPDATE
    applies the previous template and parameters again and ends UPDATE_ROLLBACK_COMPLETE,
    or UPDATE_ROLLBACK_FAILED when a resource cannot go back (a function whose previous
    code is gone from S3, say); ContinueUpdateRollback retries that rollback, marking
    ResourcesToSkip as rolled back without touching them; executing deletes the stack's
    other change sets; an executed or failed change set cannot be executed again
    (InvalidChangeSetStatus). Execution stays synchronous: when ExecuteChangeSet returns,
    the stack has reached its final status."""
    from moto.cloudformation import models, parsing, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import EmptyResult

    moto_create_resource = parsing.parse_and_create_resource
    moto_update_resource = parsing.parse_and_update_resource
    moto_delete_resource = parsing.ResourceMap._delete_resource

    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        events = getattr(_recording, "events", None)
        work = lambda: moto_create_resource(logical_id, resource_json, resources_map, account_id, region_name)  # noqa: E731
        return events.around(logical_id, resource_json.get("Type", ""), "CREATE", work) if events else work()

    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
        events = getattr(_recording, "events", None)
        work = lambda: moto_update_resource(logical_id, resource_json, resources_map, account_id, region_name)  # noqa: E731
        return events.around(logical_id, resource_json.get("Type", ""), "UPDATE", work) if events else work()

    def delete_resource(self, parsed_resource, resource_json):
        events = getattr(_recording, "events", None)
        work = lambda: moto_delete_resource(self, parsed_resource, resource_json)  # noqa: E731
        if not events:
            return work()
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        events.around(logical_id, resource_json.get("Type", ""), "DELETE", lambda: (work(), parsed_resource)[1])

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource
    parsing.ResourceMap._delete_resource = delete_resource

    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = _find_change_set(self, change_set_name, stack_name)
        if change_set.execution_status != "AVAILABLE":
            raise _invalid_change_set_status(change_set)
        stack = self.stacks[change_set.stack_id]
        kind = change_set.change_set_type
        previous = _Previous(stack) if kind == "UPDATE" else None
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        stack.status = f"{kind}_IN_PROGRESS"
        stack._add_stack_event(stack.status, resource_status_reason="User Initiated")
        events = _ResourceEvents(stack)
        try:
            with events:
                change_set.apply()
        except Exception as error:
            log.info("change set %s of %s failed: %s", change_set.change_set_name, stack.name, error)
            change_set.execution_status = "EXECUTE_FAILED"
            failed = events.failed or [type(error).__name__]
            if kind == "CREATE":
                stack.template = change_set.template
                stack._parse_template()
                _roll_back_create(stack, failed)
            else:
                stack.vikunja_previous = previous
                stack.vikunja_failed_template = copy.deepcopy(dict(stack.resource_map._resource_json_map))
                _roll_back_update(stack, previous, failed, skip=())
            return
        stack.template = change_set.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = dict(change_set.parameters or {})
        if change_set.tags:
            stack.tags = dict(change_set.tags)
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export
        if kind == "UPDATE":
            stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        stack._add_stack_event(f"{kind}_COMPLETE")
        stack.status = f"{kind}_COMPLETE"
        change_set.execution_status = "EXECUTE_COMPLETE"
        for change_set_id, other in list(self.change_sets.items()):
            if other is not change_set and other.stack_id == stack.stack_id:
                del self.change_sets[change_set_id]

    def continue_update_rollback(self, stack_name, resources_to_skip):
        stack = _stack_named(self, stack_name)
        if stack is None:
            raise ValidationError(stack_name)
        if stack.status != "UPDATE_ROLLBACK_FAILED" or getattr(stack, "vikunja_previous", None) is None:
            raise ValidationError(message=(
                f"Stack:{stack.stack_id} is in {stack.status} state: ContinueUpdateRollback needs "
                "UPDATE_ROLLBACK_FAILED"))
        unknown = [r for r in resources_to_skip if r not in stack.resource_map._resource_json_map]
        if unknown:
            raise ValidationError(message=f"Resources {unknown} do not exist in stack {stack.name}")
        _roll_back_update(stack, stack.vikunja_previous, None, skip=tuple(resources_to_skip))

    models.CloudFormationBackend.execute_change_set = execute_change_set
    models.CloudFormationBackend.continue_update_rollback = continue_update_rollback

    def continue_update_rollback_response(self):
        self.cloudformation_backend.continue_update_rollback(
            self._get_param("StackName"), self._get_param("ResourcesToSkip", []) or []
        )
        return EmptyResult()

    responses.CloudFormationResponse.continue_update_rollback = continue_update_rollback_response


def _roll_back_create(stack: Any, failed: list[str]) -> None:
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(stack.status, resource_status_reason=(
        f"The following resource(s) failed to create: [{', '.join(failed)}]. Rollback requested by user."))
    events = _ResourceEvents(stack)
    try:
        with events:
            stack.resource_map.delete()
    except Exception:
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event(stack.status, resource_status_reason=(
            f"The following resource(s) failed to delete: [{', '.join(events.failed)}]."))
        return
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event(stack.status)


def _roll_back_update(stack: Any, previous: _Previous, failed: list[str] | None, skip: tuple[str, ...]) -> None:
    """Applies the previous template again. `failed`: what made the update fail (None when
    continuing a rollback). Resources whose rollback fails keep their updated template, so
    a ContinueUpdateRollback tries them again unless skipped."""
    resource_map = stack.resource_map
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    reason = (f"The following resource(s) failed to update: [{', '.join(failed)}]." if failed
              else "Continue update rollback requested by user.")
    stack._add_stack_event(stack.status, resource_status_reason=reason)
    attempted = dict(resource_map._resource_json_map)
    events = _ResourceEvents(stack)
    for logical_id in skip:
        if logical_id in previous.resources:
            attempted[logical_id] = previous.resources[logical_id]
        events.add(logical_id, attempted.get(logical_id, {}).get("Type", ""), "UPDATE_COMPLETE",
                   "Resource skipped during UpdateRollback")
    resource_map._resource_json_map = attempted
    try:
        with events:
            resource_map.update(copy.deepcopy(previous.template_dict), dict(previous.parameters) or None)
    except Exception:
        still_updated = {logical_id: attempted[logical_id] for logical_id in events.failed if logical_id in attempted}
        resource_map._resource_json_map = {**previous.resources, **still_updated}
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event(stack.status, resource_status_reason=(
            f"The following resource(s) failed to update: [{', '.join(events.failed)}]."))
        return
    stack.template = previous.template
    stack._parse_template()
    stack.description = previous.description
    stack.parameters = dict(previous.parameters)
    stack.output_map = stack._create_output_map()
    stack.vikunja_previous = None
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event(stack.status)


# -- S3 ownership -----------------------------------------------------------------------------


def s3_expected_bucket_owner_is_checked() -> None:
    """moto ignores `x-amz-expected-bucket-owner` (`ExpectedBucketOwner`), and answers a
    HEAD of another account's bucket with 200: a caller cannot tell that a bucket name it
    meant to own belongs to someone else. AWS answers 403 Access Denied to any bucket or
    object request whose expected owner is not the bucket's account; so does this."""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import s3_backends
    from moto.s3.responses import S3Response

    class OwnerMismatch(S3ClientError):
        code = 403

        def __init__(self) -> None:
            super().__init__("AccessDenied", "Access Denied")

    def check(self: Any, request: Any, full_url: str) -> None:
        expected = request.headers.get("x-amz-expected-bucket-owner")
        if not expected:
            return
        owner = s3_backends.bucket_accounts.get(self.parse_bucket_name_from_url(request, full_url))
        if owner is not None and owner[1] != expected:
            raise OwnerMismatch()

    for name in ("_bucket_response", "_key_response"):
        original = getattr(S3Response, name)

        def checked(self: Any, request: Any, full_url: str, _original: Any = original) -> Any:
            try:
                check(self, request, full_url)
            except S3ClientError:
                if request.method == "HEAD":
                    return 403, {}, ""
                raise
            return _original(self, request, full_url)

        setattr(S3Response, name, checked)


def s3_bucket_versioning_answers_with_its_own_root_element() -> None:
    """moto answers GetBucketVersioning with the root element `<GetBucketVersioningResponse>`;
    AWS (and the model) say `<VersioningConfiguration>`. botocore does not mind; the Rust
    SDK refuses the answer ("expected VersioningConfiguration"). Renamed here."""
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_versioning

    def get_bucket_versioning(self: Any) -> Any:
        status, headers, body = original(self)
        text = body.decode() if isinstance(body, bytes) else body
        return status, headers, text.replace("GetBucketVersioningResponse", "VersioningConfiguration")

    S3Response.get_bucket_versioning = get_bucket_versioning
