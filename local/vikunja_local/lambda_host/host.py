"""Answers Lambda Invoke by running the function's real code in warm workers."""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import weakref
from collections import defaultdict
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from ..router import CallView, Reply, json_reply
from .code_store import CodeStore, MissingBootstrap
from .logs import LambdaLogs
from .model import FunctionSpec, Invocation, Outcome
from .reports import ReportStore
from .worker import Worker

log = logging.getLogger(__name__)

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
REPORTS_PATH = "/_vikunja_local/lambda/reports"
_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:")


class Throttled(Exception):
    pass


# Told when a worker begins an invocation (before the runtime gets it): the
# fault injector's crash rules (`after_calls: 0`) kill it there.
InvocationObserver = Callable[[Worker, Invocation], None]


class LambdaHost:
    def __init__(self, endpoint: str, state_dir: Path, default_region: str,
                 init_timeout: float = 10.0, idle_seconds: float = 600.0, max_workers: int = 16,
                 stack_environment: dict[str, str] | None = None):
        self.endpoint = endpoint
        # Variables every worker gets from the stack itself (e.g. VIKUNJA_LOCAL_LISTENERS).
        self.stack_environment = dict(stack_environment or {})
        self.default_region = default_region
        self.init_timeout = init_timeout
        self.idle_seconds = idle_seconds
        self.max_workers = max_workers
        self.code = CodeStore(state_dir / "lambda")
        self.logs = LambdaLogs(state_dir / "logs" / "lambda")
        self.reports = ReportStore()  # each invocation's REPORT figures, for REPORTS_PATH
        self._lock = threading.Lock()
        self._idle: dict[str, list[Worker]] = defaultdict(list)  # function ARN -> warm, free workers
        self._busy: dict[str, set[Worker]] = defaultdict(set)
        self._current: dict[str, str] = {}  # function ARN -> fingerprint of its latest spec
        # Session token -> its worker: tells which worker signed a call to the router.
        self._by_token: "weakref.WeakValueDictionary[str, Worker]" = weakref.WeakValueDictionary()
        self.invocation_observer: InvocationObserver | None = None
        self._closed = False
        threading.Thread(target=self._reap_idle_workers, name="lambda-reaper", daemon=True).start()

    # -- router integration -------------------------------------------------------------

    @staticmethod
    def is_invoke(call: CallView) -> bool:
        return call.method == "POST" and INVOKE_PATH.match(call.path) is not None

    def handle_invoke(self, call: CallView) -> Reply:
        name, qualifier = self._function_reference(call)
        try:
            spec = self.lookup(name, qualifier, call)
        except LookupError as missing:
            return _error_reply(404, "ResourceNotFoundException", str(missing))
        invocation_type = call.header("X-Amz-Invocation-Type") or "RequestResponse"
        version_header = [("X-Amz-Executed-Version", spec.version)]
        if invocation_type == "DryRun":
            return Reply(204, version_header, b"")
        payload = call.body or b"{}"
        if invocation_type == "Event":
            self.invoke_in_background(spec, payload)
            return Reply(202, [("Content-Length", "0")], b"")
        try:
            outcome = self.invoke(spec, payload, _client_context(call))
        except Throttled as throttled:
            return _error_reply(429, "TooManyRequestsException", str(throttled),
                                Reason="ConcurrentInvocationLimitExceeded")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(outcome.payload)))] + version_header
        if outcome.failed:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        if (call.header("X-Amz-Log-Type") or "").lower() == "tail":
            headers.append(("X-Amz-Log-Result", outcome.log_tail()))
        return Reply(200, headers, outcome.payload)

    @staticmethod
    def is_reports_request(call: CallView) -> bool:
        return call.path == REPORTS_PATH

    def handle_reports(self, call: CallView) -> Reply:
        """Read-only: the recent REPORT figures (oldest first) of `?function=NAME`,
        or of every function, so a benchmark need not parse logs."""
        if call.method != "GET":
            return json_reply(405, {"error": f"{call.method} is not allowed: GET"})
        name = (call.query.get("function") or [None])[0]
        if name:
            return json_reply(200, {"function": name, "reports": self._reports_json(name)})
        return json_reply(200, {"functions": {name: self._reports_json(name) for name in self.reports.functions()}})

    def _reports_json(self, function: str) -> list[dict]:
        return [report.as_json() for report in self.reports.recent(function)]

    # -- invoking ---------------------------------------------------------------------

    def invoke(self, spec: FunctionSpec, payload: bytes, client_context: str | None = None) -> Outcome:
        invocation = Invocation(payload, spec.arn if spec.version == "$LATEST" else f"{spec.arn}:{spec.version}",
                                spec.timeout, client_context)
        try:
            task_root = self.code.task_root(spec)
        except MissingBootstrap as missing:
            return Outcome.error("Runtime.InvalidEntrypoint", str(missing))
        try:
            worker = self._acquire(spec, task_root)
        except OSError as error:
            log.warning("cannot start %s: %s", spec.name, error)
            return Outcome.error("Runtime.InvalidEntrypoint", f"cannot execute bootstrap: {error}")
        try:
            outcome = worker.invoke(invocation)
        finally:
            self._release(worker)
        if outcome.report is not None:
            self.reports.add(outcome.report)
        return outcome

    def prepare_code(self) -> None:
        """Unpacks every function's current code that is not unpacked yet. Lambda prepares a
        function's code before the function turns Active, and CloudFormation waits for that;
        left to the first invocation, unpacking a release zip (80-95 ms each on a 2-core VM)
        lands inside the first workflow step that calls each function."""
        from moto.awslambda.models import lambda_backends

        for account, regions in list(lambda_backends.items()):
            for region, backend in list(regions.items()):
                for function in list(backend.list_functions()):
                    spec = spec_from_moto(function, region, account)
                    if not spec.code_zip:
                        continue
                    try:
                        self.code.task_root(spec)
                    except MissingBootstrap:
                        continue  # not a custom runtime: its invocations say so
                    except Exception:  # a bad zip is reported when it is invoked
                        log.exception("could not unpack the code of %s", spec.name)

    def invoke_in_background(self, spec: FunctionSpec, payload: bytes) -> None:
        """Lambda's `Event` invocation type: accepted now, run later."""
        threading.Thread(target=self._invoke_and_log, args=(spec, payload),
                         name=f"lambda-event-{spec.name}", daemon=True).start()

    def _invoke_and_log(self, spec: FunctionSpec, payload: bytes) -> None:
        try:
            outcome = self.invoke(spec, payload)
            if outcome.failed:
                log.warning("async invoke of %s failed: %s", spec.name, outcome.payload[:500])
        except Exception:
            log.exception("async invoke of %s failed", spec.name)

    def _acquire(self, spec: FunctionSpec, task_root: Path) -> Worker:
        with self._lock:
            if self._closed:
                raise Throttled("the local Lambda host is shutting down")
            self._retire_outdated(spec)
            idle = self._idle[spec.arn]
            while idle:
                worker = idle.pop()
                if worker.alive:
                    self._busy[spec.arn].add(worker)
                    return worker
            if len(self._busy[spec.arn]) >= self.max_workers:
                raise Throttled(f"{spec.name}: {self.max_workers} concurrent invocations already running")
            worker = Worker(spec, task_root, self.endpoint, self.init_timeout, self.logs.write,
                            self.stack_environment, self._invocation_starting)
            self._busy[spec.arn].add(worker)
            self._by_token[worker.session_token] = worker
            return worker

    def _release(self, worker: Worker) -> None:
        arn = worker.spec.arn
        with self._lock:
            self._busy[arn].discard(worker)
            keep = worker.alive and not self._closed and self._current.get(arn) == worker.spec.fingerprint
            if keep:
                self._idle[arn].append(worker)
        if not keep:
            worker.stop()

    def _retire_outdated(self, spec: FunctionSpec) -> None:
        """New code or configuration: warm workers of the old one are stopped
        (busy ones when they finish)."""
        if self._current.get(spec.arn) == spec.fingerprint:
            return
        self._current[spec.arn] = spec.fingerprint
        outdated = [w for w in self._idle[spec.arn] if w.spec.fingerprint != spec.fingerprint]
        self._idle[spec.arn] = [w for w in self._idle[spec.arn] if w not in outdated]
        for worker in outdated:
            worker.stop()

    def _reap_idle_workers(self) -> None:
        while not self._closed:
            time.sleep(min(30.0, max(self.idle_seconds / 2, 0.5)))
            now = time.monotonic()
            with self._lock:
                expired = [w for ws in self._idle.values() for w in ws if now - w.idle_since > self.idle_seconds]
                for arn in self._idle:
                    self._idle[arn] = [w for w in self._idle[arn] if w not in expired]
            for worker in expired:
                worker.stop()

    def close(self) -> None:
        """Stop every worker (on stack shutdown)."""
        with self._lock:
            self._closed = True
            workers = [w for ws in self._idle.values() for w in ws] + [w for ws in self._busy.values() for w in ws]
            self._idle.clear()
        for worker in workers:
            worker.stop()

    def worker_for_token(self, session_token: str | None) -> Worker | None:
        """The running worker whose credentials carry this session token."""
        if not session_token:
            return None
        worker = self._by_token.get(session_token)
        return worker if worker is not None and worker.alive else None

    def _invocation_starting(self, worker: Worker, invocation: Invocation) -> None:
        observer = self.invocation_observer
        if observer is not None:
            observer(worker, invocation)

    def worker_count(self) -> int:
        with self._lock:
            return sum(len(ws) for ws in self._idle.values()) + sum(len(ws) for ws in self._busy.values())

    # -- looking functions up in moto ---------------------------------------------------------

    @staticmethod
    def _function_reference(call: CallView) -> tuple[str, str | None]:
        match = INVOKE_PATH.match(call.path)
        assert match is not None
        name = unquote(match["function"])
        qualifier = (call.query.get("Qualifier") or [None])[0]
        return name, qualifier

    def lookup(self, name_or_arn: str, qualifier: str | None, call: CallView | None = None) -> FunctionSpec:
        """The function as moto stores it (created by API or by CloudFormation)."""
        from moto.awslambda.models import lambda_backends

        region, account = self._region_and_account(name_or_arn, call)
        try:
            function = lambda_backends[account][region].get_function(name_or_arn, qualifier)
        except Exception as error:  # moto's UnknownFunctionException and friends
            raise LookupError(getattr(error, "message", None) or f"Function not found: {name_or_arn}") from error
        if function is None:
            raise LookupError(f"Function not found: {name_or_arn}")
        return spec_from_moto(function, region, account)

    def _region_and_account(self, name_or_arn: str, call: CallView | None) -> tuple[str, str]:
        arn = _ARN.match(name_or_arn)
        if arn:
            return arn["region"], arn["account"]
        region = (call.region if call else None) or self.default_region
        return region, _account_for(call)


