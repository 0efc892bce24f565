"""CloudFormation-made Lambda functions, state machines, EventBridge rules and an
S3 bucket, wired like the bootstrap stack: executions must really run the code."""

from __future__ import annotations

import json
import time

import pytest

from conftest import ACCOUNT, REGION, wait_for, wait_for_execution
from lambda_code import function_zip

STACK = "workflow-test"
CODE_BUCKET = "workflow-test-code"
UPLOADS_BUCKET = "workflow-test-uploads"
API_BUCKET = "workflow-test-api-notified"

PIPELINE = {
    "Comment": "echo, then a failing step retried and caught on its errorType",
    "StartAt": "Echo",
    "States": {
        "Echo": {"Type": "Task", "Resource": "${EchoArn}", "ResultPath": "$.echo", "Next": "Flaky"},
        "Flaky": {
            "Type": "Task",
            "Resource": "${FailArn}",
            "Retry": [{"ErrorEquals": ["Custom.Transient"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1.0}],
            "Catch": [{"ErrorEquals": ["Custom.Transient"], "ResultPath": "$.caught", "Next": "Done"}],
            "End": True,
        },
        "Done": {"Type": "Pass", "End": True},
    },
}

# Started by events: echoes its input (the event) through the function.
ON_EVENT = {
    "StartAt": "Echo",
    "States": {
        "Echo": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${EchoArn}", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    },
}


def template(comment: str = "v1") -> dict:
    pipeline = dict(PIPELINE, Comment=comment)
    role_arn = {"Fn::GetAtt": ["Role", "Arn"]}
    code = {"S3Bucket": CODE_BUCKET, "S3Key": "function.zip"}

    def function(name: str, env: dict) -> dict:
        return {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": name, "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": role_arn,
            "Code": code, "Timeout": 10, "Environment": {"Variables": env}}}

    def state_machine(name: str, definition: dict) -> dict:
        return {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineName": name, "RoleArn": role_arn,
            "DefinitionString": json.dumps(definition),
            "DefinitionSubstitutions": {
                "EchoArn": {"Fn::GetAtt": ["Echo", "Arn"]},
                "FailArn": {"Fn::GetAtt": ["Fail", "Arn"]},
            }}}

    def rule(name: str, pattern: dict, target: str) -> dict:
        return {"Type": "AWS::Events::Rule", "Properties": {
            "Name": name, "EventPattern": pattern, "State": "ENABLED",
            "Targets": [{"Id": "machine", "Arn": {"Ref": target}, "RoleArn": role_arn}]}}

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": "workflow-test-role",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com"]}}]}}},
            "Echo": function("workflow-test-echo", {"MODE": "echo"}),
            "Fail": function("workflow-test-fail", {"MODE": "fail", "ERROR_TYPE": "Custom.Transient"}),
            "Pipeline": state_machine("workflow-test-pipeline", pipeline),
            "OnEvent": state_machine("workflow-test-on-event", ON_EVENT),
            "OnUpload": state_machine("workflow-test-on-upload", ON_EVENT),
            "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": UPLOADS_BUCKET,
                "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}}},
            "CustomEventRule": rule("workflow-test-custom", {"source": ["vikunja.test"]}, "OnEvent"),
            "UploadRule": rule("workflow-test-upload", {
                "source": ["aws.s3"], "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [UPLOADS_BUCKET, API_BUCKET]},
                           "object": {"key": [{"prefix": "releases/"}]}}}, "OnUpload"),
        },
        "Outputs": {"PipelineArn": {"Value": {"Ref": "Pipeline"}}},
    }


@pytest.fixture(scope="module")
def deployed(stack):
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key="function.zip", Body=function_zip())
    cfn = stack.client("cloudformation")
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template()), Capabilities=["CAPABILITY_NAMED_IAM"])
    described = wait_for(lambda: _finished(cfn), what="stack creation")
    assert described["StackStatus"] == "CREATE_COMPLETE", described
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _finished(cfn) -> dict | None:
    described = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    return None if described["StackStatus"].endswith("IN_PROGRESS") else described


def machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def test_execution_runs_the_functions_and_retries_then_catches(stack, deployed):
    sfn = stack.client("stepfunctions")
    assert deployed["PipelineArn"] == machine_arn("workflow-test-pipeline")
    definition = sfn.describe_state_machine(stateMachineArn=deployed["PipelineArn"])["definition"]
    assert "${" not in definition  # substitutions applied
    assert "function:workflow-test-echo" in definition

    started = sfn.start_execution(stateMachineArn=deployed["PipelineArn"], input=json.dumps({"order": 42}))
    result = wait_for_execution(sfn, started["executionArn"])

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["echo"]["input"] == {"order": 42}  # the function's real output
    assert output["echo"]["function"] == "workflow-test-echo"
    assert output["caught"]["Error"] == "Custom.Transient"
    history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    failures = [e for e in history if e["type"] == "LambdaFunctionFailed"]
    assert len(failures) == 2  # the first attempt and one retry

    # One page at a time, as AWS answers: both orders give every event once.
    def pages(**order):
        events, token = [], None
        while True:
            page = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=2,
                                             **order, **({"nextToken": token} if token else {}))
            assert len(page["events"]) <= 2
            events += [e["id"] for e in page["events"]]
            token = page.get("nextToken")
            if not token:
                return events
    every = [e["id"] for e in history]
    assert len(every) > 2
    assert pages() == every
    assert pages(reverseOrder=True) == every[::-1]


def test_unnamed_executions_get_unique_names(stack, deployed):
    sfn = stack.client("stepfunctions")
    first = sfn.start_execution(stateMachineArn=deployed["PipelineArn"], input="{}")["executionArn"]
    second = sfn.start_execution(stateMachineArn=deployed["PipelineArn"], input="{}")["executionArn"]
    assert first != second
    assert not first.endswith(":None")


def test_eventbridge_rule_starts_the_state_machine(stack, deployed, unique):
    sfn = stack.client("stepfunctions")
    events = stack.client("events")
    answer = events.put_events(Entries=[{
        "Source": "vikunja.test", "DetailType": "Test Event", "Detail": json.dumps({"marker": unique}),
    }])
    assert answer["FailedEntryCount"] == 0

    execution = wait_for(lambda: _execution_with(sfn, machine_arn("workflow-test-on-event"), unique),
                         what="an execution started by the event")
    result = wait_for_execution(sfn, execution["executionArn"])
    assert result["status"] == "SUCCEEDED", result
    event = json.loads(result["input"])
    assert event["detail"] == {"marker": unique}
    assert event["detail-type"] == "Test Event"
    assert event["source"] == "vikunja.test"
    assert event["account"] == ACCOUNT and event["region"] == REGION
    time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")  # ISO-8601, as AWS sends it
    assert "ingestion-time" not in event
    # The function really ran with the event as its input.
    assert json.loads(result["output"])["input"]["detail"] == {"marker": unique}


def test_events_start_uniquely_named_executions(stack, deployed, unique):
    sfn = stack.client("stepfunctions")
    events = stack.client("events")
    for n in range(2):
        events.put_events(Entries=[{"Source": "vikunja.test", "DetailType": "Twice",
                                    "Detail": json.dumps({"twice": unique, "n": n})}])
    arn = machine_arn("workflow-test-on-event")
    executions = wait_for(
        lambda: (lambda found: found if len(found) == 2 else None)(_executions_with(sfn, arn, unique)),
        what="two executions")
    assert executions[0]["name"] != executions[1]["name"]


