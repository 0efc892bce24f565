"""ECS: a CODE_DEPLOY service starts with its first task set (the CodeDeploy simulator's ground)."""

from __future__ import annotations

import logging

from .registry import Finding, probe, replaces, uses

log = logging.getLogger(__name__)


@replaces(
    "moto.ecs.models.EC2ContainerServiceBackend.create_service",
    "(self, cluster_str, service_name, desired_count, task_definition_str, load_balancers, "
    "scheduling_strategy, tags, deployment_controller, launch_type, service_registries, "
    "platform_version, propagate_tags, network_configuration, role_arn)",
)
@uses(
    "moto.ecs.models.EC2ContainerServiceBackend.create_task_set",
    "(self, service, cluster_str, task_definition, external_id, network_configuration, "
    "load_balancers, service_registries, launch_type, capacity_provider_strategy, platform_version, "
    "scale, client_token, tags)",
)
def code_deploy_services_start_with_a_task_set() -> None:
    """On AWS, `CreateService` with the `CODE_DEPLOY` deployment controller creates the
    service's first task set (PRIMARY, on the service's load balancers); blue/green
    deployments then replace it. moto creates none, so a first deployment had nothing
    to shift traffic from. Now the task set is there. It is made without moto's
    `run_task` (no `scale`), which fails for task definitions without container
    `memory`: a CreateService that worked before still works."""
    from moto.ecs.models import EC2ContainerServiceBackend

    moto_create_service = EC2ContainerServiceBackend.create_service

    def create_service(self, cluster_str, service_name, *args, **kwargs):
        service = moto_create_service(self, cluster_str, service_name, *args, **kwargs)
        controller = (service.deployment_controller or {}).get("type")
        if controller == "CODE_DEPLOY" and service.task_definition and not service.task_sets:
            try:
                task_set = self.create_task_set(
                    service_name, cluster_str, service.task_definition,
                    network_configuration=service.network_configuration,
                    load_balancers=service.load_balancers,
                    launch_type=service.launch_type,
                    platform_version=getattr(service, "platform_version", None),
                )
                task_set.status = "PRIMARY"
                task_set.scale = {"value": 100.0, "unit": "PERCENT"}
            except Exception:
                log.exception("service %s: could not create its first task set", service_name)
        return service

    EC2ContainerServiceBackend.create_service = create_service


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(code_deploy_services_start_with_a_task_set)
def _probe_code_deploy_service() -> Finding:
    from .probing import client

    ecs = client("ecs")
    ecs.create_cluster(clusterName="probe")
    ecs.register_task_definition(family="probe", containerDefinitions=[
        {"name": "app", "image": "probe:1", "memory": 128}])
    service = ecs.create_service(cluster="probe", serviceName="probe", taskDefinition="probe", desiredCount=1,
                                 deploymentController={"type": "CODE_DEPLOY"})["service"]
    task_sets = ecs.describe_services(cluster="probe", services=[service["serviceArn"]])["services"][0]["taskSets"]
    return Finding(not task_sets, f"a new CODE_DEPLOY service has {len(task_sets)} task set(s)")
