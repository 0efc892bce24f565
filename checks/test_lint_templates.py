"""The checks catch what they claim to catch (run by checks/lint-templates before the checks)."""

import copy
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import lint_templates as L  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ASL_PYTHON = Path(os.environ.get("VIKUNJA_LOCAL_VENV", ROOT / ".local/venv")) / "bin/python"


@pytest.fixture(scope="module")
def template():
    return L.load_template(ROOT / "bootstrap/template.yaml")


@pytest.fixture(scope="module")
def reference():
    return L.load_iam_reference(None)


def role(*statements):
    return {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}]}}}}


def allow(action, resource="*", sid=None, condition=None):
    st = {"Effect": "Allow", "Action": action, "Resource": resource}
    if sid:
        st["Sid"] = sid
    if condition:
        st["Condition"] = condition
    return st


def test_packaging_follows_package_rs(template):
    packaged, problems = L.package(ROOT, template)
    assert problems == []
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function":
            assert props["Code"]["S3Bucket"] == {"Ref": "ArtifactsBucket"}
            assert props["Code"]["S3Key"].startswith("functions/")
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            assert "DefinitionS3Location" not in props
            assert "States" in json.loads(props["DefinitionString"])


def test_packaging_flags_a_function_without_a_crate():
    t = {"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "functions/nope"}}}}
    _, problems = L.package(ROOT, t)
    assert any("not a crate" in p for p in problems)


def test_cli_comparison_sees_a_difference(template):
    ours, _ = L.package(ROOT, template)
    theirs = copy.deepcopy(L.without_lint_metadata(ours))
    assert L.compare_with_cli(ours, theirs) == []
    theirs["Resources"]["HookFunction"]["Properties"]["MemorySize"] = 1
    assert L.compare_with_cli(ours, theirs) != []


@pytest.mark.parametrize("action", ["*", "s3:*", ["ec2:DescribeVpcs", "iam:*"]])
def test_star_actions_are_refused(reference, action):
    findings, _ = L.check_iam(role(allow(action, sid="XHasNoResourceLevelPermissions")), reference, {})
    assert any("list the actions" in f for f in findings), findings


def test_resource_star_needs_a_sid_that_says_why(reference):
    findings, _ = L.check_iam(role(allow("ec2:DescribeVpcs")), reference, {})
    assert any("without a Sid" in f for f in findings)
    findings, _ = L.check_iam(role(allow("ec2:DescribeVpcs", sid="Describe")), reference, {})
    assert any("must name the missing resource-level permission" in f for f in findings)
    findings, _ = L.check_iam(role(allow("ec2:DescribeVpcs", sid="DescribeHasNoResourceLevelPermissions")), reference, {})
    assert findings == []
    tagged = allow("ec2:DeleteVpc", sid="OnlyTagged", condition={"StringEquals": {"aws:ResourceTag/k": "v"}})
    assert L.check_iam(role(tagged), reference, {})[0] == []


def test_a_false_no_resource_claim_is_caught(reference):
    st = allow("ecs:DeleteTaskDefinitions", sid="DeleteHasNoResourceLevelPermissions")
    findings, _ = L.check_iam(role(st), reference, {})
    assert any("has resource-level permissions" in f for f in findings)
    findings, used = L.check_iam(role(st), reference, {"ecs:DeleteTaskDefinitions": {"reason": "x"}})
    assert findings == [] and used == {"ecs:DeleteTaskDefinitions"}


def test_an_action_without_resource_level_permissions_on_an_arn_is_caught(reference):
    st = allow("codedeploy:PutLifecycleEventHookExecutionStatus", resource="arn:aws:codedeploy:us-east-1:1:deploymentgroup:x/*", sid="S")
    findings, _ = L.check_iam(role(st), reference, {})
    assert any("no resource-level permissions" in f for f in findings)


def test_unknown_actions_are_caught(reference):
    findings, _ = L.check_iam(role(allow("ec2:DescribeVpcz", resource="arn:x", sid="S")), reference, {})
    assert any("not an action" in f for f in findings)


def test_checkov_suppressions_must_match_and_give_reasons():
    failed = [{"check_id": "CKV_1", "resource": "AWS::IAM::Role.A", "check_name": "n"},
              {"check_id": "CKV_2", "resource": "AWS::IAM::Role.B", "check_name": "n"}]
    rules = {"CKV_1": {"reason": "because", "resources": ["A", "Gone"]}, "CKV_3": {"reason": "old"}, "CKV_4": {}}
    unsuppressed, suppressed, stale = L.apply_suppressions(failed, rules)
    assert len(suppressed) == 1 and unsuppressed[0].startswith("checkov CKV_2")
    assert any("Gone" in s for s in stale)
    assert any("CKV_3 no longer matches" in s for s in stale)
    assert any("CKV_4 has no reason" in s for s in stale)


def machine(definition, substitutions):
    template = {"Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "SM": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "DefinitionString": json.dumps(definition),
            "DefinitionSubstitutions": {k: {"Fn::GetAtt": ["Fn", "Arn"]} for k in substitutions}}}}}
    return template


