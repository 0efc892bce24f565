"""Fault injection (throttles, 5xx before/after the call, dropped connections,
latency) and crash injection (a Lambda worker killed after its N-th AWS call)."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from urllib.parse import urlparse

import boto3
import botocore.exceptions
import botocore.parsers
import botocore.session
import cbor2
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.retries import standard
from urllib3._collections import HTTPHeaderDict

from conftest import ACCOUNT, LOCAL_DIR, REGION, LocalStack, free_port, wait_for, wait_for_execution
from lambda_code import function_zip

if str(LOCAL_DIR) not in sys.path:
    sys.path.insert(0, str(LOCAL_DIR))

from vikunja_local.faults import FaultSpec, classify, fault_reply, rest_operation  # noqa: E402
from vikunja_local.lambda_host.worker import function_access_key  # noqa: E402
from vikunja_local.router import CallView  # noqa: E402

ROLE = f"arn:aws:iam::{ACCOUNT}:role/faults-test"


# -- helpers ----------------------------------------------------------------------------------


class Faults:
    def __init__(self, endpoint: str):
        self.url = endpoint + "/_vikunja_local/faults"

    def post(self, spec: dict) -> dict:
        response = requests.post(self.url, json=spec, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self) -> dict:
        return requests.get(self.url, timeout=10).json()

    def delete(self) -> dict:
        return requests.delete(self.url, timeout=10).json()


@pytest.fixture
def faults(stack):
    control = Faults(stack.endpoint)
    yield control
    control.delete()  # never leave faults on for the next test


@pytest.fixture
def key(unique) -> str:
    """An access key of this test's own: specs filter on it, so nothing else
    that runs on the shared stack is faulted."""
    return f"AKIAFAULTS{unique.upper()}"


def client(stack, service: str, key: str, retries: dict | None = None, **config):
    if service == "s3":
        config.setdefault("s3", {"addressing_style": "path"})
    return boto3.client(
        service, endpoint_url=stack.endpoint, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key="test",
        config=Config(retries=retries or {"total_max_attempts": 1}, read_timeout=30, **config),
    )


class Family:
    """One protocol family: a create call and a way to see whether it took effect."""

    def __init__(self, name, service, signing, operation, create, exists, codes):
        self.name, self.service, self.signing, self.operation = name, service, signing, operation
        self.create, self.exists, self.codes = create, exists, codes


def _target_group_exists(elbv2, name):
    try:
        return bool(elbv2.describe_target_groups(Names=[name])["TargetGroups"])
    except ClientError as error:
        if error.response["Error"]["Code"] == "TargetGroupNotFound":
            return False
        raise


def _bucket_exists(s3, name):
    return any(bucket["Name"] == name for bucket in s3.list_buckets()["Buckets"])


FAMILIES = {
    "ec2": Family(
        "ec2", "ec2", "ec2", "CreateVpc",
        lambda ec2, name: ec2.create_vpc(CidrBlock="10.77.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "fault-test", "Value": name}]}]),
        lambda ec2, name: bool(ec2.describe_vpcs(Filters=[{"Name": "tag:fault-test", "Values": [name]}])["Vpcs"]),
        {"throttle": (503, "RequestLimitExceeded"), "error-before": (503, "Unavailable"),
         "error-after": (500, "InternalError")},
    ),
    "elbv2": Family(
        "elbv2 (awsquery)", "elbv2", "elasticloadbalancing", "CreateTargetGroup",
        lambda elbv2, name: elbv2.create_target_group(Name=name, TargetType="lambda"),
        _target_group_exists,
        {"throttle": (400, "Throttling"), "error-before": (503, "ServiceUnavailable"),
         "error-after": (500, "InternalFailure")},
    ),
    "ecs": Family(
        "ecs (JSON 1.1)", "ecs", "ecs", "CreateCluster",
        lambda ecs, name: ecs.create_cluster(clusterName=name),
        lambda ecs, name: any(c["status"] == "ACTIVE" for c in ecs.describe_clusters(clusters=[name])["clusters"]),
        {"throttle": (400, "ThrottlingException"), "error-before": (503, "ServiceUnavailable"),
         "error-after": (500, "InternalFailure")},
    ),
    "s3": Family(
        "s3 (rest-xml)", "s3", "s3", "CreateBucket",
        lambda s3, name: s3.create_bucket(Bucket=name),
        _bucket_exists,
        {"throttle": (503, "SlowDown"), "error-before": (503, "ServiceUnavailable"),
         "error-after": (500, "InternalError")},
    ),
}


def resource_name(unique: str, kind: str) -> str:
    return f"fault-{unique}-{kind}"[:32]


def is_throttle(error: ClientError, operation_model=None) -> bool:
    """botocore's standard retry mode classifies the answer as throttling."""
    context = standard.RetryContext(attempt_number=1, operation_model=operation_model,
                                    parsed_response=error.response)
    return standard.ThrottledRetryableChecker().is_retryable(context)


