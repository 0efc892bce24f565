"""EFS: what the backend tier's file storage needs from moto's Elastic File System, answered as
the EFS API reference says (error codes, HTTP statuses, the members of each shape).

The data plane (vikunja_local/dataplane/storage.py) reads the same backend to give stand-ins
whose task definition mounts a file system a directory that stands for it."""

from __future__ import annotations

import json
from typing import Any

from .registry import Finding, adds, probe, replaces, uses


def _efs_error(code: str, status: int, message: str, **members: Any):
    """An EFS error as AWS sends it: `x-amzn-errortype` (moto's JSON REST errors set it), and a
    body with the error shape's members (`ErrorCode`, `Message`, and e.g. `FileSystemId`), plus
    the lower-case `message` generic clients look for."""
    from moto.efs.exceptions import EFSError

    class Error(EFSError):
        def __init__(self) -> None:
            super().__init__(code, message)
            self.description = json.dumps(
                {"__type": code, "ErrorCode": code, "Message": message, "message": message, **members})

    Error.code = status
    return Error()


def _file_system(backend: Any, file_system_id: str) -> Any:
    from moto.efs.exceptions import FileSystemNotFound

    file_system = backend.file_systems_by_id.get(file_system_id)
    if file_system is None:
        raise FileSystemNotFound(file_system_id)
    return file_system


@replaces(
    "moto.efs.models.EFSBackend.create_file_system",
    "(self, creation_token, performance_mode, encrypted, kms_key_id, throughput_mode, "
    "provisioned_throughput_in_mibps, availability_zone_name, backup, tags)",
)
def efs_file_system_already_exists_names_the_file_system() -> None:
    """`CreateFileSystem` is idempotent by `CreationToken`: AWS answers a second call with
    the same token `FileSystemAlreadyExists` (409) *with the ID of the existing file system*
    (the error's `FileSystemId` member), so a retried create (the SDKs fill the token in and
    keep it across retries) learns which file system its first attempt made. moto's error
    carried no ID. Now it does."""
    from moto.efs.models import EFSBackend

    moto_create_file_system = EFSBackend.create_file_system

    def create_file_system(self, creation_token, *args, **kwargs):
        if creation_token and creation_token in self.creation_tokens:
            existing = next((fs for fs in list(self.file_systems_by_id.values())
                             if fs.creation_token == creation_token), None)
            if existing is not None:
                raise _efs_error("FileSystemAlreadyExists", 409,
                                 f"File system with {creation_token} already exists.",
                                 FileSystemId=existing.file_system_id)
        return moto_create_file_system(self, creation_token, *args, **kwargs)

    EFSBackend.create_file_system = create_file_system


@replaces("moto.efs.models.FileSystem.info_json", "(self)")
@replaces("moto.efs.models.AccessPoint.info_json", "(self)")
@replaces("moto.efs.models.MountTarget.info_json", "(self)")
def efs_descriptions_leave_out_what_aws_leaves_out() -> None:
    """moto's file system, access point and mount target descriptions listed every
    attribute: `null` for what is not set (`KmsKeyId`, `AvailabilityZoneName`,
    `ProvisionedThroughputInMibps`, an access point's `Name` and `PosixUser`), `"Name": ""`
    for a file system without a `Name` tag, and members no EFS shape has
    (`LifecyclePolicies`, `FileSystemPolicy`, a mount target's `SecurityGroups`). AWS leaves
    out what is not set and answers the shape's members only; so do these now."""
    from moto.efs.models import AccessPoint, FileSystem, MountTarget

    def cleaned(moto_info_json, not_in_the_shape: tuple[str, ...]):
        def info_json(self) -> dict:
            described = moto_info_json(self)
            for member in not_in_the_shape:
                described.pop(member, None)
            if described.get("Name") == "":
                described.pop("Name")
            return {member: value for member, value in described.items() if value is not None}

        return info_json

    FileSystem.info_json = cleaned(FileSystem.info_json, ("LifecyclePolicies", "FileSystemPolicy"))
    AccessPoint.info_json = cleaned(AccessPoint.info_json, ())
    MountTarget.info_json = cleaned(MountTarget.info_json, ("SecurityGroups",))


