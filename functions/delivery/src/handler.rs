use aws_sdk_codedeploy::operation::create_deployment_group::builders::CreateDeploymentGroupFluentBuilder;
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent,
    BlueGreenDeploymentConfiguration, BlueInstanceTerminationOption, ComputePlatform,
    DeploymentOption, DeploymentReadyAction, DeploymentReadyOption, DeploymentStyle,
    DeploymentType, EcsService, InstanceAction, LoadBalancerInfo, Tag, TargetGroupInfo,
    TargetGroupPairInfo, TrafficRoute,
};
use tracing::info;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{
    inventory, BackendOutputs, DeliveryOutputs, Error, LoadBalancerOutputs, Names, ProvisionState,
    Result, SdkContext, Settings,
};

use crate::alarms;

/// Network Load Balancers allow only all-at-once traffic shifting.
pub const DEPLOYMENT_CONFIG: &str = "CodeDeployDefault.ECSAllAtOnce";

pub struct Clients {
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub lambda: aws_sdk_lambda::Client,
}

pub async fn handle(
    clients: &Clients,
    codedeploy_role: &str,
    state: ProvisionState,
) -> Result<DeliveryOutputs> {
    let settings = &state.settings;
    settings.validate()?;
    let lb = ProvisionState::require(&state.loadbalancer, "load balancer")?;
    let backend = ProvisionState::require(&state.backend, "backend")?;
    let network = ProvisionState::require(&state.network, "network")?;
    if codedeploy_role.is_empty() {
        return Err(Error::invalid(
            "environment variable CODEDEPLOY_ROLE_ARN is not set (bootstrap stack)",
        ));
    }
    let names = Names::new(&settings.stack);
    let alarms = alarms::ensure_unhealthy_host_alarms(&clients.cloudwatch, &names, lb).await?;
    let application = ensure_application(&clients.codedeploy, &names).await?;
    let group = names.deployment_group();
    let exists =
        resources_delivery::find_deployment_group(&clients.codedeploy, &application, &group)
            .await?
            .is_some();
    if !exists {
        let created = deployment_group_request(
            clients.codedeploy.create_deployment_group(),
            &names,
            settings,
            codedeploy_role,
            lb,
            backend,
            &alarms,
        )?
        .send()
        .await
        .context(format!("create deployment group {group}"))
        .map(|_| info!(group, "created deployment group"));
        resources::adopt::created_or_found(created, || async {
            let found = resources_delivery::find_deployment_group(
                &clients.codedeploy,
                &application,
                &group,
            )
            .await?;
            Ok(found.map(|_| ()))
        })
        .await?;
    }
    let probe = names.probe_function();
    crate::probe::attach_to_vpc(&clients.lambda, &names, network).await?;
    let outputs = DeliveryOutputs {
        application,
        deployment_group: group,
        deployment_config: DEPLOYMENT_CONFIG.to_string(),
        alarms,
        probe_function: Some(probe),
    };
    inventory::record(&clients.ssm, &settings.stack, Tier::Delivery, &outputs).await?;
    Ok(outputs)
}

async fn ensure_application(
    codedeploy: &aws_sdk_codedeploy::Client,
    names: &Names,
) -> Result<String> {
    let name = names.codedeploy_application();
    if resources_delivery::find_application(codedeploy, names)
        .await?
        .is_some()
    {
        return Ok(name);
    }
    let tag_list = tags::standard(names.stack(), Tier::Delivery)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    match codedeploy
        .create_application()
        .application_name(&name)
        .compute_platform(ComputePlatform::Ecs)
        .set_tags(Some(tag_list))
        .send()
        .await
    {
        Ok(_) => info!(name, "created CodeDeploy application"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_application_already_exists_exception()) => {}
        Err(e) => return Err(e).context(format!("create CodeDeploy application {name}")),
    }
    Ok(name)
}

/// The deployment group, as a request: kept apart from sending it so its shape is tested.
pub fn deployment_group_request(
    request: CreateDeploymentGroupFluentBuilder,
    names: &Names,
    settings: &Settings,
    role: &str,
    lb: &LoadBalancerOutputs,
    backend: &BackendOutputs,
    alarm_names: &[String],
) -> Result<CreateDeploymentGroupFluentBuilder> {
    let pair = TargetGroupPairInfo::builder()
        .target_groups(
            TargetGroupInfo::builder()
                .name(&lb.blue_target_group_name)
                .build(),
        )
        .target_groups(
            TargetGroupInfo::builder()
                .name(&lb.green_target_group_name)
                .build(),
        )
        .prod_traffic_route(
            TrafficRoute::builder()
                .listener_arns(&lb.prod_listener_arn)
                .build(),
        )
        .test_traffic_route(
            TrafficRoute::builder()
                .listener_arns(&lb.test_listener_arn)
                .build(),
        )
        .build();
    let blue_green = BlueGreenDeploymentConfiguration::builder()
        .terminate_blue_instances_on_deployment_success(
            BlueInstanceTerminationOption::builder()
                .action(InstanceAction::Terminate)
                .termination_wait_time_in_minutes(settings.termination_wait_minutes)
                .build(),
        )
        .deployment_ready_option(
            DeploymentReadyOption::builder()
                .action_on_timeout(DeploymentReadyAction::ContinueDeployment)
                .build(),
        )
        .build();
    let mut alarm_config = AlarmConfiguration::builder()
        .enabled(true)
        .ignore_poll_alarm_failure(false);
    for alarm in alarm_names {
        alarm_config = alarm_config.alarms(Alarm::builder().name(alarm).build());
    }
    let tag_list = tags::standard(names.stack(), Tier::Delivery)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    Ok(request
        .application_name(names.codedeploy_application())
        .deployment_group_name(names.deployment_group())
        .service_role_arn(role)
        .deployment_config_name(DEPLOYMENT_CONFIG)
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::BlueGreen)
                .deployment_option(DeploymentOption::WithTrafficControl)
                .build(),
        )
        .blue_green_deployment_configuration(blue_green)
        .ecs_services(
            EcsService::builder()
                .cluster_name(&backend.cluster)
                .service_name(&backend.service)
                .build(),
        )
        .load_balancer_info(
            LoadBalancerInfo::builder()
                .target_group_pair_info_list(pair)
                .build(),
        )
        .auto_rollback_configuration(
            AutoRollbackConfiguration::builder()
                .enabled(true)
                .events(AutoRollbackEvent::DeploymentFailure)
                .events(AutoRollbackEvent::DeploymentStopOnAlarm)
                .build(),
        )
        .alarm_configuration(alarm_config.build())
        .set_tags(Some(tag_list)))
}