def legacy_mode_retries(service: str, error: ClientError) -> bool:
    """botocore's legacy (default) retry mode, the policies of its `_retry.json`,
    would retry this answer."""
    import botocore.loaders
    import botocore.retryhandler
    import botocore.translate

    retry = botocore.loaders.create_loader().load_data("_retry")
    endpoint_prefix = botocore.session.get_session().get_service_model(service).endpoint_prefix
    config = botocore.translate.build_retry_config(endpoint_prefix, retry["retry"], retry.get("definitions", {}))
    checker = botocore.retryhandler.create_checker_from_retry_config(config)
    http_response = type("Response", (), {"status_code": error.response["ResponseMetadata"]["HTTPStatusCode"]})()
    return bool(checker(1, (http_response, error.response), None, {}))


# -- off by default; the control endpoint -----------------------------------------------------------


def test_off_by_default_and_the_control_endpoint(stack, faults, key, unique):
    state = faults.get()
    assert state["enabled"] is False and state["spec"] is None

    ec2 = client(stack, "ec2", key)
    ec2.describe_vpcs()  # no fault: nothing is on

    turned_on = faults.post({"rate": 1, "kinds": ["throttle"], "access_keys": [key], "seed": 5})
    assert turned_on["enabled"] is True
    assert turned_on["spec"]["rate"] == 1 and turned_on["spec"]["seed"] == 5
    assert turned_on["spec"]["kinds"] == {"throttle": 1.0}
    with pytest.raises(ClientError) as raised:
        ec2.describe_vpcs()
    assert raised.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert raised.value.response["ResponseMetadata"]["HTTPHeaders"]["x-vikunja-local-fault"] == "throttle"

    final = faults.delete()
    assert final["enabled"] is False and final["injected"] == {"total": 1, "throttle": 1}
    ec2.describe_vpcs()  # off again
    after = faults.get()
    assert after["enabled"] is False
    assert after["last_spec"]["seed"] == 5
    assert after["counts"] == {"ec2": {"DescribeVpcs": {"throttle": 1}}}  # kept until the next POST
    [entry] = after["log"]
    assert entry["service"] == "ec2" and entry["operation"] == "DescribeVpcs"
    assert entry["kind"] == "throttle" and entry["access_key"] == key and entry["status"] == 503
    assert entry["time"].endswith("Z") and entry["n"] == 0


@pytest.mark.parametrize("spec, message", [
    ({"rate": 2}, "rate"),
    ({"rate": 0.5, "kinds": {"explode": 1}}, "unknown kind"),
    ({"rate": 0.5, "kinds": {"throttle": 0}}, "positive weight"),
    ({"rate": 0.5, "colour": "red"}, "unknown field"),
    ({"latency_ms": [5, 1]}, "latency_ms"),
    ({"crash": {"after_calls": 1}}, "crash.function"),
    ({"crash": {"function": "f", "after_calls": -1}}, "after_calls"),
    ({"crash": {"function": "f", "when": ["action"]}}, "crash.when"),
    ([1, 2], "JSON object"),
])
def test_an_invalid_spec_is_refused(stack, faults, spec, message):
    response = requests.post(faults.url, json=spec, timeout=10)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert faults.get()["enabled"] is False


def test_the_stack_never_faults_its_own_endpoints_or_unsigned_calls(stack, faults):
    faults.post({"rate": 1, "kinds": ["throttle"]})
    assert requests.get(stack.endpoint + "/_vikunja_local/health", timeout=10).status_code == 200
    assert requests.get(stack.endpoint + "/_vikunja_local/listeners", timeout=10).status_code == 200
    unsigned = requests.get(stack.endpoint + "/", params={"Action": "DescribeVpcs"}, timeout=10)
    assert "x-vikunja-local-fault" not in unsigned.headers
    assert faults.get()["injected"]["total"] == 0