@adds("moto.efs.models.EFSBackend.put_backup_policy")
@adds("moto.efs.responses.EFSResponse.put_backup_policy")
@replaces("moto.efs.models.EFSBackend.describe_backup_policy", "(self, file_system_id)")
def efs_backup_policies_can_be_put_and_described() -> None:
    """moto had no `PutBackupPolicy` (HTTP 500), and `DescribeBackupPolicy` answered
    `PolicyNotFound` for a Regional file system created without `Backup` and a 500 for a
    file system that does not exist. Now `PutBackupPolicy` takes `ENABLED`/`DISABLED`
    (other values: `BadRequest`) and answers the policy; `DescribeBackupPolicy` answers
    `DISABLED` until backups are turned on (the API reference keeps `PolicyNotFound` for One
    Zone file systems without backups, which moto always backs up); both answer
    `FileSystemNotFound` (404) for a missing file system. The status is final at once (AWS
    passes through `ENABLING`/`DISABLING`)."""
    from moto.efs.models import EFSBackend
    from moto.efs.responses import EFSResponse

    def describe_backup_policy(self, file_system_id):
        file_system = _file_system(self, file_system_id)
        return {"Status": "ENABLED" if file_system._backup else "DISABLED"}

    def put_backup_policy(self, file_system_id, backup_policy):
        file_system = _file_system(self, file_system_id)
        status = (backup_policy or {}).get("Status")
        if status not in ("ENABLED", "DISABLED"):
            raise _efs_error("BadRequest", 400, f"Invalid backup policy status: {status}. "
                                                "Valid values are ENABLED and DISABLED.")
        file_system._backup = status == "ENABLED"
        return describe_backup_policy(self, file_system_id)

    def put_backup_policy_response(self):
        policy = self.efs_backend.put_backup_policy(self._get_param("FileSystemId"), self._get_param("BackupPolicy"))
        return json.dumps({"BackupPolicy": policy}), {"Content-Type": "application/json"}

    EFSBackend.describe_backup_policy = describe_backup_policy
    EFSBackend.put_backup_policy = put_backup_policy
    EFSResponse.put_backup_policy = put_backup_policy_response


@replaces("moto.efs.models.EFSBackend.describe_file_system_policy", "(self, file_system_id)")
@replaces(
    "moto.efs.models.EFSBackend.put_file_system_policy",
    "(self, file_system_id, policy, bypass_policy_lockout_safety_check)",
)
@adds("moto.efs.models.EFSBackend.delete_file_system_policy")
@adds("moto.efs.responses.EFSResponse.delete_file_system_policy")
def efs_file_system_policies_like_aws() -> None:
    """For a file system that does not exist, moto's `DescribeFileSystemPolicy` and
    `PutFileSystemPolicy` failed with HTTP 500 (AWS: `FileSystemNotFound`, 404); a policy
    that is not a JSON policy document was stored (AWS: `InvalidPolicyException`, 400);
    `DeleteFileSystemPolicy` did not exist (500). Now all three answer as AWS documents;
    `DescribeFileSystemPolicy` without a policy stays `PolicyNotFound` (404). The policy is
    stored, not evaluated: it grants or denies no mount here."""
    from moto.efs.exceptions import PolicyNotFound
    from moto.efs.models import EFSBackend
    from moto.efs.responses import EFSResponse

    def describe_file_system_policy(self, file_system_id):
        policy = _file_system(self, file_system_id).file_system_policy
        if not policy:
            raise PolicyNotFound("None")
        return policy

    def put_file_system_policy(self, file_system_id, policy, bypass_policy_lockout_safety_check):
        file_system = _file_system(self, file_system_id)
        try:
            document = json.loads(policy or "")
        except ValueError:
            document = None
        if not isinstance(document, dict) or not document.get("Statement"):
            raise _efs_error("InvalidPolicyException", 400, "Policy is not a valid JSON policy document "
                                                            "with at least one statement.")
        file_system.file_system_policy = policy

    def delete_file_system_policy(self, file_system_id):
        _file_system(self, file_system_id).file_system_policy = None

    def delete_file_system_policy_response(self):
        self.efs_backend.delete_file_system_policy(self._get_param("FileSystemId"))
        return "", {"status": 200}

    EFSBackend.describe_file_system_policy = describe_file_system_policy
    EFSBackend.put_file_system_policy = put_file_system_policy
    EFSBackend.delete_file_system_policy = delete_file_system_policy
    EFSResponse.delete_file_system_policy = delete_file_system_policy_response


