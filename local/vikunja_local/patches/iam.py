"""IAM policy evaluation (bucket policies): a statement whose conditions fail does not apply."""

from __future__ import annotations

from typing import Any

from .registry import Finding, probe, replaces, uses


@replaces(
    "moto.iam.access_control.IAMPolicyStatement.is_action_permitted",
    "(self, action, resource, principal, incoming_condition_values)",
)
@uses("moto.iam.access_control.IAMPolicyStatement._check_conditions", "(self, incoming_condition_values)")
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


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(policy_statements_whose_conditions_fail_do_not_apply)
def _probe_unmet_condition() -> Finding:
    """A bucket policy's `Deny … aws:SecureTransport false` must not deny a request that
    carries no such key."""
    from moto.iam.access_control import IAMPolicyStatement

    statement = IAMPolicyStatement({
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
    result = statement.is_action_permitted("s3:GetObject", "arn:aws:s3:::probe/key", None, {})
    return Finding(result.name == "DENIED", f"a Deny whose condition fails answers {result.name}")
