"""A tiny custom-runtime function for the tests: a Python `bootstrap` speaking the
Lambda Runtime API with urllib, as a Rust `lambda_runtime` binary would."""

from __future__ import annotations

import io
import zipfile

BOOTSTRAP = r'''#!/usr/bin/env python3
import json, os, sys, time, urllib.error, urllib.parse, urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
MODE = os.environ.get("MODE", "echo")
HERE = os.path.dirname(os.path.abspath(__file__))


def post(path, document):
    request = urllib.request.Request(API + path, data=json.dumps(document).encode(), method="POST")
    urllib.request.urlopen(request).read()


def version_file():
    try:
        with open(os.path.join(HERE, "VERSION")) as handle:
            return handle.read().strip()
    except OSError:
        return None


def ec2_call(params):
    """An EC2 query call signed with this environment's credentials (the signature
    itself is not checked by moto: only the credential scope and token matter)."""
    now = time.gmtime()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s/%s/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s"
        % (os.environ["AWS_ACCESS_KEY_ID"], time.strftime("%Y%m%d", now), os.environ["AWS_REGION"], "0" * 64),
    }
    if os.environ.get("AWS_SESSION_TOKEN"):
        headers["X-Amz-Security-Token"] = os.environ["AWS_SESSION_TOKEN"]
    body = urllib.parse.urlencode({"Version": "2016-11-15", **params}).encode()
    request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def vm_hwm_kb():
    """This process's own peak resident set size, to check the host's REPORT against."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


if MODE == "init-fail":
    post("/init/error", {"errorType": "Custom.InitBroken", "errorMessage": "cannot start"})
    sys.exit(1)

# A slow init (Init Duration): before the first GET next, as a Rust binary's setup would be.
time.sleep(float(os.environ.get("INIT_SLEEP", "0")))

while True:
    with urllib.request.urlopen(API + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        headers = dict(response.headers)
        event = json.loads(response.read() or b"null")
    print("event", json.dumps(event), flush=True)
    if MODE == "fail":
        post(f"/invocation/{request_id}/error",
             {"errorType": os.environ["ERROR_TYPE"], "errorMessage": "failed on purpose"})
        continue
    if MODE == "crash":
        sys.exit(3)
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(float(event["sleep"]))
    if isinstance(event, dict) and event.get("allocate_mb"):
        ballast = b"x" * (int(event["allocate_mb"]) << 20)  # written, so resident (Max Memory Used)
        del ballast
    answer = {
        "input": event,
        "pid": os.getpid(),
        "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "version_file": version_file(),
        "headers": {k: v for k, v in headers.items() if k.lower().startswith("lambda-runtime-")},
        "env": {k: os.environ.get(k) for k in (
            "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME", "_HANDLER", "LAMBDA_TASK_ROOT", "GREETING", "RUST_LOG")},
    }
    if isinstance(event, dict) and event.get("ec2"):
        # AWS calls, one after the other, e.g. [{"Action": "CreateVpc", "CidrBlock": ...}].
        answer["ec2_statuses"] = [ec2_call(params) for params in event["ec2"]]
    if isinstance(event, dict) and event.get("call"):
        # Re-entrant: call another function through the stack's endpoint mid-invocation.
        url = os.environ["AWS_ENDPOINT_URL"] + "/2015-03-31/functions/" + event["call"] + "/invocations"
        inner = urllib.request.Request(url, data=b'{"from": "inside"}', method="POST")
        answer["called"] = json.loads(urllib.request.urlopen(inner).read())
    answer["vm_hwm_kb"] = vm_hwm_kb()
    post(f"/invocation/{request_id}/response", answer)
'''


def function_zip(version: str | None = None) -> bytes:
    """The code zip: `bootstrap` (mode 0755) and optionally a VERSION file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        archive.writestr(info, BOOTSTRAP)
        if version is not None:
            archive.writestr("VERSION", version)
    return buffer.getvalue()
