"""CloudFormation change sets as AWS runs them (vikunja_local/patches/cloudformation_change_sets.py:
cloudformation_change_sets_like_aws and cloudformation_change_set_execution_like_aws): the deploy
path of `vikunja-aws bootstrap`.
The templates hold Lambda functions whose code is an S3 key, so a missing key is a real
resource failure (moto's Lambda refuses it as AWS does)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}},
}


def template(functions: dict[str, str], bucket: str, extra_output: bool = True) -> str:
    """A role and one function per (logical id → S3 key), each with an output of its ARN."""
    resources = {
        logical_id: {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": {"Fn::Sub": "${AWS::StackName}-" + logical_id.lower()},
                "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"S3Bucket": bucket, "S3Key": key},
            },
        }
        for logical_id, key in functions.items()
    }
    resources["Role"] = ROLE
    outputs = {f"{logical_id}Arn": {"Value": {"Fn::GetAtt": [logical_id, "Arn"]}} for logical_id in functions}
    body = {"Resources": resources, "Description": "change set test",
            "Parameters": {"Suffix": {"Type": "String", "Default": "x"}}}
    if extra_output:
        body["Outputs"] = outputs
    return json.dumps(body)


@pytest.fixture
def setup(stack, unique):
    s3, cfn = stack.client("s3"), stack.client("cloudformation")
    bucket = f"cs-{unique}"
    s3.create_bucket(Bucket=bucket)
    for key in ("a1", "a2", "b1", "b2"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"PK\x05\x06" + b"\x00" * 18)
    return s3, cfn, bucket, f"cs-{unique}"


def change_set(cfn, name, kind, body, cs_name="cs1", **extra):
    created = cfn.create_change_set(
        StackName=name, ChangeSetName=cs_name, ChangeSetType=kind, TemplateBody=body,
        Capabilities=["CAPABILITY_IAM"], **extra,
    )
    return created["Id"], cfn.describe_change_set(ChangeSetName=created["Id"])


def events(cfn, name):
    """(logical id, status, reason), oldest first."""
    return [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
        for e in reversed(cfn.describe_stack_events(StackName=name)["StackEvents"])
    ]


def test_create_change_set_makes_the_stack_with_outputs_tags_and_resource_events(setup):
    _, cfn, bucket, name = setup
    arn, described = change_set(cfn, name, "CREATE", template({"A": "a1", "B": "b1"}, bucket),
                                Tags=[{"Key": "vikunja:stack", "Value": "x"}],
                                Parameters=[])
    assert described["Status"] == "CREATE_COMPLETE"
    assert sorted(c["ResourceChange"]["Action"] for c in described["Changes"]) == ["Add", "Add", "Add"]
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"

    cfn.execute_change_set(ChangeSetName=arn)

    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"] for o in stack["Outputs"]} == {"AArn", "BArn"}
    assert stack["Tags"] == [{"Key": "vikunja:stack", "Value": "x"}]
    assert stack["Description"] == "change set test"
    seen = events(cfn, name)
    assert ("A", "CREATE_IN_PROGRESS", None) in seen and ("A", "CREATE_COMPLETE", None) in seen
    assert seen[-1] == (name, "CREATE_COMPLETE", None)
    assert cfn.describe_change_set(ChangeSetName=arn)["ExecutionStatus"] == "EXECUTE_COMPLETE"
    with pytest.raises(ClientError, match="InvalidChangeSetStatus"):
        cfn.execute_change_set(ChangeSetName=arn)


def test_an_unchanged_template_body_gives_a_failed_change_set_not_an_error(setup):
    _, cfn, bucket, name = setup
    body, parameters = template({"A": "a1"}, bucket), [{"ParameterKey": "Suffix", "ParameterValue": "y"}]
    arn, _ = change_set(cfn, name, "CREATE", body, Parameters=parameters)
    cfn.execute_change_set(ChangeSetName=arn)

    _, described = change_set(cfn, name, "UPDATE", body, cs_name="cs2", Parameters=parameters)

    assert described["Status"] == "FAILED"
    assert "didn't contain changes" in described["StatusReason"]


def test_create_reuses_a_stack_in_review_and_refuses_any_other(setup):
    _, cfn, bucket, name = setup
    first, _ = change_set(cfn, name, "CREATE", template({"A": "a1"}, bucket))
    second, described = change_set(cfn, name, "CREATE", template({"A": "a2"}, bucket), cs_name="cs2")

    assert described["StackId"] == cfn.describe_change_set(ChangeSetName=first)["StackId"]
    assert len([s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name]) == 1
    with pytest.raises(ClientError, match="can not be updated"):
        change_set(cfn, name, "UPDATE", template({"A": "a2"}, bucket), cs_name="cs3")
    cfn.execute_change_set(ChangeSetName=second)
    with pytest.raises(ClientError, match="already exists"):
        change_set(cfn, name, "CREATE", template({"A": "a1"}, bucket), cs_name="cs4")


def test_list_describe_and_delete_stay_within_the_stack(setup, unique):
    _, cfn, bucket, name = setup
    other = f"{name}-other"
    mine, _ = change_set(cfn, name, "CREATE", template({"A": "a1"}, bucket), cs_name="same")
    theirs, _ = change_set(cfn, other, "CREATE", template({"A": "a1"}, bucket), cs_name="same")

    listed = cfn.list_change_sets(StackName=name)["Summaries"]
    assert [s["ChangeSetId"] for s in listed] == [mine]
    assert cfn.describe_change_set(ChangeSetName="same", StackName=other)["ChangeSetId"] == theirs
    cfn.delete_change_set(ChangeSetName="same", StackName=other)
    assert cfn.list_change_sets(StackName=name)["Summaries"][0]["ChangeSetId"] == mine
    assert cfn.list_change_sets(StackName=other)["Summaries"] == []
    with pytest.raises(ClientError, match="ChangeSetNotFound"):
        cfn.describe_change_set(ChangeSetName=theirs)


def test_a_modify_says_whether_it_replaces_and_executing_drops_the_other_change_sets(setup):
    _, cfn, bucket, name = setup
    arn, _ = change_set(cfn, name, "CREATE", template({"A": "a1", "B": "b1"}, bucket))
    cfn.execute_change_set(ChangeSetName=arn)

    code_only, described = change_set(cfn, name, "UPDATE", template({"A": "a2", "B": "b1"}, bucket), cs_name="code")
    changes = [c["ResourceChange"] for c in described["Changes"]]
    assert [(c["Action"], c["LogicalResourceId"], c["Replacement"]) for c in changes] == [("Modify", "A", "False")]
    renamed = json.loads(template({"A": "a1", "B": "b1"}, bucket))
    renamed["Resources"]["B"]["Properties"]["FunctionName"] = "another-name"
    _, described = change_set(cfn, name, "UPDATE", json.dumps(renamed), cs_name="rename")
    assert [(c["ResourceChange"]["LogicalResourceId"], c["ResourceChange"]["Replacement"])
            for c in described["Changes"]] == [("B", "True")]

    cfn.execute_change_set(ChangeSetName=code_only)

    assert [s["ChangeSetName"] for s in cfn.list_change_sets(StackName=name)["Summaries"]] == ["code"]
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert ("A", "UPDATE_COMPLETE", None) in events(cfn, name)
    assert not [e for e in events(cfn, name) if e[0] == "B" and e[1].startswith("UPDATE")]


def test_a_failed_create_reports_the_resource_and_rolls_back_everything(setup, stack):
    _, cfn, bucket, name = setup
    arn, _ = change_set(cfn, name, "CREATE", template({"A": "a1", "B": "missing"}, bucket))

    cfn.execute_change_set(ChangeSetName=arn)

    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in events(cfn, name) if e[1] == "CREATE_FAILED"]
    assert failed[0][0] == "B" and "NoSuchKey" in failed[0][2], failed
    assert (name, "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [B]. Rollback requested by user.") in events(cfn, name)
    functions = [f["FunctionName"] for f in stack.client("lambda").list_functions()["Functions"]]
    assert not [f for f in functions if f.startswith(name + "-")], "the rollback deletes what the create made"
    assert cfn.describe_change_set(ChangeSetName=arn)["ExecutionStatus"] == "EXECUTE_FAILED"


def test_a_failed_update_rolls_back_to_the_previous_code(setup, stack):
    _, cfn, bucket, name = setup
    arn, _ = change_set(cfn, name, "CREATE", template({"A": "a1", "B": "b1"}, bucket))
    cfn.execute_change_set(ChangeSetName=arn)
    lam = stack.client("lambda")
    before = lam.get_function(FunctionName=f"{name}-a")["Code"]

    arn, _ = change_set(cfn, name, "UPDATE", template({"A": "a2", "B": "missing"}, bucket), cs_name="bad")
    cfn.execute_change_set(ChangeSetName=arn)

    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in events(cfn, name) if e[1] == "UPDATE_FAILED"]
    assert failed[0][0] == "B" and "NoSuchKey" in failed[0][2]
    assert lam.get_function(FunctionName=f"{name}-a")["Code"]["Location"] == before["Location"]
    # the stack takes the next good update
    arn, described = change_set(cfn, name, "UPDATE", template({"A": "a2", "B": "b1"}, bucket), cs_name="good")
    assert described["Status"] == "CREATE_COMPLETE"
    cfn.execute_change_set(ChangeSetName=arn)
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_a_rollback_that_cannot_restore_old_code_fails_until_continued_with_a_skip(setup):
    s3, cfn, bucket, name = setup
    arn, _ = change_set(cfn, name, "CREATE", template({"A": "a1", "B": "b1"}, bucket))
    cfn.execute_change_set(ChangeSetName=arn)
    s3.delete_object(Bucket=bucket, Key="a1")  # A's deployed code is gone from S3

    arn, _ = change_set(cfn, name, "UPDATE", template({"A": "a2", "B": "missing"}, bucket), cs_name="bad")
    cfn.execute_change_set(ChangeSetName=arn)

    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_FAILED"
    last = events(cfn, name)
    rollback_start = max(i for i, e in enumerate(last) if e[1] == "UPDATE_ROLLBACK_IN_PROGRESS")
    assert [e[0] for e in last[rollback_start:] if e[1] == "UPDATE_FAILED"] == ["A"]
    with pytest.raises(ClientError, match="UPDATE_ROLLBACK_FAILED state and can not be updated"):
        change_set(cfn, name, "UPDATE", template({"A": "a2", "B": "b1"}, bucket), cs_name="refused")

    cfn.continue_update_rollback(StackName=name)  # A still cannot go back
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_FAILED"

    cfn.continue_update_rollback(StackName=name, ResourcesToSkip=["A"])

    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert (("A", "UPDATE_COMPLETE", "Resource skipped during UpdateRollback")) in events(cfn, name)
    arn, _ = change_set(cfn, name, "UPDATE", template({"A": "a2", "B": "b2"}, bucket), cs_name="good")
    cfn.execute_change_set(ChangeSetName=arn)
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    with pytest.raises(ClientError, match="UPDATE_ROLLBACK_FAILED"):
        cfn.continue_update_rollback(StackName=name)


def test_expected_bucket_owner_is_checked(stack, unique):
    mine, theirs = stack.client("s3"), stack.client("s3")
    theirs.meta.events.register(
        "before-send.s3.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", "111111111111")
    )
    bucket = f"owned-{unique}"
    theirs.create_bucket(Bucket=bucket)

    with pytest.raises(ClientError, match="403"):
        mine.head_bucket(Bucket=bucket, ExpectedBucketOwner="123456789012")
    with pytest.raises(ClientError, match="AccessDenied"):
        mine.put_object(Bucket=bucket, Key="k", Body=b"x", ExpectedBucketOwner="123456789012")
    theirs.head_bucket(Bucket=bucket, ExpectedBucketOwner="111111111111")
    with pytest.raises(ClientError, match="BucketAlreadyExists"):
        mine.create_bucket(Bucket=bucket)


def test_function_environment_from_a_number_parameter_reads_as_strings(setup, stack):
    _, cfn, bucket, name = setup
    body = json.loads(template({"A": "a1"}, bucket))
    body["Parameters"]["Seconds"] = {"Type": "Number", "Default": 12}
    body["Resources"]["A"]["Properties"]["Environment"] = {"Variables": {"SECONDS": {"Ref": "Seconds"}, "FLAG": True}}
    arn, _ = change_set(cfn, name, "CREATE", json.dumps(body))
    cfn.execute_change_set(ChangeSetName=arn)
    lam = stack.client("lambda")
    raw = []
    lam.meta.events.register("after-call.lambda.GetFunction", lambda http_response, **_: raw.append(http_response.content))

    variables = lam.get_function(FunctionName=f"{name}-a")["Configuration"]["Environment"]["Variables"]

    assert variables == {"SECONDS": "12", "FLAG": "true"}
    assert b'"SECONDS": "12"' in raw[0]
