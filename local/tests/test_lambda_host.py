"""The local Lambda host: real code, real Runtime API, answers shaped like Lambda's."""

from __future__ import annotations

import base64
import json
import math
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, LOCAL_DIR, REGION, wait_for
from lambda_code import function_zip

if str(LOCAL_DIR) not in sys.path:  # for the in-process tests of the report figures
    sys.path.insert(0, str(LOCAL_DIR))

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


def create_function(lam, name: str, *, timeout: int = 5, env: dict | None = None, code: bytes | None = None,
                    memory_size: int = 256) -> str:
    created = lam.create_function(
        FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=ROLE,
        Code={"ZipFile": code or function_zip()}, Timeout=timeout, MemorySize=memory_size,
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


def test_code_is_unpacked_when_the_function_is_created_not_at_its_first_invoke(stack, lam, unique):
    # Lambda prepares the code before the function is Active: the first invoke only starts it.
    code = function_zip(version=unique)
    sha = lam.create_function(
        FunctionName=f"prepared-{unique}", Runtime="provided.al2023", Handler="bootstrap", Role=ROLE,
        Code={"ZipFile": code}, Environment={"Variables": {"MODE": "echo"}},
    )["CodeSha256"]
    unpacked = stack.state_dir / "lambda" / base64.b64decode(sha).hex()
    assert (unpacked / "bootstrap").is_file()
    assert (unpacked / "VERSION").read_text() == unique
    # UpdateFunctionCode prepares the new code the same way.
    newer = function_zip(version=f"{unique}-2")
    sha = lam.update_function_code(FunctionName=f"prepared-{unique}", ZipFile=newer)["CodeSha256"]
    assert (stack.state_dir / "lambda" / base64.b64decode(sha).hex() / "VERSION").read_text() == f"{unique}-2"


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


def test_an_init_past_the_init_limit_runs_on_within_the_function_timeout(lam, unique):
    # The stack's Init limit is 1 s here (conftest); Lambda's is 10 s.
    create_function(lam, f"slowinit-{unique}", timeout=5, env={"INIT_SLEEP": "1.5"})
    response, answer = invoke(lam, f"slowinit-{unique}", {"n": 1}, LogType="Tail")
    assert "FunctionError" not in response, answer
    assert answer["input"] == {"n": 1}
    log = base64.b64decode(response["LogResult"]).decode()
    assert "INIT_REPORT Init Duration: 1000.00 ms\tPhase: init\tStatus: timeout" in log, log

    create_function(lam, f"stuckinit-{unique}", timeout=2, env={"INIT_SLEEP": "30"})
    began = time.monotonic()
    response, answer = invoke(lam, f"stuckinit-{unique}")
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in answer["errorMessage"]
    assert time.monotonic() - began < 10


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


# -- REPORT: Lambda's per-invocation figures ------------------------------------------------

REPORT_LINE = re.compile(
    r"^REPORT RequestId: (?P<request_id>[0-9a-f-]{36})\tDuration: (?P<duration_ms>\d+\.\d\d) ms"
    r"\tBilled Duration: (?P<billed_ms>\d+) ms\tMemory Size: (?P<memory_size_mb>\d+) MB"
    r"\tMax Memory Used: (?P<max_memory_mb>\d+) MB(?:\tInit Duration: (?P<init_ms>\d+\.\d\d) ms)?$"
)


def parse_report(line: str) -> dict:
    """The figures of a REPORT line in Lambda's exact format (Decimal: as printed)."""
    match = REPORT_LINE.match(line)
    assert match, f"not Lambda's REPORT format: {line!r}"
    figures = match.groupdict()
    return {
        "request_id": figures["request_id"],
        "duration_ms": Decimal(figures["duration_ms"]),
        "billed_ms": int(figures["billed_ms"]),
        "memory_size_mb": int(figures["memory_size_mb"]),
        "max_memory_mb": int(figures["max_memory_mb"]),
        "init_ms": Decimal(figures["init_ms"]) if figures["init_ms"] else None,
    }


def invoke_reporting(lam, name: str, event: dict | None = None) -> tuple[dict, str]:
    """Invoke with LogType Tail; the answer and the invocation's one REPORT line."""
    response = lam.invoke(FunctionName=name, LogType="Tail", Payload=json.dumps(event or {}).encode())
    answer = json.loads(response["Payload"].read())
    lines = [line for line in base64.b64decode(response["LogResult"]).decode().splitlines()
             if line.startswith("REPORT ")]
    assert len(lines) == 1, lines
    return answer, lines[0]


def reports_endpoint(stack, query: str = "", method: str = "GET") -> tuple[int, dict]:
    request = urllib.request.Request(f"{stack.endpoint}/_vikunja_local/lambda/reports{query}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def same_figures(line_figures: dict, document: dict) -> dict:
    """The endpoint's figures, in the line's types, for comparison."""
    return {
        "request_id": document["request_id"],
        "duration_ms": Decimal(f"{document['duration_ms']:.2f}"),
        "billed_ms": document["billed_ms"],
        "memory_size_mb": document["memory_size_mb"],
        "max_memory_mb": document["max_memory_mb"],
        "init_ms": None if document["init_ms"] is None else Decimal(f"{document['init_ms']:.2f}"),
    }


def test_report_cold_invocation_has_init_duration_and_bills_it_warm_has_none(lam, unique):
    name = f"report-{unique}"
    create_function(lam, name, env={"INIT_SLEEP": "0.3"})
    cold_answer, cold_line = invoke_reporting(lam, name)
    warm_answer, warm_line = invoke_reporting(lam, name)
    print(f"\ncold: {cold_line!r}\nwarm: {warm_line!r}")
    cold, warm = parse_report(cold_line), parse_report(warm_line)

    assert cold_answer["pid"] == warm_answer["pid"], "the second invocation should have been warm"
    assert cold["memory_size_mb"] == warm["memory_size_mb"] == 256
    # Init Duration: spawn → first GET next, which the bootstrap delays by 0.3 s.
    assert cold["init_ms"] is not None and Decimal(300) <= cold["init_ms"] < Decimal(5000)
    assert cold["duration_ms"] < Decimal(300), "the init phase leaked into Duration"
    assert warm["init_ms"] is None
    # provided.al2023 is a custom runtime: AWS bills its init phase with the invocation.
    assert cold["billed_ms"] == math.ceil(cold["duration_ms"] + cold["init_ms"])
    assert warm["billed_ms"] == max(1, math.ceil(warm["duration_ms"]))
    for report in (cold, warm):
        assert report["billed_ms"] >= math.ceil(report["duration_ms"])


def test_report_max_memory_is_the_bootstrap_processes_peak(stack, lam, unique):
    name = f"memory-{unique}"
    create_function(lam, name)
    small_answer, small_line = invoke_reporting(lam, name)
    big_answer, big_line = invoke_reporting(lam, name, {"allocate_mb": 64})
    small, big = parse_report(small_line), parse_report(big_line)

    # The process that runs `bootstrap` measured itself just before answering; the host
    # reads VmHWM after the answer, and VmHWM only grows.
    own_mb = math.ceil(small_answer["vm_hwm_kb"] / 1024)
    assert own_mb >= 3, small_answer["vm_hwm_kb"]  # a Python interpreter at least
    assert own_mb <= small["max_memory_mb"] <= own_mb + 4
    # 64 MB more, written inside the invocation, show in its report.
    assert small["max_memory_mb"] + 60 <= big["max_memory_mb"] <= small["max_memory_mb"] + 80
    _, document = reports_endpoint(stack, f"?function={name}")
    assert [report["pid"] for report in document["reports"]] == [small_answer["pid"], big_answer["pid"]]


def test_report_max_memory_within_memory_size_and_honest_above_it(lam, unique):
    """Max Memory Used is measured, not capped at Memory Size: above it, Lambda would have
    killed the environment (out of memory); the local host does not limit memory (a gap,
    local/README.md), so the REPORT says what the process really used."""
    name = f"memsize-{unique}"
    create_function(lam, name, memory_size=128)
    _, within_line = invoke_reporting(lam, name)
    answer, above_line = invoke_reporting(lam, name, {"allocate_mb": 160})
    within, above = parse_report(within_line), parse_report(above_line)

    assert within["memory_size_mb"] == above["memory_size_mb"] == 128
    assert 0 < within["max_memory_mb"] <= within["memory_size_mb"]
    assert above["max_memory_mb"] > above["memory_size_mb"], above_line
    assert above["max_memory_mb"] >= math.ceil(answer["vm_hwm_kb"] / 1024) >= 160


def test_reports_endpoint_gives_the_figures_of_the_log_lines(stack, lam, unique):
    name = f"reports-{unique}"
    create_function(lam, name)
    answers_and_lines = [invoke_reporting(lam, name, {"n": n}) for n in range(2)]
    lines = [line for _, line in answers_and_lines]

    status, document = reports_endpoint(stack, f"?function={name}")
    assert status == 200 and document["function"] == name
    assert [same_figures(parse_report(line), report) for line, report in zip(lines, document["reports"])] \
        == [parse_report(line) for line in lines]
    assert len(document["reports"]) == 2
    assert [report["init_ms"] is not None for report in document["reports"]] == [True, False]
    assert {report["function"] for report in document["reports"]} == {name}

    # The same lines in the function's log file and in its CloudWatch Logs stream.
    log_file = stack.state_dir / "logs" / "lambda" / f"{name}.log"
    in_file = [line.split(" ", 1)[1] for line in log_file.read_text().splitlines() if " REPORT " in line]
    assert in_file == lines
    stream = answers_and_lines[0][0]["env"]["AWS_LAMBDA_LOG_STREAM_NAME"]
    events = stack.client("logs").get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName=stream,
                                                 startFromHead=True)["events"]
    assert [event["message"] for event in events if event["message"].startswith("REPORT ")] == lines

    # All functions at once; nothing for an unknown one; read-only.
    _, everything = reports_endpoint(stack)
    assert [report["request_id"] for report in everything["functions"][name]] == \
        [parse_report(line)["request_id"] for line in lines]
    assert reports_endpoint(stack, f"?function=missing-{unique}") == (200, {"function": f"missing-{unique}", "reports": []})
    assert reports_endpoint(stack, method="POST")[0] == 405


def test_report_of_a_timed_out_invocation(stack, lam, unique):
    name = f"reportslow-{unique}"
    create_function(lam, name, timeout=1)
    response, answer = invoke(lam, name, {"sleep": 3})
    assert answer["errorType"] == "Sandbox.Timedout"

    _, document = reports_endpoint(stack, f"?function={name}")
    [report] = document["reports"]
    assert report["error_type"] == "Sandbox.Timedout"
    assert 1000 <= report["duration_ms"] < 2000  # the timeout, not the 3 s the function wanted
    assert report["max_memory_mb"] >= 3  # read before the kill


def test_report_store_keeps_the_last_reports_of_each_function():
    from vikunja_local.lambda_host.reports import ReportStore, make_report

    def report(function: str, n: int):
        return make_report(request_id=f"id-{n}", function=function, version="$LATEST", duration_seconds=0.001,
                           init_seconds=None, memory_size_mb=128, max_memory_mb=1, worker=1, pid=1)

    store = ReportStore(limit=1000)
    for n in range(1005):
        store.add(report("a", n))
    store.add(report("b", 0))
    assert [r.request_id for r in store.recent("a")] == [f"id-{n}" for n in range(5, 1005)]
    assert [r.request_id for r in store.recent("b")] == ["id-0"]
    assert store.recent("c") == []


@pytest.mark.parametrize("duration_ms, init_ms, billed", [
    (12.34, None, 13), (12.0, None, 12), (0.01, None, 1), (12.3, 15.7, 28), (12.34, 15.67, 29), (0.0, 0.0, 1),
])
def test_billed_duration_rounds_duration_plus_init_up_to_the_millisecond(duration_ms, init_ms, billed):
    from vikunja_local.lambda_host.reports import billed_ms

    assert billed_ms(duration_ms, init_ms) == billed


def test_report_line_has_lambdas_exact_format():
    from vikunja_local.lambda_host.reports import make_report

    cold = make_report(request_id="8f5a2c6e-2b7f-4c1e-9a51-0d3c1e2b7f4c", function="f", version="$LATEST",
                       duration_seconds=0.012344, init_seconds=0.015671, memory_size_mb=128, max_memory_mb=21,
                       worker=1, pid=1)
    assert cold.line() == ("REPORT RequestId: 8f5a2c6e-2b7f-4c1e-9a51-0d3c1e2b7f4c\tDuration: 12.34 ms\t"
                           "Billed Duration: 29 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\tInit Duration: 15.67 ms")
    warm = make_report(request_id="8f5a2c6e-2b7f-4c1e-9a51-0d3c1e2b7f4c", function="f", version="$LATEST",
                       duration_seconds=0.0021, init_seconds=None, memory_size_mb=128, max_memory_mb=21,
                       worker=1, pid=1)
    assert warm.line().endswith("\tDuration: 2.10 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB")