# -- each kind, each protocol family -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["throttle", "error-before"])
@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
def test_faults_before_the_call_answer_the_service_error_and_change_nothing(stack, faults, key, unique, family, kind):
    api = client(stack, family.service, key)
    name = resource_name(unique, kind)
    faults.post({"rate": 1, "kinds": [kind], "access_keys": [key], "operations": [family.operation]})

    with pytest.raises(ClientError) as raised:
        family.create(api, name)
    status, code = family.codes[kind]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert raised.value.response["Error"]["Code"] == code
    assert is_throttle(raised.value) == (kind == "throttle")
    assert not family.exists(api, name)  # moto never saw the call

    state = faults.get()
    assert state["counts"] == {family.signing: {family.operation: {kind: 1}}}
    assert state["calls"]["matched"] == 1


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
def test_error_after_lets_the_call_take_effect_and_answers_500(stack, faults, key, unique, family):
    api = client(stack, family.service, key)
    name = resource_name(unique, "after")
    faults.post({"rate": 1, "kinds": ["error-after"], "access_keys": [key], "operations": [family.operation]})

    with pytest.raises(ClientError) as raised:
        family.create(api, name)
    status, code = family.codes["error-after"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status == 500
    assert raised.value.response["Error"]["Code"] == code
    assert family.exists(api, name)  # the create happened; the caller does not know
    assert faults.get()["counts"] == {family.signing: {family.operation: {"error-after": 1}}}


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
def test_drop_after_closes_the_connection_after_the_call_took_effect(stack, faults, key, unique, family):
    api = client(stack, family.service, key)
    name = resource_name(unique, "drop")
    faults.post({"rate": 1, "kinds": ["drop-after"], "access_keys": [key], "operations": [family.operation]})

    with pytest.raises(botocore.exceptions.HTTPClientError) as raised:  # not an HTTP answer
        family.create(api, name)
    assert isinstance(raised.value, botocore.exceptions.ConnectionClosedError), repr(raised.value)
    assert family.exists(api, name)
    state = faults.get()
    assert state["counts"] == {family.signing: {family.operation: {"drop-after": 1}}}
    assert "status" not in state["log"][-1]


@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
def test_latency_delays_the_call(stack, faults, key, unique, family):
    api = client(stack, family.service, key)
    name = resource_name(unique, "slow")
    faults.post({"rate": 1, "kinds": ["latency"], "latency_ms": [400, 400], "access_keys": [key],
                 "operations": [family.operation]})
    began = time.monotonic()
    family.create(api, name)
    assert time.monotonic() - began >= 0.4
    assert family.exists(api, name)
    state = faults.get()
    assert state["log"][-1]["latency_ms"] == 400 and state["log"][-1]["kind"] == "latency"


def test_a_dropped_connection_carries_no_http_answer(stack, faults, key):
    """Below botocore: the socket closes without a status line."""
    faults.post({"rate": 1, "kinds": ["drop-after"], "access_keys": [key]})
    body = "Action=DescribeVpcs&Version=2016-11-15"
    request = AWSRequest(method="POST", url=stack.endpoint + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key, "test"), "ec2", REGION).add_auth(request)
    address = urlparse(stack.endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("POST", "/", body=body, headers=dict(request.headers))
    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()
    connection.close()


# -- botocore retries them ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["standard", "legacy"])
@pytest.mark.parametrize("kind", ["throttle", "error-before"])
@pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())
def test_botocore_retries_and_succeeds(stack, faults, key, unique, family, kind, mode):
    api = client(stack, family.service, key, retries={"mode": mode, "max_attempts": 3})
    name = resource_name(unique, f"retry-{kind}")
    faults.post({"rate": 1, "kinds": [kind], "access_keys": [key], "operations": [family.operation], "max_faults": 1})

    answer = family.create(api, name)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert family.exists(api, name)
    state = faults.get()
    assert state["counts"] == {family.signing: {family.operation: {kind: 1}}}
    assert state["calls"]["matched"] == 2  # the faulted attempt and its retry


def test_retried_error_after_repeats_a_create(stack, faults, key, unique):
    """What `error-after` is for: the SDK retries a create that already happened."""
    ec2 = client(stack, "ec2", key, retries={"mode": "standard", "max_attempts": 3})
    name = resource_name(unique, "twice")
    faults.post({"rate": 1, "kinds": ["error-after"], "access_keys": [key], "operations": ["CreateVpc"],
                 "max_faults": 1})
    FAMILIES["ec2"].create(ec2, name)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:fault-test", "Values": [name]}])["Vpcs"]
    assert len(vpcs) == 2


# -- every service's throttle is botocore's throttle ----------------------------------------------------


