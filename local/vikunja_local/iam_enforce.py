"""IAM enforcement on the local stack: a WSGI layer in front of the router that checks
the calls of the Lambda functions and of IAM users. Off by default.

Switched on by `VIKUNJA_LOCAL_IAM=enforce` at start or `POST /_vikunja_local/iam
{"mode": "enforce"}` (a route in the router's table, like the faults endpoint); `GET`
shows the mode, the calls checked per principal and the denied-call log, `DELETE` clears
the log. Mode `audit` logs what `enforce` would deny and lets the call through (a workflow
then runs to its end and shows every missing grant, not just the first).

Two kinds of caller are checked; every other call passes untouched (the CLI's and the
tests' default `test` key, moto's own calls — its Step Functions interpreter — and what the
stack does in-process):
- a **Lambda function** signing with its own credentials (the session token, or the
  access key, names the worker and so the function — `lambda_host.worker`): its execution
  role (moto's Lambda backend has its `Role` ARN), the role's inline and attached managed
  policies and its permissions boundary;
- an **IAM user** signing with one of its access keys (iam CreateUser + CreateAccessKey on
  the local stack: moto's IAM backend knows the key's owner) — what the operator CLI does
  when it runs as a user holding `docs/operator-policy.json`: the user's inline and
  attached managed policies and those of its groups (moto keeps no permissions boundary
  for users). An inactive key is checked like an active one (AWS would refuse it).

For such a call: the principal's policies (moto's IAM backend, in the principal's
account) and the call's IAM action(s) and resource(s) (`iam_requests.py`, from the
operation `faults.classify` names), through one evaluation for both kinds. The call
passes when every action is allowed on every resource; otherwise it is answered with
the service's AccessDenied error in the caller's protocol (`faults.error_reply`), whose
message names the principal as AWS does (`assumed-role/ROLE/FUNCTION`, `user/NAME`),
logged (with the principal's ARN) and kept in the denied-call log. The report's
per-caller maps (`checked`, `denied`, `uncertain`) are keyed by the function's name or the
user's ARN.

Evaluation (as AWS's, for one account's identity-based policies): an explicit Deny
wins, then any Allow, else the call is implicitly denied. `Action`/`NotAction` and
`Resource`/`NotResource` patterns with `*` and `?` (actions case-insensitive).

**What is not evaluated, and which way each gap leans.** Every gap leans towards
allowing, so enforcement never denies a call AWS would allow (when this code names
the action and resource as AWS does); it can let through calls AWS would deny:
- `Condition` blocks are not evaluated (no request context: tags, `iam:PassedToService`,
  `ec2:CreateAction`, …). An Allow with a condition counts as allowing; a Deny with a
  condition as not denying.
- Resources are read from the request only where `iam_requests.py` says; elsewhere the
  resource is unknown, and a statement for specific resources then counts as matching
  for an Allow and not matching for a Deny. A statement for `*` always matches.
  Resource patterns with policy variables (`${aws:username}`) count as unknown.
- AWS checks some calls against several resources or with extra "dependent" actions
  (CreateDBInstance on its option and parameter groups, CreateDeployment's
  GetDeploymentConfig, ManageMasterUserPassword's Secrets Manager calls…): only those
  `iam_requests.py` names (PassRole, CopyObject's source, …) are checked.
- Actions without resource-level permissions are checked against the request's
  resource when one is read (AWS checks them against `*`): a statement for specific
  resources can allow here what it does not on AWS.
- Resource-based policies (bucket, key, secret, function policies), SCPs, session
  policies and the trust policy are not consulted. Within one account a resource policy
  can grant what the role lacks, so a call denied here could be allowed on AWS by a
  resource policy — none of the bootstrap template's roles relies on one.
- A call whose operation cannot be named (a REST path botocore's model does not match,
  e.g. S3 virtual-hosted addressing) is not checked; `GET` counts them as `unnamed`.
- What a service does on the caller's behalf in-process is not checked. The one that
  matters: the CLI passes CloudFormation no service role, so on AWS CloudFormation creates
  the bootstrap stack's functions, roles, state machines, rules and log groups with the
  operator's credentials, and reads the template and zips from S3 with them; moto's
  CloudFormation does all of that in-process, so the operator's grants for those resources
  are checked statically only (`make lint-templates`: the handler permissions of every
  resource type in the template).

Why not moto's own evaluation (`moto.iam.access_control.IAMPolicyStatement`)? Its
collection of policies is reused in spirit (the same IAM backend calls), but its
statement matching cannot serve here: it builds regexes from patterns without
escaping (`.`, `+`, `$` in ARNs) and knows no `?`; it matches actions case-sensitively;
it ignores `NotResource` and answers PERMITTED for a Deny without `Resource`; and it
evaluates conditions against request values we do not have (a failed condition is
DENIED in moto, NEUTRAL with our patch) — where this layer needs "unknown" to lean
towards the caller. It also needs the caller to be an STS assumed role moto issued;
the Lambda host's credentials are not.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Callable, Iterable

from .faults import ApiCall, ServiceError, classify, error_reply, query_compatible
from .iam_requests import Permission, Scope, is_named, iam_prefix, required_permissions
from .router import CallView, Reply, WsgiApp, json_reply, status_line

log = logging.getLogger(__name__)

CONTROL_PATH = "/_vikunja_local/iam"
ENVIRONMENT_VARIABLE = "VIKUNJA_LOCAL_IAM"
# "audit" logs what enforcement would deny and lets it through: one run then shows every
# missing grant, where "enforce" stops a workflow at its first denial.
MODES = ("off", "enforce", "audit")
LOG_SIZE = 1000
DENIED_HEADER = "x-vikunja-local-iam"


class ModeError(ValueError):
    """Not a mode: the message says which are."""


def mode_from_environment(raw: str | None) -> str:
    """VIKUNJA_LOCAL_IAM: `enforce`, `audit`, or `off` (also when unset or empty)."""
    value = (raw or "").strip().lower() or "off"
    if value not in MODES:
        raise ModeError(f"{ENVIRONMENT_VARIABLE} must be one of {', '.join(MODES)}, not {raw!r}")
    return value


# -- policies ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: `*` any run of characters, `?` any one; nothing else special."""
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


def _strings(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(str(item) for item in value)


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    has_condition: bool = False
    sid: str = ""

    @classmethod
    def from_json(cls, document: dict) -> "Statement":
        return cls(
            effect=str(document.get("Effect", "")),
            actions=_strings(document.get("Action")),
            not_actions=_strings(document.get("NotAction")),
            resources=_strings(document.get("Resource")),
            not_resources=_strings(document.get("NotResource")),
            has_condition=bool(document.get("Condition")),
            sid=str(document.get("Sid", "")),
        )

    def concerns(self, action: str) -> bool:
        if self.not_actions is not None:
            return not any(wildcard_match(p, action, ignore_case=True) for p in self.not_actions)
        return any(wildcard_match(p, action, ignore_case=True) for p in self.actions or ())

    def resource_matches(self, resource: str | None) -> bool | None:
        """Whether the statement covers the resource; None when that cannot be told
        (the resource is unknown, or the pattern has a policy variable)."""
        if self.resources is not None and "*" in self.resources:
            return True
        patterns, negated = (self.resources, False) if self.resources is not None else (self.not_resources, True)
        if patterns is None or resource is None or any("${" in p for p in patterns):
            return None
        matched = any(wildcard_match(p, resource) for p in patterns)
        return not matched if negated else matched

    def allows(self, action: str, resource: str | None) -> bool:
        """An Allow that applies or may apply: unknown conditions and resources count
        in the caller's favour."""
        return self.effect == "Allow" and self.concerns(action) and self.resource_matches(resource) is not False

    def surely_allows(self, action: str, resource: str | None) -> bool:
        """An Allow that applies whatever was not evaluated: no condition, a resource
        known to match."""
        return (self.effect == "Allow" and self.concerns(action) and not self.has_condition
                and self.resource_matches(resource) is True)

    def denies(self, action: str, resource: str | None) -> bool:
        """A Deny that surely applies: no condition, a resource known to match."""
        return (self.effect == "Deny" and self.concerns(action) and not self.has_condition
                and self.resource_matches(resource) is True)


@dataclass(frozen=True)
class Policy:
    name: str  # inline policy name or managed policy ARN: shown in explicit-deny messages
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, name: str, document) -> "Policy":
        if isinstance(document, (str, bytes)):
            try:
                document = json.loads(document)
            except ValueError:
                log.warning("IAM policy %s is not JSON: treated as empty", name)
                document = {}
        raw = document.get("Statement", []) if isinstance(document, dict) else []
        raw = [raw] if isinstance(raw, dict) else raw
        return cls(name, tuple(Statement.from_json(s) for s in raw if isinstance(s, dict)))


