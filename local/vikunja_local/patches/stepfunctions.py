"""Step Functions: run executions in-process, name them, and take state machines from CloudFormation."""

from __future__ import annotations

import json
import uuid
from typing import Any

from .registry import Finding, probe, replaces, uses


@replaces("moto.core.config.default_user_config.stepfunctions.execute_state_machine", None)
def enable_state_machine_execution() -> None:
    """moto only records executions unless told to run them: this is the in-process
    equivalent of `POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}`."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True


@replaces(
    "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution",
    "(self, state_machine_arn, name, execution_input, trace_header)",
)
def unnamed_executions_get_unique_names() -> None:
    """With execution on, moto's StartExecution without a `name` names the execution
    `None` (ARN `...:execution:<machine>:None`), so a second unnamed start with the same
    input returns the first execution and one with other input collides. AWS names it
    with a UUID; so does this."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    moto_start_execution = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        return moto_start_execution(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution


@replaces(
    "moto.stepfunctions.models.StateMachine.create_from_cloudformation_json",
    "(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)",
)
@replaces(
    "moto.stepfunctions.models.StateMachine.delete_from_cloudformation_json",
    "(cls, resource_name, cloudformation_json, account_id, region_name)",
)
@replaces(
    "moto.stepfunctions.models.StateMachine.update_from_cloudformation_json",
    "(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)",
)
@uses("moto.stepfunctions.responses.get_backend", "(account, region)")
@uses(
    "moto.stepfunctions.parser.models.StepFunctionsParserBackend.create_state_machine",
    "(self, name, definition, roleArn, tags, publish, loggingConfiguration, tracingConfiguration, "
    "encryptionConfiguration, version_description, sm_type)",
)
@uses(
    "moto.stepfunctions.parser.models.StepFunctionsParserBackend.update_state_machine",
    "(self, arn, definition, role_arn, logging_configuration, tracing_configuration, "
    "encryption_configuration, publish, version_description)",
)
@uses("moto.stepfunctions.utils.cfn_to_api_tags", "(cfn_tags_entry)")
def state_machines_from_cloudformation_use_executing_backend() -> None:
    """moto's CloudFormation writes `AWS::StepFunctions::StateMachine` into
    `stepfunctions_backends`, but with execution on the API reads
    `stepfunctions_parser_backends` (`responses.get_backend`), so the machines are
    invisible (`StateMachineDoesNotExist`). It also ignores `DefinitionSubstitutions`
    and the `Definition` (object) property. Create, update and delete now go through
    `get_backend` with the substitutions applied."""
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    def definition_of(properties: dict) -> str | None:
        if "Definition" in properties:
            definition = json.dumps(properties["Definition"])
        elif "DefinitionString" in properties:
            definition = properties["DefinitionString"]
        else:
            return None
        for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + name + "}", _substitution_text(value))
        return definition

    def tags_of(properties: dict) -> list[dict[str, str]]:
        return cfn_to_api_tags(properties.get("Tags", []))

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = get_backend(account_id, region_name)
        return backend.create_state_machine(
            name=properties.get("StateMachineName", resource_name),
            definition=definition_of(properties) or "",
            roleArn=properties.get("RoleArn", ""),
            tags=tags_of(properties),
            sm_type=properties.get("StateMachineType"),
            loggingConfiguration=properties.get("LoggingConfiguration"),
            tracingConfiguration=properties.get("TracingConfiguration"),
        )

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        get_backend(account_id, region_name).delete_state_machine(resource_name)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("StateMachineName", original_resource.name)
        backend = get_backend(account_id, region_name)
        if name != original_resource.name:  # a new name means replacement, as on AWS
            replacement = create(cls, name, cloudformation_json, account_id, region_name)
            backend.delete_state_machine(original_resource.arn)
            return replacement
        machine = backend.update_state_machine(
            original_resource.arn, definition=definition_of(properties), role_arn=properties.get("RoleArn")
        )
        tags = tags_of(properties)
        if tags:
            backend.tagger.tag_resource(machine.arn, tags)
        return machine

    StateMachine.create_from_cloudformation_json = classmethod(create)
    StateMachine.delete_from_cloudformation_json = classmethod(delete)
    StateMachine.update_from_cloudformation_json = classmethod(update)


