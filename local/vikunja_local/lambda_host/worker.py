"""One warm execution environment: a `bootstrap` process and its Runtime API."""

from __future__ import annotations

import base64
import ctypes
import hashlib
import itertools
import logging
import os
import secrets
import select
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable

from .model import FunctionSpec, Invocation, Outcome
from .reports import Report, make_report, peak_memory_mb
from .runtime_api import RuntimeApiServer

log = logging.getLogger(__name__)

_worker_numbers = itertools.count(1)
# Workers are forked from this one long-lived thread: the parent-death signal
# fires when the *thread* that forked exits, and request threads are short-lived.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")
# Stack environment variables every worker inherits when set.
PASSTHROUGH_VARIABLES = ("RUST_LOG", "RUST_BACKTRACE", "PATH", "LANG", "TZ")

LogSink = Callable[[FunctionSpec, str, str], None]  # (spec, stream name, line)
# Called as an invocation begins, before the runtime gets it (crash injection).
InvocationStart = Callable[["Worker", Invocation], None]


def function_access_key(function_name: str) -> str:
    """The access key id a function's workers sign with: `ASIA` (AWS's prefix for
    temporary credentials, as Lambda hands out for the execution role) and 16
    base32 characters of the name's SHA-256. Unknown to moto's IAM, so moto maps it
    to its default account, like `test`."""
    digest = hashlib.sha256(function_name.encode()).digest()
    return "ASIA" + base64.b32encode(digest).decode()[:16]


def function_secret_key(function_name: str) -> str:
    digest = hashlib.sha256(b"secret:" + function_name.encode()).digest()
    return base64.b64encode(digest).decode()[:40]


def crash_outcome(how: str, invocation: Invocation) -> Outcome:
    """How Lambda reports an execution environment it killed: out of memory
    (SIGKILL) or the function's timeout."""
    if how == "timeout":
        return Outcome.error(
            "Sandbox.Timedout",
            f"RequestId: {invocation.request_id} Error: Task timed out after {invocation.timeout:.2f} seconds",
        )
    return Outcome.error(
        "Runtime.ExitError", f"RequestId: {invocation.request_id} Error: Runtime exited with error: signal: killed"
    )


