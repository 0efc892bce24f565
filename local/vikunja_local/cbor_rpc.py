"""Smithy RPC v2 CBOR → the AWS JSON protocol moto speaks, and the answer back.

Newer AWS SDKs (the Rust SDK's CloudWatch client, for one) call
`POST /service/<ServiceName>/operation/<Operation>` with `smithy-protocol: rpc-v2-cbor`
and a CBOR body. moto 5.2.5 answers those 404, but it serves the same services over
AWS JSON (`X-Amz-Target: <ServiceName>.<Operation>`). This route rewrites the request
to JSON, sends it back through the router (so our other routes and hooks see it like
any JSON call), and re-encodes moto's answer as CBOR, shape by shape from botocore's
service model: the Smithy spec wants timestamps as tag 1 (epoch seconds), blobs as
byte strings, doubles as floats — the Rust decoder rejects anything else.
"""

from __future__ import annotations

import base64
import functools
import gzip
import io
import json
import logging
import re
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cbor2

from .router import CallView, Reply, WsgiApp, call_wsgi

log = logging.getLogger(__name__)

RPC_V2_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")
PROTOCOL = "rpc-v2-cbor"
_TIMESTAMP_TAG = 1


def is_rpc_v2_cbor(call: CallView) -> bool:
    return (
        call.method == "POST"
        and (call.header("smithy-protocol") or "").lower() == PROTOCOL
        and RPC_V2_PATH.match(call.path) is not None
    )


class CborRpcTranslator:
    """A route handler. `app` is the router itself: the translated JSON call goes
    through the routes table again (it no longer carries `smithy-protocol`)."""

    def __init__(self, app: WsgiApp):
        self.app = app

    def handle(self, call: CallView) -> Reply:
        match = RPC_V2_PATH.match(call.path)
        assert match is not None
        service_name, operation_name = match["service"], match["operation"]
        model = service_model_for(service_name)
        if model is None or operation_name not in model.operation_names:
            return cbor_error(404, "UnknownOperationException",
                              f"no AWS service model for {service_name}.{operation_name}")
        try:
            document = decode_request(call.body)
        except (cbor2.CBORDecodeError, ValueError) as error:
            return cbor_error(400, "SerializationException", f"request body is not valid CBOR: {error}")
        operation = model.operation_model(operation_name)
        missing = missing_required_members(document, operation.input_shape)
        if missing:
            # moto does not check; AWS answers this before the operation runs.
            return cbor_error(400, "ValidationException", validation_message(missing))
        answer = call_wsgi(self.app, json_environ(call, service_name, operation_name, model, document))
        return cbor_answer(answer, operation)


# -- the request ------------------------------------------------------------------------------


def decode_request(body: bytes) -> dict:
    """An operation without input may send no body at all."""
    if not body:
        return {}
    document = cbor2.loads(body)
    if not isinstance(document, dict):
        raise ValueError("the request body must be a CBOR map")
    return as_json_value(document)


