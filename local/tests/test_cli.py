"""`vikunja-local start|status|stop` on a stack of its own."""

from __future__ import annotations

import json
import os
import socket
import time

from conftest import ACCOUNT, LocalStack, free_port, wait_for
from lambda_code import function_zip


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_start_is_idempotent(stack):
    pid = stack.pid()
    again = stack.start()
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert stack.pid() == pid
    assert stack.status().returncode == 0


def test_start_on_another_port_with_the_same_state_dir_is_refused(stack):
    other = LocalStack(free_port(), stack.state_dir)
    refused = other.start()
    assert refused.returncode != 0
    assert "stop it first" in refused.stderr


def test_stop_stops_the_stack_and_its_lambda_workers(tmp_path):
    local = LocalStack(free_port(), tmp_path / "state")
    assert local.status().returncode != 0
    started = local.start()
    assert started.returncode == 0, started.stderr
    assert local.status().returncode == 0
    stack_pid = local.pid()

    iam, lam = local.client("iam"), local.client("lambda")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    lam.create_function(FunctionName="f", Runtime="provided.al2023", Handler="bootstrap",
                        Role=f"arn:aws:iam::{ACCOUNT}:role/r", Code={"ZipFile": function_zip()})
    worker_pid = json.loads(lam.invoke(FunctionName="f", Payload=b"{}")["Payload"].read())["pid"]
    assert pid_alive(worker_pid)

    stopped = local.stop()
    assert stopped.returncode == 0, stopped.stderr
    assert not pid_alive(stack_pid)
    assert not port_open(local.port)
    wait_for(lambda: not pid_alive(worker_pid), timeout=5, what="the worker to be gone")
    assert local.status().returncode != 0
    assert not (local.state_dir / "stack.json").exists()
    assert local.stop().returncode == 0  # stopping a stopped stack is fine


def test_rds_instance_is_creating_before_available(stack, unique):
    rds = stack.client("rds")
    rds.create_db_instance(DBInstanceIdentifier=f"db-{unique}", Engine="mysql", DBInstanceClass="db.t4g.micro",
                           MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20)
    began = time.monotonic()

    def status() -> str:
        return rds.describe_db_instances(DBInstanceIdentifier=f"db-{unique}")["DBInstances"][0]["DBInstanceStatus"]

    assert status() == "creating"
    wait_for(lambda: status() == "available", timeout=10, what="the instance to become available")
    assert time.monotonic() - began >= 1.0  # the tests run the stack with 1.5 s


def test_cloudfront_distribution_is_in_progress_before_deployed(stack, unique):
    cloudfront = stack.client("cloudfront")
    created = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": unique, "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": "site.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    })["Distribution"]

    def status() -> str:
        return cloudfront.get_distribution(Id=created["Id"])["Distribution"]["Status"]

    assert status() == "InProgress"
    wait_for(lambda: status() == "Deployed", timeout=10, what="the distribution to deploy")