@replaces("moto.efs.models.EFSBackend.create_mount_target", "(self, file_system_id, subnet_id, ip_address, security_groups)")
@replaces("moto.efs.models.EFSBackend.modify_mount_target_security_groups", "(self, mount_target_id, security_groups)")
@replaces("moto.efs.responses.EFSResponse.modify_mount_target_security_groups", "(self)")
@replaces("moto.efs.exceptions.SubnetNotFound.code", None)
@replaces("moto.efs.exceptions.SecurityGroupNotFound.code", None)
@uses("moto.ec2.models.EC2Backend.get_security_group_from_id", "(self, group_id)")
@uses("moto.ec2.models.EC2Backend.get_default_security_group", "(self, vpc_id)")
def efs_mount_target_security_groups_like_aws() -> None:
    """A mount target created without `SecurityGroups` had none (`DescribeMountTargetSecurityGroups`
    answered no list); AWS gives it the default security group of the subnet's VPC. Security
    groups of another VPC were accepted; AWS answers `SecurityGroupNotFound` ("doesn't exist in
    the subnet's VPC"). `ModifyMountTargetSecurityGroups` took any IDs and any number (AWS:
    `SecurityGroupNotFound`, `SecurityGroupLimitExceeded` above five) and answered 200 with a
    body (AWS: 204). `SubnetNotFound` and `SecurityGroupNotFound` were 404 (AWS: 400). Now as
    on AWS. A limit of five checked before moto registers the mount target (moto checked it
    after, leaving the file system with a mount target that does not exist)."""
    from moto.efs import exceptions
    from moto.efs.exceptions import (
        MountTargetNotFound, SecurityGroupLimitExceeded, SecurityGroupNotFound, SubnetNotFound,
    )
    from moto.efs.models import EFSBackend
    from moto.efs.responses import EFSResponse
    from moto.ec2.exceptions import InvalidSubnetIdError

    moto_create_mount_target = EFSBackend.create_mount_target
    moto_modify = EFSBackend.modify_mount_target_security_groups

    def checked(self, vpc_id: str, security_groups: list[str]) -> list[str]:
        if len(security_groups) > 5:
            raise SecurityGroupLimitExceeded("The maximum number of security groups per interface has been reached.")
        for group_id in security_groups:
            group = self.ec2_backend.get_security_group_from_id(group_id)
            if group is None or group.vpc_id != vpc_id:
                raise SecurityGroupNotFound(group_id)
        return list(security_groups)

    def create_mount_target(self, file_system_id, subnet_id, ip_address=None, security_groups=None):
        try:
            subnet = self.ec2_backend.get_subnet(subnet_id)
        except InvalidSubnetIdError:
            raise SubnetNotFound(subnet_id)
        _file_system(self, file_system_id)
        if not security_groups:
            default = self.ec2_backend.get_default_security_group(subnet.vpc_id)
            security_groups = [default.id] if default is not None else []
        security_groups = checked(self, subnet.vpc_id, security_groups)
        return moto_create_mount_target(self, file_system_id, subnet_id, ip_address, security_groups)

    def modify_mount_target_security_groups(self, mount_target_id, security_groups):
        mount_target = self.mount_targets_by_id.get(mount_target_id)
        if mount_target is None:
            raise MountTargetNotFound(mount_target_id)
        moto_modify(self, mount_target_id, checked(self, mount_target.vpc_id, security_groups or []))

    def modify_response(self):
        self.efs_backend.modify_mount_target_security_groups(
            self._get_param("MountTargetId"), self._get_param("SecurityGroups"))
        return "", {"status": 204}

    EFSBackend.create_mount_target = create_mount_target
    EFSBackend.modify_mount_target_security_groups = modify_mount_target_security_groups
    EFSResponse.modify_mount_target_security_groups = modify_response
    exceptions.SubnetNotFound.code = 400
    exceptions.SecurityGroupNotFound.code = 400


@replaces("moto.efs.models.EFSBackend.create_access_point",
          "(self, client_token, tags, file_system_id, posix_user, root_directory)")
@replaces("moto.efs.responses.EFSResponse.create_access_point", "(self)")
@replaces("moto.efs.models.EFSBackend.describe_access_points", "(self, access_point_id, file_system_id)")
@replaces("moto.efs.models.EFSBackend.delete_access_point", "(self, access_point_id)")
@replaces("moto.efs.responses.EFSResponse.delete_access_point", "(self)")
@replaces("moto.efs.models.EFSBackend.describe_mount_targets",
          "(self, max_items, file_system_id, mount_target_id, access_point_id, marker)")
