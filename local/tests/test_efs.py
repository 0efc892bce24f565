"""EFS on the local stack: the API (moto 5.2.5 with vikunja_local/patches/efs.py) through boto3,
and the data plane — stand-ins of task sets whose task definition mounts an EFS volume at
Vikunja's files path share that file system's directory; others get ephemeral storage —
through the stand-ins' slice of Vikunja's attachment API."""

from __future__ import annotations

import json
import os
import sys
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

import bluegreen as bg
from conftest import LOCAL_DIR, wait_for

if str(LOCAL_DIR) not in sys.path:
    sys.path.insert(0, str(LOCAL_DIR))

FILES = "/app/vikunja/files"
NO_PROXY = {"http": None, "https": None}


@pytest.fixture
def efs(stack):
    return stack.client("efs")


@pytest.fixture
def ec2(stack):
    return stack.client("ec2")


@pytest.fixture
def ecs(stack):
    return stack.client("ecs")


@pytest.fixture
def elbv2(stack):
    return stack.client("elbv2")


def error_of(call) -> dict:
    with pytest.raises(ClientError) as failure:
        call()
    return failure.value.response


def network(ec2, second_octet: int = 61) -> tuple[str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock=f"10.{second_octet}.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{second_octet}.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((0, "a"), (1, "b"))]
    return vpc, subnets


def security_group(ec2, vpc: str, name: str) -> str:
    return ec2.create_security_group(GroupName=f"{name}-{uuid.uuid4().hex[:6]}", Description=name, VpcId=vpc)["GroupId"]


# -- the API ------------------------------------------------------------------------------------


def test_file_system_create_is_idempotent_by_creation_token(efs, unique):
    token = f"vikunja-files-{unique}"
    created = efs.create_file_system(CreationToken=token, Encrypted=True, PerformanceMode="generalPurpose",
                                     ThroughputMode="elastic", Backup=False,
                                     Tags=[{"Key": "Name", "Value": "vikunja-files"}, {"Key": "app", "Value": "vikunja"}])
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    file_system = created["FileSystemId"]
    assert created["Encrypted"] is True and created["Name"] == "vikunja-files"
    assert created["LifeCycleState"] == "available" and created["NumberOfMountTargets"] == 0
    assert {"Key": "app", "Value": "vikunja"} in created["Tags"]

    again = error_of(lambda: efs.create_file_system(CreationToken=token, Encrypted=True))
    assert again["Error"]["Code"] == "FileSystemAlreadyExists"
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert again["FileSystemId"] == file_system  # the retried create learns which one it made

    [by_token] = efs.describe_file_systems(CreationToken=token)["FileSystems"]
    [by_id] = efs.describe_file_systems(FileSystemId=file_system)["FileSystems"]
    assert by_token["FileSystemId"] == by_id["FileSystemId"] == file_system
    assert error_of(lambda: efs.describe_file_systems(FileSystemId="fs-0123456789abcdef0"))["Error"]["Code"] == (
        "FileSystemNotFound")


def test_descriptions_carry_only_what_is_set(efs, unique):
    raw: dict = {}  # the answer as sent: boto3 would drop nulls
    efs.meta.events.register("after-call.efs.DescribeFileSystems",
                             lambda http_response, **_: raw.update(json.loads(http_response.content)))
    file_system = efs.create_file_system(CreationToken=f"bare-{unique}")["FileSystemId"]
    efs.describe_file_systems(FileSystemId=file_system)
    [described] = raw["FileSystems"]
    assert None not in described.values()
    assert "Name" not in described and "LifecyclePolicies" not in described and "FileSystemPolicy" not in described


def test_mount_targets_one_per_subnet_with_security_groups(efs, ec2, unique):
    vpc, subnets = network(ec2)
    other_vpc, _ = network(ec2, 62)
    files_group = security_group(ec2, vpc, "efs")
    file_system = efs.create_file_system(CreationToken=f"mt-{unique}")["FileSystemId"]

    first = efs.create_mount_target(FileSystemId=file_system, SubnetId=subnets[0], SecurityGroups=[files_group])
    second = efs.create_mount_target(FileSystemId=file_system, SubnetId=subnets[1])  # the VPC's default group
    assert first["AvailabilityZoneName"] == "us-east-1a" and second["AvailabilityZoneName"] == "us-east-1b"
    assert first["VpcId"] == vpc and first["LifeCycleState"] == "available" and "SecurityGroups" not in first
    described = efs.describe_mount_targets(FileSystemId=file_system)["MountTargets"]
    assert sorted(m["SubnetId"] for m in described) == sorted(subnets)
    assert efs.describe_file_systems(FileSystemId=file_system)["FileSystems"][0]["NumberOfMountTargets"] == 2

    assert efs.describe_mount_target_security_groups(MountTargetId=first["MountTargetId"])["SecurityGroups"] == [files_group]
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    assert efs.describe_mount_target_security_groups(MountTargetId=second["MountTargetId"])["SecurityGroups"] == [
        default["GroupId"]]

    conflict = error_of(lambda: efs.create_mount_target(FileSystemId=file_system, SubnetId=subnets[0]))
    assert conflict["Error"]["Code"] == "MountTargetConflict" and conflict["ResponseMetadata"]["HTTPStatusCode"] == 409
    foreign = security_group(ec2, other_vpc, "foreign")
    wrong_vpc = error_of(lambda: efs.modify_mount_target_security_groups(MountTargetId=first["MountTargetId"],
                                                                         SecurityGroups=[foreign]))
    assert wrong_vpc["Error"]["Code"] == "SecurityGroupNotFound" and wrong_vpc["ResponseMetadata"]["HTTPStatusCode"] == 400
    missing_subnet = error_of(lambda: efs.create_mount_target(FileSystemId=file_system, SubnetId="subnet-0123456789abcdef0"))
    assert missing_subnet["Error"]["Code"] == "SubnetNotFound" and missing_subnet["ResponseMetadata"]["HTTPStatusCode"] == 400

    extra = security_group(ec2, vpc, "extra")
    modified = efs.modify_mount_target_security_groups(MountTargetId=first["MountTargetId"],
                                                       SecurityGroups=[files_group, extra])
    assert modified["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert efs.describe_mount_target_security_groups(MountTargetId=first["MountTargetId"])["SecurityGroups"] == [
        files_group, extra]
    six = [security_group(ec2, vpc, f"g{i}") for i in range(6)]
    too_many = error_of(lambda: efs.modify_mount_target_security_groups(MountTargetId=first["MountTargetId"],
                                                                        SecurityGroups=six))
    assert too_many["Error"]["Code"] == "SecurityGroupLimitExceeded"


def test_access_points_with_posix_user_root_directory_and_client_token(efs, unique):
    file_system = efs.create_file_system(CreationToken=f"ap-{unique}")["FileSystemId"]
    request = dict(
        ClientToken=f"vikunja-{unique}", FileSystemId=file_system, PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/vikunja", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "0750"}},
        Tags=[{"Key": "Name", "Value": "vikunja-files"}],
    )
    created = efs.create_access_point(**request)
    access_point = created["AccessPointId"]
    assert access_point.startswith("fsap-") and created["FileSystemId"] == file_system
    assert created["PosixUser"] == {"Uid": 1000, "Gid": 1000}
    assert created["RootDirectory"] == request["RootDirectory"] and created["Name"] == "vikunja-files"
    assert created["LifeCycleState"] == "available" and created["ClientToken"] == request["ClientToken"]

    again = error_of(lambda: efs.create_access_point(**request))
    assert again["Error"]["Code"] == "AccessPointAlreadyExists" and again["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert again["AccessPointId"] == access_point
    [described] = efs.describe_access_points(FileSystemId=file_system)["AccessPoints"]
    assert described["AccessPointId"] == access_point
    assert efs.describe_access_points(AccessPointId=access_point)["AccessPoints"][0]["RootDirectory"]["Path"] == "/vikunja"

    plain = efs.create_access_point(FileSystemId=file_system)  # boto3 fills in the token
    assert plain["RootDirectory"] == {"Path": "/"} and "PosixUser" not in plain and "Name" not in plain
    for call in (lambda: efs.create_access_point(FileSystemId="fs-0123456789abcdef0"),
                 lambda: efs.describe_access_points(FileSystemId="fs-0123456789abcdef0")):
        assert error_of(call)["Error"]["Code"] == "FileSystemNotFound"
    assert error_of(lambda: efs.describe_access_points(AccessPointId="fsap-0123456789abcdef0"))["Error"]["Code"] == (
        "AccessPointNotFound")


def test_backup_and_file_system_policies(efs, unique):
    file_system = efs.create_file_system(CreationToken=f"bk-{unique}")["FileSystemId"]
    assert efs.describe_backup_policy(FileSystemId=file_system)["BackupPolicy"] == {"Status": "DISABLED"}
    assert efs.put_backup_policy(FileSystemId=file_system, BackupPolicy={"Status": "ENABLED"})["BackupPolicy"] == {
        "Status": "ENABLED"}
    assert efs.describe_backup_policy(FileSystemId=file_system)["BackupPolicy"] == {"Status": "ENABLED"}
    backed_up = efs.create_file_system(CreationToken=f"bk2-{unique}", Backup=True)["FileSystemId"]
    assert efs.describe_backup_policy(FileSystemId=backed_up)["BackupPolicy"] == {"Status": "ENABLED"}
    assert error_of(lambda: efs.put_backup_policy(FileSystemId=file_system, BackupPolicy={"Status": "ENABLING"}))[
        "Error"]["Code"] == "BadRequest"
    for call in (lambda: efs.describe_backup_policy(FileSystemId="fs-0123456789abcdef0"),
                 lambda: efs.put_backup_policy(FileSystemId="fs-0123456789abcdef0", BackupPolicy={"Status": "ENABLED"}),
                 lambda: efs.describe_file_system_policy(FileSystemId="fs-0123456789abcdef0")):
        missing = error_of(call)
        assert missing["Error"]["Code"] == "FileSystemNotFound" and missing["ResponseMetadata"]["HTTPStatusCode"] == 404

    assert error_of(lambda: efs.describe_file_system_policy(FileSystemId=file_system))["Error"]["Code"] == "PolicyNotFound"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    assert efs.put_file_system_policy(FileSystemId=file_system, Policy=policy)["Policy"] == policy
    assert efs.describe_file_system_policy(FileSystemId=file_system)["Policy"] == policy
    invalid = error_of(lambda: efs.put_file_system_policy(FileSystemId=file_system, Policy="not a policy"))
    assert invalid["Error"]["Code"] == "InvalidPolicyException" and invalid["ResponseMetadata"]["HTTPStatusCode"] == 400
    efs.delete_file_system_policy(FileSystemId=file_system)
    assert error_of(lambda: efs.describe_file_system_policy(FileSystemId=file_system))["Error"]["Code"] == "PolicyNotFound"


def test_delete_in_order_file_system_in_use_while_mount_targets_exist(efs, ec2, unique):
    _, subnets = network(ec2, 63)
    file_system = efs.create_file_system(CreationToken=f"del-{unique}", Tags=[{"Key": "Name", "Value": "x"}])["FileSystemId"]
    access_point = efs.create_access_point(FileSystemId=file_system)["AccessPointId"]
    kept_access_point = efs.create_access_point(FileSystemId=file_system)["AccessPointId"]
    mount_targets = [efs.create_mount_target(FileSystemId=file_system, SubnetId=s)["MountTargetId"] for s in subnets]

    in_use = error_of(lambda: efs.delete_file_system(FileSystemId=file_system))
    assert in_use["Error"]["Code"] == "FileSystemInUse" and in_use["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert efs.delete_access_point(AccessPointId=access_point)["ResponseMetadata"]["HTTPStatusCode"] == 204
    gone = error_of(lambda: efs.delete_access_point(AccessPointId=access_point))
    assert gone["Error"]["Code"] == "AccessPointNotFound" and gone["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert efs.delete_mount_target(MountTargetId=mount_targets[0])["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(lambda: efs.delete_file_system(FileSystemId=file_system))["Error"]["Code"] == "FileSystemInUse"
    efs.delete_mount_target(MountTargetId=mount_targets[1])
    assert error_of(lambda: efs.delete_mount_target(MountTargetId=mount_targets[1]))["Error"]["Code"] == (
        "MountTargetNotFound")
    assert efs.delete_file_system(FileSystemId=file_system)["ResponseMetadata"]["HTTPStatusCode"] == 204

    assert error_of(lambda: efs.describe_file_systems(FileSystemId=file_system))["Error"]["Code"] == "FileSystemNotFound"
    assert error_of(lambda: efs.delete_file_system(FileSystemId=file_system))["Error"]["Code"] == "FileSystemNotFound"
    listed = [ap["AccessPointId"] for ap in efs.describe_access_points()["AccessPoints"]]
    assert kept_access_point not in listed  # access points go with their file system
    # The creation token is free again, as on AWS once the file system is deleted.
    assert efs.create_file_system(CreationToken=f"del-{unique}")["FileSystemId"] != file_system


def test_efs_calls_are_named_for_fault_injection_and_iam():
    from vikunja_local.faults import classify
    from vikunja_local.router import CallView

    def named(method: str, path: str) -> str:
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
                   "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/elasticfilesystem/aws4_request, "
                                         "SignedHeaders=host, Signature=0"}
        return classify(CallView(environ)).operation

    assert named("POST", "/2015-02-01/file-systems") == "CreateFileSystem"
    assert named("PUT", "/2015-02-01/file-systems/fs-01234567/backup-policy") == "PutBackupPolicy"
    assert named("DELETE", "/2015-02-01/access-points/fsap-01234567") == "DeleteAccessPoint"
    assert named("PUT", "/2015-02-01/mount-targets/fsmt-01234567/security-groups") == "ModifyMountTargetSecurityGroups"


# -- the data plane -----------------------------------------------------------------------------


def make_storage(efs, unique: str, root: str = "/vikunja", creation_info: bool = True):
    """`files(vpc, subnets)` for bluegreen.provision: a file system with a mount target per
    subnet and an access point, mounted at Vikunja's files path."""
    made: dict = {}

    def files(vpc: str, subnets: list[str]) -> dict:
        file_system = efs.create_file_system(CreationToken=f"files-{unique}-{uuid.uuid4().hex[:6]}", Encrypted=True)[
            "FileSystemId"]
        for subnet in subnets:
            efs.create_mount_target(FileSystemId=file_system, SubnetId=subnet)
        directory = {"Path": root}
        if creation_info:
            directory["CreationInfo"] = {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "0750"}
        access_point = efs.create_access_point(FileSystemId=file_system, PosixUser={"Uid": 1000, "Gid": 1000},
                                               RootDirectory=directory)["AccessPointId"]
        made.update(file_system=file_system, access_point=access_point, vpc=vpc, subnets=subnets)
        return efs_mount(file_system, access_point)

    return files, made


def efs_mount(file_system: str, access_point: str | None, transit: str = "ENABLED", iam: str = "ENABLED",
              root_directory: str = "/", container_path: str = FILES) -> dict:
    authorization = {"iam": iam}
    if access_point:
        authorization["accessPointId"] = access_point
    return {
        "volumes": [{"name": "files", "efsVolumeConfiguration": {
            "fileSystemId": file_system, "rootDirectory": root_directory, "transitEncryption": transit,
            "authorizationConfig": authorization}}],
        "mountPoints": [{"sourceVolume": "files", "containerPath": container_path, "readOnly": False}],
        "taskRoleArn": "arn:aws:iam::123456789012:role/vikunja-task",
    }


def add_task_set(ecs, elbv2, env, mount: dict | None, tag: str = "v1") -> tuple[str, str, str]:
    """A task set of the service on a target group of its own: (task set ARN, target group ARN,
    the stand-in's address, '' if it has none)."""
    task_definition = bg.register_task_definition(ecs, f"{env.name}-api", bg.image(tag), mount)
    vpc = ecs_vpc(elbv2, env)
    target_group = elbv2.create_target_group(
        Name=f"{env.name}-{uuid.uuid4().hex[:6]}", Protocol="TCP", Port=bg.PORT, VpcId=vpc, TargetType="ip",
    )["TargetGroups"][0]["TargetGroupArn"]
    task_set = ecs.create_task_set(
        cluster=env.cluster, service=env.service, taskDefinition=task_definition, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": env.subnets}},
        loadBalancers=[{"targetGroupArn": target_group, "containerName": bg.CONTAINER, "containerPort": bg.PORT}],
    )["taskSet"]["taskSetArn"]
    return task_set, target_group, stand_in_address(elbv2, target_group)


def ecs_vpc(elbv2, env) -> str:
    return elbv2.describe_target_groups(TargetGroupArns=[env.blue_target_group])["TargetGroups"][0]["VpcId"]


def stand_in_address(elbv2, target_group: str) -> str:
    targets = elbv2.describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]
    return f"{targets[0]['Target']['Id']}:{targets[0]['Target']['Port']}" if targets else ""


def upload(address: str, task_id: int, *files: tuple[str, bytes]) -> requests.Response:
    return requests.put(f"http://{address}/api/v1/tasks/{task_id}/attachments", proxies=NO_PROXY, timeout=10,
                        files=[("files", (name, data)) for name, data in files])


def download(address: str, task_id: int, attachment_id: int) -> requests.Response:
    return requests.get(f"http://{address}/api/v1/tasks/{task_id}/attachments/{attachment_id}", proxies=NO_PROXY,
                        timeout=10)


@pytest.fixture
def mounted(stack, efs, unique):
    """A provisioned backend whose task definitions mount an EFS access point at Vikunja's files path."""
    files, made = make_storage(efs, unique)
    env = bg.provision(stack, f"ef{unique}", bg.image("v1"), files=files, termination_minutes=0)
    return env, made


def test_stand_ins_that_mount_the_file_system_share_its_files(stack, mounted, ecs, elbv2):
    env, made = mounted
    blue = bg.listener_address(stack, env.dns_name, 80)
    payload = os.urandom(4096) + b"\r\n--not-a-boundary\r\n" + bytes(range(256))
    uploaded = upload(blue, 7, ("notes.pdf", payload), ("b.txt", b"second"))
    assert uploaded.status_code == 200, uploaded.text
    answer = uploaded.json()
    assert answer["errors"] is None  # Go marshals the empty slice as null, as Vikunja answers
    first, second = answer["success"]
    assert first["task_id"] == 7 and first["file"]["name"] == "notes.pdf" and first["file"]["size"] == len(payload)
    assert first["file"]["mime"] == "" and first["id"] != second["id"] and first["file"]["id"] != second["file"]["id"]

    # On the "file system": <state>/efs/<fs>/<access point root>/<file id>, Vikunja's files.basepath layout.
    on_disk = stack.state_dir / "efs" / made["file_system"] / "vikunja" / str(first["file"]["id"])
    assert on_disk.read_bytes() == payload

    # A scaled-out second task set of the same task definition mounts the same directory.
    _, _, other = add_task_set(ecs, elbv2, env, env.mount)
    assert other and other != blue
    fetched = download(other, 7, first["id"])
    assert fetched.status_code == 200 and fetched.content == payload
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.headers["Content-Length"] == str(len(payload))
    listed = requests.get(f"http://{other}/api/v1/tasks/7/attachments", proxies=NO_PROXY, timeout=10).json()
    assert sorted(a["id"] for a in listed) == sorted([first["id"], second["id"]])

    # Written through the second, read through the first.
    third = upload(other, 8, ("c.bin", b"\x00\xff" * 10)).json()["success"][0]
    assert download(blue, 8, third["id"]).content == b"\x00\xff" * 10
    assert third["file"]["id"] not in (first["file"]["id"], second["file"]["id"])


def test_a_stand_in_without_the_mount_does_not_see_them(stack, mounted, ecs, elbv2):
    env, _ = mounted
    blue = bg.listener_address(stack, env.dns_name, 80)
    attachment = upload(blue, 3, ("a.txt", b"on efs")).json()["success"][0]

    task_set, _, ephemeral = add_task_set(ecs, elbv2, env, None, tag="v1")
    missing = download(ephemeral, 3, attachment["id"])
    assert missing.status_code == 404
    assert missing.json() == {"code": 4011, "message": "This task attachment does not exist."}
    own = upload(ephemeral, 3, ("own.txt", b"ephemeral")).json()["success"][0]
    assert download(ephemeral, 3, own["id"]).content == b"ephemeral"
    scratch = [p for p in (stack.state_dir / "ephemeral").rglob(str(own["file"]["id"])) if p.read_bytes() == b"ephemeral"]
    assert len(scratch) == 1
    assert download(blue, 3, attachment["id"]).content == b"on efs"  # the EFS file is untouched

    # Fargate's ephemeral storage goes with the task.
    ecs.delete_task_set(cluster=env.cluster, service=env.service, taskSet=task_set)
    wait_for(lambda: not scratch[0].exists(), timeout=10, what="the ephemeral storage to go")


def test_files_survive_a_blue_green_release(stack, mounted, ecs):
    env, _ = mounted
    codedeploy = stack.client("codedeploy")
    production = bg.listener_address(stack, env.dns_name, 80)
    before = upload(production, 42, ("before-release.txt", b"uploaded through blue")).json()["success"][0]

    task_definition = bg.register_task_definition(ecs, f"{env.name}-api", bg.image("v2"), env.mount)
    deployment = codedeploy.create_deployment(applicationName=env.application, deploymentGroupName=env.group,
                                              revision=bg.appspec(task_definition))["deploymentId"]
    info = bg.wait_for_deployment(codedeploy, deployment)
    assert info["status"] == "Succeeded", info
    wait_for(lambda: len(ecs.describe_services(cluster=env.cluster, services=[env.service])["services"][0]["taskSets"]) == 1,
             timeout=15, what="blue's task set to go")

    assert bg.served_version(production) == "v2"  # green, a new stand-in; blue's is stopped
    after = download(production, 42, before["id"])
    assert after.status_code == 200 and after.content == b"uploaded through blue"


def test_files_survive_a_stand_in_being_replaced(stack, mounted, ecs, elbv2):
    env, made = mounted
    task_set, _, first = add_task_set(ecs, elbv2, env, env.mount)
    attachment = upload(first, 5, ("kept.txt", b"kept")).json()["success"][0]
    ecs.delete_task_set(cluster=env.cluster, service=env.service, taskSet=task_set)
    _, _, replacement = add_task_set(ecs, elbv2, env, env.mount)
    assert replacement != first
    assert download(replacement, 5, attachment["id"]).content == b"kept"


def test_a_mount_that_would_fail_on_aws_gets_no_stand_in(stack, mounted, efs, ecs, elbv2, unique):
    env, made = mounted
    other_file_system = efs.create_file_system(CreationToken=f"other-{unique}")["FileSystemId"]
    no_creation_info = efs.create_access_point(FileSystemId=made["file_system"],
                                               RootDirectory={"Path": "/never-created"})["AccessPointId"]
    failing = {
        "the access point is on another file system": efs_mount(other_file_system, made["access_point"]),
        "transit encryption is off with an access point": efs_mount(made["file_system"], made["access_point"],
                                                                    transit="DISABLED", iam="DISABLED"),
        "the file system has no mount target": efs_mount(other_file_system, None),
        "the root directory does not exist and cannot be created": efs_mount(made["file_system"], no_creation_info),
        "the file system does not exist": efs_mount("fs-0123456789abcdef0", None),
    }
    for why, mount in failing.items():
        _, target_group, address = add_task_set(ecs, elbv2, env, mount)
        assert address == "", f"a stand-in started although {why}"
    log = (stack.state_dir / "logs" / "stack.log").read_text()
    assert "belongs to file system" in log and "needs transitEncryption ENABLED" in log
    assert "has no mount target" in log and "has no CreationInfo" in log and "does not exist" in log

    # The subnets' zones need a mount target each: a task could be placed in either.
    lonely = efs.create_file_system(CreationToken=f"lonely-{unique}")["FileSystemId"]
    efs.create_mount_target(FileSystemId=lonely, SubnetId=made["subnets"][0])
    _, target_group, address = add_task_set(ecs, elbv2, env, efs_mount(lonely, None, iam="DISABLED"))
    assert address == ""
    assert "no mount target in us-east-1b" in (stack.state_dir / "logs" / "stack.log").read_text()
    efs.create_mount_target(FileSystemId=lonely, SubnetId=made["subnets"][1])
    wait_for(lambda: stand_in_address(elbv2, target_group), timeout=10, what="the task set to start once it can mount")


def test_the_files_path_follows_vikunja_files_basepath_and_parent_mounts(stack, mounted, ecs, elbv2):
    env, made = mounted
    parent = efs_mount(made["file_system"], made["access_point"], container_path="/app/vikunja")
    _, _, address = add_task_set(ecs, elbv2, env, parent)
    attachment = upload(address, 1, ("p.txt", b"parent mount")).json()["success"][0]
    on_disk = stack.state_dir / "efs" / made["file_system"] / "vikunja" / "files" / str(attachment["file"]["id"])
    assert on_disk.read_bytes() == b"parent mount"


def test_deleting_the_file_system_deletes_its_files(stack, efs, ec2, ecs, elbv2, unique):
    files, made = make_storage(efs, unique)
    env = bg.provision(stack, f"ed{unique}", bg.image("v1"), files=files)
    upload(bg.listener_address(stack, env.dns_name, 80), 1, ("x.txt", b"x"))
    directory = stack.state_dir / "efs" / made["file_system"]
    assert directory.is_dir()
    ecs.delete_service(cluster=env.cluster, service=env.service, force=True)
    for mount_target in efs.describe_mount_targets(FileSystemId=made["file_system"])["MountTargets"]:
        efs.delete_mount_target(MountTargetId=mount_target["MountTargetId"])
    efs.delete_file_system(FileSystemId=made["file_system"])
    wait_for(lambda: not directory.exists(), timeout=10, what="the file system's data to go")


def test_the_attachment_api_answers_like_vikunja_and_health_and_info_are_unchanged(stack, mounted):
    env, _ = mounted
    address = bg.listener_address(stack, env.dns_name, 80)
    assert bg.fetch(address, "/health") == (200, "OK")
    info = requests.get(f"http://{address}/api/v1/info", proxies=NO_PROXY, timeout=5).json()
    assert info["version"] == "v1" and info["task_attachments_enabled"] is True

    attachment = upload(address, 11, ("a.txt", b"eleven")).json()["success"][0]
    assert set(attachment) == {"id", "task_id", "created_by", "file", "created"}
    assert set(attachment["file"]) == {"id", "name", "mime", "size", "created"}
    assert attachment["created"].endswith("Z")
    wrong_task = download(address, 12, attachment["id"])  # Vikunja checks the attachment's task
    assert wrong_task.status_code == 404 and wrong_task.json()["code"] == 4011
    assert download(address, 11, 999999).status_code == 404
    not_multipart = requests.put(f"http://{address}/api/v1/tasks/11/attachments", data=b"{}", proxies=NO_PROXY,
                                 headers={"Content-Type": "application/json"}, timeout=5)
    assert not_multipart.status_code == 400 and not_multipart.json() == {"message": "No multipart form provided"}
    nothing = requests.put(f"http://{address}/api/v1/tasks/11/attachments", files={"other": ("x", b"x")},
                           proxies=NO_PROXY, timeout=5)
    assert nothing.json() == {"errors": None, "success": None}
    assert requests.get(f"http://{address}/api/v1/tasks/abc/attachments/1", proxies=NO_PROXY, timeout=5).status_code == 400
    head = requests.head(f"http://{address}/api/v1/tasks/11/attachments/{attachment['id']}", proxies=NO_PROXY, timeout=5)
    assert head.status_code == 200 and head.headers["Content-Length"] == "6" and head.content == b""
    assert requests.get(f"http://{address}/nope", proxies=NO_PROXY, timeout=5).status_code == 404
    assert requests.put(f"http://{address}/nope", data=b"x", proxies=NO_PROXY, timeout=5).status_code == 404