class Worker:
    """Runs one invocation at a time, like a Lambda execution environment."""

    def __init__(self, spec: FunctionSpec, task_root: Path, endpoint: str, init_timeout: float, log_sink: LogSink,
                 stack_environment: dict[str, str] | None = None, on_invocation_start: InvocationStart | None = None):
        self.spec = spec
        self.stack_environment = dict(stack_environment or {})
        self.number = next(_worker_numbers)
        self.init_timeout = init_timeout
        self.log_stream = time.strftime("%Y/%m/%d") + f"/[{spec.version}]local{self.number:06d}"
        self.idle_since = time.monotonic()
        self.invocations = 0
        # This environment's credentials: the function's access key, a session token
        # of its own (how the router tells which worker made a call).
        self.access_key = function_access_key(spec.name)
        self.session_token = f"VIKUNJALOCAL{self.number:06d}{secrets.token_hex(24)}"
        self.invocation: Invocation | None = None  # the one being served
        self.aws_calls = 0  # signed calls the router saw from this worker during it
        self._on_invocation_start = on_invocation_start
        self._log_sink = log_sink
        self._cond = threading.Condition()
        self._waiting: Invocation | None = None  # given, not yet taken by the runtime
        self._current: Invocation | None = None  # taken, not yet answered
        self._stopping = False
        self._init_error: Outcome | None = None
        self._captured: list[str] | None = None  # this invocation's log lines, for LogType Tail
        self._runtime_api = RuntimeApiServer(self)
        # Lambda's Init Duration: from the spawn to the runtime's first request
        # (GET next, or init/error), reported on this worker's first invocation.
        self._spawned_at = time.monotonic()
        self._init_ended_at: float | None = None
        # The last VmHWM read: what REPORT says when the process is already gone.
        self._peak_memory_mb: int | None = None
        try:
            self.process = self._spawn(task_root, endpoint)
        except OSError:  # not executable here: wrong architecture, missing interpreter...
            self._runtime_api.close()
            raise
        threading.Thread(target=self._pump_output, name=f"lambda-log-{spec.name}", daemon=True).start()
        threading.Thread(target=self._watch_exit, name=f"lambda-exit-{spec.name}", daemon=True).start()
        log.info("worker %s for %s started (pid %s, runtime api %s)", self.number, spec.name, self.process.pid, self._runtime_api.address)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return not self._stopping and self.process.poll() is None

    # -- the invoking side ------------------------------------------------------------

    def invoke(self, invocation: Invocation) -> Outcome:
        """Hand the invocation to the runtime and wait for its answer, enforcing
        the init timeout and the function's timeout."""
        self.invocations += 1
        self.invocation, self.aws_calls = invocation, 0
        self._captured = []
        self._emit(f"START RequestId: {invocation.request_id} Version: {self.spec.version}")
        began = time.monotonic()
        if self._on_invocation_start is not None:
            try:
                self._on_invocation_start(self, invocation)
            except Exception:
                log.exception("invocation-start hook failed for %s", self.spec.name)
        with self._cond:
            if self._init_error is not None:
                invocation.resolve(self._init_error)
            elif self._stopping:
                invocation.resolve(Outcome.error("Runtime.ExitError", "the execution environment has stopped"))
            else:
                self._waiting = invocation
                self._cond.notify_all()

        # On a timeout, record the outcome before killing: the exit watcher would
        # otherwise report the kill as Runtime.ExitError.
        if not self._wait_for_init(invocation):
            invocation.resolve(Outcome.error(
                "Sandbox.Timedout",
                f"RequestId: {invocation.request_id} Error: Task timed out after {invocation.timeout:.2f} seconds",
            ))
            self.stop()
        else:
            # While it runs, from this thread: a figure for a process that exits mid-invocation.
            self._sample_memory()
            if not invocation.finished.wait(invocation.timeout):
                invocation.resolve(Outcome.error(
                    "Sandbox.Timedout",
                    f"RequestId: {invocation.request_id} Error: Task timed out after {invocation.timeout:.2f} seconds",
                ))
                self.stop()
        outcome = invocation.outcome
        assert outcome is not None
        report = self._report(invocation, outcome, began)  # at once: the figures end here
        self._let_output_drain()
        self._emit(f"END RequestId: {invocation.request_id}")
        self._emit(report.line())
        log_lines, self._captured = self._captured or [], None
        self.invocation = None
        self.idle_since = time.monotonic()
        # A copy: an init error's outcome is shared by every invocation it fails.
        return replace(outcome, log_lines=log_lines, report=report)

    def _wait_for_init(self, invocation: Invocation) -> bool:
        """Whether the runtime took the invocation in time. Lambda allows an on-demand
        function's Init phase 10 s; past that it does not fail the invocation but runs Init
        again within the function's own timeout, and only then answers Sandbox.Timedout.
        Here the slow init goes on (a restart would only start it over) within that budget."""
        if invocation.started.wait(self.init_timeout):
            return True
        self._emit(f"INIT_REPORT Init Duration: {self.init_timeout * 1000:.2f} ms\tPhase: init\tStatus: timeout")
        return invocation.started.wait(max(0.0, invocation.timeout - self.init_timeout))

    def _report(self, invocation: Invocation, outcome: Outcome, handed_at: float) -> Report:
        """Lambda's REPORT figures. Duration runs from the runtime taking the event to
        its answer (an event it never took: from handing it over), so a cold start's
        init shows only in Init Duration."""
        ended = invocation.resolved_at or time.monotonic()
        duration = ended - (invocation.started_at or handed_at)
        first = self.invocations == 1
        init = self._init_ended_at - self._spawned_at if first and self._init_ended_at is not None else None
        return make_report(
            request_id=invocation.request_id, function=self.spec.name, version=self.spec.version,
            duration_seconds=max(duration, 0.0), init_seconds=init, memory_size_mb=self.spec.memory_size,
            max_memory_mb=self._sample_memory() or 0, worker=self.number, pid=self.pid,
            error_type=outcome.error_type,
        )

    def _sample_memory(self) -> int | None:
        """The process's peak memory now, or the last one read if it has exited
        (VmHWM only grows, so that is the best figure left). Not once reaped: the pid
        could then be another process's."""
        peak = peak_memory_mb(self.pid) if self.process.returncode is None else None
        if peak is not None:
            self._peak_memory_mb = max(peak, self._peak_memory_mb or 0)
        return self._peak_memory_mb

    def _init_ended(self) -> None:
        # No memory sample here: a fast runtime can call before Popen has returned.
        if self._init_ended_at is None:
            self._init_ended_at = time.monotonic()

    def crash(self, how: str = "killed") -> Invocation | None:
        """Kill the process as Lambda kills an environment that ran out of memory
        (SIGKILL; `how="timeout"`: as at the function's timeout). The invocation it
        serves, if any, ends with Lambda's answer for that; returns it."""
        invocation = self.invocation
        if invocation is not None:
            invocation.resolve(crash_outcome(how, invocation))
        self.stop()
        return invocation

    def stop(self) -> None:
        """Stop the process and release anything waiting on it."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        if self.process.poll() is None:
            self._sample_memory()  # last chance: a killed invocation's REPORT needs it
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._runtime_api.close()
        log.info("worker %s for %s stopped", self.number, self.spec.name)

    # -- the runtime side (called by the Runtime API server) ---------------------------------

    def next_invocation(self) -> Invocation | None:
        self._init_ended()
        with self._cond:
            while self._waiting is None and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            invocation, self._waiting = self._waiting, None
            self._current = invocation
            invocation.start()
            return invocation

    def invocation_result(self, request_id: str, outcome: Outcome) -> bool:
        with self._cond:
            current = self._current
            if current is None or current.request_id != request_id:
                return False
            self._current = None
        return current.resolve(outcome)

    def init_failed(self, outcome: Outcome) -> None:
        log.warning("function %s failed to initialise: %s", self.spec.name, outcome.payload[:500])
        self._init_ended()
        with self._cond:
            self._init_error = outcome
            waiting = self._waiting
        if waiting is not None:
            waiting.resolve(outcome)

    # -- process plumbing ------------------------------------------------------------------

    def _spawn(self, task_root: Path, endpoint: str) -> subprocess.Popen:
        return _SPAWNER.submit(
            subprocess.Popen,
            [str(task_root / "bootstrap")],
            cwd=task_root,
            env=self._environment(task_root, endpoint),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills all it started
            preexec_fn=_die_with_parent,
        ).result()

    def _environment(self, task_root: Path, endpoint: str) -> dict[str, str]:
        spec = self.spec
        env = {name: os.environ[name] for name in _passthrough_names() if name in os.environ}
        env.setdefault("TZ", ":UTC")
        env["AWS_ENDPOINT_URL"] = endpoint
        env.update({str(k): str(v) for k, v in (spec.environment or {}).items()})
        # The stack's own inputs (the listener map) win over the function's: they
        # describe this stack, and a function cannot know them in advance.
        env.update(self.stack_environment)
        # The runtime's own variables: a function cannot override these on AWS either.
        env.update({
            "AWS_LAMBDA_RUNTIME_API": self._runtime_api.address,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
            "_HANDLER": spec.handler or "bootstrap",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": function_secret_key(spec.name),
            "AWS_SESSION_TOKEN": self.session_token,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(task_root),
        })
        return env

    def _pump_output(self) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            self._emit(raw.decode("utf-8", "replace").rstrip("\n"))

    def _let_output_drain(self, limit: float = 0.05) -> None:
        """Give the log pump a moment to read what the function printed just before it
        answered, so those lines belong to this invocation (START..END, LogType Tail)."""
        stdout = self.process.stdout
        deadline = time.monotonic() + limit
        while stdout is not None and time.monotonic() < deadline:
            try:
                pending, _, _ = select.select([stdout], [], [], 0)
            except (ValueError, OSError):  # closed: the process is gone
                return
            if not pending:
                return
            time.sleep(0.002)

    def _emit(self, line: str) -> None:
        captured = self._captured
        if captured is not None:
            captured.append(line)
        try:
            self._log_sink(self.spec, self.log_stream, line)
        except Exception:
            log.exception("could not record a log line of %s", self.spec.name)

    def _watch_exit(self) -> None:
        code = self.process.wait()
        with self._cond:
            was_stopping = self._stopping
            self._stopping = True
            self._cond.notify_all()
            pending = [inv for inv in (self._waiting, self._current) if inv is not None]
            self._waiting = self._current = None
        if not was_stopping:
            log.warning("worker %s of %s exited on its own with status %s", self.number, self.spec.name, code)
            self._runtime_api.close()
        for invocation in pending:
            invocation.resolve(self._init_error or Outcome.error(
                "Runtime.ExitError",
                f"RequestId: {invocation.request_id} Error: Runtime exited with error: {_exit_description(code)}",
            ))


def _exit_description(code: int) -> str:
    """As Lambda words it (Go's ProcessState): `exit status 3`, `signal: killed`."""
    if code >= 0:
        return f"exit status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"
    return "signal: " + {"SIGKILL": "killed", "SIGTERM": "terminated", "SIGSEGV": "segmentation fault",
                         "SIGABRT": "aborted", "SIGINT": "interrupt"}.get(name, name)


def _passthrough_names() -> list[str]:
    extra = os.environ.get("VIKUNJA_LOCAL_LAMBDA_PASSTHROUGH", "")
    return list(PASSTHROUGH_VARIABLES) + [name.strip() for name in extra.split(",") if name.strip()]


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL if the stack process dies, so a crashed
    stack leaves no orphaned functions behind."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass
