"""Fault and crash injection: a WSGI layer in front of the router.

Off by default. Switched on by `POST /_vikunja_local/faults` (a route in the
router's table; see `routes.py`) or at start by `VIKUNJA_LOCAL_FAULTS`, both with
the same JSON spec (local/README.md, "Fault injection"). A chosen share of signed
AWS calls is answered with the service's own throttling or server error, in the
protocol the caller used, before the call reaches moto — or after it took effect
(the router, its routes and after-hooks ran: the ECR push event is still sent).
Crash rules kill a Lambda worker after its N-th AWS call of an invocation.

Decisions are seeded: the n-th matching call gets the same decision for the same
seed, whatever else happened; concurrent callers can change which call is n-th.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import logging
import random
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

from .lambda_host.worker import function_access_key
from .router import CallView, Reply, WsgiApp, call_wsgi, json_reply, status_line

log = logging.getLogger(__name__)

CONTROL_PATH = "/_vikunja_local/faults"
KINDS = ("throttle", "error-before", "error-after", "drop-after", "latency")
# moto's Step Functions interpreter signs its calls (a state machine's Lambda
# tasks) with this access key (moto/stepfunctions/parser/asl/utils/boto_client.py).
MOTO_INTERPRETER_KEY = "ak"
# The opt-in service name for those Lambda task invocations.
LAMBDA_TASK_SERVICE = "lambda-invoke"
LOG_SIZE = 100
FAULT_HEADER = "x-vikunja-local-fault"

_CREDENTIAL = re.compile(r"^([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request$")
_INVOCATIONS = re.compile(r"^/2015-03-31/functions/[^/]+/invocations/?$")
_RPC_V2 = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")


class SpecError(ValueError):
    """The fault spec is not valid: the message says why."""


# -- the spec ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrashRule:
    function: str
    after_calls: int = 0  # 0: at invocation start; N: once the N-th AWS call took effect
    times: int = 1
    how: str = "killed"  # "killed" (out of memory) or "timeout"
    # Only invocations whose event has these top-level values (one function serves several
    # steps: teardown's `{"action": "network"}`).
    when: tuple[tuple[str, object], ...] = ()

    def as_json(self) -> dict:
        rendered = {"function": self.function, "after_calls": self.after_calls, "times": self.times, "as": self.how}
        if self.when:
            rendered["when"] = dict(self.when)
        return rendered

    def applies(self, worker, invocation) -> bool:
        if self.function != worker.spec.name or invocation is None:
            return False
        if not self.when:
            return True
        try:
            event = json.loads(invocation.payload or b"null")
        except ValueError:
            return False
        return isinstance(event, dict) and all(event.get(key) == value for key, value in self.when)


@dataclass(frozen=True)
class FaultSpec:
    rate: float = 0.0
    kinds: tuple[tuple[str, float], ...] = tuple((kind, 1.0) for kind in KINDS)
    services: tuple[str, ...] | None = None
    operations: tuple[str, ...] | None = None
    access_keys: tuple[str, ...] | None = None
    functions: tuple[str, ...] | None = None
    latency_ms: tuple[int, int] = (50, 500)
    seed: int = 0
    max_faults: int | None = None
    crash: tuple[CrashRule, ...] = ()

    @classmethod
    def parse(cls, document) -> "FaultSpec":
        if not isinstance(document, dict):
            raise SpecError("the fault spec must be a JSON object")
        unknown = set(document) - {"rate", "kinds", "services", "operations", "access_keys", "functions",
                                   "latency_ms", "seed", "max_faults", "crash"}
        if unknown:
            raise SpecError(f"unknown field(s): {', '.join(sorted(unknown))}")
        rate = document.get("rate", 0.0)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise SpecError("rate must be a number from 0 to 1")
        seed = document.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)  # reported by GET, for replay
        elif isinstance(seed, bool) or not isinstance(seed, int):
            raise SpecError("seed must be an integer")
        max_faults = document.get("max_faults")
        if max_faults is not None and (isinstance(max_faults, bool) or not isinstance(max_faults, int) or max_faults < 0):
            raise SpecError("max_faults must be a non-negative integer")
        return cls(
            rate=float(rate),
            kinds=_parse_kinds(document.get("kinds")),
            services=_parse_names(document, "services"),
            operations=_parse_names(document, "operations"),
            access_keys=_parse_names(document, "access_keys"),
            functions=_parse_names(document, "functions"),
            latency_ms=_parse_latency(document.get("latency_ms")),
            seed=seed,
            max_faults=max_faults,
            crash=_parse_crash(document.get("crash")),
        )

    def as_json(self) -> dict:
        return {
            "rate": self.rate,
            "kinds": dict(self.kinds),
            "services": list(self.services) if self.services is not None else None,
            "operations": list(self.operations) if self.operations is not None else None,
            "access_keys": list(self.access_keys) if self.access_keys is not None else None,
            "functions": list(self.functions) if self.functions is not None else None,
            "latency_ms": list(self.latency_ms),
            "seed": self.seed,
            "max_faults": self.max_faults,
            "crash": [rule.as_json() for rule in self.crash],
        }

    def matches(self, call: "ApiCall") -> bool:
        if call.service == LAMBDA_TASK_SERVICE:
            # Opt-in only, by its exact name: a state machine's Lambda tasks.
            if self.services is None or LAMBDA_TASK_SERVICE not in self.services:
                return False
        elif self.services is not None and not _any_match(self.services, call.service):
            return False
        if self.operations is not None and not _any_match(self.operations, call.operation):
            return False
        # The callers: a listed access key or a listed function (names may be globs, e.g.
        # every function of one stack) — either is enough.
        if self.access_keys is None and self.functions is None:
            return True
        if self.access_keys is not None and call.access_key in self.access_keys:
            return True
        if self.functions is not None:
            if call.function is not None and _any_match(self.functions, call.function):
                return True
            return any(call.access_key == function_access_key(name) for name in self.functions)
        return False

    def decide(self, n: int) -> tuple[str | None, int]:
        """(kind or None, latency in ms) for the n-th matching call: a function
        of the seed and n alone."""
        draw = random.Random(f"{self.seed}:{n}")
        hit, pick, delay = draw.random(), draw.random(), draw.random()
        if hit >= self.rate:
            return None, 0
        total = sum(weight for _, weight in self.kinds)
        point, kind = pick * total, self.kinds[-1][0]
        for name, weight in self.kinds:
            if point < weight:
                kind = name
                break
            point -= weight
        low, high = self.latency_ms
        return kind, (round(low + delay * (high - low)) if kind == "latency" else 0)


def _any_match(patterns: Iterable[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def _parse_kinds(value) -> tuple[tuple[str, float], ...]:
    if value is None:
        return FaultSpec.kinds
    if isinstance(value, list):
        value = {kind: 1 for kind in value}
    if not isinstance(value, dict) or not value:
        raise SpecError(f"kinds must be a non-empty object of weights (or a list) of {', '.join(KINDS)}")
    kinds = []
    for kind, weight in value.items():
        if kind not in KINDS:
            raise SpecError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise SpecError(f"the weight of {kind} must be a non-negative number")
        if weight > 0:
            kinds.append((kind, float(weight)))
    if not kinds:
        raise SpecError("at least one kind needs a positive weight")
    return tuple(kinds)


def _parse_names(document: dict, name: str) -> tuple[str, ...] | None:
    value = document.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise SpecError(f"{name} must be a list of strings")
    return tuple(value)


def _parse_latency(value) -> tuple[int, int]:
    if value is None:
        return FaultSpec.latency_ms
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value, value]
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value)
            or value[0] > value[1]):
        raise SpecError("latency_ms must be [min, max] milliseconds (or one number)")
    return int(value[0]), int(value[1])


def _parse_crash(value) -> tuple[CrashRule, ...]:
    if value is None:
        return ()
    rules = value if isinstance(value, list) else [value]
    parsed = []
    for rule in rules:
        if not isinstance(rule, dict):
            raise SpecError("crash must be an object (or a list of them)")
        unknown = set(rule) - {"function", "after_calls", "times", "as", "when"}
        if unknown:
            raise SpecError(f"unknown crash field(s): {', '.join(sorted(unknown))}")
        function = rule.get("function")
        if not isinstance(function, str) or not function:
            raise SpecError("crash.function must be a function name")
        after_calls, times = rule.get("after_calls", 0), rule.get("times", 1)
        for name, number, least in (("after_calls", after_calls, 0), ("times", times, 1)):
            if isinstance(number, bool) or not isinstance(number, int) or number < least:
                raise SpecError(f"crash.{name} must be an integer >= {least}")
        how = rule.get("as", "killed")
        if how not in ("killed", "timeout"):
            raise SpecError('crash.as must be "killed" or "timeout"')
        when = rule.get("when") or {}
        if not isinstance(when, dict) or not all(isinstance(v, (str, int, float, bool)) for v in when.values()):
            raise SpecError("crash.when must be an object of top-level event values")
        parsed.append(CrashRule(function, after_calls, times, how, tuple(sorted(when.items()))))
    return tuple(parsed)


# -- what a call is --------------------------------------------------------------------------


@dataclass
class ApiCall:
    """A signed AWS API call, as the fault layer classifies it."""

    service: str  # the SigV4 credential scope's service (or LAMBDA_TASK_SERVICE)
    operation: str
    protocol: str  # ec2 | query | json | rpc-v2-cbor | rest-xml | rest-json
    access_key: str
    session_token: str | None
    content_type: str = ""
    target_prefix: str = ""  # JSON / CBOR: the service's Smithy name
    function: str | None = None  # the Lambda function whose worker made the call

    def as_json(self) -> dict:
        return {"service": self.service, "operation": self.operation, "access_key": self.access_key,
                "function": self.function}


def classify(call: CallView) -> ApiCall | None:
    """The call's service, operation and protocol, or None for what is never
    faulted: the stack's own endpoints, unsigned requests, and moto's Step Functions
    interpreter (except its Lambda invocations, under their own service name)."""
    if call.path.startswith(("/_vikunja_local/", "/moto-api")):
        return None
    credential = _credential(call)
    if credential is None:
        return None
    access_key, _region, service = credential
    token = call.header("X-Amz-Security-Token") or (call.query.get("X-Amz-Security-Token") or [None])[0]
    content_type = call.header("Content-Type") or ""
    if access_key == MOTO_INTERPRETER_KEY:
        if not (call.method == "POST" and _INVOCATIONS.match(call.path)):
            return None
        return ApiCall(LAMBDA_TASK_SERVICE, "Invoke", "rest-json", access_key, token, content_type)
    rpc = _RPC_V2.match(call.path)
    if rpc and (call.header("smithy-protocol") or "").lower() == "rpc-v2-cbor":
        return ApiCall(service, rpc["operation"], "rpc-v2-cbor", access_key, token, content_type, rpc["service"])
    target = call.amz_target
    if target:
        prefix, _, operation = target.rpartition(".")
        return ApiCall(service, operation, "json", access_key, token, content_type, prefix)
    action = _query_action(call, content_type)
    if action is not None:
        return ApiCall(service, action, "ec2" if service == "ec2" else "query", access_key, token, content_type)
    protocol = "rest-xml" if service in _REST_XML_SERVICES else "rest-json"
    return ApiCall(service, rest_operation(service, call), protocol, access_key, token, content_type)


def _credential(call: CallView) -> tuple[str, str, str] | None:
    """(access key, region, service) of a SigV4 signature: header or presigned URL."""
    authorization = call.header("Authorization") or ""
    if authorization.startswith("AWS4-HMAC-SHA256"):
        match = re.search(r"Credential=([^,\s]+)", authorization)
        scope = _CREDENTIAL.match(match.group(1)) if match else None
    else:
        presigned = (call.query.get("X-Amz-Credential") or [""])[0]
        scope = _CREDENTIAL.match(presigned) if presigned else None
    return (scope.group(1), scope.group(2), scope.group(3)) if scope else None


def _query_action(call: CallView, content_type: str) -> str | None:
    action = (call.query.get("Action") or [None])[0]
    if action is None and call.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        action = (parse_qs(call.body.decode("utf-8", "replace")).get("Action") or [None])[0]
    return action


_REST_XML_SERVICES = {"s3", "cloudfront", "route53"}
# Signing names whose botocore service is named otherwise.
_BOTOCORE_NAMES = {"elasticloadbalancing": "elbv2", "monitoring": "cloudwatch", "states": "stepfunctions",
                   "execute-api": "apigateway", "elasticfilesystem": "efs"}


def rest_operation(service: str, call: CallView) -> str:
    """The operation of a REST call, from botocore's model: method, URI template
    (`/{Bucket}/{Key+}`), the template's literal query keys (`?uploads`), and the
    required query and header members (UploadPart's `partNumber`, CopyObject's
    `x-amz-copy-source`) tell them apart. Path-style S3 only. Falls back to
    `METHOD /path`."""
    templates = _rest_templates(_BOTOCORE_NAMES.get(service, service))
    query = parse_qs(call.environ.get("QUERY_STRING", ""), keep_blank_values=True)  # `?uploads` has no value
    best, best_score = None, None
    for template in templates:
        if template.method != call.method or not template.path.match(call.path):
            continue
        if any(key not in query or (value is not None and value not in query[key])
               for key, value in template.literal_query):
            continue
        if any(key not in query for key in template.required_query):
            continue
        if any(call.header(name) is None for name in template.required_headers):
            continue
        score = (len(template.literal_query) + len(template.required_query) + len(template.required_headers),
                 template.literal_length)
        if best_score is None or score > best_score:
            best, best_score = template.name, score
    return best or f"{call.method} {call.path}"


@dataclass(frozen=True)
class _RestTemplate:
    name: str
    method: str
    path: re.Pattern
    literal_length: int
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]


@functools.lru_cache(maxsize=None)
def _rest_templates(botocore_name: str) -> tuple[_RestTemplate, ...]:
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(botocore_name)
    except Exception:  # no such botocore service
        return ()
    templates = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        uri, _, literal = http.get("requestUri", "/").partition("?")
        pattern, literal_length = "", 0
        for piece in re.split(r"(\{[^}]+\})", uri):
            if piece.startswith("{"):
                pattern += "(.+)" if piece.endswith("+}") else "([^/]+)"
            else:
                pattern += re.escape(piece)
                literal_length += len(piece)
        literal_query = tuple(
            (key, value if sep else None)
            for key, sep, value in (item.partition("=") for item in literal.split("&") if item)
        )
        shape = operation.input_shape
        required_query, required_headers = [], []
        if shape is not None:
            for member_name in shape.required_members:
                member = shape.members[member_name]
                location = member.serialization.get("location")
                if location == "querystring":
                    required_query.append(member.serialization.get("name", member_name))
                elif location == "header":
                    required_headers.append(member.serialization.get("name", member_name))
        templates.append(_RestTemplate(
            name, http.get("method", "GET"), re.compile(f"^{pattern.rstrip('/') or ''}/?$"), literal_length,
            literal_query, tuple(required_query), tuple(required_headers),
        ))
    return tuple(templates)


# -- the answers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceError:
    """An AWS error, before it is shaped for the caller's protocol (`error_reply`)."""

    status: int
    code: str
    message: str
    fault: str  # Sender | Receiver (query protocols)


