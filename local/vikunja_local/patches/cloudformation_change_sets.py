"""CloudFormation change sets: created, listed, described and executed (with rollback) as AWS does."""

from __future__ import annotations

import copy
import logging
from typing import Any

from .registry import Finding, adds, probe, replaces, uses

log = logging.getLogger(__name__)


# Properties whose change replaces the resource (AWS's "Update requires: Replacement"),
# for the types the bootstrap template uses. AWS decides from each type's full schema;
# a Modify of any other property is reported as `Replacement: False`.
_REPLACING_PROPERTIES = {
    "AWS::Lambda::Function": ("FunctionName", "PackageType"),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::IAM::Role": ("RoleName", "Path"),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", "StateMachineType"),
    "AWS::Events::Rule": ("Name",),
    "AWS::S3::Bucket": ("BucketName",),
}


@replaces(
    "moto.cloudformation.models.CloudFormationBackend.create_change_set",
    "(self, stack_name, change_set_name, template, parameters, description, change_set_type, "
    "notification_arns, tags, role_arn)",
)
@replaces(
    "moto.cloudformation.responses.CloudFormationResponse._validate_different_update",
    "(self, incoming_params, stack_body, old_stack)",
)
@replaces("moto.cloudformation.responses.CloudFormationResponse.list_change_sets", "(self)")
@replaces("moto.cloudformation.responses.CloudFormationResponse.describe_change_set", "(self)")
@replaces("moto.cloudformation.responses.CloudFormationResponse.delete_change_set", "(self)")
@replaces("moto.cloudformation.models.ChangeSet.diff", "(self)")
@uses("moto.cloudformation.models.validate_create_change_set", "(change_set_name)")
@uses("moto.cloudformation.models.generate_changeset_id", "(changeset_name, region_name, account_id)")
@uses(
    "moto.cloudformation.models.ChangeSet.__init__",
    "(self, change_set_type, change_set_id, change_set_name, stack, template, parameters, "
    "description, notification_arns, tags, role_arn)",
)
def cloudformation_change_sets_like_aws() -> None:
    """moto's change sets differ from AWS's where a deploy tool notices:
    - CreateChangeSet of type CREATE for a stack name that exists made a second stack of
      that name. AWS reuses a stack in REVIEW_IN_PROGRESS (what a CREATE change set that was
      never executed leaves) and refuses any other; it also refuses an UPDATE change set for
      a stack that cannot be updated (REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE,
      UPDATE_ROLLBACK_FAILED, …).
    - CreateChangeSet of type UPDATE with an unchanged TemplateBody failed with "No updates
      are to be performed." AWS creates the change set, FAILED, with the reason "The
      submitted information didn't contain changes…" (moto already does that for a
      TemplateURL).
    - ListChangeSets listed every stack's change sets; AWS lists the named stack's.
    - A Modify carried no `Replacement`; AWS says True, False or Conditional. Here: True
      when a property in `_REPLACING_PROPERTIES` changed, else False.
    - Describe/DeleteChangeSet by name took the first change set of that name in any
      stack; now within the stack named (by ARN as before). A missing one is
      ChangeSetNotFound (moto: "Stack with id … does not exist"); deleting one that is
      executing is InvalidChangeSetStatus."""
    from moto.cloudformation import models, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult, EmptyResult

    Backend = models.CloudFormationBackend
    moto_create_change_set = Backend.create_change_set

    def create_change_set(self, stack_name, change_set_name, template, parameters, description,
                          change_set_type, notification_arns=None, tags=None, role_arn=None):
        existing = _stack_named(self, stack_name)
        if change_set_type == "CREATE" and existing is not None:
            if existing.status != "REVIEW_IN_PROGRESS":
                raise ValidationError(message=(
                    f"Stack [{stack_name}] already exists and cannot be created again with the "
                    f"changeSet [{change_set_name}]."))
            models.validate_create_change_set(change_set_name)
            change_set_id = models.generate_changeset_id(change_set_name, self.region_name, self.account_id)
            change_set = models.ChangeSet(
                change_set_type="CREATE", change_set_id=change_set_id, change_set_name=change_set_name,
                stack=existing, template=template, parameters=parameters, description=description,
                notification_arns=notification_arns, tags=tags, role_arn=role_arn,
            )
            change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
            self.change_sets[change_set_id] = change_set
            return change_set_id, existing.stack_id
        if change_set_type == "UPDATE" and existing is not None and existing.status in (
            "REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED",
        ):
            raise ValidationError(message=(
                f"Stack:{existing.stack_id} is in {existing.status} state and can not be updated."))
        return moto_create_change_set(self, stack_name, change_set_name, template, parameters,
                                      description, change_set_type, notification_arns, tags, role_arn)

    Backend.create_change_set = create_change_set

    moto_validate_different_update = responses.CloudFormationResponse._validate_different_update

    def validate_different_update(self, incoming_params, stack_body, old_stack):
        if self._get_action() == "CreateChangeSet":
            return  # the backend marks an unchanged change set FAILED, as AWS does
        return moto_validate_different_update(self, incoming_params, stack_body, old_stack)

    responses.CloudFormationResponse._validate_different_update = validate_different_update

    def list_change_sets(self):
        backend = self.cloudformation_backend
        stack = backend.get_stack(self._get_param("StackName"))
        summaries = [cs for cs in list(backend.change_sets.values()) if cs.stack_id == stack.stack_id]
        return ActionResult({"Summaries": summaries})

    def describe_change_set(self):
        backend = self.cloudformation_backend
        return ActionResult(_find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName")))

    def delete_change_set(self):
        backend = self.cloudformation_backend
        change_set = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
        if change_set.execution_status == "EXECUTE_IN_PROGRESS":
            raise _invalid_change_set_status(change_set)
        backend.change_sets.pop(change_set.change_set_id, None)
        return EmptyResult()

    responses.CloudFormationResponse.list_change_sets = list_change_sets
    responses.CloudFormationResponse.describe_change_set = describe_change_set
    responses.CloudFormationResponse.delete_change_set = delete_change_set

    moto_diff = models.ChangeSet.diff

    def diff(self):
        changes = moto_diff(self)
        old = self.stack.resource_map._resource_json_map
        new = (self.template_dict or {}).get("Resources", {})
        for change in changes:
            change.replacement = None
            change.physical_resource_id = None
            if change.action != "Modify":
                continue
            before, after = old.get(change.logical_resource_id, {}), new.get(change.logical_resource_id, {})
            replacing = _REPLACING_PROPERTIES.get(change.resource_type, ())
            changed = [
                name for name in replacing
                if (before.get("Properties") or {}).get(name) != (after.get("Properties") or {}).get(name)
            ]
            change.replacement = "True" if changed else "False"
            parsed = self.stack.resource_map._parsed_resources.get(change.logical_resource_id)
            change.physical_resource_id = getattr(parsed, "physical_resource_id", None)
        return changes

    models.ChangeSet.diff = diff


def _stack_named(backend: Any, name_or_id: str | None) -> Any:
    """The live (not deleted) stack with this name or id, or None."""
    for stack in list(backend.stacks.values()):
        if name_or_id in (stack.name, stack.stack_id):
            return stack
    return None


def _find_change_set(backend: Any, name_or_id: str, stack_name: str | None) -> Any:
    """A change set by ARN, or by name within the named stack (AWS: ChangeSetNotFound)."""
    from moto.cloudformation.exceptions import CloudFormationError

    found = backend.change_sets.get(name_or_id)
    if found is None:
        stack = _stack_named(backend, stack_name) if stack_name else None
        found = next((cs for cs in list(backend.change_sets.values())
                      if cs.change_set_name == name_or_id and (stack is None or cs.stack_id == stack.stack_id)), None)
    if found is None:
        class ChangeSetNotFound(CloudFormationError):
            code = "ChangeSetNotFound"

        raise ChangeSetNotFound(f"ChangeSet [{name_or_id}] does not exist")
    return found


def _invalid_change_set_status(change_set: Any) -> Exception:
    from moto.cloudformation.exceptions import CloudFormationError

    class InvalidChangeSetStatus(CloudFormationError):
        code = "InvalidChangeSetStatus"

    return InvalidChangeSetStatus(
        f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution "
        f"status of [{change_set.execution_status}]")


# The resource events of the stack operation running on this thread (None: not recording).
_recording = __import__("threading").local()


class _ResourceEvents:
    """Records per-resource stack events while moto creates, updates or deletes a
    stack's resources, as AWS reports them: …_IN_PROGRESS, then …_COMPLETE or …_FAILED
    with the handler's message; a resource interrupted by another's failure gets
    "Resource … cancelled"."""

    def __init__(self, stack: Any):
        self.stack = stack
        self.failed: list[str] = []
        self._failed_ops: set[tuple[str, str]] = set()

    def __enter__(self) -> "_ResourceEvents":
        self._outer = getattr(_recording, "events", None)
        _recording.events = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _recording.events = self._outer

    def add(self, logical_id: str, resource_type: str, status: str, reason: str | None = None,
            physical_id: str | None = None) -> None:
        from moto.cloudformation.models import Event

        self.stack.events.append(Event(
            stack_id=self.stack.stack_id, stack_name=self.stack.name, logical_resource_id=logical_id,
            physical_resource_id=physical_id or "", resource_type=resource_type,
            resource_status=status, resource_status_reason=reason, resource_properties=None,
        ))

    def around(self, logical_id: str, resource_type: str, operation: str, work: Any) -> Any:
        try:
            result = work()
        except Exception as error:
            if (logical_id, operation) not in self._failed_ops:
                self._failed_ops.add((logical_id, operation))
                self.add(logical_id, resource_type, f"{operation}_IN_PROGRESS")
                if getattr(error, "_vikunja_reported", False):
                    noun = {"CREATE": "creation", "UPDATE": "update", "DELETE": "deletion"}[operation]
                    self.add(logical_id, resource_type, f"{operation}_FAILED", f"Resource {noun} cancelled")
                else:
                    self.add(logical_id, resource_type, f"{operation}_FAILED", _handler_message(error))
                    self.failed.append(logical_id)
            try:
                error._vikunja_reported = True  # type: ignore[attr-defined]
            except AttributeError:
                pass
            raise
        if result is not None:
            physical = getattr(result, "physical_resource_id", None)
            self.add(logical_id, resource_type, f"{operation}_IN_PROGRESS", physical_id=physical)
            self.add(logical_id, resource_type, f"{operation}_COMPLETE", physical_id=physical)
        return result


def _handler_message(error: Exception) -> str:
    """AWS's wording for a resource handler's failure, from a moto exception."""
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    code = code if isinstance(code, str) else None  # RESTError.code is the HTTP status
    message = getattr(error, "message", None)
    if not message and len(getattr(error, "args", ())) == 2 and all(isinstance(a, str) for a in error.args):
        code, message = error.args  # moto's Lambda raises ValueError(code, message)
    if not message:
        message = str(error) or type(error).__name__
    code = code or type(error).__name__
    return f'Resource handler returned message: "{message}" (HandlerErrorCode: {code})'


class _Previous:
    """What a stack was before an update: what its rollback returns to."""

    def __init__(self, stack: Any):
        resource_map = stack.resource_map
        self.template = stack.template
        self.template_dict = copy.deepcopy(resource_map._template)
        self.resources = copy.deepcopy(dict(resource_map._resource_json_map))
        self.parameters = dict(stack.parameters or {})
        self.description = stack.description


@replaces(
    "moto.cloudformation.parsing.parse_and_create_resource",
    "(logical_id, resource_json, resources_map, account_id, region_name)",
)
@replaces(
    "moto.cloudformation.parsing.parse_and_update_resource",
    "(logical_id, resource_json, resources_map, account_id, region_name)",
)
@replaces("moto.cloudformation.parsing.ResourceMap._delete_resource", "(self, parsed_resource, resource_json)")
@replaces(
    "moto.cloudformation.models.CloudFormationBackend.execute_change_set",
    "(self, change_set_name, stack_name)",
)
@adds("moto.cloudformation.models.CloudFormationBackend.continue_update_rollback")
@adds("moto.cloudformation.responses.CloudFormationResponse.continue_update_rollback")
@uses(
    "moto.cloudformation.models.Event.__init__",
    "(self, stack_id, stack_name, logical_resource_id, physical_resource_id, resource_type, "
    "resource_status, resource_status_reason, resource_properties)",
)
@uses(
    "moto.cloudformation.models.Stack._add_stack_event",
    "(self, resource_status, resource_status_reason, resource_properties)",
)
@uses("moto.cloudformation.parsing.ResourceMap.update", "(self, template, parameters)")
@uses("moto.cloudformation.parsing.ResourceMap.delete", "(self)")
def cloudformation_change_set_execution_like_aws() -> None:
    """moto executes a change set but: after a CREATE the stack keeps the Outputs (none),
    description and parameters of its empty REVIEW_IN_PROGRESS start, and after an UPDATE
    its old parameters and tags; it records stack events only, none per resource; a
    resource that fails aborts ExecuteChangeSet with a 500 and leaves the stack half-made
    in whatever status it had ("TODO: handle execution errors and implement rollback");
    the stack's other change sets stay; ContinueUpdateRollback is not implemented.
    Now as on AWS: events per resource (`_ResourceEvents`); a failed CREATE deletes what it
    made and ends ROLLBACK_COMPLETE (ROLLBACK_FAILED if a delete fails); a failed UPDATE
    applies the previous template and parameters again and ends UPDATE_ROLLBACK_COMPLETE,
    or UPDATE_ROLLBACK_FAILED when a resource cannot go back (a function whose previous
    code is gone from S3, say); ContinueUpdateRollback retries that rollback, marking
    ResourcesToSkip as rolled back without touching them; executing deletes the stack's
    other change sets; an executed or failed change set cannot be executed again
    (InvalidChangeSetStatus). Execution stays synchronous: when ExecuteChangeSet returns,
    the stack has reached its final status."""
    from moto.cloudformation import models, parsing, responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import EmptyResult

    moto_create_resource = parsing.parse_and_create_resource
    moto_update_resource = parsing.parse_and_update_resource
    moto_delete_resource = parsing.ResourceMap._delete_resource

    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        events = getattr(_recording, "events", None)
        work = lambda: moto_create_resource(logical_id, resource_json, resources_map, account_id, region_name)  # noqa: E731
        return events.around(logical_id, resource_json.get("Type", ""), "CREATE", work) if events else work()

    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
        events = getattr(_recording, "events", None)
        work = lambda: moto_update_resource(logical_id, resource_json, resources_map, account_id, region_name)  # noqa: E731
        return events.around(logical_id, resource_json.get("Type", ""), "UPDATE", work) if events else work()

    def delete_resource(self, parsed_resource, resource_json):
        events = getattr(_recording, "events", None)
        work = lambda: moto_delete_resource(self, parsed_resource, resource_json)  # noqa: E731
        if not events:
            return work()
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        events.around(logical_id, resource_json.get("Type", ""), "DELETE", lambda: (work(), parsed_resource)[1])

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource
    parsing.ResourceMap._delete_resource = delete_resource

    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = _find_change_set(self, change_set_name, stack_name)
        if change_set.execution_status != "AVAILABLE":
            raise _invalid_change_set_status(change_set)
        stack = self.stacks[change_set.stack_id]
        kind = change_set.change_set_type
        previous = _Previous(stack) if kind == "UPDATE" else None
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        stack.status = f"{kind}_IN_PROGRESS"
        stack._add_stack_event(stack.status, resource_status_reason="User Initiated")
        events = _ResourceEvents(stack)
        try:
            with events:
                change_set.apply()
        except Exception as error:
            log.info("change set %s of %s failed: %s", change_set.change_set_name, stack.name, error)
            change_set.execution_status = "EXECUTE_FAILED"
            failed = events.failed or [type(error).__name__]
            if kind == "CREATE":
                stack.template = change_set.template
                stack._parse_template()
                _roll_back_create(stack, failed)
            else:
                stack.vikunja_previous = previous
                stack.vikunja_failed_template = copy.deepcopy(dict(stack.resource_map._resource_json_map))
                _roll_back_update(stack, previous, failed, skip=())
            return
        stack.template = change_set.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = dict(change_set.parameters or {})
        if change_set.tags:
            stack.tags = dict(change_set.tags)
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export
        if kind == "UPDATE":
            stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        stack._add_stack_event(f"{kind}_COMPLETE")
        stack.status = f"{kind}_COMPLETE"
        change_set.execution_status = "EXECUTE_COMPLETE"
        for change_set_id, other in list(self.change_sets.items()):
            if other is not change_set and other.stack_id == stack.stack_id:
                del self.change_sets[change_set_id]

    def continue_update_rollback(self, stack_name, resources_to_skip):
        stack = _stack_named(self, stack_name)
        if stack is None:
            raise ValidationError(stack_name)
        if stack.status != "UPDATE_ROLLBACK_FAILED" or getattr(stack, "vikunja_previous", None) is None:
            raise ValidationError(message=(
                f"Stack:{stack.stack_id} is in {stack.status} state: ContinueUpdateRollback needs "
                "UPDATE_ROLLBACK_FAILED"))
        unknown = [r for r in resources_to_skip if r not in stack.resource_map._resource_json_map]
        if unknown:
            raise ValidationError(message=f"Resources {unknown} do not exist in stack {stack.name}")
        _roll_back_update(stack, stack.vikunja_previous, None, skip=tuple(resources_to_skip))

    models.CloudFormationBackend.execute_change_set = execute_change_set
    models.CloudFormationBackend.continue_update_rollback = continue_update_rollback

    def continue_update_rollback_response(self):
        self.cloudformation_backend.continue_update_rollback(
            self._get_param("StackName"), self._get_param("ResourcesToSkip", []) or []
        )
        return EmptyResult()

    responses.CloudFormationResponse.continue_update_rollback = continue_update_rollback_response


def _roll_back_create(stack: Any, failed: list[str]) -> None:
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(stack.status, resource_status_reason=(
        f"The following resource(s) failed to create: [{', '.join(failed)}]. Rollback requested by user."))
    events = _ResourceEvents(stack)
    try:
        with events:
            stack.resource_map.delete()
    except Exception:
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event(stack.status, resource_status_reason=(
            f"The following resource(s) failed to delete: [{', '.join(events.failed)}]."))
        return
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event(stack.status)


def _roll_back_update(stack: Any, previous: _Previous, failed: list[str] | None, skip: tuple[str, ...]) -> None:
    """Applies the previous template again. `failed`: what made the update fail (None when
    continuing a rollback). Resources whose rollback fails keep their updated template, so
    a ContinueUpdateRollback tries them again unless skipped."""
    resource_map = stack.resource_map
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    reason = (f"The following resource(s) failed to update: [{', '.join(failed)}]." if failed
              else "Continue update rollback requested by user.")
    stack._add_stack_event(stack.status, resource_status_reason=reason)
    attempted = dict(resource_map._resource_json_map)
    events = _ResourceEvents(stack)
    for logical_id in skip:
        if logical_id in previous.resources:
            attempted[logical_id] = previous.resources[logical_id]
        events.add(logical_id, attempted.get(logical_id, {}).get("Type", ""), "UPDATE_COMPLETE",
                   "Resource skipped during UpdateRollback")
    resource_map._resource_json_map = attempted
    try:
        with events:
            resource_map.update(copy.deepcopy(previous.template_dict), dict(previous.parameters) or None)
    except Exception:
        still_updated = {logical_id: attempted[logical_id] for logical_id in events.failed if logical_id in attempted}
        resource_map._resource_json_map = {**previous.resources, **still_updated}
        stack.status = "UPDATE_ROLLBACK_FAILED"
        stack._add_stack_event(stack.status, resource_status_reason=(
            f"The following resource(s) failed to update: [{', '.join(events.failed)}]."))
        return
    stack.template = previous.template
    stack._parse_template()
    stack.description = previous.description
    stack.parameters = dict(previous.parameters)
    stack.output_map = stack._create_output_map()
    stack.vikunja_previous = None
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event(stack.status)


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------

_PROBE_TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "probe-topic"}}},
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
}


