"""CloudFormation: calls run one at a time (moto's CloudFormation is not thread-safe).

Change sets: cloudformation_change_sets.py."""

from __future__ import annotations

from typing import Any

from .registry import replaces


@replaces("moto.cloudformation.responses.CloudFormationResponse.call_action", "(self)")
def cloudformation_calls_run_one_at_a_time() -> None:
    """moto's CloudFormation is not thread-safe: two stacks created or changed at once
    (the server answers each request on its own thread) can fail with "dictionary changed
    size during iteration", half-way through a stack. AWS runs stack operations
    concurrently; here each CloudFormation call runs alone, which only delays parallel
    callers (an ExecuteChangeSet of the bootstrap template takes about a second)."""
    import threading

    from moto.cloudformation.responses import CloudFormationResponse

    lock = threading.RLock()
    original = CloudFormationResponse.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    CloudFormationResponse.call_action = call_action
