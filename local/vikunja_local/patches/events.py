"""EventBridge: rules deliver to state machines and functions, one target at a time, in AWS's event shape."""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from .registry import Finding, probe, replaces, uses

log = logging.getLogger(__name__)


@replaces("moto.events.models.Rule.send_to_targets", "(self, original_event, transform_input)")
@uses(
    "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution",
    "(self, state_machine_arn, name, execution_input, trace_header)",
)
@uses("moto.awslambda.models.LambdaBackend.get_function", "(self, function_name_or_arn, qualifier)")
@uses("moto.events.utils.EventTemplateParser.parse", "(input_template, input_paths_map, event)")
def eventbridge_targets_start_state_machines() -> None:
    """moto's `Rule.send_to_targets` raises `NotImplementedError` for a Step Functions
    or Lambda target, and any error aborts `put_events` (and, on the S3 path, silently stops
    delivery to later rules). Now a state machine target starts an execution with the
    event (time in ISO-8601, a unique execution name; `Input`, `InputPath` and
    `InputTransformer` honoured), a function target is invoked asynchronously, disabled rules deliver nothing, and each target is
    delivered on its own: a failing one is logged and the rest still get the event."""
    from moto.events.models import Rule

    moto_send_to_targets = Rule.send_to_targets

    def send_to_targets(self, original_event, transform_input: bool = True) -> None:
        try:
            if getattr(self, "state", "ENABLED") != "ENABLED" or not self.event_pattern.matches_event(original_event):
                return
        except Exception:
            log.exception("rule %s: could not match an event", self.name)
            return
        for target in list(self.targets):
            try:
                if ":states:" in target["Arn"] and ":stateMachine:" in target["Arn"]:
                    _start_execution_for_event(target, original_event)
                elif ":lambda:" in target["Arn"] and ":function:" in target["Arn"]:
                    _invoke_function_for_event(target, original_event)
                else:
                    one_target_rule = copy.copy(self)
                    one_target_rule.targets = [target]
                    moto_send_to_targets(one_target_rule, original_event, transform_input)
            except Exception:
                log.exception("rule %s: delivery to target %s failed", self.name, target.get("Id"))

    Rule.send_to_targets = send_to_targets


def _start_execution_for_event(target: dict, event: dict) -> None:
    from moto.stepfunctions.responses import get_backend

    arn = target["Arn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    execution_input = json.dumps(_target_input(target, _event_as_aws_sends_it(event)))
    execution = get_backend(account, region).start_execution(
        arn, name=str(uuid.uuid4()), execution_input=execution_input
    )
    log.info("event %s (%s) started %s", event.get("id"), event.get("detail-type"), execution.execution_arn)


def _invoke_function_for_event(target: dict, event: dict) -> None:
    """Asynchronously, as EventBridge does (through the Lambda host, see above)."""
    from moto.awslambda.models import lambda_backends

    arn = target["Arn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    function = lambda_backends[account][region].get_function(arn)
    payload = json.dumps(_target_input(target, _event_as_aws_sends_it(event)))
    function.invoke(payload, {"x-amz-invocation-type": "Event"}, {})


def _event_as_aws_sends_it(event: dict) -> dict:
    """moto keeps `time` as epoch seconds and adds `ingestion-time`; AWS sends
    `"time": "2026-11-27T21:00:00Z"`."""
    shaped = {key: value for key, value in event.items() if key != "ingestion-time"}
    shaped["time"] = _iso_time(event.get("time"))
    return shaped


def _iso_time(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, (int, float)) or (isinstance(value, str) and _is_number(value)):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    elif isinstance(value, str) and value:
        return value
    else:
        moment = datetime.now(tz=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _target_input(target: dict, event: dict) -> Any:
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={**event, "ingestion-time": time.time()},
        )
    return event


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(eventbridge_targets_start_state_machines)
def _probe_state_machine_target() -> Finding:
    """A rule whose target is a state machine: an event must start an execution."""
    from moto.stepfunctions.responses import get_backend

    from .probing import ACCOUNT, REGION, client

    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    machine = get_backend(ACCOUNT, REGION).create_state_machine(
        name="probe-target", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/probe")
    events = client("events")
    events.put_rule(Name="probe-machine", EventPattern=json.dumps({"source": ["probe"]}))
    events.put_targets(Rule="probe-machine", Targets=[{"Id": "m", "Arn": machine.arn}])
    try:
        events.put_events(Entries=[{"Source": "probe", "DetailType": "probe", "Detail": "{}"}])
    except Exception as error:  # mock_aws hands moto's exception to the caller
        return Finding(True, f"PutEvents raised {type(error).__name__}")
    started = get_backend(ACCOUNT, REGION).describe_state_machine(machine.arn).executions
    return Finding(not started, f"{len(started)} execution(s) started")
