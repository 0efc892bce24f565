"""Plain data the Lambda host passes around."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field

from .reports import Report


@dataclass(frozen=True)
class FunctionSpec:
    """What the host needs to know of one function version, copied out of moto."""

    name: str
    arn: str  # unqualified
    version: str
    region: str
    account: str
    code_sha256: str  # base64, as Lambda reports it
    timeout: float
    memory_size: int
    handler: str
    environment: dict = field(hash=False, compare=False)
    code_zip: bytes = field(repr=False, hash=False, compare=False)

    @property
    def code_id(self) -> str:
        """A filesystem-safe name for this code: the hex form of CodeSha256."""
        try:
            return base64.b64decode(self.code_sha256).hex()
        except ValueError:
            return hashlib.sha256(self.code_zip).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Changes whenever AWS would start fresh execution environments:
        new code or new configuration."""
        config = json.dumps(
            [self.code_sha256, self.version, self.memory_size, self.handler, self.environment],
            sort_keys=True,
        )
        return hashlib.sha256(config.encode()).hexdigest()

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


@dataclass
class Outcome:
    """How one invocation ended."""

    payload: bytes
    error_type: str | None = None  # set when the function failed
    log_lines: list = field(default_factory=list)  # what the function logged meanwhile
    report: Report | None = None  # the REPORT figures, once the worker has logged them

    def log_tail(self, limit: int = 4096) -> str:
        """Lambda's `X-Amz-Log-Result`: the last 4 KB of the invocation's log, base64."""
        text = "".join(line + "\n" for line in self.log_lines).encode()
        return base64.b64encode(text[-limit:]).decode()

    @property
    def failed(self) -> bool:
        return self.error_type is not None

    @classmethod
    def error(cls, error_type: str, message: str) -> "Outcome":
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return cls(body, error_type)


class Invocation:
    """One request to a function, handed to exactly one worker."""

    def __init__(self, payload: bytes, function_arn: str, timeout: float, client_context: str | None = None):
        self.request_id = str(uuid.uuid4())
        self.payload = payload
        self.function_arn = function_arn
        self.timeout = timeout
        self.client_context = client_context
        self.trace_id = _new_trace_id()
        self.deadline_ms = 0
        self.started = threading.Event()  # the runtime took it (GET next)
        # Monotonic times for REPORT's Duration: taken by the runtime, first outcome.
        self.started_at: float | None = None
        self.resolved_at: float | None = None
        self.finished = threading.Event()
        self.outcome: Outcome | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self.deadline_ms = int((time.time() + self.timeout) * 1000)
        self.started_at = time.monotonic()
        self.started.set()

    def resolve(self, outcome: Outcome) -> bool:
        """Record the outcome; the first one wins. Returns whether this one did."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.outcome = outcome
            self.resolved_at = time.monotonic()
        self.started.set()
        self.finished.set()
        return True


def _new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
