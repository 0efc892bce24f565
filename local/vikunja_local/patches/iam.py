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


@replaces("moto.iam.models.IAMBackend.get_role_policy", "(self, role_name, policy_name)")
def role_policies_from_cloudformation_read_back_as_json() -> None:
    """A role's inline policy made by CloudFormation is kept by moto as the template's
    mapping, and GetRolePolicy answered its Python repr (`{'Statement': …}`), which no JSON
    reader takes. AWS answers the policy's JSON (URL-encoded): now JSON, as PutRolePolicy
    keeps it."""
    import json

    from moto.iam.models import IAMBackend

    moto_get_role_policy = IAMBackend.get_role_policy

    def get_role_policy(self: Any, role_name: str, policy_name: str) -> Any:
        name, document = moto_get_role_policy(self, role_name, policy_name)
        return name, document if isinstance(document, str) else json.dumps(document)

    IAMBackend.get_role_policy = get_role_policy


@probe(role_policies_from_cloudformation_read_back_as_json)
def _probe_role_policy_from_cloudformation() -> Finding:
    """A role with an inline policy, made by a CloudFormation stack, read back with
    GetRolePolicy: the document must parse as JSON."""
    import json

    from .probing import client

    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "probe-role",
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                    "Policies": [{
                        "PolicyName": "inline",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]},
                    }],
                },
            }
        }
    }
    client("cloudformation").create_stack(StackName="probe-role", TemplateBody=json.dumps(template),
                                          Capabilities=["CAPABILITY_NAMED_IAM"])
    document = client("iam").get_role_policy(RoleName="probe-role", PolicyName="inline")["PolicyDocument"]
    try:
        json.loads(document) if isinstance(document, str) else document
        return Finding(False, "the policy reads back as JSON")
    except ValueError:
        return Finding(True, f"the policy reads back as {document[:40]}…")
