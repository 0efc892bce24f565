//! Carries a backend plan out. Creates adopt what an unseen earlier attempt made (the
//! repository and log group by "already exists", the service by its client token, the
//! task definition by looking before registering again); the scalable target and the
//! scaling policy are upserts. Deletes treat NotFound as done.

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ClusterSetting, ClusterSettingName, DeploymentController,
    DeploymentControllerType, LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags,
};
use tracing::info;
use vikunja_core::error::built;
use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT};
use vikunja_core::settings::Engine;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{
    Error, ErrorClass, LoadBalancerOutputs, Names, NetworkOutputs, Result, SdkContext, Settings,
};

use crate::bluegreen::EcsBlueGreen;
use crate::diff::{
    diff, Op, Spec, CPU_METRIC, HEALTH_CHECK_GRACE_SECONDS, LOG_RETENTION_DAYS, SCALE_IN_COOLDOWN,
    SCALE_OUT_COOLDOWN,
};
use crate::observe::{observe, Clients, Found};
use crate::task::{differences, register_request, TaskInputs};
use resources::adopt::created_or_found;
use resources::plan::Operation;

/// DeleteTaskDefinitions takes at most ten at a time.
const TASK_DEFINITION_BATCH: usize = 10;

impl Spec {
    /// The spec as `up` knows it, from the settings and the other tiers' outputs.
    pub fn from_outputs(
        names: Names,
        settings: &Settings,
        task: TaskInputs,
        network: &NetworkOutputs,
        lb: &LoadBalancerOutputs,
        blue_green: Option<EcsBlueGreen>,
    ) -> Self {
        let mut subnets = network.public_subnet_ids.clone();
        subnets.sort();
        Self {
            names,
            settings: settings.clone(),
            task: Some(task),
            subnets: Some(subnets),
            app_group: Some(network.app_security_group_id.clone()),
            target_groups: vec![
                lb.blue_target_group_arn.clone(),
                lb.green_target_group_arn.clone(),
            ],
            blue_green,
        }
    }

    fn blue_target_group(&self) -> Result<&str> {
        self.target_groups
            .first()
            .map(String::as_str)
            .ok_or_else(|| {
                Error::invalid("the load balancer tier's outputs have no blue target group")
            })
    }
}

/// What the tier stands on once applied.
#[derive(Debug, Clone)]
pub struct Applied {
    pub repository_uri: String,
    pub service_arn: String,
    pub task_definition_arn: String,
    /// The operations carried out, as `plan` lists them.
    pub changes: Vec<String>,
}

/// Observe, diff, stop if the plan says `up` stops, else apply: the tier as `plan` said.
pub async fn ensure(clients: &Clients<'_>, spec: &Spec) -> Result<Applied> {
    let found = observe(clients, &spec.names).await?;
    if let Some(service) = found.service.as_ref().filter(|s| !s.active()) {
        return Err(Error::NotReady(format!(
            "service {} is {} (being deleted): run up again once it is gone",
            spec.names.service(),
            service.status
        )));
    }
    let plan = diff(spec, &found);
    apply(clients, spec, &found, &plan.runnable()?.ops).await
}

pub async fn apply(
    clients: &Clients<'_>,
    spec: &Spec,
    found: &Found,
    ops: &[Op],
) -> Result<Applied> {
    let names = &spec.names;
    let mut applied = Applied {
        repository_uri: found
            .repository
            .as_ref()
            .map(|r| r.uri.clone())
            .unwrap_or_default(),
        service_arn: found
            .service
            .as_ref()
            .map(|s| s.arn.clone())
            .unwrap_or_default(),
        task_definition_arn: found
            .task_definition
            .as_ref()
            .map(|t| t.arn.clone())
            .unwrap_or_default(),
        changes: Vec::new(),
    };
    for op in ops {
        match op {
            Op::CreateRepository => {
                applied.repository_uri = create_repository(clients.ecr, names).await?
            }
            Op::CreateLogGroup => create_log_group(clients.logs, names).await?,
            Op::SetLogRetention => set_retention(clients.logs, names).await?,
            Op::CreateCluster => create_cluster(clients.ecs, names).await?,
            Op::RegisterTaskDefinition => {
                applied.task_definition_arn = register(clients.ecs, spec).await?;
            }
            Op::CreateService => {
                applied.service_arn =
                    create_service(clients.ecs, spec, &applied.task_definition_arn).await?;
            }
            Op::MoveToEcsEngine => move_to_ecs_engine(clients.ecs, spec).await?,
            Op::RegisterScalableTarget => {
                register_scalable_target(clients.autoscaling, spec).await?
            }
            Op::PutScalingPolicy => put_scaling_policy(clients.autoscaling, spec).await?,
            other => {
                return Err(Error::invalid(format!(
                    "`up` does not {}: that is teardown's",
                    other.describe(spec)
                )))
            }
        }
        let change = op.describe(spec);
        info!(stack = names.stack(), change, "applied");
        applied.changes.push(change);
    }
    Ok(applied)
}

