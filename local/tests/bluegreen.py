"""What the blue/green tests deploy onto: the ECS, ELBv2 and CodeDeploy resources the
provision workflow makes, and a hook function that smoke-tests green through the
test listener as the real hook does (via VIKUNJA_LOCAL_LISTENERS)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass

REPOSITORY_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CONTAINER, PORT = "vikunja", 3456

# Runs with the tests' own Python (it has boto3); speaks the Runtime API with urllib.
HOOK_BOOTSTRAP = r'''#!{python}
import json, os, sys, time, urllib.error, urllib.request
import boto3

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
MODE = os.environ.get("MODE", "smoke")


def post(path, document):
    request = urllib.request.Request(API + path, data=json.dumps(document).encode(), method="POST")
    urllib.request.urlopen(request).read()


def test_listener_address(codedeploy, deployment_id):
    """The test listener's loopback address, found the way the real hook does."""
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    group = codedeploy.get_deployment_group(applicationName=info["applicationName"],
                                            deploymentGroupName=info["deploymentGroupName"])["deploymentGroupInfo"]
    pair = group["loadBalancerInfo"]["targetGroupPairInfoList"][0]
    elbv2 = boto3.client("elbv2")
    listener = elbv2.describe_listeners(ListenerArns=pair["testTrafficRoute"]["listenerArns"])["Listeners"][0]
    balancer = elbv2.describe_load_balancers(LoadBalancerArns=[listener["LoadBalancerArn"]])["LoadBalancers"][0]
    with open(os.environ["VIKUNJA_LOCAL_LISTENERS"]) as handle:
        listeners = json.load(handle)
    return listeners[f"{balancer['DNSName']}:{listener['Port']}"]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def smoke_test(address):
    """None if green is fine, else why not."""
    status, body = get(f"http://{address}/health")
    if status != 200 or body != "OK":
        return f"/health answered {status} {body!r}"
    status, body = get(f"http://{address}/api/v1/info")
    if status != 200:
        return f"/api/v1/info answered {status}"
    print("green serves version", json.loads(body)["version"], flush=True)
    return None


while True:
    with urllib.request.urlopen(API + "/invocation/next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read())
    print("hook event", json.dumps(event), flush=True)
    codedeploy = boto3.client("codedeploy")
    status = "Succeeded"
    marker = "/tmp/vikunja-hook-" + event.get("LifecycleEventHookExecutionId", "none")
    if MODE == "crash-once" and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(137)  # killed mid-invocation, as an out-of-memory kill would
    if MODE == "silent":
        pass  # never reports: the deployment must time out (or be stopped)
    else:
        failure = smoke_test(test_listener_address(codedeploy, event["DeploymentId"]))
        if failure:
            print("smoke test failed:", failure, flush=True)
            status = "Failed"
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=event["DeploymentId"],
            lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status=status)
    post(f"/invocation/{request_id}/response", {"reported": status if MODE != "silent" else None})
'''


def hook_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        archive.writestr(info, HOOK_BOOTSTRAP.replace("{python}", sys.executable))
    return buffer.getvalue()


@dataclass
class BlueGreen:
    """One stack's worth of resources, named after `name`."""

    name: str
    cluster: str
    service: str
    application: str
    group: str
    dns_name: str
    prod_listener: str
    test_listener: str
    blue_target_group: str
    green_target_group: str
    subnets: list[str]
    mount: dict | None = None  # what register_task_definition adds: volumes, mountPoints, taskRoleArn


def image(tag: str, repository: str = "vikunja") -> str:
    return f"{REPOSITORY_HOST}/{repository}:{tag}"


def register_task_definition(ecs, family: str, image_ref: str, mount: dict | None = None) -> str:
    """`mount`: `{"volumes": [...], "mountPoints": [...], "taskRoleArn": ...}` (each optional):
    the task definition's volumes and the container's mount points."""
    mount = mount or {}
    container = {"name": CONTAINER, "image": image_ref, "memory": 512, "essential": True,
                 "portMappings": [{"containerPort": PORT, "protocol": "tcp"}]}
    if mount.get("mountPoints"):
        container["mountPoints"] = mount["mountPoints"]
    extra = {"volumes": mount["volumes"]} if mount.get("volumes") else {}
    if mount.get("taskRoleArn"):
        extra["taskRoleArn"] = mount["taskRoleArn"]
    return ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[container], **extra,
    )["taskDefinition"]["taskDefinitionArn"]


def provision(stack, name: str, first_image: str, auto_rollback: bool = True,
              ready_option: dict | None = None, termination_minutes: int = 5, files=None) -> BlueGreen:
    """The network, load balancer, backend and delivery tiers, as the workflow makes them.
    `files(vpc, subnets)`, if given, makes the storage tier on the new network and answers
    the `mount` the task definitions get (see register_task_definition)."""
    ec2, elbv2, ecs, codedeploy = (stack.client(s) for s in ("ec2", "elbv2", "ecs", "codedeploy"))
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
               for i, z in ((0, "a"), (1, "b"))]
    app_group = ec2.create_security_group(GroupName=f"{name}-app", Description="app", VpcId=vpc)["GroupId"]
    balancer = elbv2.create_load_balancer(Name=f"{name}-nlb", Type="network", Scheme="internet-facing",
                                          Subnets=subnets)["LoadBalancers"][0]

    def target_group(colour: str) -> str:
        return elbv2.create_target_group(
            Name=f"{name}-{colour}", Protocol="TCP", Port=PORT, VpcId=vpc, TargetType="ip",
            HealthCheckProtocol="HTTP", HealthCheckPath="/health", HealthCheckPort="traffic-port",
        )["TargetGroups"][0]["TargetGroupArn"]

    blue, green = target_group("blue"), target_group("green")

    def listener(port: int) -> str:
        return elbv2.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="TCP", Port=port,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}])["Listeners"][0]["ListenerArn"]

    prod, test = listener(80), listener(8080)
    mount = files(vpc, subnets) if files is not None else None
    cluster = ecs.create_cluster(clusterName=f"{name}-cluster")["cluster"]["clusterName"]
    task_definition = register_task_definition(ecs, f"{name}-api", first_image, mount)
    service = ecs.create_service(
        cluster=cluster, serviceName=f"{name}-api", taskDefinition=task_definition, desiredCount=1,
        launchType="FARGATE", deploymentController={"type": "CODE_DEPLOY"},
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [app_group],
                                                      "assignPublicIp": "ENABLED"}},
        loadBalancers=[{"targetGroupArn": blue, "containerName": CONTAINER, "containerPort": PORT}],
    )["service"]["serviceName"]
    codedeploy.create_application(applicationName=name, computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName=name, deploymentGroupName=f"{name}-api", serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE",
                                                          "terminationWaitTimeInMinutes": termination_minutes},
            "deploymentReadyOption": ready_option or {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        },
        ecsServices=[{"clusterName": cluster, "serviceName": service}],
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": f"{name}-blue"}, {"name": f"{name}-green"}],
            "prodTrafficRoute": {"listenerArns": [prod]},
            "testTrafficRoute": {"listenerArns": [test]},
        }]},
        autoRollbackConfiguration={"enabled": auto_rollback,
                                   "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        alarmConfiguration={"enabled": True, "alarms": [{"name": f"{name}-unhealthy"}]},
    )
    return BlueGreen(name, cluster, service, name, f"{name}-api", balancer["DNSName"], prod, test, blue, green, subnets,
                     mount)


def create_hook(stack, name: str, mode: str = "smoke") -> str:
    role = _hook_role(stack)
    return stack.client("lambda").create_function(
        FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=role, Timeout=60,
        Code={"ZipFile": hook_zip()}, Environment={"Variables": {"MODE": mode}},
    )["FunctionArn"]


def _hook_role(stack) -> str:
    iam = stack.client("iam")
    try:
        return iam.get_role(RoleName="codedeploy-hook")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName="codedeploy-hook", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }))["Role"]["Arn"]


def appspec(task_definition: str, hooks: dict[str, str] | None = None, yaml: bool = False) -> dict:
    """An `AppSpecContent` revision, as the release workflow sends it."""
    document = {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": task_definition,
            "LoadBalancerInfo": {"ContainerName": CONTAINER, "ContainerPort": PORT}}}}],
        "Hooks": [{event: function} for event, function in (hooks or {}).items()],
    }
    content = json.dumps(document) if not yaml else _as_yaml(document)
    return {"revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}}


def _as_yaml(document: dict) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False)


def listener_address(stack, dns_name: str, port: int) -> str:
    with urllib.request.urlopen(f"{stack.endpoint}/_vikunja_local/listeners") as answer:
        return json.loads(answer.read())[f"{dns_name}:{port}"]


def crash_stand_in(stack, target: str) -> tuple[int, str | None]:
    """Crashes the stand-in serving `target` (`ip:port`): (status, the target it crashed)."""
    request = urllib.request.Request(f"{stack.endpoint}/_vikunja_local/stand-ins/crash", method="POST",
                                     data=json.dumps({"target": target}).encode())
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())["crashed"]
    except urllib.error.HTTPError as error:
        return error.code, None


def fetch(address: str, path: str) -> tuple[int, str]:
    """One request on a new connection, as a fresh client would make it."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def served_version(address: str) -> str | None:
    status, body = fetch(address, "/api/v1/info")
    return json.loads(body)["version"] if status == 200 else f"HTTP {status}"


def wait_for_deployment(codedeploy, deployment_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
        time.sleep(0.2)
    raise AssertionError(f"deployment {deployment_id} still {info['status']} after {timeout} s")
