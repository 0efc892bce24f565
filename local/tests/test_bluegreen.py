"""CodeDeploy ECS blue/green on the local stack: real boto3 calls, a real hook function
(run by the Lambda host) that smoke-tests green through the test listener's loopback
port, and the stand-ins answering behind the listeners."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

import bluegreen as bg
from conftest import wait_for


@pytest.fixture
def env(stack, unique):
    return bg.provision(stack, f"bg{unique}", bg.image("v1"))


@pytest.fixture
def clients(stack):
    return {name: stack.client(name) for name in ("ecs", "elbv2", "codedeploy", "lambda")}


def deploy(clients, env, tag: str, hooks: dict[str, str] | None = None, **revision_options) -> str:
    task_definition = bg.register_task_definition(clients["ecs"], f"{env.name}-api", bg.image(tag))
    return clients["codedeploy"].create_deployment(
        applicationName=env.application, deploymentGroupName=env.group,
        revision=bg.appspec(task_definition, hooks, **revision_options), description=f"release {tag}",
    )["deploymentId"]


def task_sets(clients, env) -> list[dict]:
    return clients["ecs"].describe_services(cluster=env.cluster, services=[env.service])["services"][0]["taskSets"]


def targets(clients, target_group: str) -> list[dict]:
    return clients["elbv2"].describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]


def ecs_target(clients, env, deployment_id: str) -> dict:
    return clients["codedeploy"].get_deployment_target(
        deploymentId=deployment_id, targetId=f"{env.cluster}:{env.service}")["deploymentTarget"]["ecsTarget"]


def event_statuses(target: dict) -> dict[str, str]:
    return {e["lifecycleEventName"]: e["status"] for e in target["lifecycleEvents"]}


def hook_events(stack, function_name: str) -> list[dict]:
    """The events the hook function printed (its log, written by the Lambda host)."""
    path = stack.state_dir / "logs" / "lambda" / f"{function_name}.log"
    log = path.read_text() if path.exists() else ""
    return [json.loads(line.split("hook event ", 1)[1]) for line in log.splitlines() if "hook event " in line]


def wait_for_event(clients, env, deployment_id: str, event: str, status: str = "InProgress") -> None:
    def reached():
        try:
            return event_statuses(ecs_target(clients, env, deployment_id))[event] == status
        except ClientError:  # not started yet
            return False

    wait_for(reached, timeout=30, what=f"{event} {status}")


class ProductionProbe:
    """Asks the production listener for its version, on a new connection each time,
    for as long as it runs."""

    def __init__(self, address: str):
        self.address = address
        self.seen: list[str | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _probe(self):
        while not self._stop.is_set():
            self.seen.append(bg.served_version(self.address))
            time.sleep(0.02)


# -- before any deployment -------------------------------------------------------------------


def test_code_deploy_service_starts_with_a_serving_task_set(stack, env, clients):
    [first] = task_sets(clients, env)
    assert first["status"] == "PRIMARY"
    assert first["loadBalancers"][0]["targetGroupArn"] == env.blue_target_group
    prod, test = bg.listener_address(stack, env.dns_name, 80), bg.listener_address(stack, env.dns_name, 8080)
    assert bg.fetch(prod, "/health") == (200, "OK")
    assert bg.served_version(prod) == "v1" and bg.served_version(test) == "v1"
    [target] = targets(clients, env.blue_target_group)
    assert target["Target"]["Id"].startswith("127.") and target["TargetHealth"]["State"] == "healthy"
    assert targets(clients, env.green_target_group) == []


def test_listener_map_is_published_as_a_file_and_on_the_endpoint(stack, env):
    published = json.loads((stack.state_dir / "listeners.json").read_text())
    for port in (80, 8080):
        address = bg.listener_address(stack, env.dns_name, port)
        assert published[f"{env.dns_name}:{port}"] == address
        assert address.startswith("127.0.0.1:")


def test_target_health_follows_the_stand_in(stack, unique, clients):
    broken = bg.provision(stack, f"bh{unique}", bg.image("broken-0"))
    [target] = targets(clients, broken.blue_target_group)
    assert target["TargetHealth"] == {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                                      "Description": "Health checks failed with these codes: [500]"}
    assert bg.fetch(bg.listener_address(stack, broken.dns_name, 80), "/api/v1/info")[0] == 500


def test_a_crashed_stand_in_fails_its_health_checks_and_stays_registered(stack, unique, clients):
    crashing = bg.provision(stack, f"cr{unique}", bg.image("v1"))
    [target] = targets(clients, crashing.blue_target_group)
    address = f"{target['Target']['Id']}:{target['Target']['Port']}"
    assert bg.crash_stand_in(stack, address) == (200, address)
    [after] = targets(clients, crashing.blue_target_group)
    assert after["Target"] == target["Target"]
    assert after["TargetHealth"]["State"] == "unhealthy"
    assert after["TargetHealth"]["Reason"] == "Target.Timeout"
    # A background sync does not bring it back: only a new task set does.
    time.sleep(1.5)
    [still] = targets(clients, crashing.blue_target_group)
    assert still["TargetHealth"]["State"] == "unhealthy"
    assert bg.crash_stand_in(stack, "127.9.9.9:1")[0] == 404


def test_the_service_counts_the_tasks_whose_stand_in_answers(stack, unique, clients):
    counted = bg.provision(stack, f"ct{unique}", bg.image("v1"))

    def counts():
        [service] = clients["ecs"].describe_services(cluster=counted.cluster, services=[counted.service])["services"]
        [task_set] = service["taskSets"]
        return (service["runningCount"], service["pendingCount"], task_set["runningCount"],
                task_set["computedDesiredCount"])

    wait_for(lambda: counts() == (1, 0, 1, 1), what="one task running")
    [target] = targets(clients, counted.blue_target_group)
    bg.crash_stand_in(stack, f"{target['Target']['Id']}:{target['Target']['Port']}")
    wait_for(lambda: counts() == (0, 1, 0, 1), what="the crashed task counted out")


def test_any_task_set_gets_a_stand_in_and_listeners_follow_any_modify_listener(stack, env, clients):
    task_definition = bg.register_task_definition(clients["ecs"], f"{env.name}-api", bg.image("v9"))
    clients["ecs"].create_task_set(
        cluster=env.cluster, service=env.service, taskDefinition=task_definition, launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": env.green_target_group, "containerName": bg.CONTAINER,
                        "containerPort": bg.PORT}])
    assert len(targets(clients, env.green_target_group)) == 1
    clients["elbv2"].modify_listener(ListenerArn=env.test_listener,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": env.green_target_group}])
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 8080)) == "v9"
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 80)) == "v1"


def test_open_connections_stay_on_their_target_until_its_task_set_goes(stack, env, clients):
    """NLB semantics: ModifyListener moves new connections only; a stopped task cuts its own."""
    import http.client

    host, port = bg.listener_address(stack, env.dns_name, 8080).split(":")
    kept = http.client.HTTPConnection(host, int(port), timeout=5)
    kept.request("GET", "/api/v1/info")
    assert json.loads(kept.getresponse().read())["version"] == "v1"

    task_definition = bg.register_task_definition(clients["ecs"], f"{env.name}-api", bg.image("v9"))
    clients["ecs"].create_task_set(
        cluster=env.cluster, service=env.service, taskDefinition=task_definition, launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": env.green_target_group, "containerName": bg.CONTAINER,
                        "containerPort": bg.PORT}])
    clients["elbv2"].modify_listener(ListenerArn=env.test_listener,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": env.green_target_group}])
    kept.request("GET", "/api/v1/info")
    assert json.loads(kept.getresponse().read())["version"] == "v1"

    [blue] = [ts for ts in task_sets(clients, env) if ts["taskDefinition"].endswith(":1")]
    clients["ecs"].delete_task_set(cluster=env.cluster, service=env.service, taskSet=blue["taskSetArn"])
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        kept.request("GET", "/api/v1/info")
        kept.getresponse().read()
    assert bg.served_version(f"{host}:{port}") == "v9"


def test_an_image_by_digest_reports_its_ecr_tag(stack, unique, clients):
    ecr = stack.client("ecr")
    repository = f"vikunja-{unique}"
    ecr.create_repository(repositoryName=repository)
    digest = ecr.put_image(repositoryName=repository, imageManifest=_manifest(unique), imageTag="v3")["image"]["imageId"]["imageDigest"]
    pinned = bg.provision(stack, f"dg{unique}", f"{bg.REPOSITORY_HOST}/{repository}@{digest}")
    assert bg.served_version(bg.listener_address(stack, pinned.dns_name, 80)) == "v3"


def test_stand_ins_answer_info_as_their_major_version_does():
    from vikunja_local.dataplane.standin import Release, info_document, major_version

    current = info_document(Release(image="vikunja/vikunja:2.5.0", version="2.5.0"))
    assert current["version"] == "v2.5.0"  # as Vikunja 2.x reports its release tag
    assert current["auth"]["local"]["registration_enabled"] is True and "registration_enabled" not in current
    assert "ldap" in current["auth"] and "max_items_per_page" in current
    old = info_document(Release(image="vikunja/vikunja:0.24.6", version="0.24.6"))
    assert old["version"] == "0.24.6" and old["registration_enabled"] is True and "ldap" not in old["auth"]
    assert info_document(Release(image="x:v2.5.1-broken", version="v2.5.1-broken"))["version"] == "v2.5.1-broken"
    assert [major_version(t) for t in ("2.5.0", "v2.5", "2", "0.24.7-demo.1", "latest", "broken-0")] == [2, 2, 2, 0, None, None]


# -- deployments -----------------------------------------------------------------------------


def test_good_deployment_shifts_production_and_retires_blue(stack, env, clients):
    hook = bg.create_hook(stack, f"{env.name}-hook")
    began = time.monotonic()
    deployment_id = deploy(clients, env, "v2", {"BeforeAllowTraffic": hook})
    assert clients["codedeploy"].get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] in (
        "Created", "InProgress")
    info = bg.wait_for_deployment(clients["codedeploy"], deployment_id)
    print(f"\ngood deployment end to end: {time.monotonic() - began:.2f} s")

    assert info["status"] == "Succeeded", info
    assert info["deploymentId"] == deployment_id and info["computePlatform"] == "ECS"
    assert info["instanceTerminationWaitTimeStarted"] is True
    assert "errorInformation" not in info and "rollbackInfo" not in info
    assert info["completeTime"] >= info["startTime"] >= info["createTime"]
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 80)) == "v2"
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 8080)) == "v2"
    [green] = task_sets(clients, env)  # blue is gone after the termination wait
    assert green["status"] == "PRIMARY" and green["taskDefinition"].endswith(f"{env.name}-api:2")
    assert targets(clients, env.blue_target_group) == []
    assert [t["TargetHealth"]["State"] for t in targets(clients, env.green_target_group)] == ["healthy"]

    target = ecs_target(clients, env, deployment_id)
    assert target["status"] == "Succeeded"
    assert event_statuses(target) == {
        "BeforeInstall": "Skipped", "Install": "Succeeded", "AfterInstall": "Skipped",
        "AllowTestTraffic": "Succeeded", "AfterAllowTestTraffic": "Skipped", "BeforeAllowTraffic": "Succeeded",
        "AllowTraffic": "Succeeded", "AfterAllowTraffic": "Skipped"}
    labels = {t["taskSetLabel"]: t for t in target["taskSetsInfo"]}
    assert labels["Green"]["trafficWeight"] == 100.0 and labels["Green"]["targetGroup"] == {"name": f"{env.name}-green"}
    assert labels["Blue"]["trafficWeight"] == 0.0 and labels["Blue"]["runningCount"] == 0

    [event] = hook_events(stack, f"{env.name}-hook")
    assert set(event) == {"DeploymentId", "LifecycleEventHookExecutionId"}
    assert event["DeploymentId"] == deployment_id
    listed = clients["codedeploy"].list_deployments(applicationName=env.application, deploymentGroupName=env.group,
                                                    includeOnlyStatuses=["Succeeded"])["deployments"]
    assert listed == [deployment_id]
    assert clients["codedeploy"].list_deployment_targets(deploymentId=deployment_id)["targetIds"] == [
        f"{env.cluster}:{env.service}"]


def test_second_deployment_goes_back_to_the_blue_target_group(stack, env, clients):
    first = deploy(clients, env, "v2")
    assert bg.wait_for_deployment(clients["codedeploy"], first)["status"] == "Succeeded"
    second = deploy(clients, env, "v3")
    info = bg.wait_for_deployment(clients["codedeploy"], second)
    assert info["status"] == "Succeeded", info
    assert info["previousRevision"] == clients["codedeploy"].get_deployment(deploymentId=first)["deploymentInfo"]["revision"]
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 80)) == "v3"
    [current] = task_sets(clients, env)
    assert current["loadBalancers"][0]["targetGroupArn"] == env.blue_target_group


def test_broken_release_fails_and_production_never_serves_it(stack, env, clients):
    hook = bg.create_hook(stack, f"{env.name}-hook")
    with ProductionProbe(bg.listener_address(stack, env.dns_name, 80)) as probe:
        deployment_id = deploy(clients, env, "broken-2", {"BeforeAllowTraffic": hook})
        info = bg.wait_for_deployment(clients["codedeploy"], deployment_id)
        time.sleep(0.2)  # and a little after

    assert info["status"] == "Failed", info
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "BeforeAllowTraffic" in info["errorInformation"]["message"]
    assert len(probe.seen) > 10 and set(probe.seen) == {"v1"}, set(probe.seen)

    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = clients["codedeploy"].get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert rollback["status"] == "Succeeded" and rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id

    failed_event = next(e for e in ecs_target(clients, env, deployment_id)["lifecycleEvents"]
                        if e["lifecycleEventName"] == "BeforeAllowTraffic")
    assert failed_event["status"] == "Failed"
    assert failed_event["diagnostics"]["errorCode"] == "ScriptFailed"
    assert "smoke test failed: /health answered 500" in failed_event["diagnostics"]["logTail"]
    assert event_statuses(ecs_target(clients, env, deployment_id))["AllowTraffic"] == "Skipped"

    # Rolled back: both listeners on blue, green's task set and stand-in gone.
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 80)) == "v1"
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 8080)) == "v1"
    [blue] = task_sets(clients, env)
    assert blue["status"] == "PRIMARY" and blue["loadBalancers"][0]["targetGroupArn"] == env.blue_target_group
    assert targets(clients, env.green_target_group) == []


def test_stop_deployment_rolls_back(stack, env, clients):
    hook = bg.create_hook(stack, f"{env.name}-hook", mode="silent")
    deployment_id = deploy(clients, env, "v2", {"AfterAllowTestTraffic": hook})
    wait_for_event(clients, env, deployment_id, "AfterAllowTestTraffic")
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 8080)) == "v2"  # test traffic is on green

    stopping = clients["codedeploy"].stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    assert stopping["status"] == "Pending"
    info = bg.wait_for_deployment(clients["codedeploy"], deployment_id)

    assert info["status"] == "Stopped", info
    assert info["errorInformation"]["code"] == "MANUAL_STOP"
    assert "AfterAllowTestTraffic" in info["errorInformation"]["message"]
    assert "rollbackDeploymentId" in info["rollbackInfo"]
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 8080)) == "v1"
    assert [ts["loadBalancers"][0]["targetGroupArn"] for ts in task_sets(clients, env)] == [env.blue_target_group]
    with pytest.raises(ClientError) as again:
        clients["codedeploy"].stop_deployment(deploymentId=deployment_id)
    assert again.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


def test_hook_that_never_reports_times_out(stack, env, clients):
    hook = bg.create_hook(stack, f"{env.name}-hook", mode="silent")
    deployment_id = deploy(clients, env, "v2", {"BeforeInstall": hook})
    info = bg.wait_for_deployment(clients["codedeploy"], deployment_id, timeout=60)

    assert info["status"] == "Failed", info
    assert info["errorInformation"]["code"] == "TIMEOUT"
    assert "BeforeInstall" in info["errorInformation"]["message"]
    assert "rollbackInfo" in info
    event = ecs_target(clients, env, deployment_id)["lifecycleEvents"][0]
    assert (event["lifecycleEventName"], event["status"], event["diagnostics"]["errorCode"]) == (
        "BeforeInstall", "Failed", "ScriptTimedOut")
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 80)) == "v1"


def test_alarm_in_alarm_state_stops_and_rolls_back(stack, env, clients):
    cloudwatch = stack.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=f"{env.name}-unhealthy", Namespace="AWS/NetworkELB",
                                MetricName="UnHealthyHostCount", Statistic="Maximum", Period=60, EvaluationPeriods=2,
                                Threshold=0.0, ComparisonOperator="GreaterThanThreshold")
    hook = bg.create_hook(stack, f"{env.name}-hook", mode="silent")
    deployment_id = deploy(clients, env, "v2", {"BeforeAllowTraffic": hook})
    wait_for_event(clients, env, deployment_id, "BeforeAllowTraffic")
    cloudwatch.set_alarm_state(AlarmName=f"{env.name}-unhealthy", StateValue="ALARM", StateReason="test")
    info = bg.wait_for_deployment(clients["codedeploy"], deployment_id)

    assert (info["status"], info["errorInformation"]["code"]) == ("Stopped", "ALARM_ACTIVE"), info
    assert f"{env.name}-unhealthy" in info["errorInformation"]["message"]
    assert "rollbackInfo" in info
    assert bg.served_version(bg.listener_address(stack, env.dns_name, 80)) == "v1"


def test_ready_wait_holds_traffic_until_continue(stack, unique, clients):
    waiting = bg.provision(stack, f"rw{unique}", bg.image("v1"),
                           ready_option={"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30})
    deployment_id = deploy(clients, waiting, "v2", yaml=True)
    wait_for(lambda: clients["codedeploy"].get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Ready",
             what="the Ready state")
    assert bg.served_version(bg.listener_address(stack, waiting.dns_name, 80)) == "v1"
    assert bg.served_version(bg.listener_address(stack, waiting.dns_name, 8080)) == "v2"
    clients["codedeploy"].continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    assert bg.wait_for_deployment(clients["codedeploy"], deployment_id)["status"] == "Succeeded"
    assert bg.served_version(bg.listener_address(stack, waiting.dns_name, 80)) == "v2"


# -- what CodeDeploy refuses -------------------------------------------------------------------


def test_create_deployment_checks_application_group_and_appspec(env, clients):
    codedeploy = clients["codedeploy"]
    task_definition = bg.register_task_definition(clients["ecs"], f"{env.name}-api", bg.image("v2"))
    good = bg.appspec(task_definition)

    def refused(**request) -> str:
        with pytest.raises(ClientError) as error:
            codedeploy.create_deployment(**request)
        return error.value.response["Error"]["Code"]

    assert refused(applicationName="nope", deploymentGroupName=env.group, revision=good) == "ApplicationDoesNotExistException"
    assert refused(applicationName=env.application, deploymentGroupName="nope", revision=good) == \
        "DeploymentGroupDoesNotExistException"
    wrong_container = json.loads(good["appSpecContent"]["content"])
    wrong_container["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"]["ContainerName"] = "web"
    for revision in (
        {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(wrong_container)}},
        {"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: [0.0"}},
        {"revisionType": "AppSpecContent", "appSpecContent": {"content": good["appSpecContent"]["content"],
                                                               "sha256": "0" * 64}},
        {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k", "bundleType": "YAML"}},
    ):
        assert refused(applicationName=env.application, deploymentGroupName=env.group, revision=revision) == \
            "InvalidRevisionException"


def test_one_deployment_at_a_time_and_hook_reports_are_checked(stack, env, clients):
    codedeploy = clients["codedeploy"]
    hook = bg.create_hook(stack, f"{env.name}-hook", mode="silent")
    running = deploy(clients, env, "v2", {"BeforeAllowTraffic": hook})
    with pytest.raises(ClientError) as limit:
        deploy(clients, env, "v3")
    assert limit.value.response["Error"]["Code"] == "DeploymentLimitExceededException"
    assert running in limit.value.response["Error"]["Message"]

    [event] = wait_for(lambda: hook_events(stack, f"{env.name}-hook"), what="the hook's invocation")

    def report_error(**request) -> str:
        with pytest.raises(ClientError) as error:
            codedeploy.put_lifecycle_event_hook_execution_status(**request)
        return error.value.response["Error"]["Code"]

    execution = event["LifecycleEventHookExecutionId"]
    assert report_error(deploymentId=running, lifecycleEventHookExecutionId="made-up", status="Succeeded") == \
        "InvalidLifecycleEventHookExecutionIdException"
    assert report_error(deploymentId=running, lifecycleEventHookExecutionId=execution, status="Skipped") == \
        "InvalidLifecycleEventHookExecutionStatusException"
    assert report_error(deploymentId="d-AAAAAAAAA", lifecycleEventHookExecutionId=execution, status="Succeeded") == \
        "DeploymentDoesNotExistException"
    answer = codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=running, lifecycleEventHookExecutionId=execution, status="Succeeded")
    assert answer["lifecycleEventHookExecutionId"] == execution
    assert bg.wait_for_deployment(codedeploy, running)["status"] == "Succeeded"
    assert report_error(deploymentId=running, lifecycleEventHookExecutionId=execution, status="Succeeded") == \
        "LifecycleEventAlreadyCompletedException"


# -- ECR events --------------------------------------------------------------------------------


def test_ecr_push_and_delete_start_the_release_workflow(stack, unique, clients):
    from conftest import wait_for_execution

    ecr, events, sfn, iam = (stack.client(s) for s in ("ecr", "events", "stepfunctions", "iam"))
    repository = f"api-{unique}"
    ecr.create_repository(repositoryName=repository)
    role = iam.create_role(RoleName=f"release-{unique}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = sfn.create_state_machine(name=f"release-{unique}", roleArn=role, definition=json.dumps(
        {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    events.put_rule(Name=f"release-{unique}", EventPattern=json.dumps({
        "source": ["aws.ecr"], "detail-type": ["ECR Image Action"],
        "detail": {"action-type": ["PUSH", "DELETE"], "result": ["SUCCESS"], "repository-name": [repository]}}))
    events.put_targets(Rule=f"release-{unique}", Targets=[{"Id": "release", "Arn": machine, "RoleArn": role}])

    with pytest.raises(ClientError):  # a failed push emits nothing
        ecr.put_image(repositoryName=f"missing-{unique}", imageManifest=_manifest(unique), imageTag="v1")
    pushed = ecr.put_image(repositoryName=repository, imageManifest=_manifest(unique), imageTag="v7")["image"]["imageId"]
    [execution] = wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"], what="an execution")
    event = json.loads(wait_for_execution(sfn, execution["executionArn"])["input"])
    assert event["source"] == "aws.ecr" and event["detail-type"] == "ECR Image Action"
    assert event["detail"] == {"result": "SUCCESS", "repository-name": repository,
                               "image-digest": pushed["imageDigest"], "action-type": "PUSH", "image-tag": "v7"}
    assert (event["account"], event["region"], event["resources"]) == ("123456789012", "us-east-1", [])
    assert event["time"].endswith("Z") and "T" in event["time"]

    ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": "v7"}])
    executions = wait_for(lambda: [e for e in sfn.list_executions(stateMachineArn=machine)["executions"]
                                   if e["executionArn"] != execution["executionArn"]], what="a second execution")
    deleted = json.loads(wait_for_execution(sfn, executions[0]["executionArn"])["input"])
    assert deleted["detail"]["action-type"] == "DELETE"
    assert deleted["detail"]["image-digest"] == pushed["imageDigest"]
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2


def test_ecr_digest_is_the_manifest_hash(stack, unique):
    import hashlib

    ecr = stack.client("ecr")
    ecr.create_repository(repositoryName=f"digests-{unique}")
    first, second = _manifest(unique + "a"), _manifest(unique + "b")  # no layers: moto gave both one digest
    digests = [ecr.put_image(repositoryName=f"digests-{unique}", imageManifest=manifest, imageTag=tag)["image"]
               ["imageId"]["imageDigest"] for manifest, tag in ((first, "v1"), (second, "v2"))]
    assert digests == ["sha256:" + hashlib.sha256(m.encode()).hexdigest() for m in (first, second)]
    retagged = ecr.put_image(repositoryName=f"digests-{unique}", imageManifest=first, imageTag="stable")["image"]
    assert retagged["imageId"]["imageDigest"] == digests[0]


def _manifest(seed: str) -> str:
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                                  "digest": "sha256:" + (seed * 8)[:64].ljust(64, "0")},
                       "layers": []})


# -- deleting (moto has no DeleteApplication / DeleteDeploymentGroup) ---------------------------


def test_groups_and_applications_can_be_deleted_and_listing_survives_the_service(stack, env, clients):
    codedeploy, ecs = clients["codedeploy"], clients["ecs"]
    # Listing a group's deployments still works once its ECS service is gone (teardown order).
    ecs.delete_service(cluster=env.cluster, service=env.service, force=True)
    assert codedeploy.list_deployments(applicationName=env.application, deploymentGroupName=env.group)["deployments"] == []

    deleted = codedeploy.delete_deployment_group(applicationName=env.application, deploymentGroupName=env.group)
    assert deleted["hooksNotCleanedUp"] == []
    codedeploy.delete_deployment_group(applicationName=env.application, deploymentGroupName=env.group)  # again: fine
    with pytest.raises(ClientError) as gone:
        codedeploy.get_deployment_group(applicationName=env.application, deploymentGroupName=env.group)
    assert gone.value.response["Error"]["Code"] == "DeploymentGroupDoesNotExistException"

    codedeploy.delete_application(applicationName=env.application)
    codedeploy.delete_application(applicationName=env.application)  # already gone: still fine
    with pytest.raises(ClientError) as gone:
        codedeploy.get_application(applicationName=env.application)
    assert gone.value.response["Error"]["Code"] == "ApplicationDoesNotExistException"
    with pytest.raises(ClientError) as missing:
        codedeploy.delete_deployment_group(applicationName=env.application, deploymentGroupName=env.group)
    assert missing.value.response["Error"]["Code"] == "ApplicationDoesNotExistException"