fn tag_list<T>(stack: &str, tag: impl Fn(&str, &str) -> T) -> Vec<T> {
    tags::standard(stack, Tier::Backend)
        .into_iter()
        .map(|(k, v)| tag(&k, &v))
        .collect()
}

async fn create_repository(ecr: &aws_sdk_ecr::Client, names: &Names) -> Result<String> {
    let name = names.repository();
    let tags = tag_list(names.stack(), |k, v| {
        built(
            aws_sdk_ecr::types::Tag::builder().key(k).value(v).build(),
            "tag",
        )
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    let created = ecr
        .create_repository()
        .repository_name(&name)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        // A tag names one image for good: releases are traceable and pinned by digest.
        .image_tag_mutability(ImageTagMutability::Immutable)
        .encryption_configuration(built(
            EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Aes256)
                .build(),
            "repository encryption",
        )?)
        .set_tags(Some(tags))
        .send()
        .await
        .context(format!("create repository {name}"))
        .and_then(|created| {
            created
                .repository()
                .cloned()
                .ok_or_else(|| Error::conflict("ECR answered without the new repository"))
        });
    let repository = created_or_found(created, || crate::find_repository(ecr, &name)).await?;
    Ok(repository.repository_uri().unwrap_or_default().to_string())
}

async fn create_log_group(logs: &aws_sdk_cloudwatchlogs::Client, names: &Names) -> Result<()> {
    let name = names.log_group();
    let mut request = logs.create_log_group().log_group_name(&name);
    for (k, v) in tags::standard(names.stack(), Tier::Backend) {
        request = request.tags(k, v);
    }
    let created = request
        .send()
        .await
        .context(format!("create log group {name}"));
    match created {
        // An earlier attempt made it; the retention below converges it either way.
        Err(error) if error.is(ErrorClass::AlreadyExists) => {}
        other => {
            other?;
        }
    }
    set_retention(logs, names).await
}

async fn set_retention(logs: &aws_sdk_cloudwatchlogs::Client, names: &Names) -> Result<()> {
    let name = names.log_group();
    logs.put_retention_policy()
        .log_group_name(&name)
        .retention_in_days(LOG_RETENTION_DAYS)
        .send()
        .await
        .context(format!("set retention of {name}"))?;
    Ok(())
}

async fn create_cluster(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<()> {
    let name = names.cluster();
    // CreateCluster of an existing active cluster answers with it: a retry is harmless.
    ecs.create_cluster()
        .cluster_name(&name)
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .set_tags(Some(tag_list(names.stack(), |k, v| {
            aws_sdk_ecs::types::Tag::builder().key(k).value(v).build()
        })))
        .send()
        .await
        .context(format!("create cluster {name}"))?;
    Ok(())
}

async fn register(ecs: &aws_sdk_ecs::Client, spec: &Spec) -> Result<String> {
    let inputs = spec
        .task
        .as_ref()
        .ok_or_else(|| Error::invalid("the task definition's inputs are not known"))?;
    let request = register_request(ecs, &spec.names, inputs)?;
    crate::register_once(ecs, &spec.names.task_family(), request, |latest| {
        differences(&crate::task::Registered::of(&latest.definition), inputs).is_empty()
    })
    .await
}

async fn create_service(
    ecs: &aws_sdk_ecs::Client,
    spec: &Spec,
    task_definition: &str,
) -> Result<String> {
    let names = &spec.names;
    let name = names.service();
    if task_definition.is_empty() {
        return Err(Error::invalid(format!(
            "no task definition to create service {name} on"
        )));
    }
    // Tasks sit in the public subnets with a public address so they can pull the image
    // without a NAT gateway; the app security group admits only the load balancer.
    let vpc = built(
        AwsVpcConfiguration::builder()
            .set_subnets(spec.subnets.clone())
            .set_security_groups(spec.app_group.clone().map(|g| vec![g]))
            .assign_public_ip(AssignPublicIp::Enabled)
            .build(),
        "awsvpc configuration",
    )?;
    let blue = spec.blue_target_group()?;
    let (controller, deployment_configuration, load_balancer) = match spec.settings.engine {
        Engine::Codedeploy => (
            DeploymentControllerType::CodeDeploy,
            None,
            LoadBalancer::builder()
                .target_group_arn(blue)
                .container_name(CONTAINER_NAME)
                .container_port(CONTAINER_PORT)
                .build(),
        ),
        Engine::Ecs => {
            let blue_green = spec.blue_green.as_ref().ok_or_else(|| {
                Error::invalid("engine ecs: the service's blue/green inputs (listeners, roles, hook) are not known")
            })?;
            (
                DeploymentControllerType::Ecs,
                Some(blue_green.deployment_configuration()?),
                blue_green.load_balancer(blue),
            )
        }
    };
    let created = ecs
        .create_service()
        .cluster(names.cluster())
        .service_name(&name)
        .task_definition(task_definition)
        .desired_count(spec.settings.min_tasks)
        .launch_type(LaunchType::Fargate)
        .platform_version("LATEST")
        .deployment_controller(built(
            DeploymentController::builder().r#type(controller).build(),
            "deployment controller",
        )?)
        .set_deployment_configuration(deployment_configuration)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        )
        .load_balancers(load_balancer)
        .health_check_grace_period_seconds(HEALTH_CHECK_GRACE_SECONDS)
        // Same token on a retry: ECS answers with the service it already made.
        .client_token(format!("{}-{}", names.stack(), name))
        .propagate_tags(PropagateTags::Service)
        .enable_ecs_managed_tags(true)
        .set_tags(Some(tag_list(names.stack(), |k, v| {
            aws_sdk_ecs::types::Tag::builder().key(k).value(v).build()
        })))
        .send()
        .await
        .context(format!("create service {name}"))?;
    created
        .service()
        .and_then(|s| s.service_arn())
        .map(str::to_string)
        .ok_or_else(|| Error::conflict("ECS answered without the new service"))
}

/// AWS's migration from CodeDeploy to ECS blue/green, reusing the target groups and
/// listeners: refused while a CodeDeploy deployment runs (the service has more than its
/// one task set); the group production is on stays the primary, the other one green's.
async fn move_to_ecs_engine(ecs: &aws_sdk_ecs::Client, spec: &Spec) -> Result<()> {
    let names = &spec.names;
    let service = crate::find_service(ecs, names)
        .await?
        .ok_or_else(|| Error::NotReady(format!("service {} is gone", names.service())))?;
    if service.task_sets().len() > 1 {
        return Err(Error::NotReady(format!(
            "a CodeDeploy deployment is running on service {} ({} task sets): up moves it to the ecs engine once it has ended",
            names.service(),
            service.task_sets().len()
        )));
    }
    let live = service
        .task_sets()
        .iter()
        .find(|t| t.status() == Some("PRIMARY"))
        .and_then(|t| t.load_balancers().first())
        .or(service.load_balancers().first())
        .and_then(|lb| lb.target_group_arn())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::conflict(format!(
                "service {} has no target group to keep serving from",
                names.service()
            ))
        })?;
    let mut blue_green = spec.blue_green.clone().ok_or_else(|| {
        Error::invalid(
            "engine ecs: the service's blue/green inputs (listeners, roles, hook) are not known",
        )
    })?;
    blue_green.alternate_target_group = spec
        .target_groups
        .iter()
        .find(|g| **g != live)
        .cloned()
        .ok_or_else(|| {
            Error::invalid("the load balancer tier's outputs have no second target group")
        })?;
    ecs.update_service()
        .cluster(names.cluster())
        .service(names.service())
        .deployment_controller(built(
            DeploymentController::builder()
                .r#type(DeploymentControllerType::Ecs)
                .build(),
            "deployment controller",
        )?)
        .deployment_configuration(blue_green.deployment_configuration()?)
        .load_balancers(blue_green.load_balancer(&live))
        .send()
        .await
        .context(format!(
            "move service {} to the ecs engine",
            names.service()
        ))?;
    Ok(())
}