def _client_context(call: CallView) -> str | None:
    """The SDK sends it base64-encoded; the runtime receives the JSON itself."""
    encoded = call.header("X-Amz-Client-Context")
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode()
    except ValueError:
        return encoded


def _error_reply(status: int, code: str, message: str, **extra) -> Reply:
    """Lambda's error shape: the code in `x-amzn-ErrorType` (and `__type` for SDKs
    that read the body)."""
    document = {"__type": code, "Type": "User", "Message": message, **extra}
    return json_reply(status, document, [("x-amzn-ErrorType", code)])


def _account_for(call: CallView | None) -> str:
    from ..accounts import account_for

    return account_for(call)


def spec_from_moto(function, region: str, account: str) -> FunctionSpec:
    """Copy what the host needs out of moto's LambdaFunction (a version or $LATEST)."""
    version = str(function.version)
    unqualified_arn = function.function_arn
    if version != "$LATEST" and unqualified_arn.endswith(f":{version}"):
        unqualified_arn = unqualified_arn[: -len(version) - 1]
    return FunctionSpec(
        name=function.function_name,
        arn=unqualified_arn,
        version=version,
        region=region,
        account=account,
        code_sha256=function.code_sha_256 or "",
        timeout=float(function.timeout or 3),
        memory_size=int(function.memory_size or 128),
        handler=function.handler or "",
        environment=dict(function.environment_vars or {}),
        code_zip=getattr(function, "code_bytes", b"") or b"",
    )