_SUFFIX = " (injected by vikunja-local)"


def fault_error(call: ApiCall, kind: str) -> ServiceError:
    """The service's own error for this kind: throttle, error-before (503) or
    error-after (500)."""
    service, protocol = call.service, call.protocol
    if service in ("lambda", LAMBDA_TASK_SERVICE):
        if kind == "throttle":
            return ServiceError(429, "TooManyRequestsException", "Rate exceeded." + _SUFFIX, "Sender")
        return ServiceError(500, "ServiceException", "The Lambda service encountered an internal error." + _SUFFIX, "Receiver")
    if protocol == "ec2":
        return {
            "throttle": ServiceError(503, "RequestLimitExceeded", "Request limit exceeded." + _SUFFIX, "Sender"),
            "error-before": ServiceError(503, "Unavailable", "The server is overloaded and can't handle the request." + _SUFFIX, "Receiver"),
        }.get(kind, ServiceError(500, "InternalError", "An internal error has occurred." + _SUFFIX, "Receiver"))
    if service == "s3":
        return {
            "throttle": ServiceError(503, "SlowDown", "Please reduce your request rate." + _SUFFIX, "Sender"),
            "error-before": ServiceError(503, "ServiceUnavailable", "Service is unable to handle request." + _SUFFIX, "Receiver"),
        }.get(kind, ServiceError(500, "InternalError", "We encountered an internal error. Please try again." + _SUFFIX, "Receiver"))
    if kind == "throttle":
        query_style = protocol in ("query", "rest-xml") or query_compatible(call)
        if protocol == "rest-json":
            return ServiceError(429, "TooManyRequestsException", "Rate exceeded" + _SUFFIX, "Sender")
        return ServiceError(400, "Throttling" if query_style else "ThrottlingException", "Rate exceeded" + _SUFFIX, "Sender")
    if kind == "error-before":
        return ServiceError(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server." + _SUFFIX, "Receiver")
    return ServiceError(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure." + _SUFFIX, "Receiver")


def query_compatible(call: ApiCall) -> bool:
    """JSON/CBOR services that were query services (CloudWatch, SQS) keep their
    query error codes, told by `x-amzn-query-error`."""
    if not call.target_prefix:
        return False
    from .cbor_rpc import service_model_for

    model = service_model_for(call.target_prefix)
    return model is not None and "awsQueryCompatible" in model.metadata


def fault_reply(call: ApiCall, kind: str, method: str = "POST") -> Reply:
    """The fault's error answer in the caller's protocol."""
    return error_reply(call, fault_error(call, kind), method, [(FAULT_HEADER, kind)])


def error_reply(call: ApiCall, error: ServiceError, method: str = "POST",
                extra_headers: list[tuple[str, str]] | None = None) -> Reply:
    """An AWS error answer in the protocol the caller used (shared by fault injection
    and IAM enforcement): each protocol's error envelope, as botocore parses it."""
    request_id = str(uuid.uuid4())
    headers = list(extra_headers or [])
    protocol = call.protocol
    message = xml_escape(error.message)  # messages can carry resource names (S3 keys)
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{error.code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return _xml(error.status, body, headers, method)
    if protocol == "query" or (protocol == "rest-xml" and call.service != "s3"):
        body = (f"<ErrorResponse><Error><Type>{error.fault}</Type><Code>{error.code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return _xml(error.status, body, headers + [("x-amzn-RequestId", request_id)], method)
    if protocol == "rest-xml":  # S3
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{error.code}</Code><Message>{message}'
                f"</Message><RequestId>{request_id}</RequestId><HostId>vikunja-local</HostId></Error>")
        return _xml(error.status, body, headers + [("x-amz-request-id", request_id), ("x-amz-id-2", "vikunja-local")], method)
    if query_compatible(call):
        headers.append(("x-amzn-query-error", f"{error.code};{error.fault}"))
    headers.append(("x-amzn-RequestId", request_id))
    if protocol == "rpc-v2-cbor":
        from .cbor_rpc import cbor_error

        return cbor_error(error.status, error.code, error.message, headers)
    if protocol == "rest-json":
        document = {"Type": "User" if error.status < 500 else "Service", "message": error.message}
        if error.code == "TooManyRequestsException" and call.service in ("lambda", LAMBDA_TASK_SERVICE):
            document["Reason"] = "CallerRateLimitExceeded"
        reply = json_reply(error.status, document, headers + [("x-amzn-ErrorType", error.code)])
        return _without_body(reply) if method == "HEAD" else reply
    reply = json_reply(error.status, {"__type": error.code, "message": error.message}, headers)
    reply.headers[0] = ("Content-Type", call.content_type or "application/x-amz-json-1.1")
    return reply


def _xml(status: int, body: str, headers: list, method: str) -> Reply:
    data = b"" if method == "HEAD" else body.encode()
    return Reply(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))] + headers, data)