async fn register_scalable_target(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
    spec: &Spec,
) -> Result<()> {
    let resource = spec.names.scalable_target();
    let mut register = autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(spec.settings.min_tasks)
        .max_capacity(spec.settings.max_tasks);
    for (k, v) in tags::standard(spec.names.stack(), Tier::Backend) {
        register = register.tags(k, v);
    }
    register
        .send()
        .await
        .context(format!("register scalable target {resource}"))?;
    Ok(())
}

async fn put_scaling_policy(
    autoscaling: &aws_sdk_applicationautoscaling::Client,
    spec: &Spec,
) -> Result<()> {
    let resource = spec.names.scalable_target();
    let metric = built(
        PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::from(CPU_METRIC))
            .build(),
        "predefined metric",
    )?;
    let tracking = built(
        TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(spec.settings.cpu_target_percent)
            .predefined_metric_specification(metric)
            .scale_out_cooldown(SCALE_OUT_COOLDOWN)
            .scale_in_cooldown(SCALE_IN_COOLDOWN)
            .build(),
        "target tracking",
    )?;
    autoscaling
        .put_scaling_policy()
        .policy_name(spec.names.scaling_policy())
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(tracking)
        .send()
        .await
        .context(format!("put CPU scaling policy on {resource}"))?;
    Ok(())
}