def test_rule_target_input_path_and_constant_input(stack, deployed, unique):
    events = stack.client("events")
    sfn = stack.client("stepfunctions")
    role = f"arn:aws:iam::{ACCOUNT}:role/workflow-test-role"
    events.put_rule(Name=f"shaped-{unique}", EventPattern=json.dumps({"source": [f"shaped.{unique}"]}))
    events.put_targets(Rule=f"shaped-{unique}", Targets=[
        {"Id": "path", "Arn": machine_arn("workflow-test-on-event"), "RoleArn": role, "InputPath": "$.detail"},
        {"Id": "constant", "Arn": machine_arn("workflow-test-on-event"), "RoleArn": role,
         "Input": json.dumps({"constant": unique})},
    ])
    events.put_events(Entries=[{"Source": f"shaped.{unique}", "DetailType": "Shaped",
                                "Detail": json.dumps({"only": "detail", "id": unique})}])
    arn = machine_arn("workflow-test-on-event")
    by_path = wait_for(lambda: _execution_with(sfn, arn, f'"id": "{unique}"'), what="the InputPath execution")
    constant = wait_for(lambda: _execution_with(sfn, arn, f'"constant": "{unique}"'), what="the Input execution")
    assert json.loads(by_path["input"]) == {"only": "detail", "id": unique}
    assert json.loads(constant["input"]) == {"constant": unique}


def test_s3_upload_to_cloudformation_bucket_starts_the_state_machine(stack, deployed, unique):
    sfn = stack.client("stepfunctions")
    s3 = stack.client("s3")
    s3.put_object(Bucket=UPLOADS_BUCKET, Key=f"releases/{unique}.zip", Body=b"frontend build")
    s3.put_object(Bucket=UPLOADS_BUCKET, Key=f"elsewhere/{unique}.zip", Body=b"not a release")

    arn = machine_arn("workflow-test-on-upload")
    execution = wait_for(lambda: _execution_with(sfn, arn, f"releases/{unique}.zip"), what="an upload execution")
    result = wait_for_execution(sfn, execution["executionArn"])
    assert result["status"] == "SUCCEEDED", result
    event = json.loads(result["input"])
    assert event["source"] == "aws.s3"
    assert event["detail-type"] == "Object Created"
    detail = event["detail"]
    assert detail["bucket"] == {"name": UPLOADS_BUCKET}
    assert detail["object"]["key"] == f"releases/{unique}.zip"
    assert detail["object"]["size"] == len(b"frontend build")
    assert detail["object"]["etag"]
    assert detail["reason"] == "PutObject"
    # The prefix filter held: the other key started nothing.
    time.sleep(0.5)
    assert _execution_with(sfn, arn, f"elsewhere/{unique}.zip") is None


def test_copy_and_multipart_uploads_report_their_reason(stack, deployed, unique):
    sfn = stack.client("stepfunctions")
    s3 = stack.client("s3")
    s3.put_object(Bucket=UPLOADS_BUCKET, Key=f"staging/{unique}", Body=b"x")
    s3.copy_object(Bucket=UPLOADS_BUCKET, Key=f"releases/copy-{unique}",
                   CopySource={"Bucket": UPLOADS_BUCKET, "Key": f"staging/{unique}"})
    upload = s3.create_multipart_upload(Bucket=UPLOADS_BUCKET, Key=f"releases/multi-{unique}")
    part = s3.upload_part(Bucket=UPLOADS_BUCKET, Key=f"releases/multi-{unique}", UploadId=upload["UploadId"],
                          PartNumber=1, Body=b"y" * 10)
    s3.complete_multipart_upload(Bucket=UPLOADS_BUCKET, Key=f"releases/multi-{unique}", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})

    arn = machine_arn("workflow-test-on-upload")
    copied = wait_for(lambda: _execution_with(sfn, arn, f"releases/copy-{unique}"), what="the copy's execution")
    multi = wait_for(lambda: _execution_with(sfn, arn, f"releases/multi-{unique}"), what="the multipart execution")
    assert json.loads(wait_for_execution(sfn, copied["executionArn"])["input"])["detail"]["reason"] == "CopyObject"
    assert json.loads(wait_for_execution(sfn, multi["executionArn"])["input"])["detail"]["reason"] == "CompleteMultipartUpload"


