"""S3: EventBridge notifications as AWS sends and shows them, expected bucket owners, versioning answers."""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from typing import Any

from .registry import Finding, probe, replaces, uses

log = logging.getLogger(__name__)


_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


@replaces("moto.s3.notifications._send_event_bridge_message", "(account_id, bucket, event_name, key)")
@uses("moto.s3.notifications._detail_type", "(event_name)")
@uses("moto.events.utils._BASE_EVENT_MESSAGE")
@uses("moto.events.models.Rule.send_to_targets", "(self, original_event, transform_input)")
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


@replaces("moto.s3.responses.S3Response.get_bucket_notification", "(self)")
@uses("moto.s3.models.S3Backend.get_bucket_notification_configuration", "(self, bucket_name)")
def s3_notification_configuration_shows_eventbridge() -> None:
    """moto stores `EventBridgeConfiguration` (and sends the events) but
    GetBucketNotificationConfiguration leaves it out, so a caller cannot see that a bucket
    sends its events to EventBridge. AWS answers with an empty `<EventBridgeConfiguration/>`.
    A bucket with no configuration (never set, or set empty) gets moto's empty result, which
    no SDK can parse; AWS answers with an empty `<NotificationConfiguration/>`."""
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification
    closing = "</NotificationConfiguration>"

    def get_bucket_notification(self: Any) -> Any:
        response = original(self)
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if not configuration:
            status, headers, _ = response
            return status, headers, (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
            )
        if configuration.event_bridge is None:
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


@replaces(
    "moto.s3.models.FakeBucket.create_from_cloudformation_json",
    "(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)",
)
@replaces(
    "moto.s3.models.FakeBucket.update_from_cloudformation_json",
    "(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)",
)
@uses("moto.s3.models.NotificationConfiguration.__init__", "(self, topic, queue, cloud_function, event_bridge)")
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


@replaces("moto.s3.responses.S3Response._bucket_response", "(self, request, full_url)")
@replaces("moto.s3.responses.S3Response._key_response", "(self, request, full_url)")
@uses("moto.s3.responses.S3Response.parse_bucket_name_from_url", "(self, request, url)")
@uses("moto.s3.models.s3_backends.bucket_accounts")
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


@replaces("moto.s3.responses.S3Response.get_bucket_versioning", "(self)")
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


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(s3_eventbridge_events_like_aws)
def _probe_s3_eventbridge_events() -> Finding:
    """An S3 event through a rule to an SQS queue: AWS's `reason` is `PutObject`, the ETag `etag`."""
    from .probing import ACCOUNT, REGION, client

    s3, events, sqs = client("s3"), client("events"), client("sqs")
    queue_url = sqs.create_queue(QueueName="probe-s3-events")["QueueUrl"]
    events.put_rule(Name="probe-s3", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="probe-s3", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:probe-s3-events"}])
    s3.create_bucket(Bucket="probe-s3-events")
    s3.put_bucket_notification_configuration(
        Bucket="probe-s3-events", NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3.put_object(Bucket="probe-s3-events", Key="k", Body=b"x")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    if not messages:
        return Finding(True, "no event reached the rule's target")
    detail = json.loads(messages[0]["Body"])["detail"]
    wrong = [f"reason {detail.get('reason')!r}"] if detail.get("reason") != "PutObject" else []
    wrong += ["no `etag`"] if "etag" not in detail.get("object", {}) else []
    return Finding(bool(wrong), ", ".join(wrong) or "reason PutObject, etag")


@probe(s3_notification_configuration_shows_eventbridge)
def _probe_notification_configuration() -> Finding:
    from .probing import client

    s3 = client("s3")
    s3.create_bucket(Bucket="probe-notification")
    s3.put_bucket_notification_configuration(
        Bucket="probe-notification", NotificationConfiguration={"EventBridgeConfiguration": {}})
    answer = s3.get_bucket_notification_configuration(Bucket="probe-notification")
    shown = "EventBridgeConfiguration" in answer
    return Finding(not shown, "EventBridgeConfiguration shown" if shown else "EventBridgeConfiguration left out")


@probe(s3_buckets_from_cloudformation_honour_eventbridge)
def _probe_cloudformation_bucket_eventbridge() -> Finding:
    from moto.s3.models import FakeBucket

    from .probing import ACCOUNT, REGION

    bucket = FakeBucket.create_from_cloudformation_json("ProbeBucket", {"Properties": {
        "BucketName": "probe-cfn-eventbridge",
        "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
    }}, ACCOUNT, REGION)
    configuration = bucket.notification_configuration
    enabled = configuration is not None and configuration.event_bridge is not None
    return Finding(not enabled, "EventBridge enabled" if enabled else "EventBridgeEnabled: true ignored")


@probe(s3_expected_bucket_owner_is_checked)
def _probe_expected_bucket_owner() -> Finding:
    from botocore.exceptions import ClientError

    from .probing import client

    s3 = client("s3")
    s3.create_bucket(Bucket="probe-owner")
    try:
        s3.head_bucket(Bucket="probe-owner", ExpectedBucketOwner="111122223333")
    except ClientError as error:
        return Finding(False, f"HEAD with another ExpectedBucketOwner: {error.response['Error']['Code']}")
    return Finding(True, "HEAD with another ExpectedBucketOwner: 200")


@probe(s3_bucket_versioning_answers_with_its_own_root_element)
def _probe_versioning_root_element() -> Finding:
    import re

    from .probing import client

    s3 = client("s3")
    bodies: list[bytes] = []
    s3.meta.events.register("before-parse.s3.GetBucketVersioning",
                            lambda response_dict, **_: bodies.append(response_dict["body"]))
    s3.create_bucket(Bucket="probe-versioning")
    s3.put_bucket_versioning(Bucket="probe-versioning", VersioningConfiguration={"Status": "Enabled"})
    s3.get_bucket_versioning(Bucket="probe-versioning")
    text = bodies[-1].decode() if isinstance(bodies[-1], bytes) else bodies[-1]
    root = re.search(r"<([A-Za-z]+)[\s>]", text.split("?>", 1)[-1])
    name = root.group(1) if root else "?"
    return Finding(name != "VersioningConfiguration", f"root element <{name}>")
