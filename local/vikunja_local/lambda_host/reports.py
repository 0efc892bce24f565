"""Lambda's per-invocation `REPORT` figures: the log line, and a bounded record of
them per function that `GET /_vikunja_local/lambda/reports` serves (for benchmarks,
without parsing logs)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

# Enough for a benchmark run; older reports of a function are dropped first.
REPORTS_KEPT_PER_FUNCTION = 1000


@dataclass(frozen=True)
class Report:
    """What Lambda's REPORT line says of one invocation, plus where it ran."""

    request_id: str
    function: str
    version: str
    duration_ms: float  # two decimals, exactly as the line shows it
    billed_ms: int
    memory_size_mb: int
    max_memory_mb: int  # 0 when the worker's memory could not be read
    init_ms: float | None  # only on the first invocation of a new worker
    worker: int
    pid: int  # the process that runs `bootstrap`, whose memory was read
    time: str  # when the invocation ended, ISO-8601 UTC
    error_type: str | None = None

    def line(self) -> str:
        """Lambda's format, tab-separated; `Init Duration` last, as Lambda puts it."""
        fields = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_mb} MB",
        ]
        if self.init_ms is not None:
            fields.append(f"Init Duration: {self.init_ms:.2f} ms")
        return "\t".join(fields)

    def as_json(self) -> dict:
        return asdict(self)


def make_report(*, request_id: str, function: str, version: str, duration_seconds: float,
                init_seconds: float | None, memory_size_mb: int, max_memory_mb: int,
                worker: int, pid: int, error_type: str | None = None) -> Report:
    duration_ms = round(duration_seconds * 1000, 2)
    init_ms = None if init_seconds is None else round(init_seconds * 1000, 2)
    return Report(
        request_id=request_id, function=function, version=version,
        duration_ms=duration_ms, billed_ms=billed_ms(duration_ms, init_ms),
        memory_size_mb=memory_size_mb, max_memory_mb=max_memory_mb, init_ms=init_ms,
        worker=worker, pid=pid, time=_now(), error_type=error_type,
    )


def billed_ms(duration_ms: float, init_ms: float | None) -> int:
    """Duration rounded up to the next millisecond — plus the init phase, because
    every function here is a `provided.al2023` custom runtime, and AWS bills a
    custom runtime's init: initialization counts towards billed execution time and
    timeout (AWS Lambda Developer Guide, "Building a custom runtime for AWS Lambda",
    https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html; its example
    `Init Duration: 48.26 ms  Duration: 237.17 ms  Billed Duration: 300 ms` dates from
    100 ms rounding). Since 1 August 2025 AWS bills the INIT phase of every function,
    not only custom runtimes (AWS Compute Blog, "AWS Lambda standardizes billing for
    INIT Phase", https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase).

    Computed on the two-decimal figures the line shows, in hundredths, so the line and
    the JSON agree and float sums such as 12.3 + 15.7 cannot round up a whole ms."""
    hundredths = round(duration_ms * 100) + round((init_ms or 0.0) * 100)
    return max(1, -(-hundredths // 100))


def peak_memory_mb(pid: int) -> int | None:
    """The peak resident set size (VmHWM) of the process `pid` and its living
    descendants, in whole MB rounded up; None when `pid` is gone (or not Linux).
    Lambda's "Max Memory Used" covers the whole execution environment, so a
    `bootstrap` that starts helpers counts theirs too (each one's own peak: an upper
    bound when their peaks did not coincide)."""
    own = _vm_hwm_kb(pid)
    if own is None:
        return None
    total = own + sum(_vm_hwm_kb(child) or 0 for child in _descendants(pid))
    return -(-total // 1024)


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])  # "VmHWM:     21384 kB"
    return None  # a zombie: no memory left to report


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for child in _children(parent):
            if child not in found and child != pid:
                found.append(child)
                pending.append(child)
    return found


def _children(pid: int) -> list[int]:
    """Children are listed per thread (/proc/PID/task/TID/children)."""
    children: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return children
    for task in tasks:
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return children


class ReportStore:
    """The last `REPORTS_KEPT_PER_FUNCTION` reports of each function, by name."""

    def __init__(self, limit: int = REPORTS_KEPT_PER_FUNCTION):
        self.limit = limit
        self._lock = threading.Lock()
        self._by_function: dict[str, deque[Report]] = {}

    def add(self, report: Report) -> None:
        with self._lock:
            self._by_function.setdefault(report.function, deque(maxlen=self.limit)).append(report)

    def recent(self, function: str) -> list[Report]:
        """Oldest first."""
        with self._lock:
            return list(self._by_function.get(function, ()))

    def functions(self) -> list[str]:
        with self._lock:
            return sorted(self._by_function)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