def test_bucket_notified_through_the_api_behaves_the_same(stack, deployed, unique):
    sfn = stack.client("stepfunctions")
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=API_BUCKET)
    s3.put_bucket_notification_configuration(Bucket=API_BUCKET,
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3.put_object(Bucket=API_BUCKET, Key=f"releases/api-{unique}", Body=b"z")

    execution = wait_for(lambda: _execution_with(sfn, machine_arn("workflow-test-on-upload"), f"releases/api-{unique}"),
                         what="an execution for the API-configured bucket")
    event = json.loads(wait_for_execution(sfn, execution["executionArn"])["input"])
    assert event["detail"]["bucket"]["name"] == API_BUCKET
    assert event["detail"]["reason"] == "PutObject"


def test_failing_target_does_not_stop_other_rules(stack, deployed, unique):
    events = stack.client("events")
    sfn = stack.client("stepfunctions")
    # A rule that sorts first and whose target cannot be delivered (no such machine).
    events.put_rule(Name="aaa-broken-target", EventPattern=json.dumps({"source": ["vikunja.test"]}))
    events.put_targets(Rule="aaa-broken-target", Targets=[{
        "Id": "missing", "Arn": machine_arn("does-not-exist"), "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/x"}])
    try:
        events.put_events(Entries=[{"Source": "vikunja.test", "DetailType": "Still Delivered",
                                    "Detail": json.dumps({"survivor": unique})}])
        wait_for(lambda: _execution_with(sfn, machine_arn("workflow-test-on-event"), unique),
                 what="delivery to the working rule")
    finally:
        events.remove_targets(Rule="aaa-broken-target", Ids=["missing"])
        events.delete_rule(Name="aaa-broken-target")


def test_parallel_branches_invoke_the_function_concurrently(stack, deployed, unique):
    sfn = stack.client("stepfunctions")
    echo = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:workflow-test-echo"
    branch = {"StartAt": "Sleep", "States": {"Sleep": {
        "Type": "Task", "Resource": echo, "Parameters": {"sleep": 1.5}, "End": True}}}
    machine = sfn.create_state_machine(
        name=f"parallel-{unique}", roleArn=f"arn:aws:iam::{ACCOUNT}:role/workflow-test-role",
        definition=json.dumps({"StartAt": "Both", "States": {"Both": {
            "Type": "Parallel", "Branches": [branch, branch], "End": True}}}))
    began = time.monotonic()
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")
    result = wait_for_execution(sfn, started["executionArn"])
    elapsed = time.monotonic() - began

    assert result["status"] == "SUCCEEDED", result
    outputs = json.loads(result["output"])
    assert len(outputs) == 2
    assert outputs[0]["pid"] != outputs[1]["pid"]
    assert elapsed < 2.9, f"two 1.5 s branches took {elapsed:.2f} s"


def test_stack_update_and_delete_reach_the_state_machine(stack, deployed):
    sfn = stack.client("stepfunctions")
    cfn = stack.client("cloudformation")
    cfn.update_stack(StackName=STACK, TemplateBody=json.dumps(template(comment="v2")),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    described = wait_for(lambda: _finished(cfn), what="stack update")
    assert described["StackStatus"] == "UPDATE_COMPLETE", described
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine_arn("workflow-test-pipeline"))["definition"])
    assert definition["Comment"] == "v2"
    assert definition["States"]["Echo"]["Resource"].endswith(":function:workflow-test-echo")

    cfn.delete_stack(StackName=STACK)
    wait_for(lambda: not [m for m in sfn.list_state_machines()["stateMachines"]
                          if m["name"].startswith("workflow-test-")], what="state machines deleted with the stack")


def _executions_with(sfn, machine: str, needle: str) -> list[dict]:
    found = []
    for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if needle in described.get("input", ""):
            found.append(described)
    return found


def _execution_with(sfn, machine: str, needle: str) -> dict | None:
    found = _executions_with(sfn, machine, needle)
    return found[0] if found else None

