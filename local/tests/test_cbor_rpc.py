"""Smithy RPC v2 CBOR (how the Rust SDK's CloudWatch client talks) reaches moto."""

from __future__ import annotations

from datetime import datetime, timezone

import cbor2
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION

CLOUDWATCH = "GraniteServiceVersion20100801"


def cbor_call(stack, operation: str, document: dict | None) -> requests.Response:
    """A signed rpc-v2-cbor request, shaped as aws-sdk-cloudwatch sends it."""
    body = b"" if document is None else cbor2.dumps(document)
    request = AWSRequest(
        method="POST",
        url=f"{stack.endpoint}/service/{CLOUDWATCH}/operation/{operation}",
        data=body,
        headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"},
    )
    SigV4Auth(Credentials("test", "test"), "monitoring", REGION).add_auth(request)
    return requests.post(request.url, data=body, headers=dict(request.headers), timeout=30)


def test_put_metric_alarm_round_trips_with_smithy_types(stack, unique):
    name = f"unhealthy-{unique}"
    put = cbor_call(stack, "PutMetricAlarm", {
        "AlarmName": name,
        "Namespace": "AWS/NetworkELB",
        "MetricName": "UnHealthyHostCount",
        "Dimensions": [{"Name": "TargetGroup", "Value": "targetgroup/blue/123"}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 2,
        "Threshold": 0.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    })
    assert put.status_code == 200, put.content
    assert put.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert put.headers["Content-Type"] == "application/cbor"

    described = cbor_call(stack, "DescribeAlarms", {"AlarmNames": [name]})
    assert described.status_code == 200, described.content
    # Decode without cbor2's tag handling, to see the wire types themselves.
    raw = cbor2.loads(described.content, semantic_decoders={1: lambda value, *_: ("tag", 1, value)})
    [alarm] = raw["MetricAlarms"]
    assert alarm["AlarmName"] == name
    assert alarm["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/blue/123"}]
    assert alarm["EvaluationPeriods"] == 2 and isinstance(alarm["EvaluationPeriods"], int)
    assert alarm["Threshold"] == 0.0 and isinstance(alarm["Threshold"], float)
    kind, tag, seconds = alarm["AlarmConfigurationUpdatedTimestamp"]
    assert (kind, tag) == ("tag", 1)
    assert isinstance(seconds, (int, float))
    assert abs(seconds - datetime.now(timezone.utc).timestamp()) < 300


def test_errors_come_back_as_cbor_maps_named_by_error_shape(stack, unique):
    answer = cbor_call(stack, "PutMetricAlarm", {
        "AlarmName": f"bad-{unique}", "Namespace": "AWS/NetworkELB", "MetricName": "UnHealthyHostCount",
        "ExtendedStatistic": "median", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
    })
    assert answer.status_code == 400, answer.content
    assert answer.headers["Content-Type"] == "application/cbor"
    assert answer.headers["smithy-protocol"] == "rpc-v2-cbor"
    # CloudWatch is query-compatible: the shape name in the body, the query code in a header.
    assert answer.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    error = cbor2.loads(answer.content)
    assert error == {
        "__type": "InvalidParameterValueException",
        "message": "The value median for parameter ExtendedStatistic is not supported.",
    }


def test_missing_resource_keeps_its_status_code(stack, unique):
    answer = cbor_call(stack, "GetDashboard", {"DashboardName": f"absent-{unique}"})
    assert answer.status_code == 404, answer.content
    error = cbor2.loads(answer.content)
    assert error["__type"] == "ResourceNotFound"
    assert error["message"] == "Dashboard does not exist"


def test_missing_required_members_are_a_validation_error(stack):
    answer = cbor_call(stack, "PutMetricAlarm", {"MetricName": "UnHealthyHostCount"})
    assert answer.status_code == 400, answer.content
    error = cbor2.loads(answer.content)
    assert error["__type"] == "ValidationException"
    assert error["message"] == (
        "1 validation error detected: Value null at 'alarmName' failed to satisfy constraint: Member must not be null"
    )


def test_unknown_operation_is_a_cbor_404(stack):
    answer = cbor_call(stack, "NoSuchOperation", {})
    assert answer.status_code == 404
    assert cbor2.loads(answer.content)["__type"] == "UnknownOperationException"
