//! The tier as found, through the one finder of each resource: what `up` compares with its
//! spec, `plan` prints and `down` deletes. [`observe_remains`] adds what only teardown needs
//! (every revision of the family, the images, other services in the cluster).

use aws_sdk_ecs::types::{DeploymentControllerType, TaskDefinitionStatus};
use vikunja_core::{tags, Names, Result, SdkContext};

use crate::task::Registered;

pub struct Clients<'a> {
    pub ecr: &'a aws_sdk_ecr::Client,
    pub ecs: &'a aws_sdk_ecs::Client,
    pub logs: &'a aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: &'a aws_sdk_applicationautoscaling::Client,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Repository {
    pub uri: String,
    pub ours: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogGroup {
    /// `None`: never expires.
    pub retention_days: Option<i32>,
    pub ours: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    pub active: bool,
    pub ours: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    pub arn: String,
    /// ACTIVE, or DRAINING while ECS deletes it.
    pub status: String,
    pub ours: bool,
    pub controller: Option<String>,
    /// `deploymentConfiguration.strategy` (ROLLING, BLUE_GREEN, …) where ECS reports it.
    pub strategy: Option<String>,
    pub task_definition: String,
    /// (target group ARN, container, port).
    pub load_balancers: Vec<(String, String, i32)>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub task_sets: Vec<String>,
}

impl Service {
    pub fn active(&self) -> bool {
        self.status == "ACTIVE"
    }

    /// Task sets of an EXTERNAL service are the controller's to delete; ECS deletes a
    /// CODE_DEPLOY service's with it.
    pub fn external(&self) -> bool {
        self.controller.as_deref() == Some(DeploymentControllerType::External.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScalingPolicy {
    pub target: Option<f64>,
    pub metric: Option<String>,
    pub scale_out_cooldown: Option<i32>,
    pub scale_in_cooldown: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct Found {
    pub repository: Option<Repository>,
    pub log_group: Option<LogGroup>,
    pub cluster: Option<Cluster>,
    pub service: Option<Service>,
    /// The service's task definition, or the family's latest revision when there is no
    /// service (which `up` reuses when it matches).
    pub task_definition: Option<Registered>,
    /// (min, max).
    pub scalable_target: Option<(i32, i32)>,
    pub scaling_policy: Option<ScalingPolicy>,
}

/// What else stands, for teardown.
#[derive(Debug, Clone, Default)]
pub struct Remains {
    /// Services in the stack's cluster that are not the stack's: they keep the cluster.
    pub foreign_services: Vec<String>,
    /// The family's revisions that carry the stack's tag.
    pub active_task_definitions: Vec<String>,
    pub inactive_task_definitions: Vec<String>,
    pub images: usize,
}

fn is_ours<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, stack: &str) -> bool {
    tags::belongs_to(pairs, stack)
}

pub async fn observe(clients: &Clients<'_>, names: &Names) -> Result<Found> {
    let (repository, log_group, cluster, service) = tokio::try_join!(
        repository(clients.ecr, names),
        log_group(clients.logs, names),
        cluster(clients.ecs, names),
        service(clients.ecs, names),
    )?;
    // The live revision when there is a service; else the family's latest.
    let wanted = service
        .as_ref()
        .map(|s| s.task_definition.clone())
        .unwrap_or_else(|| names.task_family());
    let (task_definition, scalable_target, scaling_policy) = tokio::try_join!(
        crate::find_task_definition(clients.ecs, &wanted),
        crate::find_scalable_target(clients.autoscaling, names),
        crate::find_scaling_policy(clients.autoscaling, names),
    )?;
    Ok(Found {
        repository,
        log_group,
        cluster,
        service,
        task_definition: task_definition.map(|r| Registered::of(&r.definition)),
        scalable_target: scalable_target.map(|t| (t.min_capacity(), t.max_capacity())),
        scaling_policy: scaling_policy.map(|p| {
            let tracking = p.target_tracking_scaling_policy_configuration();
            ScalingPolicy {
                target: tracking.map(|t| t.target_value()),
                metric: tracking
                    .and_then(|t| t.predefined_metric_specification())
                    .map(|m| m.predefined_metric_type().as_str().to_string()),
                scale_out_cooldown: tracking.and_then(|t| t.scale_out_cooldown()),
                scale_in_cooldown: tracking.and_then(|t| t.scale_in_cooldown()),
            }
        }),
    })
}

async fn repository(ecr: &aws_sdk_ecr::Client, names: &Names) -> Result<Option<Repository>> {
    let name = names.repository();
    let Some(found) = crate::find_repository(ecr, &name).await? else {
        return Ok(None);
    };
    let arn = found.repository_arn().unwrap_or_default();
    let tags = ecr
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .context(format!("read tags of repository {name}"))?;
    Ok(Some(Repository {
        uri: found.repository_uri().unwrap_or_default().to_string(),
        ours: is_ours(
            tags.tags().iter().map(|t| (t.key(), t.value())),
            names.stack(),
        ),
    }))
}

async fn log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
) -> Result<Option<LogGroup>> {
    let Some(found) = crate::find_log_group(logs, names).await? else {
        return Ok(None);
    };
    // DescribeLogGroups' `arn` ends in `:*`; the tagging API takes it without.
    let arn = found.arn().unwrap_or_default().trim_end_matches(":*");
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .context(format!("read tags of log group {}", names.log_group()))?;
    Ok(Some(LogGroup {
        retention_days: found.retention_in_days(),
        ours: is_ours(
            tags.tags()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
            names.stack(),
        ),
    }))
}

async fn cluster(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<Option<Cluster>> {
    let found = crate::find_cluster(ecs, names).await?;
    Ok(found.map(|c| Cluster {
        active: c.status() == Some("ACTIVE"),
        ours: crate::cluster_is_ours(&c, names.stack()),
    }))
}

async fn service(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<Option<Service>> {
    let found = crate::find_service(ecs, names).await?;
    Ok(found.map(|s| {
        let vpc = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        let sorted = |mut list: Vec<String>| {
            list.sort();
            list
        };
        Service {
            arn: s.service_arn().unwrap_or_default().to_string(),
            status: s.status().unwrap_or("ACTIVE").to_string(),
            ours: crate::is_ours(&s, names.stack()),
            controller: s
                .deployment_controller()
                .map(|c| c.r#type().as_str().to_string()),
            strategy: s
                .deployment_configuration()
                .and_then(|c| c.strategy())
                .map(|st| st.as_str().to_string()),
            task_definition: crate::live_task_definition(&s)
                .unwrap_or_default()
                .to_string(),
            load_balancers: s
                .load_balancers()
                .iter()
                .map(|l| {
                    (
                        l.target_group_arn().unwrap_or_default().to_string(),
                        l.container_name().unwrap_or_default().to_string(),
                        l.container_port().unwrap_or_default(),
                    )
                })
                .collect(),
            subnets: sorted(vpc.map(|v| v.subnets().to_vec()).unwrap_or_default()),
            security_groups: sorted(
                vpc.map(|v| v.security_groups().to_vec())
                    .unwrap_or_default(),
            ),
            task_sets: s
                .task_sets()
                .iter()
                .filter_map(|t| t.id().map(str::to_string))
                .collect(),
        }
    }))
}

pub async fn observe_remains(
    clients: &Clients<'_>,
    names: &Names,
    found: &Found,
) -> Result<Remains> {
    let cluster_ours = found.cluster.as_ref().is_some_and(|c| c.ours);
    let mut remains = Remains::default();
    if cluster_ours {
        remains.foreign_services = foreign_services(clients.ecs, names).await?;
    }
    for status in [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive] {
        let mut ours = Vec::new();
        for arn in crate::find_task_definition_arns(clients.ecs, names, status.clone()).await? {
            let revision = crate::find_task_definition(clients.ecs, &arn).await?;
            if revision.is_some_and(|r| r.is_ours(names.stack())) {
                ours.push(arn);
            }
        }
        match status {
            TaskDefinitionStatus::Active => remains.active_task_definitions = ours,
            _ => remains.inactive_task_definitions = ours,
        }
    }
    if found.repository.as_ref().is_some_and(|r| r.ours) {
        remains.images = count_images(clients.ecr, &names.repository()).await?;
    }
    Ok(remains)
}

async fn foreign_services(ecs: &aws_sdk_ecs::Client, names: &Names) -> Result<Vec<String>> {
    let cluster = names.cluster();
    let arns: Vec<String> = ecs
        .list_services()
        .cluster(&cluster)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list services of cluster {cluster}"))?;
    let ours = names.service();
    Ok(arns
        .into_iter()
        .filter(|arn| arn.rsplit('/').next() != Some(ours.as_str()))
        .collect())
}

async fn count_images(ecr: &aws_sdk_ecr::Client, name: &str) -> Result<usize> {
    let images: Vec<_> = ecr
        .list_images()
        .repository_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list images of {name}"))?;
    Ok(images.len())
}