def _without_body(reply: Reply) -> Reply:
    headers = [(k, "0" if k.lower() == "content-length" else v) for k, v in reply.headers]
    return Reply(reply.status, headers, b"")


# -- the layer -----------------------------------------------------------------------------


class _Plan:
    """One POSTed spec and what it did: counters live as long as the spec."""

    def __init__(self, spec: FaultSpec):
        self.spec = spec
        self.seen = 0
        self.matched = 0
        self.injected: dict[str, int] = {}
        self.counts: dict[str, dict[str, dict[str, int]]] = {}
        self.log: deque = deque(maxlen=LOG_SIZE)
        self.crashes_left = [rule.times for rule in spec.crash]
        self.crash_log: deque = deque(maxlen=LOG_SIZE)

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def report(self, enabled: bool) -> dict:
        return {
            "enabled": enabled,
            "spec": self.spec.as_json() if enabled else None,
            "last_spec": None if enabled else self.spec.as_json(),
            "calls": {"seen": self.seen, "matched": self.matched},
            "injected": {"total": self.total, **self.injected},
            "counts": self.counts,
            "log": list(self.log),
            "crashes": {
                "total": sum(rule.times - left for rule, left in zip(self.spec.crash, self.crashes_left)),
                "rules": [{**rule.as_json(), "crashed": rule.times - left}
                          for rule, left in zip(self.spec.crash, self.crashes_left)],
                "log": list(self.crash_log),
            },
        }