class Decision(str, Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicit-deny"
    EXPLICIT_DENY = "explicit-deny"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""  # how AWS words a denial: "because no identity-based policy allows …"
    # Allowed only by statements whose condition or resource was not evaluated: AWS
    # may still deny it.
    uncertain: bool = False

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED


def evaluate(policies: Iterable[Policy], action: str, resource: str | None = None) -> Verdict:
    """One action on one resource (None: unknown) against identity-based policies:
    an explicit Deny wins, then any Allow, else an implicit deny."""
    allowed = surely = False
    for policy in policies:
        for statement in policy.statements:
            if statement.denies(action, resource):
                return Verdict(Decision.EXPLICIT_DENY, f"with an explicit deny in an identity-based policy: {policy.name}")
            allowed = allowed or statement.allows(action, resource)
            surely = surely or statement.surely_allows(action, resource)
    if allowed:
        return Verdict(Decision.ALLOWED, uncertain=not surely)
    return Verdict(Decision.IMPLICIT_DENY, f"because no identity-based policy allows the {action} action")


@dataclass(frozen=True)
class RolePolicies:
    """What governs a role's sessions: its policies, and its permissions boundary
    (None: none set), which must allow too."""

    policies: tuple[Policy, ...]
    boundary: Policy | None = None

    def evaluate(self, action: str, resource: str | None) -> Verdict:
        verdict = evaluate(self.policies, action, resource)
        if not verdict.allowed or self.boundary is None:
            return verdict
        bounded = evaluate([self.boundary], action, resource)
        if bounded.decision is Decision.IMPLICIT_DENY:
            return Verdict(Decision.IMPLICIT_DENY, f"because no permissions boundary allows the {action} action")
        if bounded.allowed:
            return Verdict(Decision.ALLOWED, uncertain=verdict.uncertain or bounded.uncertain)
        return bounded


@dataclass(frozen=True)
class Denial:
    action: str
    resource: str | None
    verdict: Verdict


@dataclass(frozen=True)
class Judgement:
    denial: Denial | None  # the first (action, resource) the role may not do
    uncertain: tuple[str, ...] = ()  # actions allowed only by what was not evaluated


def judge(role: RolePolicies, permissions: Iterable[Permission]) -> Judgement:
    """Every action on every resource must be allowed."""
    uncertain: list[str] = []
    for permission in permissions:
        for resource in permission.resources or (None,):
            verdict = role.evaluate(permission.action, resource)
            if not verdict.allowed:
                return Judgement(Denial(permission.action, resource, verdict), tuple(uncertain))
            if verdict.uncertain and permission.action not in uncertain:
                uncertain.append(permission.action)
    return Judgement(None, tuple(uncertain))


def first_denial(role: RolePolicies, permissions: Iterable[Permission]) -> Denial | None:
    return judge(role, permissions).denial


# -- who is calling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A Lambda function signing with its execution role's session."""

    function: str
    account: str
    region: str
    role_arn: str | None

    @property
    def partition(self) -> str:
        parts = (self.role_arn or "").split(":")
        return parts[1] if len(parts) > 1 and parts[1] else "aws"

    @property
    def role_name(self) -> str:
        return (self.role_arn or "").rsplit("/", 1)[-1] or "unknown-role"

    @property
    def principal_arn(self) -> str:
        """How AWS names a Lambda function's session in its error messages."""
        return f"arn:{self.partition}:sts::{self.account}:assumed-role/{self.role_name}/{self.function}"

    @property
    def key(self) -> str:
        """Its key in the report's per-caller maps: the function's name."""
        return self.function

    def policies(self) -> "RolePolicies":
        return role_policies(self.role_arn)

    def log_fields(self) -> dict:
        return {"function": self.function, "role": self.role_arn, "principal": self.principal_arn}


@dataclass(frozen=True)
class UserCaller:
    """An IAM user signing with an access key of its own (long-term credentials)."""

    user: str
    account: str
    partition: str = "aws"
    path: str = "/"
    access_key: str = ""

    @property
    def region(self) -> str:  # a user's calls name their region in the signature
        return "us-east-1"

    @property
    def principal_arn(self) -> str:
        """How AWS names a user in its error messages: the user's ARN, with its path."""
        return f"arn:{self.partition}:iam::{self.account}:user{self.path or '/'}{self.user}"

    @property
    def key(self) -> str:
        """Its key in the report's per-caller maps: the user's ARN (never a function's name)."""
        return self.principal_arn

    def policies(self) -> "RolePolicies":
        return user_policies(self.account, self.partition, self.user)

    def log_fields(self) -> dict:
        return {"user": self.user, "access_key": self.access_key, "principal": self.principal_arn}


def find_caller(api_call: ApiCall, lambda_host) -> Caller | UserCaller | None:
    """The function or IAM user whose credentials signed the call, or None (neither's)."""
    worker = lambda_host.worker_for_token(api_call.session_token) if lambda_host is not None else None
    if worker is not None:
        spec = worker.spec
        return Caller(spec.name, spec.account, spec.region, execution_role_arn(spec.name, spec.account, spec.region))
    if api_call.access_key.startswith("ASIA"):
        # A worker that has just stopped: its key still names its function.
        return _caller_by_access_key(api_call.access_key)
    if api_call.session_token is None:
        return user_by_access_key(api_call.access_key)
    return None


def user_by_access_key(access_key: str) -> UserCaller | None:
    """The IAM user that owns this access key, from moto's IAM backends (the ones moto has
    made: looking never creates one); None for a key no user owns — the default `test`
    key, an STS session's, moto's own."""
    from moto.iam.models import iam_backends

    from .accounts import existing_backends

    for account, partition, backend in existing_backends(iam_backends):
        key = backend.access_keys.get(access_key)
        if key is None or not key.user_name:
            continue
        user = backend.users.get(key.user_name)
        if user is not None:
            return UserCaller(user.name, account, partition, user.path or "/", access_key)
    return None


def execution_role_arn(function: str, account: str, region: str) -> str | None:
    from moto.awslambda.models import lambda_backends

    try:
        return lambda_backends[account][region].get_function(function).role
    except Exception:  # the function was deleted meanwhile
        return None


def _caller_by_access_key(access_key: str) -> Caller | None:
    from moto.awslambda.models import lambda_backends

    from .accounts import existing_backends
    from .lambda_host.worker import function_access_key

    for account, region, backend in existing_backends(lambda_backends):
        for function in list(backend.list_functions()):
            if function_access_key(function.function_name) == access_key:
                return Caller(function.function_name, account, region, function.role)
    return None


def role_policies(role_arn: str | None) -> RolePolicies:
    """The role's inline and attached managed policies and its boundary, from moto's
    IAM backend in the role's own account. An unknown role has no policies: IAM
    would not let its sessions do anything either."""
    role = _moto_role(role_arn)
    if role is None:
        return RolePolicies(())
    policies = [Policy.parse(name, document) for name, document in list(role.policies.items())]
    policies += [Policy.parse(policy.arn, _default_version(policy)) for policy in list(role.managed_policies.values())]
    boundary = None
    if role.permissions_boundary_arn:
        boundary_policy = _moto_managed_policy(role_arn, role.permissions_boundary_arn)
        boundary = Policy.parse(role.permissions_boundary_arn, _default_version(boundary_policy) if boundary_policy else {})
    return RolePolicies(tuple(policies), boundary)


def user_policies(account: str, partition: str, user_name: str) -> RolePolicies:
    """The user's inline and attached managed policies and those of each group it is in,
    from moto's IAM backend in the user's account. A user deleted meanwhile has none."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account][partition]
    user = backend.users.get(user_name)
    if user is None:
        return RolePolicies(())
    policies = [Policy.parse(name, document) for name, document in list(user.policies.items())]
    policies += [Policy.parse(policy.arn, _default_version(policy)) for policy in list(user.managed_policies.values())]
    for group in list(backend.groups.values()):
        if user not in group.users:
            continue
        policies += [Policy.parse(f"{group.name}/{name}", document) for name, document in list(group.policies.items())]
        policies += [Policy.parse(policy.arn, _default_version(policy))
                     for policy in list(group.managed_policies.values())]
    return RolePolicies(tuple(policies))


def _moto_iam_backend(role_arn: str):
    from moto.iam.models import iam_backends

    parts = role_arn.split(":")
    return iam_backends[parts[4]][parts[1] or "aws"]


def _moto_role(role_arn: str | None):
    if not role_arn or role_arn.count(":") < 5:
        return None
    from moto.iam.exceptions import NotFoundException

    backend = _moto_iam_backend(role_arn)
    try:
        return backend.get_role_by_arn(role_arn)
    except NotFoundException:
        try:  # the function may name the role without its path
            return backend.get_role(role_arn.rsplit("/", 1)[-1])
        except NotFoundException:
            return None


def _moto_managed_policy(role_arn: str, policy_arn: str):
    backend = _moto_iam_backend(role_arn)
    try:
        return backend.get_policy(policy_arn)
    except Exception:  # moto's NotFoundException
        return None


def _default_version(policy) -> str | dict:
    """A managed policy's document: its default version's (as moto's IAMPolicy reads it)."""
    for version in policy.versions:
        if version.is_default:
            return version.document
    return {}


# -- the answer ------------------------------------------------------------------------------


def denial_message(caller: Caller | UserCaller, denial: Denial) -> str:
    return (f"User: {caller.principal_arn} is not authorized to perform: {denial.action} "
            f"on resource: {denial.resource or '*'} {denial.verdict.reason}")


def access_denied_error(api_call: ApiCall, message: str) -> ServiceError:
    """The service's AccessDenied: EC2's UnauthorizedOperation; `AccessDenied` for query,
    rest-xml and query-compatible services; `AccessDeniedException` for JSON ones."""
    if api_call.protocol == "ec2":
        return ServiceError(403, "UnauthorizedOperation", "You are not authorized to perform this operation. " + message, "Sender")
    if api_call.protocol in ("query", "rest-xml") or query_compatible(api_call):
        return ServiceError(403, "AccessDenied", message, "Sender")
    if api_call.protocol == "rest-json":
        return ServiceError(403, "AccessDeniedException", message, "Sender")
    return ServiceError(400, "AccessDeniedException", message, "Sender")


# -- the layer -------------------------------------------------------------------------------


class _Record:
    """The denied-call log and counters; DELETE starts a new one."""

    def __init__(self):
        self.checked = 0
        self.denied = 0
        self.unnamed = 0
        # Keyed by caller: a function's name, an IAM user's ARN (`Caller.key`, `UserCaller.key`).
        self.checked_by: dict[str, int] = {}  # caller -> calls checked
        self.by_caller: dict[str, dict[str, int]] = {}  # caller -> action -> denials: outlives the log's size
        # caller -> action -> calls allowed only because a condition or resource was not
        # evaluated: where AWS could still say no.
        self.uncertain: dict[str, dict[str, int]] = {}
        self.log: deque = deque(maxlen=LOG_SIZE)

    def report(self, mode: str) -> dict:
        return {
            "mode": mode,
            "calls": {"checked": self.checked, "allowed": self.checked - self.denied, "denied": self.denied,
                      "unnamed": self.unnamed},
            # Copies: the reply is serialised after the lock is released.
            "checked": dict(self.checked_by),
            "denied": {caller: dict(actions) for caller, actions in self.by_caller.items()},
            "uncertain": {caller: dict(actions) for caller, actions in self.uncertain.items()},
            "log": list(self.log),
        }


class IamEnforcer:
    """WSGI middleware over the router. `lambda_host` maps a call's session token to
    the worker (and so the function) that made it; moto's IAM backend maps a user's
    access key to the user."""

    def __init__(self, app: WsgiApp, lambda_host=None, mode: str = "off"):
        self.app = app
        self.lambda_host = lambda_host
        self._lock = threading.Lock()
        self._mode = mode_from_environment(mode)
        self._record = _Record()
        if self._mode != "off":
            log.info("IAM %s for the Lambda functions' and IAM users' calls", self._mode)

    # -- control ------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> dict:
        mode = mode_from_environment(mode)
        with self._lock:
            if mode != self._mode:
                log.info("IAM enforcement mode: %s", mode)
            self._mode = mode
            return self._record.report(self._mode)

    def report(self) -> dict:
        with self._lock:
            return self._record.report(self._mode)

    def clear(self) -> dict:
        with self._lock:
            self._record = _Record()
            return self._record.report(self._mode)

    @staticmethod
    def is_control(call: CallView) -> bool:
        return call.path == CONTROL_PATH

    def handle_control(self, call: CallView) -> Reply:
        """The router route: GET the mode and log, POST {"mode"}, DELETE the log (the
        mode stays)."""
        if call.method == "GET":
            return json_reply(200, self.report())
        if call.method == "DELETE":
            return json_reply(200, self.clear())
        if call.method in ("POST", "PUT"):
            try:
                document = json.loads(call.body or b"null")
                if not isinstance(document, dict) or set(document) != {"mode"}:
                    raise ModeError('the body must be {"mode": "enforce" | "audit" | "off"}')
                return json_reply(200, self.set_mode(str(document["mode"])))
            except ValueError as error:  # ModeError, or invalid JSON
                return json_reply(400, {"error": str(error)})
        return json_reply(405, {"error": f"{call.method} is not allowed: GET, POST or DELETE"})

    # -- the calls ----------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        mode = self._mode
        if mode == "off":
            return self.app(environ, start_response)
        call = CallView(environ)
        api_call = classify(call)
        caller = find_caller(api_call, self.lambda_host) if api_call is not None else None
        if caller is None:
            return self.app(environ, start_response)
        judgement = self.check(api_call, call, caller)
        self._count_uncertain(caller, judgement.uncertain)
        denial = judgement.denial
        if denial is None:
            return self.app(environ, start_response)
        reply = error_reply(api_call, access_denied_error(api_call, denial_message(caller, denial)), call.method,
                            [(DENIED_HEADER, "denied")])
        enforced = mode == "enforce"
        self._remember(api_call, caller, denial, reply.status, enforced)
        if not enforced:
            return self.app(environ, start_response)
        start_response(status_line(reply.status), reply.headers)
        return [reply.body]

    def check(self, api_call: ApiCall, call: CallView, caller: Caller | UserCaller) -> Judgement:
        """No denial when the caller's policies allow the call (or it cannot be named)."""
        with self._lock:
            self._record.checked += 1
            self._record.checked_by[caller.key] = self._record.checked_by.get(caller.key, 0) + 1
            if not is_named(api_call):
                self._record.unnamed += 1
                return Judgement(None)
        scope = Scope(caller.account, call.region or caller.region, caller.partition)
        permissions = required_permissions(api_call, call, scope)
        return judge(caller.policies(), permissions)

    def _count_uncertain(self, caller: Caller | UserCaller, actions: tuple[str, ...]) -> None:
        if not actions:
            return
        with self._lock:
            by_action = self._record.uncertain.setdefault(caller.key, {})
            for action in actions:
                by_action[action] = by_action.get(action, 0) + 1

    def _remember(self, api_call: ApiCall, caller: Caller | UserCaller, denial: Denial, status: int,
                  enforced: bool) -> None:
        entry = {
            "time": _now(), **caller.log_fields(),
            "service": api_call.service, "iam_service": iam_prefix(api_call.service),
            "operation": api_call.operation, "action": denial.action, "resource": denial.resource,
            "decision": denial.verdict.decision.value, "status": status, "enforced": enforced,
        }
        with self._lock:
            record = self._record
            record.denied += 1
            by_action = record.by_caller.setdefault(caller.key, {})
            by_action[denial.action] = by_action.get(denial.action, 0) + 1
            record.log.append(entry)
        log.warning("IAM %s %s %s to %s: %s on %s (%s)", "denied" if enforced else "would deny",
                    api_call.service, api_call.operation, caller.principal_arn, denial.action,
                    denial.resource or "*", denial.verdict.decision.value)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