def good_definition():
    return {"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "${FnArn}", "Next": "B"},
        "B": {"Type": "Succeed"}}}


def asl_findings(tmp_path, definition, substitutions=("FnArn",), parse=False):
    t = machine(definition, substitutions)
    (tmp_path / "statemachine").mkdir(exist_ok=True)
    findings, _ = L.check_state_machines(tmp_path, t, t, ASL_PYTHON if parse else None, tmp_path)
    return findings


needs_moto = pytest.mark.skipif(not ASL_PYTHON.exists(), reason="the local stack's venv is missing")


@needs_moto
def test_a_good_definition_passes(tmp_path):
    assert asl_findings(tmp_path, good_definition(), parse=True) == []


def test_substitutions_must_match_both_ways(tmp_path):
    findings = asl_findings(tmp_path, good_definition(), substitutions=("OtherArn",))
    assert any("${FnArn} is not in" in f for f in findings)
    assert any("OtherArn, which the definition never uses" in f for f in findings)


def test_transitions_and_reachability(tmp_path):
    d = good_definition()
    d["States"]["A"]["Next"] = "Nowhere"
    findings = asl_findings(tmp_path, d)
    assert any("'Nowhere', which is not a state" in f for f in findings)
    assert any("B: unreachable" in f for f in findings)


@needs_moto
def test_the_asl_parser_rejects_what_aws_would(tmp_path):
    d = good_definition()
    d["States"]["A"]["TimeoutSeconds"] = "soon"
    findings = asl_findings(tmp_path, d, parse=True)
    assert any("parser" in f for f in findings), findings


def test_a_definition_file_nothing_deploys_is_reported(tmp_path):
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine/orphan.asl.json").write_text("{}")
    findings, _ = L.check_state_machines(tmp_path, {"Resources": {}}, {"Resources": {}}, None, tmp_path)
    assert any("orphan.asl.json: no state machine" in f for f in findings)


def test_the_operator_policy_must_cover_what_cloudformation_calls(tmp_path, reference):
    (tmp_path / "docs").mkdir()
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": "arn:aws:logs:r:1:log-group:x"}]}
    (tmp_path / "docs/operator-policy.json").write_text(json.dumps(policy))
    template = {"Resources": {"L": {"Type": "AWS::Logs::LogGroup", "Properties": {}}}}
    findings, _ = L.check_operator_policy(tmp_path, template, reference, {}, {"logs:PutRetentionPolicy": {"reason": "r"},
                                                                            "sqs:CreateQueue": {"reason": "r"}})
    assert any("lacks logs:DeleteLogGroup" in f for f in findings)
    assert not any("lacks logs:PutRetentionPolicy" in f for f in findings)
    assert any("sqs:CreateQueue is listed as not needed, but no resource type" in f for f in findings)
    assert not any("lacks logs:CreateLogGroup" in f for f in findings)
