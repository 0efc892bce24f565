"""IAM enforcement of the Lambda functions' and IAM users' calls: the policy evaluation,
what a call asks of IAM, and end to end — a function's (or a user's) allowed call passes, a
call outside its policies is answered AccessDenied in the caller's protocol, and is logged."""

from __future__ import annotations

import io
import json
import os
import sys
from urllib.parse import unquote, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, LOCAL_DIR, REGION, LocalStack, free_port
from lambda_code import function_zip

if str(LOCAL_DIR) not in sys.path:
    sys.path.insert(0, str(LOCAL_DIR))

from vikunja_local.faults import classify  # noqa: E402
from vikunja_local.iam_enforce import (  # noqa: E402
    Caller, Decision, Policy, RolePolicies, Statement, UserCaller, evaluate, first_denial, judge,
    mode_from_environment, wildcard_match,
)
from vikunja_local.iam_requests import Permission, Scope, required_permissions  # noqa: E402
from vikunja_local.lambda_host.worker import function_secret_key  # noqa: E402
from vikunja_local.router import CallView  # noqa: E402


def policy(*statements: dict, name: str = "test-policy") -> Policy:
    return Policy.parse(name, {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# -- the evaluation -----------------------------------------------------------------------------


def test_an_allowed_action_is_allowed():
    assert evaluate([policy(allow("ec2:DescribeVpcs"))], "ec2:DescribeVpcs").decision is Decision.ALLOWED


def test_a_missing_action_is_implicitly_denied_with_awss_reason():
    verdict = evaluate([policy(allow("ec2:DescribeVpcs"))], "ec2:CreateVpc")
    assert verdict.decision is Decision.IMPLICIT_DENY
    assert verdict.reason == "because no identity-based policy allows the ec2:CreateVpc action"
    assert evaluate([], "s3:GetObject").decision is Decision.IMPLICIT_DENY  # no policies at all


def test_an_explicit_deny_wins_over_any_allow():
    policies = [policy(allow("ec2:*")), policy(deny("ec2:DeleteVpc"), name="guard")]
    denied = evaluate(policies, "ec2:DeleteVpc")
    assert denied.decision is Decision.EXPLICIT_DENY
    assert denied.reason == "with an explicit deny in an identity-based policy: guard"
    assert evaluate(policies, "ec2:DescribeVpcs").decision is Decision.ALLOWED


def test_wildcard_actions_and_case_insensitive_action_names():
    policies = [policy(allow(["ec2:Describe*", "s3:Get?bject"]))]
    assert evaluate(policies, "ec2:DescribeSubnets").allowed
    assert evaluate(policies, "EC2:describesubnets").allowed  # IAM action names ignore case
    assert evaluate(policies, "s3:GetObject").allowed
    assert not evaluate(policies, "ec2:CreateSubnet").allowed
    assert not evaluate(policies, "s3:GetObjectTagging").allowed  # `?` is one character
    assert evaluate([policy(allow("*"))], "rds:CreateDBInstance").allowed


def test_not_action_covers_everything_else():
    policies = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
    assert evaluate(policies, "s3:PutObject").allowed
    assert not evaluate(policies, "iam:PassRole").allowed


def test_resources_match_with_wildcards_and_case_but_no_regex():
    policies = [policy(allow("s3:GetObject", ["arn:aws:s3:::my.bucket/releases/*"]))]
    assert evaluate(policies, "s3:GetObject", "arn:aws:s3:::my.bucket/releases/1.zip").allowed
    assert not evaluate(policies, "s3:GetObject", "arn:aws:s3:::my.bucket/other/1.zip").allowed
    assert not evaluate(policies, "s3:GetObject", "arn:aws:s3:::myxbucket/releases/1.zip").allowed  # `.` is a dot
    assert not evaluate(policies, "s3:GetObject", "arn:aws:s3:::MY.BUCKET/releases/1.zip").allowed  # ARNs keep case
    assert wildcard_match("arn:aws:secretsmanager:*:*:secret:rds!*", "arn:aws:secretsmanager:r:1:secret:rds!db-1")


def test_an_unknown_resource_leans_towards_the_caller():
    scoped_allow = [policy(allow("ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/vikunja/*"))]
    assert evaluate(scoped_allow, "ssm:GetParameter", None).allowed  # may apply: counts
    assert evaluate(scoped_allow, "ssm:GetParameter", None).uncertain
    scoped_deny = [policy(allow("ssm:*"), deny("ssm:DeleteParameter", "arn:aws:ssm:us-east-1:1:parameter/keep/*"))]
    assert evaluate(scoped_deny, "ssm:DeleteParameter", None).allowed  # may not apply: does not deny
    assert evaluate(scoped_deny, "ssm:DeleteParameter", "arn:aws:ssm:us-east-1:1:parameter/keep/x").decision \
        is Decision.EXPLICIT_DENY
    everywhere = [policy(allow("ssm:*"), deny("ssm:DeleteParameter"))]
    assert evaluate(everywhere, "ssm:DeleteParameter", None).decision is Decision.EXPLICIT_DENY  # `*` is known


def test_conditions_are_not_evaluated_and_lean_towards_the_caller():
    condition = {"StringEquals": {"aws:RequestTag/vikunja:stack": "other"}}
    conditional = evaluate([policy(allow("ec2:CreateVpc", Condition=condition))], "ec2:CreateVpc")
    assert conditional.allowed and conditional.uncertain  # AWS may still say no: reported as such
    assert not evaluate([policy(allow("ec2:CreateVpc"))], "ec2:CreateVpc").uncertain
    guarded = [policy(allow("ec2:*"), deny("ec2:DeleteVpc", Condition=condition))]
    assert evaluate(guarded, "ec2:DeleteVpc").allowed


def test_not_resource_and_policy_variables():
    policies = [policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::private/*"})]
    assert evaluate(policies, "s3:GetObject", "arn:aws:s3:::public/a").allowed
    assert not evaluate(policies, "s3:GetObject", "arn:aws:s3:::private/a").allowed
    variable = [policy(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))]
    assert evaluate(variable, "s3:GetObject", "arn:aws:s3:::home/someone/a").allowed  # cannot be told: counts


def test_policies_parse_from_strings_and_single_statements():
    from_string = Policy.parse("inline", json.dumps({"Statement": allow("logs:PutLogEvents")}))
    assert from_string.statements == (Statement("Allow", actions=("logs:PutLogEvents",), resources=("*",)),)
    assert Policy.parse("broken", "{not json").statements == ()


def test_a_permissions_boundary_must_allow_too():
    role = RolePolicies((policy(allow("s3:*")),), boundary=policy(allow("s3:Get*"), name="boundary"))
    assert role.evaluate("s3:GetObject", None).allowed
    bounded = role.evaluate("s3:PutObject", None)
    assert bounded.decision is Decision.IMPLICIT_DENY
    assert bounded.reason == "because no permissions boundary allows the s3:PutObject action"


def test_every_resource_of_every_permission_must_be_allowed():
    role = RolePolicies((policy(allow("s3:DeleteObject", "arn:aws:s3:::site/*")),))
    needed = [Permission("s3:DeleteObject", ("arn:aws:s3:::site/a", "arn:aws:s3:::uploads/b"))]
    denial = first_denial(role, needed)
    assert denial is not None and denial.resource == "arn:aws:s3:::uploads/b"
    assert first_denial(role, [Permission("s3:DeleteObject", ("arn:aws:s3:::site/a",))]) is None
    unknown = judge(role, [Permission("s3:DeleteObject")])  # resource not read: allowed, but not surely
    assert unknown.denial is None and unknown.uncertain == ("s3:DeleteObject",)


def test_the_principal_is_the_functions_assumed_role_session():
    caller = Caller("vikunja-network", ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:role/path/NetworkRole-1")
    assert caller.principal_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/NetworkRole-1/vikunja-network"


def test_the_mode_from_the_environment():
    assert mode_from_environment(None) == "off"
    assert mode_from_environment(" Enforce ") == "enforce"
    assert mode_from_environment("audit") == "audit"
    with pytest.raises(ValueError, match="VIKUNJA_LOCAL_IAM"):
        mode_from_environment("strict")


# -- what a call asks of IAM (real botocore requests, never sent) -----------------------------------


class _Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def wire_call(service: str, operation: str, **params) -> CallView:
    """The request botocore would send for this call, as the router's WSGI environ."""
    client = boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:4566",
                          aws_access_key_id="ASIAUNITTEST", aws_secret_access_key="secret", aws_session_token="token",
                          config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))

    def capture(request, **kwargs):
        raise _Captured(request)

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Captured) as captured:
        getattr(client, operation)(**params)
    request = captured.value.request
    url = urlsplit(request.url)
    body = request.body or b""
    body = body.encode() if isinstance(body, str) else (body if isinstance(body, bytes) else body.read())
    environ = {"REQUEST_METHOD": request.method, "PATH_INFO": unquote(url.path), "QUERY_STRING": url.query,
               "HTTP_HOST": url.netloc, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    for name, value in request.headers.items():
        value = value.decode() if isinstance(value, bytes) else value
        key = name.upper().replace("-", "_")
        environ["CONTENT_TYPE" if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    return CallView(environ)


SCOPE = Scope(ACCOUNT, REGION)


def permissions_of(service: str, operation: str, **params) -> list[Permission]:
    call = wire_call(service, operation, **params)
    api_call = classify(call)
    assert api_call is not None
    return required_permissions(api_call, call, SCOPE)


def test_s3_operations_name_their_iam_actions_and_resources():
    assert permissions_of("s3", "list_objects_v2", Bucket="site") == [
        Permission("s3:ListBucket", ("arn:aws:s3:::site",))]
    assert permissions_of("s3", "get_object", Bucket="site", Key="assets/a b.js") == [
        Permission("s3:GetObject", ("arn:aws:s3:::site/assets/a b.js",))]
    assert permissions_of("s3", "delete_object", Bucket="site", Key="k", VersionId="v1") == [
        Permission("s3:DeleteObjectVersion", ("arn:aws:s3:::site/k",))]
    assert permissions_of("s3", "put_bucket_encryption", Bucket="site", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}) == [
        Permission("s3:PutEncryptionConfiguration", ("arn:aws:s3:::site",))]
    assert permissions_of("s3", "delete_objects", Bucket="site", Delete={"Objects": [
        {"Key": "old.js"}, {"Key": "older.js", "VersionId": "v2"}]}) == [
        Permission("s3:DeleteObject", ("arn:aws:s3:::site/old.js",)),
        Permission("s3:DeleteObjectVersion", ("arn:aws:s3:::site/older.js",))]
    assert permissions_of("s3", "copy_object", Bucket="site", Key="new", CopySource="uploads/releases/1.zip") == [
        Permission("s3:PutObject", ("arn:aws:s3:::site/new",)),
        Permission("s3:GetObject", ("arn:aws:s3:::uploads/releases/1.zip",))]


def test_other_services_resources_and_passed_roles():
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
    assert permissions_of("lambda", "invoke", FunctionName="vikunja-probe") == [
        Permission("lambda:InvokeFunction", (f"{function}:vikunja-probe",))]
    assert permissions_of("lambda", "get_function_configuration", FunctionName=f"{function}:p", Qualifier="3") == [
        Permission("lambda:GetFunctionConfiguration", (f"{function}:p:3",))]
    assert permissions_of("ssm", "get_parameter", Name="/vikunja/s/network") == [
        Permission("ssm:GetParameter", (f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/vikunja/s/network",))]
    public = "/aws/service/global-infrastructure/regions/us-east-1/services/ecs"
    assert permissions_of("ssm", "get_parameters", Names=[public]) == [
        Permission("ssm:GetParameters", (f"arn:aws:ssm:{REGION}::parameter{public}",))]  # AWS's, no account
    assert permissions_of("rds", "describe_db_instances", DBInstanceIdentifier="S-data-db") == [
        Permission("rds:DescribeDBInstances", (f"arn:aws:rds:{REGION}:{ACCOUNT}:db:s-data-db",))]
    assert permissions_of("cloudfront", "create_invalidation", DistributionId="E123", InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "r"}) == [
        Permission("cloudfront:CreateInvalidation", (f"arn:aws:cloudfront::{ACCOUNT}:distribution/E123",))]
    assert permissions_of("codedeploy", "get_deployment_group", applicationName="s", deploymentGroupName="g") == [
        Permission("codedeploy:GetDeploymentGroup", (f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:s/g",))]
    assert permissions_of("cloudwatch", "delete_alarms", AlarmNames=["s-delivery-5xx"]) == [
        Permission("cloudwatch:DeleteAlarms", (f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:s-delivery-5xx",))]
    role = f"arn:aws:iam::{ACCOUNT}:role/task-execution"
    assert permissions_of("ecs", "register_task_definition", family="s-backend-api", executionRoleArn=role,
                          containerDefinitions=[{"name": "api", "image": "vikunja/vikunja"}]) == [
        Permission("ecs:RegisterTaskDefinition"), Permission("iam:PassRole", (role,))]
    assert permissions_of("ec2", "describe_vpcs") == [Permission("ec2:DescribeVpcs")]
    assert permissions_of("sts", "get_caller_identity") == []  # needs no permission on AWS


# -- end to end, on the local stack -------------------------------------------------------------------


class Iam:
    def __init__(self, endpoint: str):
        self.url = endpoint + "/_vikunja_local/iam"

    def post(self, document) -> requests.Response:
        return requests.post(self.url, json=document, timeout=10)

    def get(self) -> dict:
        return requests.get(self.url, timeout=10).json()

    def delete(self) -> dict:
        return requests.delete(self.url, timeout=10).json()


@pytest.fixture
def iam_control(stack):
    control = Iam(stack.endpoint)
    control.delete()
    assert control.post({"mode": "enforce"}).status_code == 200
    yield control
    control.post({"mode": "off"})  # never leave enforcement on for the next test
    control.delete()


LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture
def function(stack, unique):
    """A function whose role allows a few calls (inline and managed policies, one
    explicit deny), its name, role and, from a first invocation, its credentials."""
    iam = stack.client("iam")
    role_name, bucket = f"iam-enforce-{unique}", f"iam-enforce-{unique}"
    role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="inline", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            allow(["ec2:DescribeVpcs", "ecs:ListClusters", "ssm:*"]),
            allow("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
            allow("elasticloadbalancing:AddTags", "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/iam-enforce-*"),
            deny("ssm:DeleteParameter"),
        ]}))
    managed = iam.create_policy(PolicyName=f"iam-enforce-{unique}", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [allow("elasticloadbalancing:Describe*")]}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role_name, PolicyArn=managed)
    stack.client("s3").create_bucket(Bucket=bucket)

    name = f"iam-enforce-{unique}"
    lam = stack.client("lambda")
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=role_arn,
                        Code={"ZipFile": function_zip()}, Timeout=10, Environment={"Variables": {"MODE": "echo"}})
    answer = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
    return {"name": name, "role": role_name, "role_arn": role_arn, "bucket": bucket,
            "key": answer["env"]["AWS_ACCESS_KEY_ID"], "token": answer["env"]["AWS_SESSION_TOKEN"]}


def as_function(stack, function: dict, service: str):
    """A client signing with the function's own credentials, as its code would: the
    warm worker's session token tells the stack who calls."""
    return boto3.client(
        service, endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id=function["key"], aws_secret_access_key=function_secret_key(function["name"]),
        aws_session_token=function["token"],
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def denied(call) -> dict:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response


def expected_message(function: dict, action: str, resource: str = "*") -> str:
    return (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{function['role']}/{function['name']} is not authorized "
            f"to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action")


def test_the_functions_own_calls_are_enforced(stack, iam_control, function):
    lam = stack.client("lambda")
    event = {"ec2": [{"Action": "DescribeVpcs"}, {"Action": "CreateVpc", "CidrBlock": "10.81.0.0/16"}]}
    answer = json.loads(lam.invoke(FunctionName=function["name"], Payload=json.dumps(event).encode())["Payload"].read())
    assert answer["ec2_statuses"] == [200, 403]
    [entry] = iam_control.get()["log"]
    assert entry["function"] == function["name"] and entry["role"] == function["role_arn"]
    assert (entry["service"], entry["operation"], entry["action"]) == ("ec2", "CreateVpc", "ec2:CreateVpc")
    assert entry["decision"] == "implicit-deny" and entry["status"] == 403 and entry["enforced"] is True


def test_denials_take_each_protocols_shape(stack, iam_control, function):
    ec2 = as_function(stack, function, "ec2")
    ec2.describe_vpcs()  # allowed
    response = denied(lambda: ec2.create_vpc(CidrBlock="10.82.0.0/16"))
    assert response["Error"]["Code"] == "UnauthorizedOperation"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Message"] == ("You are not authorized to perform this operation. "
                                            + expected_message(function, "ec2:CreateVpc"))

    elbv2 = as_function(stack, function, "elbv2")
    elbv2.describe_load_balancers()  # allowed by the attached managed policy
    response = denied(lambda: elbv2.create_target_group(Name=f"t-{function['bucket'][-8:]}", TargetType="lambda"))
    assert response["Error"]["Code"] == "AccessDenied"  # awsquery
    assert response["Error"]["Message"] == expected_message(function, "elasticloadbalancing:CreateTargetGroup")

    ecs = as_function(stack, function, "ecs")
    ecs.list_clusters()
    response = denied(lambda: ecs.list_services())
    assert response["Error"]["Code"] == "AccessDeniedException"  # JSON 1.1
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400

    s3 = as_function(stack, function, "s3")
    s3.list_objects_v2(Bucket=function["bucket"])  # allowed on this bucket's ARN
    bucket_arn = f"arn:aws:s3:::{function['bucket']}"
    response = denied(lambda: s3.get_object(Bucket=function["bucket"], Key="a/b.txt"))
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Message"] == expected_message(function, "s3:GetObject", f"{bucket_arn}/a/b.txt")
    assert denied(lambda: s3.head_object(Bucket=function["bucket"], Key="a"))["Error"]["Code"] == "403"  # no body
    assert denied(lambda: s3.list_objects_v2(Bucket="another-bucket"))["Error"]["Code"] == "AccessDenied"

    lam = as_function(stack, function, "lambda")
    response = denied(lambda: lam.list_functions())
    assert response["Error"]["Code"] == "AccessDeniedException"  # rest-json
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403

    cloudwatch = as_function(stack, function, "cloudwatch")  # Smithy RPC v2 CBOR, query-compatible
    response = denied(lambda: cloudwatch.describe_alarms())
    assert response["Error"]["Code"] == "AccessDenied"

    assert as_function(stack, function, "sts").get_caller_identity()["Account"] == ACCOUNT  # never denied

    state = iam_control.get()
    assert state["calls"]["denied"] == 8
    assert state["denied"] == {function["name"]: {
        "ec2:CreateVpc": 1, "elasticloadbalancing:CreateTargetGroup": 1, "ecs:ListServices": 1, "s3:GetObject": 2,
        "s3:ListBucket": 1, "lambda:ListFunctions": 1, "cloudwatch:DescribeAlarms": 1}}
    assert {(e["service"], e["operation"]) for e in state["log"]} >= {
        ("ec2", "CreateVpc"), ("elasticloadbalancing", "CreateTargetGroup"), ("s3", "HeadObject"),
        ("monitoring", "DescribeAlarms"), ("lambda", "ListFunctions")}


def test_an_explicit_deny_is_named_in_the_message(stack, iam_control, function):
    ssm = as_function(stack, function, "ssm")
    ssm.put_parameter(Name=f"/iam-enforce/{function['bucket']}", Value="v", Type="String")
    response = denied(lambda: ssm.delete_parameter(Name=f"/iam-enforce/{function['bucket']}"))
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["Error"]["Message"].endswith("with an explicit deny in an identity-based policy: inline")
    [entry] = iam_control.get()["log"]
    assert entry["decision"] == "explicit-deny"
    assert entry["resource"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/iam-enforce/{function['bucket']}"


def test_load_balancer_arns_carry_awss_type_not_motos(stack, iam_control, function, unique):
    """moto names a Network Load Balancer `loadbalancer/app/…`; a policy for AWS's
    `loadbalancer/net/…` must still match it, and only it."""
    ec2, elbv2 = stack.client("ec2"), stack.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.83.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.83.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")
               ["Subnet"]["SubnetId"] for i, zone in ((1, "a"), (2, "b"))]
    network = elbv2.create_load_balancer(Name=f"iam-enforce-{unique}", Type="network", Subnets=subnets)
    application = elbv2.create_load_balancer(Name=f"iam-enforce-app-{unique}", Type="application", Subnets=subnets)
    network_arn = network["LoadBalancers"][0]["LoadBalancerArn"]
    application_arn = application["LoadBalancers"][0]["LoadBalancerArn"]

    tagger = as_function(stack, function, "elbv2")
    tagger.add_tags(ResourceArns=[network_arn], Tags=[{"Key": "k", "Value": "v"}])  # allowed as loadbalancer/net/…
    response = denied(lambda: tagger.add_tags(ResourceArns=[application_arn], Tags=[{"Key": "k", "Value": "v"}]))
    assert response["Error"]["Code"] == "AccessDenied"
    [entry] = iam_control.get()["log"]
    assert entry["resource"] == application_arn and ":loadbalancer/app/" in application_arn


def test_only_the_functions_credentials_are_checked(stack, iam_control, function):
    stack.client("ecs").list_task_definitions()  # the tests' own key: not a function's
    as_function(stack, function, "ecs").list_clusters()
    assert iam_control.get()["calls"] == {"checked": 1, "allowed": 1, "denied": 0, "unnamed": 0}


def test_the_control_endpoint_switches_and_clears(stack, iam_control, function):
    ecs = as_function(stack, function, "ecs")
    denied(lambda: ecs.list_task_definitions())
    assert iam_control.get()["mode"] == "enforce" and len(iam_control.get()["log"]) == 1

    cleared = iam_control.delete()
    assert cleared["mode"] == "enforce" and cleared["log"] == [] and cleared["calls"]["denied"] == 0

    assert iam_control.post({"mode": "off"}).json()["mode"] == "off"
    ecs.list_task_definitions()  # off: passes
    assert iam_control.get()["log"] == []

    for bad in ({"mode": "strict"}, {"mode": "enforce", "extra": 1}, ["enforce"]):
        response = iam_control.post(bad)
        assert response.status_code == 400 and "error" in response.json()
    assert iam_control.get()["mode"] == "off"


def test_audit_logs_what_enforce_would_deny_and_lets_it_through(stack, iam_control, function):
    assert iam_control.post({"mode": "audit"}).json()["mode"] == "audit"
    as_function(stack, function, "ecs").list_task_definitions()  # not denied
    [entry] = iam_control.get()["log"]
    assert entry["action"] == "ecs:ListTaskDefinitions" and entry["enforced"] is False


def test_enforcement_can_be_on_from_the_start(tmp_path):
    local = LocalStack(free_port(), tmp_path / "state")
    os.environ["VIKUNJA_LOCAL_IAM"] = "enforce"
    try:
        started = local.start()
    finally:
        del os.environ["VIKUNJA_LOCAL_IAM"]
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        assert Iam(local.endpoint).get()["mode"] == "enforce"
    finally:
        local.stop()

    broken = LocalStack(free_port(), tmp_path / "broken")
    os.environ["VIKUNJA_LOCAL_IAM"] = "strict"
    try:
        refused = broken.start()
    finally:
        del os.environ["VIKUNJA_LOCAL_IAM"]
    assert refused.returncode != 0
    assert "VIKUNJA_LOCAL_IAM" in refused.stdout + refused.stderr


def test_a_load_balancer_moto_no_longer_knows_is_named_as_the_network_one_it_was():
    """A delete retried after its answer was lost names a load balancer moto has already
    deleted: its type is unknown, and AWS would answer the retry as done. The ARN is read as
    a Network Load Balancer's (what this project makes), not refused as moto's `app/`."""
    from moto.core import DEFAULT_ACCOUNT_ID

    from vikunja_local.iam_requests import _elbv2_arn_as_aws_names_it

    gone = f"arn:aws:elasticloadbalancing:us-east-1:{DEFAULT_ACCOUNT_ID}:loadbalancer/app/gone-nlb/0123456789abcdef"
    named = _elbv2_arn_as_aws_names_it(gone, Scope(account=DEFAULT_ACCOUNT_ID, region="us-east-1"))
    assert named == gone.replace("loadbalancer/app/", "loadbalancer/net/")


# -- IAM users: the operator CLI's case -----------------------------------------------------------


def test_a_user_is_named_by_its_arn_with_its_path():
    assert UserCaller("ops", ACCOUNT).principal_arn == f"arn:aws:iam::{ACCOUNT}:user/ops"
    assert UserCaller("ops", ACCOUNT, path="/team/").principal_arn == f"arn:aws:iam::{ACCOUNT}:user/team/ops"
    assert UserCaller("ops", ACCOUNT).key == f"arn:aws:iam::{ACCOUNT}:user/ops"  # never a function's name


@pytest.fixture
def user(stack, unique):
    """An IAM user with an inline policy, in a group with an inline and an attached managed
    policy (one explicit deny), and an access key of its own."""
    iam = stack.client("iam")
    name, group, bucket = f"operator-{unique}", f"operators-{unique}", f"iam-user-{unique}"
    iam.create_user(UserName=name, Path="/ops/")
    iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            allow("ec2:DescribeVpcs"), allow("s3:ListBucket", f"arn:aws:s3:::{bucket}")]}))
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.put_group_policy(GroupName=group, PolicyName="team", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [allow("ssm:*"), deny("ssm:DeleteParameter")]}))
    managed = iam.create_policy(PolicyName=f"iam-user-{unique}", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [allow("ecs:ListClusters")]}))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=managed)
    stack.client("s3").create_bucket(Bucket=bucket)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"name": name, "arn": f"arn:aws:iam::{ACCOUNT}:user/ops/{name}", "bucket": bucket, "group": group,
            "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def as_user(stack, user: dict, service: str):
    """A client signing with the user's own access key, as the CLI does run as that user."""
    return boto3.client(
        service, endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id=user["key"], aws_secret_access_key=user["secret"],
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def user_message(user: dict, action: str, resource: str = "*") -> str:
    return (f"User: {user['arn']} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action")


def test_a_users_calls_are_checked_against_its_own_and_its_groups_policies(stack, iam_control, user):
    ec2, ecs, ssm, s3 = (as_user(stack, user, service) for service in ("ec2", "ecs", "ssm", "s3"))
    assert as_user(stack, user, "sts").get_caller_identity()["Arn"] == user["arn"]  # moto knows the key's owner
    ec2.describe_vpcs()  # the user's inline policy
    ecs.list_clusters()  # the group's attached managed policy
    ssm.put_parameter(Name=f"/iam-user/{user['bucket']}", Value="v", Type="String")  # the group's inline policy
    s3.list_objects_v2(Bucket=user["bucket"])  # on this bucket's ARN only

    response = denied(lambda: ec2.create_vpc(CidrBlock="10.84.0.0/16"))
    assert response["Error"]["Code"] == "UnauthorizedOperation"
    assert response["Error"]["Message"] == ("You are not authorized to perform this operation. "
                                            + user_message(user, "ec2:CreateVpc"))
    response = denied(lambda: s3.list_objects_v2(Bucket="another-bucket"))
    assert response["Error"]["Message"] == user_message(user, "s3:ListBucket", "arn:aws:s3:::another-bucket")
    response = denied(lambda: ssm.delete_parameter(Name=f"/iam-user/{user['bucket']}"))
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["Error"]["Message"].endswith(
        f"with an explicit deny in an identity-based policy: {user['group']}/team")

    state = iam_control.get()
    assert state["calls"]["denied"] == 3
    assert state["checked"] == {user["arn"]: 8}  # sts:GetCallerIdentity is checked, and always allowed
    assert state["denied"] == {user["arn"]: {"ec2:CreateVpc": 1, "s3:ListBucket": 1, "ssm:DeleteParameter": 1}}
    entry = state["log"][0]
    assert (entry["user"], entry["principal"], entry["access_key"]) == (user["name"], user["arn"], user["key"])
    assert (entry["action"], entry["decision"], entry["enforced"]) == ("ec2:CreateVpc", "implicit-deny", True)
    assert "function" not in entry


def test_a_policy_changed_on_the_user_applies_to_its_next_call(stack, iam_control, user):
    ec2 = as_user(stack, user, "ec2")
    denied(lambda: ec2.describe_subnets())
    stack.client("iam").put_user_policy(UserName=user["name"], PolicyName="more", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [allow("ec2:DescribeSubnets")]}))
    ec2.describe_subnets()
    stack.client("iam").delete_user_policy(UserName=user["name"], PolicyName="more")
    denied(lambda: ec2.describe_subnets())
    assert iam_control.get()["denied"] == {user["arn"]: {"ec2:DescribeSubnets": 2}}


def test_keys_no_user_owns_pass_untouched_beside_a_users(stack, iam_control, user, function):
    stack.client("ecs").list_task_definitions()  # the tests' `test` key: nobody's
    as_user(stack, user, "ecs").list_clusters()
    as_function(stack, function, "ecs").list_clusters()
    state = iam_control.get()
    assert state["checked"] == {user["arn"]: 1, function["name"]: 1}
    assert state["calls"] == {"checked": 2, "allowed": 2, "denied": 0, "unnamed": 0}


def test_audit_names_the_user_too(stack, iam_control, user):
    assert iam_control.post({"mode": "audit"}).json()["mode"] == "audit"
    as_user(stack, user, "ecs").list_task_definitions()  # not denied
    [entry] = iam_control.get()["log"]
    assert entry["principal"] == user["arn"] and entry["action"] == "ecs:ListTaskDefinitions"
    assert entry["enforced"] is False