@probe(cloudformation_change_sets_like_aws)
def _probe_list_change_sets() -> Finding:
    """ListChangeSets of one stack must list that stack's change sets only."""
    import json

    from .probing import client

    cloudformation = client("cloudformation")
    for stack in ("probe-a", "probe-b"):
        cloudformation.create_change_set(StackName=stack, ChangeSetName="initial", ChangeSetType="CREATE",
                                         TemplateBody=json.dumps(_PROBE_TEMPLATE))
    listed = cloudformation.list_change_sets(StackName="probe-a")["Summaries"]
    return Finding(len(listed) != 1, f"ListChangeSets of one stack listed {len(listed)} of the 2 change sets")


@probe(cloudformation_change_set_execution_like_aws)
def _probe_outputs_after_execution() -> Finding:
    """After a CREATE change set is executed, the stack has its template's Outputs."""
    import json

    from .probing import client

    cloudformation = client("cloudformation")
    cloudformation.create_change_set(StackName="probe-outputs", ChangeSetName="initial", ChangeSetType="CREATE",
                                     TemplateBody=json.dumps(_PROBE_TEMPLATE))
    cloudformation.execute_change_set(StackName="probe-outputs", ChangeSetName="initial")
    stack = cloudformation.describe_stacks(StackName="probe-outputs")["Stacks"][0]
    outputs = stack.get("Outputs", [])
    return Finding(not outputs, f"{stack['StackStatus']} with {len(outputs)} output(s) of the template's 1")
