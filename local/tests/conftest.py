"""A real local stack for the whole test session: started on a free port with a
temporary state dir through the CLI, stopped at the end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

LOCAL_DIR = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
REGION = "us-east-1"

# Fast latency model for the tests; the stack reads these at start.
STACK_ENV = {
    "VIKUNJA_LOCAL_RDS_CREATE_SECONDS": "1.5",
    "RUST_LOG": "debug",
    "VIKUNJA_LOCAL_TERMINATION_WAIT_SECONDS": "1",
    "VIKUNJA_LOCAL_HOOK_TIMEOUT_SECONDS": "10",
    # Lambda's 10 s Init limit, shortened so a test can pass it.
    "VIKUNJA_LOCAL_LAMBDA_INIT_TIMEOUT": "1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(*args: str, env: dict | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vikunja_local", *args],
        cwd=LOCAL_DIR,
        env={**os.environ, "PYTHONPATH": str(LOCAL_DIR), **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )


class LocalStack:
    def __init__(self, port: int, state_dir: Path):
        self.port = port
        self.state_dir = state_dir
        self.endpoint = f"http://127.0.0.1:{port}"

    def start(self) -> subprocess.CompletedProcess:
        return run_cli("start", "--port", str(self.port), "--state-dir", str(self.state_dir), env=STACK_ENV)

    def stop(self) -> subprocess.CompletedProcess:
        return run_cli("stop", "--state-dir", str(self.state_dir))

    def status(self) -> subprocess.CompletedProcess:
        return run_cli("status", "--state-dir", str(self.state_dir))

    def pid(self) -> int:
        return json.loads((self.state_dir / "stack.json").read_text())["pid"]

    def client(self, service: str, **config):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, read_timeout=60, **config),
        )


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> LocalStack:
    local = LocalStack(free_port(), tmp_path_factory.mktemp("stack-state"))
    began = time.monotonic()
    started = local.start()
    assert started.returncode == 0, started.stdout + started.stderr
    print(f"\nlocal stack up in {time.monotonic() - began:.2f} s at {local.endpoint}")
    yield local
    stopped = local.stop()
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_for_execution(sfn, execution_arn: str, timeout: float = 30) -> dict:
    def finished():
        described = sfn.describe_execution(executionArn=execution_arn)
        return described if described["status"] != "RUNNING" else None

    return wait_for(finished, timeout, what=f"execution {execution_arn}")
