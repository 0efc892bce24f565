use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ClusterSetting, ClusterSettingName, DeploymentController,
    DeploymentControllerType, LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags,
    Service,
};
use tracing::info;
use vikunja_core::error::built;
use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, LoadBalancerOutputs, Names, NetworkOutputs, Result, SdkContext};

fn ecs_tags(stack: &str) -> Vec<aws_sdk_ecs::types::Tag> {
    tags::standard(stack, Tier::Backend)
        .into_iter()
        .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        .collect()
}

pub async fn ensure_cluster(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<String> {
    let name = names.cluster();
    // A cluster only hosts: an active one by the stack's name is used, tagged or not.
    let found = resources_backend::find_cluster(ecs, names).await?;
    if found.is_some_and(|c| c.status() == Some("ACTIVE")) {
        return Ok(name);
    }
    ecs.create_cluster()
        .cluster_name(&name)
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .set_tags(Some(ecs_tags(names.stack())))
        .send()
        .await
        .context(format!("create cluster {name}"))?;
    info!(name, "created cluster");
    Ok(name)
}

pub async fn create_service(
    ecs: &aws_sdk_ecs::Client,
    names: &Names,
    cluster: &str,
    task_definition: &str,
    network: &NetworkOutputs,
    lb: &LoadBalancerOutputs,
    desired: i32,
) -> Result<Service> {
    let name = names.service();
    // Tasks sit in the public subnets with a public address so they can pull the image
    // without a NAT gateway; the app security group admits only the load balancer.
    let vpc = built(
        AwsVpcConfiguration::builder()
            .set_subnets(Some(network.public_subnet_ids.clone()))
            .security_groups(&network.app_security_group_id)
            .assign_public_ip(AssignPublicIp::Enabled)
            .build(),
        "awsvpc configuration",
    )?;
    let created = ecs
        .create_service()
        .cluster(cluster)
        .service_name(&name)
        .task_definition(task_definition)
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .platform_version("LATEST")
        .deployment_controller(built(
            DeploymentController::builder()
                .r#type(DeploymentControllerType::CodeDeploy)
                .build(),
            "deployment controller",
        )?)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        )
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&lb.blue_target_group_arn)
                .container_name(CONTAINER_NAME)
                .container_port(CONTAINER_PORT)
                .build(),
        )
        // Vikunja migrates the database on start; give it time before health checks count.
        .health_check_grace_period_seconds(120)
        // Same token on a retry: ECS answers with the service it already made.
        .client_token(format!("{}-{}", names.stack(), name))
        .propagate_tags(PropagateTags::Service)
        .enable_ecs_managed_tags(true)
        .set_tags(Some(ecs_tags(names.stack())))
        .send()
        .await
        .context(format!("create service {name}"))?;
    info!(name, task_definition, "created service");
    created
        .service()
        .cloned()
        .ok_or_else(|| Error::conflict("ECS answered without the new service"))
}

/// A service we adopt must be deployed by CodeDeploy, or releases would fight it.
pub fn check_code_deploy(service: &Service) -> Result<()> {
    let controller = service.deployment_controller().map(|c| c.r#type().clone());
    if controller != Some(DeploymentControllerType::CodeDeploy) {
        return Err(Error::conflict(format!(
            "service {} uses deployment controller {:?}, not CODE_DEPLOY; it cannot change in place — delete the service and run provision again",
            service.service_name().unwrap_or_default(),
            controller
        )));
    }
    Ok(())
}
