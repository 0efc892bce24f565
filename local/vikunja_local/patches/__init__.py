"""Fixes for moto 5.2.5, applied in-process when the stack starts: one module per AWS service.

Each patch is one function whose docstring says which moto behaviour it fixes, and whose
decorators (`registry.replaces`, `adds`, `uses`) name the moto symbols it changes or relies
on, with the parameter names it expects. `apply_all` first checks all of them against the
installed moto (`registry.verify`): a moto other than the pinned one (local/requirements.txt),
or a patched symbol that moved or changed its parameters, stops the stack from starting with
an error naming the patch. See local/README.md.
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing a module registers its patches)
    acm,
    applicationautoscaling,
    awslambda,
    cloudformation,
    cloudformation_change_sets,
    cloudfront,
    ec2,
    ecr,
    ecs,
    efs,
    elasticache,
    elbv2,
    events,
    iam,
    rds,
    s3,
    stepfunctions,
)
from .awslambda import moto_internal_invokes_use_lambda_host
from .registry import MOTO_VERSION, PATCHES, PatchCheckError, check, verify

__all__ = [
    "APPLIED_BY_APPLY_ALL", "MOTO_VERSION", "PATCHES", "PatchCheckError", "apply_all", "check", "verify",
    "moto_internal_invokes_use_lambda_host",
]

# The patches `apply_all` applies, in this order. `moto_internal_invokes_use_lambda_host`
# needs the Lambda host, so the server applies it after making one; it is checked here too.
APPLIED_BY_APPLY_ALL = (
    stepfunctions.enable_state_machine_execution,
    stepfunctions.unnamed_executions_get_unique_names,
    stepfunctions.state_machines_from_cloudformation_use_executing_backend,
    stepfunctions.execution_history_pages_like_aws,
    events.eventbridge_targets_start_state_machines,
    s3.s3_eventbridge_events_like_aws,
    s3.s3_buckets_from_cloudformation_honour_eventbridge,
    s3.s3_notification_configuration_shows_eventbridge,
    iam.policy_statements_whose_conditions_fail_do_not_apply,
    iam.role_policies_from_cloudformation_read_back_as_json,
    rds.rds_instances_take_time_to_create,
    rds.rds_snapshots_take_time_to_create,
    cloudfront.cloudfront_distributions_take_time_to_deploy,
    cloudfront.cloudfront_functions_can_be_published_and_updated,
    cloudfront.cloudfront_distributions_keep_oac_and_function_associations,
    cloudfront.deleting_a_missing_origin_access_control_is_no_such_origin_access_control,
    cloudfront.origin_access_control_names_are_unique,
    ecs.code_deploy_services_start_with_a_task_set,
    elbv2.target_health_follows_loopback_targets,
    elbv2.load_balancer_creation_is_idempotent,
    applicationautoscaling.deregistering_a_missing_scalable_target_is_object_not_found,
    ecr.ecr_image_digests_are_manifest_hashes,
    acm.acm_certificates_are_issued_only_once_validated,
    awslambda.lambda_code_from_a_missing_s3_key_is_refused,
    awslambda.lambda_environment_values_are_strings,
    cloudformation.cloudformation_calls_run_one_at_a_time,
    cloudformation_change_sets.cloudformation_change_sets_like_aws,
    cloudformation_change_sets.cloudformation_change_set_execution_like_aws,
    s3.s3_expected_bucket_owner_is_checked,
    s3.s3_bucket_versioning_answers_with_its_own_root_element,
    efs.efs_file_system_already_exists_names_the_file_system,
    efs.efs_descriptions_leave_out_what_aws_leaves_out,
    efs.efs_backup_policies_can_be_put_and_described,
    efs.efs_file_system_policies_like_aws,
    efs.efs_mount_target_security_groups_like_aws,
    efs.efs_access_points_like_aws,
    efs.deleting_an_efs_file_system_deletes_its_access_points,
    ec2.deleting_a_subnet_drops_its_route_table_associations,
    elasticache.elasticache_deleted_replication_groups_go,
    elasticache.elasticache_cache_subnet_groups_can_be_deleted,
)

_applied = False


def apply_all(rds_create_seconds: float = 3.0, cloudfront_deploy_seconds: float = 2.0,
              rds_snapshot_seconds: float = 3.0) -> None:
    """Checks every patch against the installed moto (PatchCheckError, naming the patches
    that no longer fit, and nothing applied), then applies them."""
    global _applied
    if _applied:
        # The check reads moto's own symbols: after patching it would see ours.
        raise RuntimeError("the moto patches are already applied in this process")
    verify()
    arguments = {
        rds.rds_instances_take_time_to_create: (rds_create_seconds,),
        rds.rds_snapshots_take_time_to_create: (rds_snapshot_seconds,),
        cloudfront.cloudfront_distributions_take_time_to_deploy: (cloudfront_deploy_seconds,),
    }
    _applied = True
    for patch in APPLIED_BY_APPLY_ALL:
        patch(*arguments.get(patch, ()))