class FaultInjector:
    """WSGI middleware over the router. `lambda_host` (optional) resolves the
    worker behind a call's session token, for crash rules and the `functions` filter."""

    def __init__(self, app: WsgiApp, lambda_host=None, spec: FaultSpec | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.app = app
        self.lambda_host = lambda_host
        self._sleep = sleep
        self._lock = threading.Lock()
        self._enabled = False
        self._plan = _Plan(FaultSpec())
        if lambda_host is not None:
            lambda_host.invocation_observer = self._invocation_starting
        if spec is not None:
            self.set_spec(spec)

    # -- control ------------------------------------------------------------------------

    def set_spec(self, spec: FaultSpec) -> dict:
        with self._lock:
            self._plan, self._enabled = _Plan(spec), True
            log.info("fault injection on: %s", json.dumps(spec.as_json()))
            return self._plan.report(True)

    def turn_off(self) -> dict:
        with self._lock:
            if self._enabled:
                log.info("fault injection off after %s faults, %s calls matched", self._plan.total, self._plan.matched)
            self._enabled = False
            return self._plan.report(False)

    def report(self) -> dict:
        with self._lock:
            return self._plan.report(self._enabled)

    @staticmethod
    def is_control(call: CallView) -> bool:
        return call.path == CONTROL_PATH

    def handle_control(self, call: CallView) -> Reply:
        """The router route: GET the state, POST a spec (replaces the last one and its
        counters), DELETE to turn injection off (counters stay until the next POST)."""
        if call.method == "GET":
            return json_reply(200, self.report())
        if call.method == "DELETE":
            return json_reply(200, self.turn_off())
        if call.method in ("POST", "PUT"):
            try:
                spec = FaultSpec.parse(json.loads(call.body or b"null"))
            except ValueError as error:  # SpecError, or invalid JSON
                return json_reply(400, {"error": str(error)})
            return json_reply(200, self.set_spec(spec))
        return json_reply(405, {"error": f"{call.method} is not allowed: GET, POST or DELETE"})

    # -- the calls ----------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self._enabled:
            return self.app(environ, start_response)
        call = CallView(environ)
        api_call = classify(call)
        if api_call is None:
            return self.app(environ, start_response)
        worker = self.lambda_host.worker_for_token(api_call.session_token) if self.lambda_host else None
        if worker is not None:
            api_call.function = worker.spec.name

        crash_rule, kind, latency_ms, n = self._decide(api_call, worker)
        if crash_rule is not None:
            return self._crash_after(environ, api_call, worker, crash_rule)
        if kind is None:
            return self.app(environ, start_response)
        self._record(api_call, kind, n, latency_ms)
        if kind == "latency":
            self._sleep(latency_ms / 1000)
            return self.app(environ, start_response)
        if kind in ("throttle", "error-before"):
            return _send(fault_reply(api_call, kind, call.method), start_response)
        call.body  # buffer the request: moto reads it from the buffer
        answer = call_wsgi(self.app, environ)  # takes effect; routes and after-hooks run
        log.info("fault %s: %s %s answered %s by moto/router, not sent", kind, api_call.service,
                 api_call.operation, answer.status)
        if kind == "error-after":
            return _send(fault_reply(api_call, kind, call.method), start_response)
        _drop_connection(environ)
        return []  # not reached

    def _decide(self, api_call: ApiCall, worker) -> tuple[CrashRule | None, str | None, int, int]:
        with self._lock:
            if not self._enabled:
                return None, None, 0, 0
            plan, spec = self._plan, self._plan.spec
            plan.seen += 1
            if worker is not None and spec.crash:
                worker.aws_calls += 1
                for index, rule in enumerate(spec.crash):
                    if (rule.after_calls == worker.aws_calls and plan.crashes_left[index] > 0
                            and rule.applies(worker, worker.invocation)):
                        plan.crashes_left[index] -= 1
                        return rule, None, 0, 0
            if spec.rate <= 0 or not spec.matches(api_call):
                return None, None, 0, 0
            n = plan.matched
            plan.matched += 1
            if spec.max_faults is not None and plan.total >= spec.max_faults:
                return None, None, 0, n
            kind, latency_ms = spec.decide(n)
            if kind is not None:
                # Counted at once, so that max_faults holds under concurrency.
                plan.injected[kind] = plan.injected.get(kind, 0) + 1
            return None, kind, latency_ms, n

    def _record(self, api_call: ApiCall, kind: str, n: int, latency_ms: int) -> None:
        with self._lock:
            plan = self._plan
            by_operation = plan.counts.setdefault(api_call.service, {}).setdefault(api_call.operation, {})
            by_operation[kind] = by_operation.get(kind, 0) + 1
            entry = {"n": n, "time": _now(), "kind": kind, **api_call.as_json()}
            if kind == "latency":
                entry["latency_ms"] = latency_ms
            elif kind != "drop-after":
                entry["status"] = fault_error(api_call, kind).status
            plan.log.append(entry)
        log.info("fault %s #%s: %s %s (key %s%s)", kind, n, api_call.service, api_call.operation, api_call.access_key,
                 f", function {api_call.function}" if api_call.function else "")

    # -- crashes ------------------------------------------------------------------------

    def _crash_after(self, environ: dict, api_call: ApiCall, worker, rule: CrashRule) -> Iterable[bytes]:
        """The call takes effect, then the worker dies before it sees the answer."""
        CallView(environ).body
        answer = call_wsgi(self.app, environ)
        # Recorded first: the invoker gets its answer as soon as the worker dies.
        self._record_crash(worker, rule, worker.invocation, api_call, answer.status)
        worker.crash(rule.how)
        _drop_connection(environ)
        return []

    def _invocation_starting(self, worker, invocation) -> None:
        """Lambda host hook: crash rules with `after_calls: 0` kill the worker as the
        invocation begins, before the function sees it."""
        with self._lock:
            if not self._enabled:
                return
            plan = self._plan
            rule = None
            for index, candidate in enumerate(plan.spec.crash):
                if candidate.after_calls == 0 and plan.crashes_left[index] > 0 and candidate.applies(worker, invocation):
                    plan.crashes_left[index] -= 1
                    rule = candidate
                    break
        if rule is not None:
            self._record_crash(worker, rule, invocation, None, None)
            worker.crash(rule.how)

    def _record_crash(self, worker, rule: CrashRule, invocation, api_call: ApiCall | None, status: int | None) -> None:
        entry = {
            "time": _now(), "function": worker.spec.name, "pid": worker.pid, "as": rule.how,
            "after_calls": rule.after_calls, "request_id": invocation.request_id if invocation else None,
        }
        if api_call is not None:
            entry.update(service=api_call.service, operation=api_call.operation, status=status)
        with self._lock:
            self._plan.crash_log.append(entry)
        log.warning("crash injected: %s worker pid %s killed (%s) after %s AWS call(s)", worker.spec.name, worker.pid,
                    rule.how, rule.after_calls)


def _send(reply: Reply, start_response: Callable) -> list[bytes]:
    start_response(status_line(reply.status), reply.headers)
    return [reply.body]


def _drop_connection(environ: dict) -> None:
    """Close the client's connection without an answer. werkzeug hands the socket
    over in `werkzeug.socket`; shutting it down sends FIN, and a ConnectionError
    out of the app makes werkzeug's handler give up on the request quietly
    (`connection_dropped`), writing nothing."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("vikunja-local fault injection: connection dropped without an answer")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def spec_from_environment(raw: str | None) -> FaultSpec | None:
    """VIKUNJA_LOCAL_FAULTS: the same JSON as the control endpoint's POST."""
    if not raw or not raw.strip():
        return None
    try:
        return FaultSpec.parse(json.loads(raw))
    except ValueError as error:
        raise SpecError(f"VIKUNJA_LOCAL_FAULTS is not a valid fault spec: {error}") from error
