"""Application Auto Scaling: a missing scalable target is `ObjectNotFoundException`, as on AWS."""

from __future__ import annotations

from .registry import Finding, probe, replaces


@replaces(
    "moto.applicationautoscaling.models.ApplicationAutoscalingBackend.deregister_scalable_target",
    "(self, namespace, r_id, dimension)",
)
def deregistering_a_missing_scalable_target_is_object_not_found() -> None:
    """AWS answers DeregisterScalableTarget for a target that is not registered with
    `ObjectNotFoundException` ("… this exception is thrown if the scalable target with the
    specified service namespace, resource ID, and scalable dimension does not exist");
    moto answered `ValidationException`, so a retried deregister (its first attempt went
    through, the answer was lost) looked like a refusal instead of "already gone"."""
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.core.exceptions import JsonRESTError

    def deregister_scalable_target(self, namespace, r_id, dimension):
        if not self._scalable_target_exists(r_id, dimension):
            raise JsonRESTError(
                "ObjectNotFoundException",
                f"No scalable target registered for service namespace: {namespace}, resource ID: {r_id}, "
                f"scalable dimension: {dimension}",
            )
        del self.targets[dimension][r_id]

    ApplicationAutoscalingBackend.deregister_scalable_target = deregister_scalable_target


@probe(deregistering_a_missing_scalable_target_is_object_not_found)
def _probe_missing_scalable_target() -> Finding:
    """Deregistering a target that was never registered."""
    from botocore.exceptions import ClientError

    from .probing import client

    try:
        client("application-autoscaling").deregister_scalable_target(
            ServiceNamespace="ecs", ResourceId="service/probe/none", ScalableDimension="ecs:service:DesiredCount")
    except ClientError as error:
        code = error.response["Error"]["Code"]
        return Finding(code != "ObjectNotFoundException", f"a missing target answers {code}")
    return Finding(True, "a missing target was deregistered without an error")