THROTTLED_CALLS = [
    # (botocore service, call, expected code, status)
    ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded", 503),
    ("elbv2", lambda c: c.describe_load_balancers(), "Throttling", 400),
    ("rds", lambda c: c.describe_db_instances(), "Throttling", 400),
    ("iam", lambda c: c.list_roles(), "Throttling", 400),
    ("cloudformation", lambda c: c.list_stacks(), "Throttling", 400),
    ("sts", lambda c: c.get_caller_identity(), "Throttling", 400),
    ("ecs", lambda c: c.list_clusters(), "ThrottlingException", 400),
    ("ssm", lambda c: c.describe_parameters(), "ThrottlingException", 400),
    ("secretsmanager", lambda c: c.list_secrets(), "ThrottlingException", 400),
    ("codedeploy", lambda c: c.list_applications(), "ThrottlingException", 400),
    ("ecr", lambda c: c.describe_repositories(), "ThrottlingException", 400),
    ("stepfunctions", lambda c: c.list_state_machines(), "ThrottlingException", 400),
    ("events", lambda c: c.list_rules(), "ThrottlingException", 400),
    ("logs", lambda c: c.describe_log_groups(), "ThrottlingException", 400),
    ("application-autoscaling", lambda c: c.describe_scalable_targets(ServiceNamespace="ecs"), "ThrottlingException", 400),
    ("cloudwatch", lambda c: c.describe_alarms(), "Throttling", 400),  # JSON, query-compatible
    ("s3", lambda c: c.list_buckets(), "SlowDown", 503),
    ("cloudfront", lambda c: c.list_distributions(), "Throttling", 400),
    ("lambda", lambda c: c.list_functions(), "TooManyRequestsException", 429),
]


@pytest.mark.parametrize("service, call, code, status", THROTTLED_CALLS, ids=[c[0] for c in THROTTLED_CALLS])
def test_each_services_throttle_is_its_own_and_botocore_retries_it(stack, faults, key, service, call, code, status):
    faults.post({"rate": 1, "kinds": ["throttle"], "access_keys": [key], "max_faults": 1})
    api = client(stack, service, key)
    with pytest.raises(ClientError) as raised:
        call(api)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert is_throttle(raised.value)
    assert legacy_mode_retries(service, raised.value)


CLOUDWATCH = "GraniteServiceVersion20100801"


def _cbor_call(stack, key: str, operation: str, document: dict) -> requests.Response:
    body = cbor2.dumps(document)
    request = AWSRequest(method="POST", url=f"{stack.endpoint}/service/{CLOUDWATCH}/operation/{operation}",
                         data=body, headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                                             "Accept": "application/cbor"})
    SigV4Auth(Credentials(key, "test"), "monitoring", REGION).add_auth(request)
    return requests.post(request.url, data=body, headers=dict(request.headers), timeout=30)


def _parse_cbor_error(response: requests.Response, operation: str) -> dict:
    model = botocore.session.get_session().get_service_model("cloudwatch")
    parser = botocore.parsers.create_parser("smithy-rpc-v2-cbor")
    return parser.parse({"status_code": response.status_code, "headers": HTTPHeaderDict(response.headers),
                         "body": response.content}, model.operation_model(operation).output_shape)


@pytest.mark.parametrize("kind, status, code", [
    ("throttle", 400, "Throttling"), ("error-before", 503, "ServiceUnavailable"), ("error-after", 500, "InternalFailure"),
])
def test_rpc_v2_cbor_callers_get_cbor_errors(stack, faults, key, unique, kind, status, code):
    faults.post({"rate": 1, "kinds": [kind], "access_keys": [key], "operations": ["PutMetricAlarm"]})
    name = f"fault-{unique}"
    response = _cbor_call(stack, key, "PutMetricAlarm", {
        "AlarmName": name, "Namespace": "Test", "MetricName": "M", "Statistic": "Maximum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"})
    assert response.status_code == status
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor2.loads(response.content)["__type"] == code
    assert response.headers["x-amzn-query-error"].startswith(f"{code};")
    parsed = _parse_cbor_error(response, "PutMetricAlarm")
    assert parsed["Error"]["Code"] == code
    context = standard.RetryContext(attempt_number=1, parsed_response=parsed)
    assert standard.ThrottledRetryableChecker().is_retryable(context) == (kind == "throttle")
    described = _cbor_call(stack, key, "DescribeAlarms", {"AlarmNames": [name]})
    assert len(cbor2.loads(described.content).get("MetricAlarms", [])) == (1 if kind == "error-after" else 0)
    assert faults.get()["counts"] == {"monitoring": {"PutMetricAlarm": {kind: 1}}}


