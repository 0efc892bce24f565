"""A CodeDeploy hook is invoked asynchronously: a crashed or failed invocation is retried as
Lambda retries any asynchronous invocation (twice), so a hook killed mid-smoke-test still
reports and the deployment does not wait out its hour."""

from __future__ import annotations

import pytest

import bluegreen as bg
from conftest import wait_for


@pytest.fixture
def env(stack, unique):
    return bg.provision(stack, f"hr{unique}", bg.image("v1"))


def test_a_hook_killed_mid_invocation_is_invoked_again_and_its_report_counts(stack, env):
    codedeploy = stack.client("codedeploy")
    ecs = stack.client("ecs")
    hook = bg.create_hook(stack, f"{env.name}-hook", mode="crash-once")
    task_definition = bg.register_task_definition(ecs, f"{env.name}-api", bg.image("v2"))
    deployment_id = codedeploy.create_deployment(
        applicationName=env.application, deploymentGroupName=env.group,
        revision=bg.appspec(task_definition, {"BeforeAllowTraffic": hook}), description="release v2",
    )["deploymentId"]

    def ended():
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        return info if info["status"] in ("Succeeded", "Failed", "Stopped") else None

    info = wait_for(ended, timeout=60, what="the deployment to end")
    assert info["status"] == "Succeeded", info.get("errorInformation")
    log = (stack.state_dir / "logs" / "lambda" / f"{env.name}-hook.log").read_text()
    assert log.count("hook event ") == 2, "one crashed invocation, one retry that reported"
