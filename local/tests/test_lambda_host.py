"""The local Lambda host: real code, real Runtime API, answers shaped like Lambda's."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, wait_for
from lambda_code import function_zip

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-test"


@pytest.fixture(scope="module")
def lam(stack):
    iam = stack.client("iam")
    try:
        iam.create_role(RoleName="lambda-test", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }))
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    return stack.client("lambda")


def create_function(lam, name: str, *, timeout: int = 5, env: dict | None = None, code: bytes | None = None) -> str:
    created = lam.create_function(
        FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=ROLE,
        Code={"ZipFile": code or function_zip()}, Timeout=timeout, MemorySize=256,
        Environment={"Variables": {"MODE": "echo", **(env or {})}},
    )
    return created["FunctionArn"]


def invoke(lam, name: str, event: dict | None = None, **kwargs) -> tuple[dict, dict]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    payload = response["Payload"].read()
    return response, (json.loads(payload) if payload else {})


def test_invoke_runs_the_real_code_with_lambda_environment(lam, unique):
    arn = create_function(lam, f"echo-{unique}", env={"GREETING": "hello"})
    response, answer = invoke(lam, f"echo-{unique}", {"n": 1})

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert answer["input"] == {"n": 1}
    assert answer["function"] == f"echo-{unique}"
    env = answer["env"]
    assert env["GREETING"] == "hello"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    # Lambda's temporary credentials: ASIA…, a session token; here one key per function.
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and len(env["AWS_ACCESS_KEY_ID"]) == 20
    assert env["AWS_ACCESS_KEY_ID"] != "test"
    assert env["AWS_SESSION_TOKEN"]
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/echo-{unique}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["_HANDLER"] == "bootstrap"
    assert env["RUST_LOG"] == "debug"  # passed through from the stack's environment
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    assert headers["lambda-runtime-invoked-function-arn"] == arn
    assert headers["lambda-runtime-aws-request-id"]
    assert headers["lambda-runtime-trace-id"].startswith("Root=1-")
    assert int(headers["lambda-runtime-deadline-ms"]) > time.time() * 1000


def test_invoke_by_arn_and_qualifier(lam, unique):
    arn = create_function(lam, f"byarn-{unique}")
    _, by_arn = invoke(lam, arn, {"via": "arn"})
    _, qualified = invoke(lam, f"byarn-{unique}", {"via": "qualifier"}, Qualifier="$LATEST")
    assert by_arn["input"] == {"via": "arn"}
    assert qualified["input"] == {"via": "qualifier"}


def test_warm_worker_is_reused(lam, unique):
    create_function(lam, f"warm-{unique}")
    _, first = invoke(lam, f"warm-{unique}")
    _, second = invoke(lam, f"warm-{unique}")
    assert first["pid"] == second["pid"]


def test_concurrent_invokes_get_their_own_workers(lam, unique):
    create_function(lam, f"busy-{unique}")
    answers: list[dict] = []

    def call():
        answers.append(invoke(lam, f"busy-{unique}", {"sleep": 1.5})[1])

    began = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - began

    assert len(answers) == 2
    assert answers[0]["pid"] != answers[1]["pid"]
    assert elapsed < 2.9, f"two 1.5 s invokes took {elapsed:.2f} s: they ran one after the other"


def test_function_error_keeps_the_runtime_error_type(lam, unique):
    create_function(lam, f"fail-{unique}", env={"MODE": "fail", "ERROR_TYPE": "Custom.Broken"})
    response, answer = invoke(lam, f"fail-{unique}")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert answer == {"errorType": "Custom.Broken", "errorMessage": "failed on purpose"}


def test_timeout_kills_the_worker(lam, unique):
    create_function(lam, f"slow-{unique}", timeout=1)
    began = time.monotonic()
    response, answer = invoke(lam, f"slow-{unique}", {"sleep": 5})
    elapsed = time.monotonic() - began

    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in answer["errorMessage"]
    assert elapsed < 3
    # The next invoke gets a fresh worker that works.
    _, again = invoke(lam, f"slow-{unique}", {"after": "timeout"})
    assert again["input"] == {"after": "timeout"}


def test_runtime_crash_and_init_error_answer_like_lambda(lam, unique):
    create_function(lam, f"crash-{unique}", env={"MODE": "crash"})
    response, answer = invoke(lam, f"crash-{unique}")
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Runtime.ExitError"
    assert answer["errorMessage"].startswith("RequestId: ")
    assert answer["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")

    create_function(lam, f"noinit-{unique}", env={"MODE": "init-fail"})
    response, answer = invoke(lam, f"noinit-{unique}")
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Custom.InitBroken"


def test_code_without_a_runnable_bootstrap_is_an_invalid_entrypoint(lam, unique):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context): return event")
    create_function(lam, f"nobootstrap-{unique}", code=buffer.getvalue())
    response, answer = invoke(lam, f"nobootstrap-{unique}")
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Runtime.InvalidEntrypoint"

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        archive.writestr(info, b"\x7fELF not really a binary")
    create_function(lam, f"badbinary-{unique}", code=buffer.getvalue())
    response, answer = invoke(lam, f"badbinary-{unique}")
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Runtime.InvalidEntrypoint"


def test_unknown_function_is_404(lam, unique):
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=f"missing-{unique}", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_event_invocation_is_accepted_and_runs_in_background(stack, lam, unique):
    create_function(lam, f"async-{unique}")
    marker = f"marker-{unique}"
    response = lam.invoke(FunctionName=f"async-{unique}", InvocationType="Event",
                          Payload=json.dumps({"marker": marker}).encode())
    assert response["StatusCode"] == 202

    log_file = stack.state_dir / "logs" / "lambda" / f"async-{unique}.log"
    wait_for(lambda: log_file.exists() and marker in log_file.read_text(), what="the async invocation's log line")
    # The same lines land in CloudWatch Logs, where AWS would put them.
    logs = stack.client("logs")
    found = wait_for(lambda: logs.filter_log_events(logGroupName=f"/aws/lambda/async-{unique}",
                                                    filterPattern=marker)["events"],
                     what="the log line in CloudWatch Logs")
    assert marker in found[0]["message"]


def test_log_type_tail_returns_the_invocation_log(lam, unique):
    import base64

    create_function(lam, f"tail-{unique}")
    response = lam.invoke(FunctionName=f"tail-{unique}", LogType="Tail",
                          Payload=json.dumps({"tail_marker": unique}).encode())
    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith("START RequestId:")
    assert f'"tail_marker": "{unique}"' in log
    assert "REPORT RequestId:" in log


def test_dry_run_is_204(lam, unique):
    create_function(lam, f"dry-{unique}")
    response = lam.invoke(FunctionName=f"dry-{unique}", InvocationType="DryRun")
    assert response["StatusCode"] == 204


def test_new_code_replaces_warm_workers(lam, unique):
    name = f"update-{unique}"
    create_function(lam, name, code=function_zip(version="one"))
    _, before = invoke(lam, name)
    lam.update_function_code(FunctionName=name, ZipFile=function_zip(version="two"))
    _, after = invoke(lam, name)

    assert before["version_file"] == "one"
    assert after["version_file"] == "two"
    assert before["pid"] != after["pid"]


def test_function_may_call_the_endpoint_while_invoked(lam, unique):
    create_function(lam, f"outer-{unique}")
    create_function(lam, f"inner-{unique}")
    _, answer = invoke(lam, f"outer-{unique}", {"call": f"inner-{unique}"})
    assert answer["called"]["input"] == {"from": "inside"}
    assert answer["called"]["function"] == f"inner-{unique}"


def test_eventbridge_rule_and_s3_notification_invoke_functions(stack, lam, unique):
    arn = create_function(lam, f"target-{unique}")
    log_file = stack.state_dir / "logs" / "lambda" / f"target-{unique}.log"

    events = stack.client("events")
    events.put_rule(Name=f"to-lambda-{unique}", EventPattern=json.dumps({"source": [f"test.{unique}"]}))
    events.put_targets(Rule=f"to-lambda-{unique}", Targets=[{"Id": "fn", "Arn": arn}])
    events.put_events(Entries=[{"Source": f"test.{unique}", "DetailType": "Ping",
                                "Detail": json.dumps({"event_marker": unique})}])
    wait_for(lambda: log_file.exists() and "event_marker" in log_file.read_text(), what="the rule's invocation")

    s3 = stack.client("s3")
    s3.create_bucket(Bucket=f"notify-{unique}")
    s3.put_bucket_notification_configuration(Bucket=f"notify-{unique}", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=f"notify-{unique}", Key=f"object-{unique}", Body=b"x")
    wait_for(lambda: f"object-{unique}" in log_file.read_text(), what="the S3 notification's invocation")