def test_lambda_and_cloudfront_rest_errors(stack, faults, key):
    faults.post({"rate": 1, "kinds": ["error-before"], "access_keys": [key]})
    with pytest.raises(ClientError) as raised:
        client(stack, "lambda", key).list_functions()
    assert raised.value.response["Error"]["Code"] == "ServiceException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    with pytest.raises(ClientError) as raised:
        client(stack, "cloudfront", key).list_distributions()
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert faults.get()["counts"] == {"lambda": {"ListFunctions": {"error-before": 1}},
                                      "cloudfront": {"ListDistributions": {"error-before": 1}}}


# -- seeds and filters ----------------------------------------------------------------------------------


def _outcomes(ec2, calls: int) -> list[str]:
    outcomes = []
    for _ in range(calls):
        try:
            ec2.describe_vpcs()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    return outcomes


def test_a_seed_replays_the_same_decisions(stack, faults, key):
    ec2 = client(stack, "ec2", key)
    spec = {"rate": 0.5, "kinds": {"throttle": 2, "error-before": 1, "latency": 1}, "latency_ms": [1, 20],
            "seed": 1234, "access_keys": [key]}
    faults.post(spec)
    first = _outcomes(ec2, 24)
    first_log = [(e["n"], e["kind"]) for e in faults.get()["log"]]
    faults.post(spec)
    second = _outcomes(ec2, 24)
    second_log = [(e["n"], e["kind"]) for e in faults.get()["log"]]
    faults.post({**spec, "seed": 4321})
    other = _outcomes(ec2, 24)

    assert first == second and first_log == second_log
    assert {"ok", "RequestLimitExceeded", "Unavailable"} <= set(first)
    assert other != first
    # The decision is a function of the seed and the call's index alone.
    expected = [FaultSpec.parse(spec).decide(n)[0] for n in range(24)]
    assert [kind for _, kind in first_log] == [kind for kind in expected if kind]


def test_filters_by_service_operation_and_access_key(stack, faults, key, unique):
    other_key = key + "X"
    faults.post({"rate": 1, "kinds": ["throttle"], "services": ["ec2"], "operations": ["Describe*"],
                 "access_keys": [key]})
    ec2, ecs = client(stack, "ec2", key), client(stack, "ecs", key)
    with pytest.raises(ClientError):
        ec2.describe_vpcs()
    with pytest.raises(ClientError):
        ec2.describe_subnets()
    ec2.create_vpc(CidrBlock="10.78.0.0/16")  # not a Describe*
    ecs.list_clusters()  # not ec2
    client(stack, "ec2", other_key).describe_vpcs()  # not this key
    state = faults.get()
    assert state["counts"] == {"ec2": {"DescribeVpcs": {"throttle": 1}, "DescribeSubnets": {"throttle": 1}}}
    assert state["calls"]["matched"] == 2


def test_rest_operations_are_named_from_botocore_models():
    def op(service, method, path, query="", **headers):
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
        environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
        return rest_operation(service, CallView(environ))

    assert op("s3", "GET", "/") == "ListBuckets"
    assert op("s3", "PUT", "/bucket") == "CreateBucket"
    assert op("s3", "PUT", "/bucket/a/key with space") == "PutObject"
    assert op("s3", "PUT", "/bucket/key", X_Amz_Copy_Source="/other/key") == "CopyObject"
    assert op("s3", "PUT", "/bucket/key", "partNumber=1&uploadId=abc") == "UploadPart"
    assert op("s3", "POST", "/bucket/key", "uploads") == "CreateMultipartUpload"
    assert op("s3", "GET", "/bucket", "list-type=2&prefix=a") == "ListObjectsV2"
    assert op("s3", "GET", "/bucket", "versioning") == "GetBucketVersioning"
    assert op("s3", "GET", "/bucket/key") == "GetObject"
    assert op("lambda", "POST", "/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations") == "Invoke"
    assert op("cloudfront", "POST", "/2020-05-31/distribution") == "CreateDistribution"
    assert op("cloudfront", "POST", "/2020-05-31/distribution/E1/invalidation") == "CreateInvalidation"
    assert op("nosuchservice", "GET", "/x") == "GET /x"