def efs_access_points_like_aws() -> None:
    """moto made access points for file systems that do not exist (AWS: `FileSystemNotFound`,
    404), made a second one for a `ClientToken` already used (AWS, which uses the token for
    idempotent creation: `AccessPointAlreadyExists`, 409, with the existing `AccessPointId` —
    what a retried create meets; the SDKs fill the token in), listed nothing instead of
    `FileSystemNotFound` for `DescribeAccessPoints` of a missing file system, deleted a missing
    access point without complaint (AWS: `AccessPointNotFound`, 404) and answered its deletes
    200 with a body (AWS: 204); `DescribeMountTargets` by a missing `AccessPointId` was a 500.
    Now as on AWS. The token is checked on API calls only: moto's CloudFormation passes the
    logical ID as the token."""
    from moto.efs.exceptions import AccessPointNotFound
    from moto.efs.models import EFSBackend
    from moto.efs.responses import EFSResponse

    moto_create = EFSBackend.create_access_point
    moto_create_response = EFSResponse.create_access_point
    moto_describe = EFSBackend.describe_access_points
    moto_describe_mount_targets = EFSBackend.describe_mount_targets

    def create_access_point(self, client_token, tags, file_system_id, posix_user, root_directory):
        _file_system(self, file_system_id)
        return moto_create(self, client_token, tags, file_system_id, posix_user, root_directory)

    def create_response(self):
        token = self._get_param("ClientToken")
        existing = next((ap for ap in list(self.efs_backend.access_points.values()) if token and ap.client_token == token),
                        None)
        if existing is not None:
            raise _efs_error("AccessPointAlreadyExists", 409,
                             f"Access point with client token {token} already exists.",
                             AccessPointId=existing.access_point_id)
        return moto_create_response(self)

    def describe_access_points(self, access_point_id, file_system_id):
        if file_system_id and not access_point_id:
            _file_system(self, file_system_id)
        return moto_describe(self, access_point_id, file_system_id)

    def delete_access_point(self, access_point_id):
        if access_point_id not in self.access_points:
            raise AccessPointNotFound(access_point_id)
        self.access_points.pop(access_point_id)
        self.tagging_service.delete_all_tags_for_resource(access_point_id)

    def delete_response(self):
        self.efs_backend.delete_access_point(self._get_param("AccessPointId"))
        return "", {"status": 204}

    def describe_mount_targets(self, max_items, file_system_id, mount_target_id, access_point_id, marker):
        if access_point_id and access_point_id not in self.access_points:
            raise AccessPointNotFound(access_point_id)
        return moto_describe_mount_targets(self, max_items, file_system_id, mount_target_id, access_point_id, marker)

    EFSBackend.create_access_point = create_access_point
    EFSResponse.create_access_point = create_response
    EFSBackend.describe_access_points = describe_access_points
    EFSBackend.delete_access_point = delete_access_point
    EFSResponse.delete_access_point = delete_response
    EFSBackend.describe_mount_targets = describe_mount_targets


@replaces("moto.efs.models.EFSBackend.delete_file_system", "(self, file_system_id)")
@uses("moto.utilities.tagging_service.TaggingService.delete_all_tags_for_resource", "(self, arn)")
def deleting_an_efs_file_system_deletes_its_access_points() -> None:
    """Deleting a file system (once its mount targets are gone: `FileSystemInUse`, 409, until
    then, as moto already answers) left its access points listed, pointing at a file system
    that no longer exists, and its tags kept. The API reference names mount targets as the
    only thing that keeps a file system in use; its access points now go with it."""
    from moto.efs.models import EFSBackend

    moto_delete = EFSBackend.delete_file_system

    def delete_file_system(self, file_system_id):
        moto_delete(self, file_system_id)  # FileSystemNotFound / FileSystemInUse come from here
        for access_point_id, access_point in list(self.access_points.items()):
            if access_point.file_system_id == file_system_id:
                self.access_points.pop(access_point_id, None)
                self.tagging_service.delete_all_tags_for_resource(access_point_id)
        self.tagging_service.delete_all_tags_for_resource(file_system_id)

    EFSBackend.delete_file_system = delete_file_system


