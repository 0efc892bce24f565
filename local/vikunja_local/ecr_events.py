"""ECR `Image Action` events, which moto never emits.

After moto answered `PutImage` (or `BatchDeleteImage`) successfully, the router
calls these hooks; they put the event AWS would have put on the account's default
EventBridge bus: source `aws.ecr`, detail-type `ECR Image Action`, detail
`{"result": "SUCCESS", "repository-name", "image-digest", "action-type": "PUSH" |
"DELETE", "image-tag"}`. Rules then deliver it through the patched targets (a state
machine target starts an execution with the event as input, `time` in ISO-8601).
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from .accounts import account_for
from .router import CallView, Reply
from .settings import DEFAULT_REGION

log = logging.getLogger(__name__)

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921."


def is_put_image(call: CallView) -> bool:
    return call.amz_target == ECR_TARGET + "PutImage"


def is_batch_delete_image(call: CallView) -> bool:
    return call.amz_target == ECR_TARGET + "BatchDeleteImage"


def after_put_image(call: CallView, reply: Reply) -> None:
    if reply.status != 200:
        return  # AWS emits nothing for a failed push
    image = json.loads(reply.body).get("image") or {}
    image_id = image.get("imageId") or {}
    _emit(call, "PUSH", image.get("repositoryName"), image_id.get("imageDigest"), image_id.get("imageTag"))


def after_batch_delete_image(call: CallView, reply: Reply) -> None:
    if reply.status != 200:
        return
    repository = json.loads(call.body or b"{}").get("repositoryName")
    for image_id in json.loads(reply.body).get("imageIds") or []:
        _emit(call, "DELETE", repository, image_id.get("imageDigest"), image_id.get("imageTag"))


def image_action_event(account: str, region: str, action: str, repository: str, digest: str,
                       tag: str | None) -> dict:
    detail = {"result": "SUCCESS", "repository-name": repository, "image-digest": digest, "action-type": action}
    if tag:
        detail["image-tag"] = tag
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": account,
        "time": time.time(),  # the EventBridge patch sends it as ISO-8601
        "region": region,
        "resources": [],
        "detail": detail,
    }


def _emit(call: CallView, action: str, repository: str | None, digest: str | None, tag: str | None) -> None:
    from moto.events.models import events_backends

    if not repository or not digest:
        return
    account = account_for(call)
    region = call.region or DEFAULT_REGION
    event = image_action_event(account, region, action, repository, digest, tag)
    default_bus = events_backends[account][region].event_buses["default"]
    for rule in list(default_bus.rules.values()):
        rule.send_to_targets(event, transform_input=False)
    log.info("ECR %s %s@%s (%s): event sent to the default bus", action, repository, digest, tag or "untagged")