def test_shapes_parse_as_botocore_expects():
    """Each protocol's answer, parsed by botocore's own parser for that protocol."""
    def environ(**headers):
        env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": ""}
        env.update(headers)
        return env

    def scope(service):
        return f"AWS4-HMAC-SHA256 Credential=K/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"

    cases = [
        ("ec2", "DescribeVpcs", environ(HTTP_AUTHORIZATION=scope("ec2"), QUERY_STRING="Action=DescribeVpcs")),
        ("rds", "DescribeDBInstances", environ(HTTP_AUTHORIZATION=scope("rds"), QUERY_STRING="Action=DescribeDBInstances")),
        ("ecs", "ListClusters", environ(HTTP_AUTHORIZATION=scope("ecs"), CONTENT_TYPE="application/x-amz-json-1.1",
                                        HTTP_X_AMZ_TARGET="AmazonEC2ContainerServiceV20141113.ListClusters")),
        ("stepfunctions", "ListStateMachines", environ(HTTP_AUTHORIZATION=scope("states"),
                                                       CONTENT_TYPE="application/x-amz-json-1.0",
                                                       HTTP_X_AMZ_TARGET="AWSStepFunctions.ListStateMachines")),
        ("s3", "ListBuckets", environ(HTTP_AUTHORIZATION=scope("s3"), REQUEST_METHOD="GET")),
        ("cloudfront", "ListDistributions", environ(HTTP_AUTHORIZATION=scope("cloudfront"), REQUEST_METHOD="GET",
                                                    PATH_INFO="/2020-05-31/distribution")),
        ("lambda", "ListFunctions", environ(HTTP_AUTHORIZATION=scope("lambda"), REQUEST_METHOD="GET",
                                            PATH_INFO="/2015-03-31/functions")),
    ]
    session = botocore.session.get_session()
    for service, operation, env in cases:
        api_call = classify(CallView(env))
        assert api_call is not None and api_call.operation == operation, (service, api_call)
        model = session.get_service_model(service)
        parser = botocore.parsers.create_parser(model.resolved_protocol if hasattr(model, "resolved_protocol")
                                                else model.protocol)
        for kind in ("throttle", "error-before", "error-after"):
            reply = fault_reply(api_call, kind, env["REQUEST_METHOD"])
            parsed = parser.parse({"status_code": reply.status, "headers": HTTPHeaderDict(reply.headers),
                                   "body": reply.body}, model.operation_model(operation).output_shape)
            context = standard.RetryContext(attempt_number=1, parsed_response=parsed,
                                            http_response=type("R", (), {"status_code": reply.status})())
            throttled = standard.ThrottledRetryableChecker().is_retryable(context)
            transient = standard.TransientRetryableChecker().is_retryable(context)
            assert throttled == (kind == "throttle"), (service, kind, parsed)
            assert throttled or transient, (service, kind, parsed)
            assert parsed["Error"]["Code"], (service, kind)


# -- the environment variable ---------------------------------------------------------------------------


def test_faults_can_be_on_from_the_start(tmp_path):
    spec = {"rate": 1, "kinds": ["throttle"], "services": ["ecs"], "seed": 9}
    local = LocalStack(free_port(), tmp_path / "state")
    os.environ["VIKUNJA_LOCAL_FAULTS"] = json.dumps(spec)
    try:
        started = local.start()
    finally:
        del os.environ["VIKUNJA_LOCAL_FAULTS"]
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        state = Faults(local.endpoint).get()
        assert state["enabled"] is True and state["spec"]["services"] == ["ecs"] and state["spec"]["seed"] == 9
        with pytest.raises(ClientError) as raised:
            local.client("ecs").list_clusters()
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        local.client("ec2").describe_vpcs()
    finally:
        local.stop()

    broken = LocalStack(free_port(), tmp_path / "broken")
    os.environ["VIKUNJA_LOCAL_FAULTS"] = '{"rate": 7}'
    try:
        refused = broken.start()
    finally:
        del os.environ["VIKUNJA_LOCAL_FAULTS"]
    assert refused.returncode != 0
    assert "VIKUNJA_LOCAL_FAULTS" in refused.stdout + refused.stderr


# -- Lambda: per-function credentials, crash injection ------------------------------------------------


@pytest.fixture(scope="module")
def lam(stack):
    iam = stack.client("iam")
    try:
        iam.create_role(RoleName="faults-test", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }))
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    return stack.client("lambda")


def create_function(lam, name: str, timeout: int = 5) -> str:
    return lam.create_function(
        FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=ROLE,
        Code={"ZipFile": function_zip()}, Timeout=timeout, Environment={"Variables": {"MODE": "echo"}},
    )["FunctionArn"]


def invoke(lam, name: str, event: dict) -> tuple[dict, dict]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, json.loads(response["Payload"].read() or b"{}")


def vpc_calls(tag: str, count: int) -> dict:
    return {"ec2": [{"Action": "CreateVpc", "CidrBlock": "10.79.0.0/16", "TagSpecification.1.ResourceType": "vpc",
                     "TagSpecification.1.Tag.1.Key": "fault-test", "TagSpecification.1.Tag.1.Value": f"{tag}-{i}"}
                    for i in range(1, count + 1)]}