/// How a delete ended, besides an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    Gone,
    /// Deleted; AWS is finishing it (a service stopping its tasks): what the state machine
    /// waits for.
    Going(String),
    /// Not deleted yet: AWS must finish something first.
    Waiting(String),
}

/// One teardown operation. The task definitions' and task sets' per-item outcomes are
/// [`delete_task_definitions`]' and [`delete_task_sets`]'.
pub async fn delete(clients: &Clients<'_>, names: &Names, op: &Op) -> Result<Deleted> {
    let gone = |result: Result<()>| match result {
        Err(error) if error.is(ErrorClass::NotFound) => Ok(Deleted::Gone),
        other => other.map(|_| Deleted::Gone),
    };
    match op {
        Op::DeregisterScalableTarget => {
            let target = names.scalable_target();
            gone(
                clients
                    .autoscaling
                    .deregister_scalable_target()
                    .service_namespace(ServiceNamespace::Ecs)
                    .resource_id(&target)
                    .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                    .send()
                    .await
                    .context(format!("deregister scalable target {target}"))
                    .map(|_| ()),
            )
        }
        Op::DeleteService { draining, .. } => delete_service(clients.ecs, names, *draining).await,
        Op::DeleteCluster => delete_cluster(clients.ecs, names).await,
        Op::DeleteRepository { .. } => {
            let name = names.repository();
            // `force` deletes the images with the repository.
            gone(
                clients
                    .ecr
                    .delete_repository()
                    .repository_name(&name)
                    .force(true)
                    .send()
                    .await
                    .context(format!("delete repository {name}"))
                    .map(|_| ()),
            )
        }
        Op::DeleteLogGroup => {
            let name = names.log_group();
            gone(
                clients
                    .logs
                    .delete_log_group()
                    .log_group_name(&name)
                    .send()
                    .await
                    .context(format!("delete log group {name}"))
                    .map(|_| ()),
            )
        }
        other => Err(Error::invalid(format!("{other:?} is not a delete"))),
    }
}

/// Scales the service to 0 and deletes it; `Gone` once ECS reports it INACTIVE.
async fn delete_service(
    ecs: &aws_sdk_ecs::Client,
    names: &Names,
    draining: bool,
) -> Result<Deleted> {
    let (cluster, name) = (names.cluster(), names.service());
    let stopping = format!("ECS service {name} to stop its tasks");
    if draining {
        return Ok(Deleted::Waiting(stopping));
    }
    // A service scaled to 0 first stops its tasks in order; `force` below also deletes a
    // service that refuses (a CODE_DEPLOY service mid-deployment).
    if let Err(error) = ecs
        .update_service()
        .cluster(&cluster)
        .service(&name)
        .desired_count(0)
        .send()
        .await
    {
        tracing::warn!(service = name, error = %aws_sdk_ecs::error::DisplayErrorContext(&error), "scaling to 0 was refused; deleting with force");
    }
    let deleted = ecs
        .delete_service()
        .cluster(&cluster)
        .service(&name)
        .force(true)
        .send()
        .await
        .context(format!("delete service {name}"));
    match deleted {
        Ok(out) if out.service().and_then(|s| s.status()).unwrap_or("INACTIVE") != "INACTIVE" => {
            Ok(Deleted::Going(stopping))
        }
        Ok(_) => Ok(Deleted::Gone),
        Err(error) if error.is(ErrorClass::NotFound) => Ok(Deleted::Gone),
        Err(error) => Err(error),
    }
}

