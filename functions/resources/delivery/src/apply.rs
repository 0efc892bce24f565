//! Carries a delivery plan out. The alarms are put whole (`PutMetricAlarm` replaces), the
//! application and deployment group are created once ("already exists" after an unseen
//! success is adopted), and the probe is moved into the VPC.

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use aws_sdk_codedeploy::operation::create_deployment_group::builders::CreateDeploymentGroupFluentBuilder;
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent,
    BlueGreenDeploymentConfiguration, BlueInstanceTerminationOption, ComputePlatform,
    DeploymentOption, DeploymentReadyAction, DeploymentReadyOption, DeploymentStyle,
    DeploymentType, EcsService, InstanceAction, LoadBalancerInfo, Tag, TargetGroupInfo,
    TargetGroupPairInfo, TrafficRoute,
};
use aws_sdk_lambda::types::VpcConfig;
use tracing::info;
use vikunja_core::settings::Engine;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{
    BackendOutputs, Error, LoadBalancerOutputs, Names, NetworkOutputs, Result, SdkContext, Settings,
};

use super::diff::{diff, load_balancer_dimension, target_group_dimension, Op, Spec};
use super::observe::observe;
use super::{find_application, find_deployment_group, DEPLOYMENT_CONFIG};
use resources::adopt::created_or_found;
use resources::found::absent_if_not_found;
use resources::plan::Operation;

pub struct Clients<'a> {
    pub codedeploy: &'a aws_sdk_codedeploy::Client,
    pub cloudwatch: &'a aws_sdk_cloudwatch::Client,
    pub lambda: &'a aws_sdk_lambda::Client,
}

/// What the tier is made from: the settings, CodeDeploy's role and the other tiers' outputs.
pub struct Inputs<'a> {
    pub settings: &'a Settings,
    pub role: &'a str,
    pub network: &'a NetworkOutputs,
    pub lb: &'a LoadBalancerOutputs,
    pub backend: &'a BackendOutputs,
}

impl Spec {
    /// The spec as `up` knows it, from the other tiers' outputs.
    pub fn from_inputs(names: Names, inputs: &Inputs) -> Result<Self> {
        let lb = inputs.lb;
        let dimensions = |group: &str| -> Result<(String, String)> {
            Ok((
                load_balancer_dimension(&lb.load_balancer_arn)?,
                target_group_dimension(group)?,
            ))
        };
        let probe_group = inputs.network.probe_security_group_id.clone().ok_or_else(|| {
            Error::invalid("the network tier's outputs have no probe security group: run the network step again")
        })?;
        let mut probe_subnets = inputs.network.public_subnet_ids.clone();
        probe_subnets.sort();
        Ok(Self {
            names,
            engine: inputs.settings.engine,
            termination_wait_minutes: inputs.settings.termination_wait_minutes,
            alarm_dimensions: [
                ("blue", dimensions(&lb.blue_target_group_arn)?),
                ("green", dimensions(&lb.green_target_group_arn)?),
            ]
            .into(),
            prod_listener: lb.prod_listener_arn.clone(),
            test_listener: lb.test_listener_arn.clone(),
            service_role: Some(inputs.role.to_string()),
            probe_subnets,
            probe_group,
        })
    }
}

/// Observe, diff, stop if the plan says `up` stops, else apply: the tier as `plan` said.
/// The operations carried out, as `plan` lists them.
pub async fn ensure(
    clients: &Clients<'_>,
    inputs: &Inputs<'_>,
    names: &Names,
) -> Result<Vec<String>> {
    let spec = Spec::from_inputs(names.clone(), inputs)?;
    let found = observe(
        clients.codedeploy,
        clients.cloudwatch,
        clients.lambda,
        names,
    )
    .await?;
    if found.probe.is_none() {
        return Err(Error::invalid(format!(
            "the probe {} does not exist: run `vikunja-aws bootstrap` first",
            names.probe_function()
        )));
    }
    let plan = diff(&spec, &found);
    apply(clients, inputs, &spec, &plan.runnable()?.ops).await
}

pub async fn apply(
    clients: &Clients<'_>,
    inputs: &Inputs<'_>,
    spec: &Spec,
    ops: &[Op],
) -> Result<Vec<String>> {
    let names = &spec.names;
    let mut changes = Vec::new();
    for op in ops {
        match op {
            Op::PutAlarm { colour } => put_alarm(clients.cloudwatch, spec, colour).await?,
            Op::CreateApplication => create_application(clients.codedeploy, names).await?,
            Op::CreateDeploymentGroup => {
                create_deployment_group(clients.codedeploy, inputs, names).await?
            }
            Op::AttachProbe => attach_probe(clients.lambda, spec, inputs.network).await?,
            // A stack moved to the ecs engine: its CodeDeploy objects go with the engine.
            Op::DeleteApplication if spec.engine == Engine::Ecs => {
                delete(clients, names, op).await?
            }
            other => {
                return Err(Error::invalid(format!(
                    "`up` does not {}: that is teardown's",
                    other.describe(spec)
                )))
            }
        }
        let change = op.describe(spec);
        info!(stack = names.stack(), change, "applied");
        changes.push(change);
    }
    Ok(changes)
}

fn delivery_tags<T>(stack: &str, tag: impl Fn(String, String) -> T) -> Vec<T> {
    tags::standard(stack, Tier::Delivery)
        .into_iter()
        .map(|(k, v)| tag(k.to_string(), v.to_string()))
        .collect()
}

async fn put_alarm(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    spec: &Spec,
    colour: &str,
) -> Result<()> {
    let names = &spec.names;
    let name = names.alarm(colour);
    let (lb, group) = &spec.alarm_dimensions[colour];
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let tag = |k: String, v: String| {
        aws_sdk_cloudwatch::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    cloudwatch
        .put_metric_alarm()
        .alarm_name(&name)
        .alarm_description(format!(
            "unhealthy {colour} targets of vikunja stack {}",
            names.stack()
        ))
        .namespace("AWS/NetworkELB")
        .metric_name("UnHealthyHostCount")
        .dimensions(dimension("LoadBalancer", lb))
        .dimensions(dimension("TargetGroup", group))
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(2)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .set_tags(Some(delivery_tags(names.stack(), tag)))
        .send()
        .await
        .context(format!("put alarm {name}"))?;
    Ok(())
}

async fn create_application(codedeploy: &aws_sdk_codedeploy::Client, names: &Names) -> Result<()> {
    let name = names.codedeploy_application();
    let tag = |k: String, v: String| Tag::builder().key(k).value(v).build();
    let created = codedeploy
        .create_application()
        .application_name(&name)
        .compute_platform(ComputePlatform::Ecs)
        .set_tags(Some(delivery_tags(names.stack(), tag)))
        .send()
        .await
        .context(format!("create CodeDeploy application {name}"))
        .map(|_| ());
    created_or_found(created, || async {
        Ok(find_application(codedeploy, names).await?.map(|_| ()))
    })
    .await
}

async fn create_deployment_group(
    codedeploy: &aws_sdk_codedeploy::Client,
    inputs: &Inputs<'_>,
    names: &Names,
) -> Result<()> {
    let group = names.deployment_group();
    let alarms = [names.alarm("blue"), names.alarm("green")];
    let created = deployment_group_request(
        codedeploy.create_deployment_group(),
        names,
        inputs.settings,
        inputs.role,
        inputs.lb,
        inputs.backend,
        &alarms,
    )?
    .send()
    .await
    .context(format!("create deployment group {group}"))
    .map(|_| ());
    created_or_found(created, || async {
        let application = names.codedeploy_application();
        Ok(find_deployment_group(codedeploy, &application, &group)
            .await?
            .map(|_| ()))
    })
    .await
}

async fn attach_probe(
    lambda: &aws_sdk_lambda::Client,
    spec: &Spec,
    network: &NetworkOutputs,
) -> Result<()> {
    let function = spec.names.probe_function();
    lambda
        .update_function_configuration()
        .function_name(&function)
        .vpc_config(
            VpcConfig::builder()
                .set_subnet_ids(Some(spec.probe_subnets.clone()))
                .security_group_ids(&spec.probe_group)
                .build(),
        )
        .send()
        .await
        .context(format!("attach the probe {function} to {}", network.vpc_id))?;
    Ok(())
}

/// One teardown operation; NotFound is done.
pub async fn delete(clients: &Clients<'_>, names: &Names, op: &Op) -> Result<()> {
    let done = match op {
        Op::StopDeployment { id } => clients
            .codedeploy
            .stop_deployment()
            .deployment_id(id)
            .auto_rollback_enabled(false)
            .send()
            .await
            .context(format!("stop deployment {id}"))
            .map(|_| ()),
        Op::DeleteApplication => {
            let app = names.codedeploy_application();
            clients
                .codedeploy
                .delete_application()
                .application_name(&app)
                .send()
                .await
                .context(format!("delete CodeDeploy application {app}"))
                .map(|_| ())
        }
        Op::DetachProbe { vpc } => {
            let probe = names.probe_function();
            let nowhere = VpcConfig::builder()
                .set_subnet_ids(Some(vec![]))
                .set_security_group_ids(Some(vec![]))
                .build();
            clients
                .lambda
                .update_function_configuration()
                .function_name(&probe)
                .vpc_config(nowhere)
                .send()
                .await
                .context(format!("detach the probe {probe} from {vpc}"))
                .map(|_| ())
        }
        Op::DeleteAlarms { names } => clients
            .cloudwatch
            .delete_alarms()
            .set_alarm_names(Some(names.clone()))
            .send()
            .await
            .context(format!("delete alarms {}", names.join(", ")))
            .map(|_| ()),
        other => return Err(Error::invalid(format!("{other:?} is not a delete"))),
    };
    absent_if_not_found(done).map(|_| ())
}

fn deployment_group_request(
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