def vpc_exists(stack, tag: str) -> bool:
    return bool(stack.client("ec2").describe_vpcs(Filters=[{"Name": "tag:fault-test", "Values": [tag]}])["Vpcs"])


def test_each_function_signs_with_its_own_key_in_the_default_account(stack, lam, unique):
    name = f"keyed-{unique}"
    create_function(lam, name)
    _, answer = invoke(lam, name, vpc_calls(unique, 1))
    assert answer["env"]["AWS_ACCESS_KEY_ID"] == function_access_key(name)
    assert answer["ec2_statuses"] == [200]
    [vpc] = stack.client("ec2").describe_vpcs(Filters=[{"Name": "tag:fault-test", "Values": [f"{unique}-1"]}])["Vpcs"]
    assert vpc["OwnerId"] == ACCOUNT  # moto maps the unknown key to its default account


def test_faults_filtered_by_function(stack, faults, lam, unique):
    name = f"filtered-{unique}"
    create_function(lam, name)
    faults.post({"rate": 1, "kinds": ["throttle"], "functions": [name], "operations": ["CreateVpc"]})
    _, answer = invoke(lam, name, vpc_calls(unique, 2))
    assert answer["ec2_statuses"] == [503, 503]
    state = faults.get()
    assert state["counts"] == {"ec2": {"CreateVpc": {"throttle": 2}}}
    assert {entry["function"] for entry in state["log"]} == {name}
    assert {entry["access_key"] for entry in state["log"]} == {function_access_key(name)}


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] == "Z"


def test_crash_after_the_nth_call_kills_the_worker_once(stack, faults, lam, unique):
    name = f"crashing-{unique}"
    create_function(lam, name)
    faults.post({"crash": {"function": name, "after_calls": 2, "times": 1}})

    response, answer = invoke(lam, name, vpc_calls(f"{unique}-a", 3))
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Runtime.ExitError"
    assert answer["errorMessage"].startswith("RequestId: ")
    assert answer["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    # The second call took effect, then the function died before its answer: no third.
    assert vpc_exists(stack, f"{unique}-a-1") and vpc_exists(stack, f"{unique}-a-2")
    assert not vpc_exists(stack, f"{unique}-a-3")

    crashes = faults.get()["crashes"]
    assert crashes["total"] == 1
    assert crashes["rules"] == [{"function": name, "after_calls": 2, "times": 1, "as": "killed", "crashed": 1}]
    [entry] = crashes["log"]
    assert entry["function"] == name and entry["operation"] == "CreateVpc" and entry["status"] == 200
    wait_for(lambda: _process_gone(entry["pid"]), timeout=5, what="the killed worker to be gone")

    # The next invocation gets a fresh worker, and the rule is used up.
    response, answer = invoke(lam, name, vpc_calls(f"{unique}-b", 3))
    assert "FunctionError" not in response
    assert answer["ec2_statuses"] == [200, 200, 200]
    assert answer["pid"] != entry["pid"]
    assert faults.get()["crashes"]["total"] == 1


def test_a_crash_rule_with_when_kills_only_the_invocations_whose_event_matches(stack, faults, lam, unique):
    name = f"crashwhen-{unique}"
    create_function(lam, name)
    faults.post({"crash": {"function": name, "after_calls": 1, "when": {"action": "network"}}})
    response, answer = invoke(lam, name, {"action": "frontend", **vpc_calls(f"{unique}-f", 2)})
    assert "FunctionError" not in response, answer
    response, answer = invoke(lam, name, {"action": "network", **vpc_calls(f"{unique}-n", 2)})
    assert answer["errorType"] == "Runtime.ExitError"
    assert vpc_exists(stack, f"{unique}-n-1") and not vpc_exists(stack, f"{unique}-n-2")
    [rule] = faults.get()["crashes"]["rules"]
    assert rule["when"] == {"action": "network"} and rule["crashed"] == 1


def test_crash_at_invocation_start(stack, faults, lam, unique):
    name = f"crashstart-{unique}"
    create_function(lam, name)
    faults.post({"crash": {"function": name, "after_calls": 0, "times": 2}})
    for attempt in range(2):
        response, answer = invoke(lam, name, {"marker": f"{unique}-{attempt}", **vpc_calls(f"{unique}-{attempt}", 1)})
        assert response["FunctionError"] == "Unhandled"
        assert answer["errorType"] == "Runtime.ExitError"
        assert not vpc_exists(stack, f"{unique}-{attempt}-1")
    log_text = (stack.state_dir / "logs" / "lambda" / f"{name}.log").read_text()
    assert f"{unique}-0" not in log_text  # the function never saw the event
    response, answer = invoke(lam, name, {"after": "crashes"})
    assert answer["input"] == {"after": "crashes"}
    assert faults.get()["crashes"]["total"] == 2


def test_crash_reported_as_a_timeout(stack, faults, lam, unique):
    name = f"crashtimeout-{unique}"
    create_function(lam, name, timeout=7)
    faults.post({"crash": {"function": name, "after_calls": 1, "as": "timeout"}})
    began = time.monotonic()
    response, answer = invoke(lam, name, vpc_calls(unique, 2))
    assert time.monotonic() - began < 5
    assert answer["errorType"] == "Sandbox.Timedout"
    assert answer["errorMessage"].endswith("Task timed out after 7.00 seconds")
    assert vpc_exists(stack, f"{unique}-1") and not vpc_exists(stack, f"{unique}-2")


def _task_machine(stack, unique: str, function_arn: str) -> str:
    sfn = stack.client("stepfunctions")
    return sfn.create_state_machine(
        name=f"faults-{unique}", roleArn=f"arn:aws:iam::{ACCOUNT}:role/faults-test",
        definition=json.dumps({"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": function_arn, "End": True,
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
        }}}),
    )["stateMachineArn"]