# -- probes (see probing.py): moto without the patches, under mock_aws --------------------------


def _probe_network() -> tuple[Any, str, str, str]:
    """(efs client, file system ID, subnet ID, VPC ID)"""
    from .probing import client

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    efs = client("efs")
    file_system = efs.create_file_system(CreationToken="probe")["FileSystemId"]
    return efs, file_system, subnet, vpc


def _code(call) -> str | None:
    """The error code a call answers, None if it succeeds. Under `mock_aws` moto's own
    failures (an HTTP 500 through the server) surface as Python exceptions: their type."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    except Exception as error:  # noqa: BLE001 - what moto raised is the finding
        return f"{type(error).__name__} (HTTP 500)"
    return None


@probe(efs_file_system_already_exists_names_the_file_system)
def _probe_file_system_already_exists() -> Finding:
    from botocore.exceptions import ClientError

    efs, file_system, _, _ = _probe_network()
    try:
        efs.create_file_system(CreationToken="probe")
    except ClientError as error:
        named = error.response.get("FileSystemId")
        return Finding(named != file_system, f"a reused token answers {error.response['Error']['Code']} "
                                             f"naming {named or 'no file system'}")
    return Finding(True, "a reused token made a second file system")


@probe(efs_descriptions_leave_out_what_aws_leaves_out)
def _probe_descriptions() -> Finding:
    efs, file_system, _, _ = _probe_network()
    raw: dict = {}  # the answer as sent: boto3 drops nulls
    efs.meta.events.register("after-call.efs.DescribeFileSystems",
                             lambda http_response, **_: raw.update(json.loads(http_response.content)))
    efs.describe_file_systems(FileSystemId=file_system)
    described = raw["FileSystems"][0]
    extra = sorted(k for k, v in described.items() if v is None or v == "" or k in ("LifecyclePolicies", "FileSystemPolicy"))
    return Finding(bool(extra), f"a file system's description has {', '.join(extra) or 'only set members'}")


@probe(efs_backup_policies_can_be_put_and_described)
def _probe_backup_policy() -> Finding:
    efs, file_system, _, _ = _probe_network()
    code = _code(lambda: efs.put_backup_policy(FileSystemId=file_system, BackupPolicy={"Status": "ENABLED"}))
    if code is not None:
        return Finding(True, f"PutBackupPolicy answers {code}")
    status = efs.describe_backup_policy(FileSystemId=file_system)["BackupPolicy"]["Status"]
    return Finding(status != "ENABLED", f"after PutBackupPolicy ENABLED the policy is {status}")


@probe(efs_file_system_policies_like_aws)
def _probe_file_system_policy() -> Finding:
    efs, _, _, _ = _probe_network()
    code = _code(lambda: efs.describe_file_system_policy(FileSystemId="fs-0123456789abcdef0"))
    return Finding(code != "FileSystemNotFound", f"the policy of a missing file system answers {code}")


@probe(efs_mount_target_security_groups_like_aws)
def _probe_mount_target_security_groups() -> Finding:
    efs, file_system, subnet, _ = _probe_network()
    mount_target = efs.create_mount_target(FileSystemId=file_system, SubnetId=subnet)["MountTargetId"]
    groups = efs.describe_mount_target_security_groups(MountTargetId=mount_target).get("SecurityGroups")
    return Finding(not groups, f"a mount target made without security groups has {groups or 'none'}")


@probe(efs_access_points_like_aws)
def _probe_access_points() -> Finding:
    efs, file_system, _, _ = _probe_network()
    efs.create_access_point(FileSystemId=file_system, ClientToken="probe-token")
    code = _code(lambda: efs.create_access_point(FileSystemId=file_system, ClientToken="probe-token"))
    return Finding(code != "AccessPointAlreadyExists", f"a reused client token answers {code or 'a second access point'}")


@probe(deleting_an_efs_file_system_deletes_its_access_points)
def _probe_delete_file_system() -> Finding:
    efs, file_system, _, _ = _probe_network()
    efs.create_access_point(FileSystemId=file_system, ClientToken="probe-token")
    efs.delete_file_system(FileSystemId=file_system)
    left = efs.describe_access_points()["AccessPoints"]
    return Finding(bool(left), f"{len(left)} access point(s) left after their file system was deleted")