@replaces("moto.stepfunctions.responses.StepFunctionResponse.get_execution_history", "(self)")
@uses("moto.stepfunctions.responses.StepFunctionResponse.stepfunction_backend")
@uses("moto.stepfunctions.exceptions.InvalidToken", "(message)")
@uses("moto.stepfunctions.exceptions.ValidationException", "(msg)")
def execution_history_pages_like_aws() -> None:
    """moto's GetExecutionHistory answers every event, oldest first, whatever `maxResults`,
    `reverseOrder` and `nextToken` ask. AWS answers one page: at most `maxResults` events
    (0 or none: 100; more than 1000 is refused), newest first with `reverseOrder`, and a
    `nextToken` while more are left — so a reader that takes one page sees the first 100,
    and a watcher can read only the newest events instead of the whole history each time.
    The token names the last event answered: events appended meanwhile do not shift it."""
    import base64

    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import InvalidToken, ValidationException
    from moto.stepfunctions.responses import StepFunctionResponse

    def get_execution_history(self):
        execution_arn = self._get_param("executionArn")
        max_results = self._get_int_param("maxResults") or HISTORY_PAGE_DEFAULT
        if not 0 <= max_results <= HISTORY_PAGE_MAX:
            raise ValidationException(
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
                f"constraint: Member must have value between 0 and {HISTORY_PAGE_MAX}")
        reverse = bool(self._get_bool_param("reverseOrder", False))
        token = self._get_param("nextToken")
        events = list(self.stepfunction_backend.get_execution_history(execution_arn)["events"])
        if reverse:
            events.reverse()
        if token:
            try:
                after = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError as error:
                raise InvalidToken(str(error)) from error
            events = [e for e in events if (e["id"] < after if reverse else e["id"] > after)]
        page = events[:max_results]
        answer: dict[str, Any] = {"events": page}
        if len(events) > max_results:
            answer["nextToken"] = base64.urlsafe_b64encode(str(page[-1]["id"]).encode()).decode()
        return ActionResult(answer)

    StepFunctionResponse.get_execution_history = get_execution_history


HISTORY_PAGE_DEFAULT = 100
HISTORY_PAGE_MAX = 1000


def _substitution_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------

_PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
_PROBE_ROLE = "arn:aws:iam::123456789012:role/probe"


@probe(enable_state_machine_execution)
def _probe_execution_enabled() -> Finding:
    from moto.core.config import default_user_config

    enabled = bool(default_user_config["stepfunctions"]["execute_state_machine"])
    return Finding(not enabled, f"execute_state_machine is {enabled}")


@probe(unnamed_executions_get_unique_names)
def _probe_unnamed_execution() -> Finding:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from .probing import ACCOUNT, REGION

    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    machine = backend.create_state_machine(name="probe-unnamed", definition=_PASS_MACHINE, roleArn=_PROBE_ROLE)
    name = backend.start_execution(machine.arn).execution_arn.rsplit(":", 1)[1]
    return Finding(name == "None", f"an unnamed execution is named {name if name == 'None' else 'with a UUID'}")


@probe(state_machines_from_cloudformation_use_executing_backend)
def _probe_cloudformation_state_machine() -> Finding:
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from .probing import ACCOUNT, REGION

    StateMachine.create_from_cloudformation_json("ProbeMachine", {"Properties": {
        "StateMachineName": "probe-cfn-machine", "DefinitionString": "${Body}", "RoleArn": _PROBE_ROLE,
        "DefinitionSubstitutions": {"Body": _PASS_MACHINE},
    }}, ACCOUNT, REGION)
    found = [m for m in stepfunctions_parser_backends[ACCOUNT][REGION].state_machines if m.name == "probe-cfn-machine"]
    if not found:
        return Finding(True, "not in the executing backend")
    substituted = found[0].definition == _PASS_MACHINE
    return Finding(not substituted, "in the executing backend, " + (
        "substitutions applied" if substituted else "DefinitionSubstitutions ignored"))


@probe(execution_history_pages_like_aws)
def _probe_history_pages() -> Finding:
    from .probing import client

    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(name="probe-history", definition=_PASS_MACHINE, roleArn=_PROBE_ROLE)
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    page = sfn.get_execution_history(executionArn=execution, maxResults=1, reverseOrder=True)
    ids = [event["id"] for event in page["events"]]
    paged = len(ids) == 1 and "nextToken" in page
    return Finding(not paged, f"maxResults=1, reverseOrder: event ids {ids}, "
                   + ("a nextToken" if "nextToken" in page else "no nextToken"))
