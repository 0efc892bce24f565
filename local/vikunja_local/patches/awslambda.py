"""Lambda: moto's own invokes go to the local Lambda host; code and environment as AWS checks them."""

from __future__ import annotations

import base64
import json
from typing import Any

from .registry import Finding, probe, replaces, uses


@replaces("moto.awslambda.models.LambdaFunction.invoke", "(self, body, request_headers, response_headers)")
def moto_internal_invokes_use_lambda_host(lambda_host: Any) -> None:
    """Where moto itself invokes a function (S3 `LambdaConfigurations`, SNS, SQS event
    sources, Secrets Manager rotation, EventBridge targets below) it calls
    `LambdaFunction.invoke`, which needs Docker. Now those run the function's real code
    in the local Lambda host too (`Event` invocations in the background)."""
    from moto.awslambda.models import LambdaFunction

    from ..lambda_host.host import spec_from_moto

    def invoke(self, body, request_headers, response_headers):
        spec = spec_from_moto(self, self.region, self.account_id)
        payload = (body if isinstance(body, bytes) else (body or "{}").encode())
        if (request_headers or {}).get("x-amz-invocation-type") == "Event":
            lambda_host.invoke_in_background(spec, payload)
            return b""
        outcome = lambda_host.invoke(spec, payload)
        if outcome.failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return outcome.payload

    LambdaFunction.invoke = invoke


@replaces("moto.awslambda.models.LambdaFunction._set_function_code", "(self, updated_spec)")
@uses("moto.awslambda.models.do_validate_s3", "()")
@uses(
    "moto.s3.models.S3Backend.get_object",
    "(self, bucket_name, key_name, version_id, part_number, return_delete_marker)",
)
def lambda_code_from_a_missing_s3_key_is_refused() -> None:
    """moto's S3 `get_object` returns None for a missing key instead of raising `MissingKey`,
    so Lambda's own check never fires: CreateFunction, UpdateFunctionCode and CloudFormation
    made a function with empty code from an S3 key that does not exist (it failed only when
    invoked). AWS refuses it with InvalidParameterValueException "Error occurred while
    GetObject. S3 Error Code: NoSuchKey. …"; so does this. (A missing bucket was already
    refused.)"""
    from moto.awslambda import models
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    original = models.LambdaFunction._set_function_code

    def set_function_code(self: Any, updated_spec: dict) -> None:
        if "S3Bucket" in updated_spec and "S3Key" in updated_spec and not updated_spec.get("DryRun") \
                and models.do_validate_s3():
            try:
                key = s3_backends[self.account_id][self.partition].get_object(
                    updated_spec["S3Bucket"], updated_spec["S3Key"], version_id=updated_spec.get("S3ObjectVersion")
                )
            except MissingBucket:
                key = True  # moto's own NoSuchBucket answer follows
            if key is None:
                raise InvalidParameterValueException(
                    "Error occurred while GetObject. S3 Error Code: NoSuchKey. "
                    "S3 Error Message: The specified key does not exist."
                )
        return original(self, updated_spec)

    models.LambdaFunction._set_function_code = set_function_code


@replaces("moto.awslambda.models.LambdaFunction.__init__", "(self, account_id, spec, region, version)")
@replaces("moto.awslambda.models.LambdaFunction.update_configuration", "(self, config_updates)")
def lambda_environment_values_are_strings() -> None:
    """moto's CloudFormation resolves a `Ref` to a Number parameter as a number, and its
    Lambda stores the number as is in `Environment.Variables` — then GetFunction and
    ListFunctions answer `"SMOKE_TEST_BUDGET_SECONDS": 12`, which the Rust SDK refuses
    ("expected ValueString"). On AWS a Ref to a parameter is a string, and Lambda's
    variables are strings; here they are made strings when a function is created or
    updated."""
    from moto.awslambda import models

    def as_text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)

    def stringify(function: Any) -> None:
        variables = getattr(function, "environment_vars", None)
        if isinstance(variables, dict):
            function.environment_vars = {key: as_text(value) for key, value in variables.items()}

    moto_init = models.LambdaFunction.__init__
    moto_update_configuration = models.LambdaFunction.update_configuration

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_init(self, *args, **kwargs)
        stringify(self)

    def update_configuration(self: Any, config_updates: dict) -> Any:
        moto_update_configuration(self, config_updates)
        stringify(self)
        return self.get_configuration()

    models.LambdaFunction.__init__ = init
    models.LambdaFunction.update_configuration = update_configuration


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


def _probe_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    return buffer.getvalue()


def _probe_role() -> str:
    from .probing import client

    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    return client("iam").create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


@probe(lambda_code_from_a_missing_s3_key_is_refused)
def _probe_code_from_missing_key() -> Finding:
    from botocore.exceptions import ClientError

    from .probing import client

    client("s3").create_bucket(Bucket="probe-code")
    try:
        client("lambda").create_function(
            FunctionName="probe-missing-code", Runtime="provided.al2023", Handler="bootstrap", Role=_probe_role(),
            Code={"S3Bucket": "probe-code", "S3Key": "missing.zip"},
        )
    except ClientError as error:
        return Finding(False, f"CreateFunction from a missing key: {error.response['Error']['Code']}")
    return Finding(True, "CreateFunction from a missing key made a function")


@probe(lambda_environment_values_are_strings)
def _probe_environment_values() -> Finding:
    """CloudFormation hands Lambda a Ref to a Number parameter as a number."""
    from moto.awslambda.models import lambda_backends

    from .probing import ACCOUNT, REGION, client

    function = lambda_backends[ACCOUNT][REGION].create_function({
        "FunctionName": "probe-environment", "Runtime": "provided.al2023", "Handler": "bootstrap",
        "Role": _probe_role(), "Code": {"ZipFile": base64.b64encode(_probe_zip()).decode()},
        "Environment": {"Variables": {"BUDGET_SECONDS": 12}},
    })
    value = client("lambda").get_function(FunctionName=function.function_name)["Configuration"]["Environment"][
        "Variables"]["BUDGET_SECONDS"]
    return Finding(not isinstance(value, str), f"a numeric variable is answered as {type(value).__name__} {value!r}")