def as_json_value(value: Any) -> Any:
    """CBOR types that JSON lacks, the way AWS JSON carries them: timestamps as epoch
    seconds, blobs as base64. cbor2 has already turned tag 1 into a datetime."""
    if isinstance(value, dict):
        return {key: as_json_value(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [as_json_value(item) for item in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, cbor2.CBORTag):
        return as_json_value(value.value)
    if value is cbor2.undefined:
        return None
    return value


def missing_required_members(value: Any, shape, path: str = "") -> list[str]:
    """Paths (AWS style, lower camel case) of required members the request lacks."""
    if shape is None or value is None:
        return []
    if shape.type_name == "structure" and isinstance(value, dict):
        missing = []
        for name, member in shape.members.items():
            member_path = f"{path}.{_lower_camel(name)}" if path else _lower_camel(name)
            if name in shape.required_members and value.get(name) is None:
                missing.append(member_path)
            else:
                missing += missing_required_members(value.get(name), member, member_path)
        return missing
    if shape.type_name == "list" and isinstance(value, list):
        return [m for i, item in enumerate(value) for m in missing_required_members(item, shape.member, f"{path}.{i + 1}.member")]
    return []


def validation_message(missing: list[str]) -> str:
    count = len(missing)
    details = "; ".join(f"Value null at '{path}' failed to satisfy constraint: Member must not be null" for path in missing)
    return f"{count} validation error{'s' if count > 1 else ''} detected: {details}"


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def json_environ(call: CallView, service_name: str, operation_name: str, model, document: dict) -> dict:
    body = json.dumps(document).encode()
    environ = dict(call.environ)
    for header in ("HTTP_SMITHY_PROTOCOL", "HTTP_TRANSFER_ENCODING", "HTTP_ACCEPT"):
        environ.pop(header, None)
    environ.update({
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_AMZ_TARGET": f"{service_name}.{operation_name}",
        "wsgi.input": io.BytesIO(body),
    })
    return environ


# -- the answer -------------------------------------------------------------------------------


def cbor_answer(answer: Reply, operation) -> Reply:
    document = _json_document(answer.body)
    if answer.status >= 300:
        return _translated_error(answer, operation, document)
    shape = operation.output_shape
    body = encode_cbor(shaped(document, shape) if shape is not None else {})
    return _cbor_reply(answer.status, body, _kept_headers(answer))


def _translated_error(answer: Reply, operation, document: dict) -> Reply:
    """AWS JSON errors carry `__type` (body or `X-Amzn-Errortype`) and `message`;
    query-compatible services (CloudWatch) add `x-amzn-query-error: <Code>;<Fault>`.
    The CBOR error names the error shape, as the Rust SDK matches on shape names."""
    raw_type = document.get("__type") or answer.header("X-Amzn-Errortype") or "InternalFailure"
    code = raw_type.split(":", 1)[0].rsplit("#", 1)[-1]
    message = document.get("message") or document.get("Message") or ""
    headers = _kept_headers(answer)
    query_error = answer.header("x-amzn-query-error")
    if query_error:
        headers.append(("x-amzn-query-error", query_error))
    return cbor_error(answer.status, error_shape_name(operation, code), message, headers)


def error_shape_name(operation, code: str) -> str:
    """moto may name the error by its query code (`InvalidParameterValue`) rather
    than its shape (`InvalidParameterValueException`): prefer the operation's own
    error shape with that code."""
    shapes = list(operation.error_shapes) + list(operation.service_model.error_shapes)
    if any(shape.name == code for shape in shapes):
        return code
    for shape in shapes:
        if (shape.metadata.get("error") or {}).get("code") == code:
            return shape.name
    return code


def cbor_error(status: int, error_type: str, message: str, headers: list | None = None) -> Reply:
    return _cbor_reply(status, encode_cbor({"__type": error_type, "message": message}), headers or [])


def _cbor_reply(status: int, body: bytes, headers: list) -> Reply:
    return Reply(status, [
        ("Content-Type", "application/cbor"),
        ("smithy-protocol", PROTOCOL),
        ("Content-Length", str(len(body))),
        *headers,
    ], body)


def _kept_headers(answer: Reply) -> list[tuple[str, str]]:
    wanted = {"x-amzn-requestid", "x-amz-request-id", "date"}
    return [(key, value) for key, value in answer.headers if key.lower() in wanted]


def _json_document(body: bytes) -> dict:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return {"message": body.decode("utf-8", "replace")}
    return document if isinstance(document, dict) else {}


# -- shapes -----------------------------------------------------------------------------------


class Float32(float):
    """A Smithy `float`: the Rust decoder accepts only a CBOR f16/f32 there."""


_INTEGERS = {"integer", "long", "short", "byte", "bigInteger"}


def shaped(value: Any, shape) -> Any:
    """moto's JSON value, typed the way the service model says."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        return {
            name: shaped(value[name], member)
            for name, member in shape.members.items()
            if isinstance(value, dict) and value.get(name) is not None
        }
    if kind == "list":
        return [shaped(item, shape.member) for item in value]
    if kind == "map":
        return {key: shaped(item, shape.value) for key, item in value.items()}
    if kind == "timestamp":
        return cbor2.CBORTag(_TIMESTAMP_TAG, epoch_seconds(value))
    if kind == "blob":
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    if kind == "double":
        return float(value)
    if kind == "float":
        return Float32(value)
    if kind in _INTEGERS:
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


def epoch_seconds(value: Any) -> int | float:
    """moto's JSON serializer writes epoch numbers; accept ISO-8601 too. Whole
    seconds stay integers (the spec allows int or float under tag 1)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            value = (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    seconds = round(float(value), 3)  # Smithy timestamps carry milliseconds
    return int(seconds) if seconds.is_integer() else seconds


def encode_cbor(document: Any) -> bytes:
    return cbor2.dumps(document, default=_encode_extra)


def _encode_extra(encoder, value: Any) -> None:
    if isinstance(value, Float32):
        encoder.write(b"\xfa" + struct.pack(">f", value))
        return
    raise cbor2.CBOREncodeTypeError(f"cannot encode {type(value).__name__} as CBOR")


# -- service models ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def service_model_for(smithy_service_name: str):
    """botocore's model of the service whose Smithy shape name (the AWS JSON
    `targetPrefix`, e.g. GraniteServiceVersion20100801 for CloudWatch) is given."""
    import botocore.loaders
    import botocore.model

    botocore_name = _botocore_name_by_target_prefix().get(smithy_service_name)
    if botocore_name is None:
        return None
    loader = botocore.loaders.create_loader()
    return botocore.model.ServiceModel(loader.load_service_model(botocore_name, "service-2"), botocore_name)


@functools.lru_cache(maxsize=1)
def _botocore_name_by_target_prefix() -> dict[str, str]:
    """Reads only the head of each model file: `metadata` comes first, so this
    costs a fraction of a second instead of parsing ~450 full models."""
    import botocore

    data = Path(botocore.__file__).parent / "data"
    found: dict[str, str] = {}
    for service_dir in sorted(data.iterdir()):
        versions = sorted(service_dir.glob("*/service-2.json*"))
        if not versions:
            continue
        head = _file_head(versions[-1])
        prefix = re.search(r'"targetPrefix"\s*:\s*"([^"]+)"', head)
        if prefix:
            found.setdefault(prefix.group(1), service_dir.name)
    return found


def _file_head(path: Path, size: int = 4096) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return handle.read(size).decode("utf-8", "replace")