def test_state_machine_lambda_tasks_are_faulted_only_on_request(stack, faults, lam, unique):
    arn = create_function(lam, f"task-{unique}")
    machine = _task_machine(stack, unique, arn)
    sfn = stack.client("stepfunctions")

    # Every Invoke, any service but the opt-in one: the state machine's task is not touched.
    faults.post({"rate": 1, "kinds": ["error-before"], "operations": ["Invoke"]})
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": 1}))["executionArn"]
    assert wait_for_execution(sfn, execution)["status"] == "SUCCEEDED"
    assert faults.get()["injected"]["total"] == 0

    faults.post({"rate": 1, "kinds": ["error-before"], "services": ["lambda-invoke"], "max_faults": 1})
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": 2}))["executionArn"]
    assert wait_for_execution(sfn, execution)["status"] == "SUCCEEDED"  # its Retry absorbed the fault
    assert faults.get()["counts"] == {"lambda-invoke": {"Invoke": {"error-before": 1}}}


def test_error_after_still_emits_the_event_aws_would_send(stack, faults, key, unique):
    """The push happened, so EventBridge gets ECR's event although the caller saw a 500."""
    ecr, events, sfn = client(stack, "ecr", key), stack.client("events"), stack.client("stepfunctions")
    repository = f"faults-{unique}"
    ecr.create_repository(repositoryName=repository)
    role = f"arn:aws:iam::{ACCOUNT}:role/faults-test"
    machine = sfn.create_state_machine(name=f"pushed-{unique}", roleArn=role, definition=json.dumps(
        {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    events.put_rule(Name=f"pushed-{unique}", EventPattern=json.dumps(
        {"source": ["aws.ecr"], "detail": {"repository-name": [repository]}}))
    events.put_targets(Rule=f"pushed-{unique}", Targets=[{"Id": "machine", "Arn": machine, "RoleArn": role}])
    faults.post({"rate": 1, "kinds": ["error-after"], "access_keys": [key], "operations": ["PutImage"]})

    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                      "digest": "sha256:" + unique * 8}, "layers": []})
    with pytest.raises(ClientError) as raised:
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag="v1")
    assert raised.value.response["Error"]["Code"] == "InternalFailure"
    [execution] = wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"], what="an execution")
    event = json.loads(wait_for_execution(sfn, execution["executionArn"])["input"])
    assert event["detail"]["action-type"] == "PUSH" and event["detail"]["image-tag"] == "v1"


def test_callers_are_an_access_key_or_a_function_glob():
    from vikunja_local.faults import ApiCall, FaultSpec

    spec = FaultSpec.parse({"rate": 1, "access_keys": ["AKIACLI"], "functions": ["s1-*"]})

    def call(access_key, function=None):
        return ApiCall("ec2", "CreateVpc", "ec2", access_key, None, function=function)

    assert spec.matches(call("AKIACLI"))
    assert spec.matches(call("ASIAWHATEVER", function="s1-network"))
    assert not spec.matches(call("ASIAWHATEVER", function="s2-network"))
    assert not spec.matches(call("test"))
    assert FaultSpec.parse({"rate": 1}).matches(call("test"))