/// An EXTERNAL service's task sets are the controller's to delete, before the service.
pub async fn delete_task_sets(
    ecs: &aws_sdk_ecs::Client,
    names: &Names,
    task_sets: &[String],
) -> Vec<(String, Result<()>)> {
    let (cluster, name) = (names.cluster(), names.service());
    let mut outcomes = Vec::new();
    for set in task_sets {
        let deleted = ecs
            .delete_task_set()
            .cluster(&cluster)
            .service(&name)
            .task_set(set)
            .force(true)
            .send()
            .await
            .context(format!("delete task set {set} of {name}"));
        outcomes.push((set.clone(), deleted.map(|_| ())));
    }
    outcomes
}

async fn delete_cluster(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<Deleted> {
    let name = names.cluster();
    let deleted = ecs
        .delete_cluster()
        .cluster(&name)
        .send()
        .await
        .context(format!("delete cluster {name}"));
    match deleted {
        Err(error)
            if matches!(
                error.code(),
                Some(
                    "ClusterContainsServicesException"
                        | "ClusterContainsTasksException"
                        | "ClusterContainsContainerInstancesException"
                        | "UpdateInProgressException"
                )
            ) =>
        {
            Ok(Deleted::Waiting(format!("ECS cluster {name} to empty")))
        }
        Err(error) if error.is(ErrorClass::NotFound) => Ok(Deleted::Gone),
        other => other.map(|_| Deleted::Gone),
    }
}

/// Whether a revision no longer exists, or is being deleted.
async fn is_gone_or_going(ecs: &aws_sdk_ecs::Client, arn: &str) -> bool {
    match crate::find_task_definition(ecs, arn).await {
        Ok(None) => true,
        Ok(Some(revision)) => {
            revision.definition.status()
                == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::DeleteInProgress)
        }
        Err(_) => false,
    }
}

/// Deregisters the active revisions, then deletes every revision; each one's outcome.
pub async fn delete_task_definitions(
    ecs: &aws_sdk_ecs::Client,
    active: &[String],
    inactive: &[String],
) -> Vec<(String, Result<()>)> {
    let mut outcomes = Vec::new();
    let mut deletable = inactive.to_vec();
    for arn in active {
        let deregistered = ecs
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .context(format!("deregister task definition {arn}"));
        match deregistered {
            Ok(_) => deletable.push(arn.clone()),
            Err(error) if error.is(ErrorClass::NotFound) => outcomes.push((arn.clone(), Ok(()))),
            Err(error) => outcomes.push((arn.clone(), Err(error))),
        }
    }
    for batch in deletable.chunks(TASK_DEFINITION_BATCH) {
        let deleted = ecs
            .delete_task_definitions()
            .set_task_definitions(Some(batch.to_vec()))
            .send()
            .await
            .context("delete task definitions");
        let failures: Vec<(String, String)> = match &deleted {
            Ok(out) => out
                .failures()
                .iter()
                .filter_map(|f| {
                    let reason = format!(
                        "{}: {}",
                        f.reason().unwrap_or("refused"),
                        f.detail().unwrap_or_default()
                    );
                    Some((f.arn()?.to_string(), reason))
                })
                .collect(),
            Err(_) => vec![],
        };
        for arn in batch {
            let outcome = match &deleted {
                Err(error) => Err(error.clone()),
                Ok(_) => match failures.iter().find(|(a, _)| a == arn) {
                    // A retried delete whose first attempt went through is refused for a
                    // revision that is gone: look before calling it a failure.
                    Some(_) if is_gone_or_going(ecs, arn).await => Ok(()),
                    Some((_, reason)) => Err(Error::conflict(reason.clone())),
                    None => Ok(()),
                },
            };
            outcomes.push((arn.clone(), outcome));
        }
    }
    outcomes
}
