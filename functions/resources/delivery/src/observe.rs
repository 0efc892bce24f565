//! The delivery tier as found: the alarms by colour, the application, the deployment group
//! and where the probe is attached — plain data for the diff. [`observe_remains`] adds what
//! only teardown needs (ownership by tag, every deployment group, running deployments).

use std::collections::BTreeMap;

use aws_sdk_codedeploy::types::DeploymentStatus;
use vikunja_core::{tags, Names, Result, SdkContext};

use super::{alarm_is_ours, find_deployments, Clients};
use super::{find_alarms, find_application, find_deployment_group, find_probe_attachment};
use super::{ProbeAttachment, COLOURS};

#[derive(Debug, Clone, Default)]
pub struct Found {
    /// By colour.
    pub alarms: BTreeMap<String, Alarm>,
    pub application: bool,
    pub deployment_group: Option<DeploymentGroup>,
    /// The smoke-test probe's VPC attachment: `None` without the function (no bootstrap
    /// stack), `Some(None)` while it is outside any VPC, else its subnets and groups.
    pub probe: Option<Option<ProbeAttachment>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alarm {
    pub namespace: String,
    pub metric: String,
    pub statistic: String,
    pub period: Option<i32>,
    pub evaluation_periods: Option<i32>,
    pub threshold: Option<f64>,
    pub comparison: String,
    pub treat_missing_data: String,
    /// (name, value), sorted.
    pub dimensions: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentGroup {
    pub termination_wait_minutes: Option<i32>,
    pub deployment_config: String,
    pub target_groups: Vec<String>,
    pub prod_listeners: Vec<String>,
    pub test_listeners: Vec<String>,
    /// (cluster, service).
    pub services: Vec<(String, String)>,
    pub service_role: String,
    pub rollback_enabled: bool,
    pub rollback_events: Vec<String>,
}

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_string()
}

impl Alarm {
    fn of(alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> Self {
        let mut dimensions: Vec<(String, String)> = alarm
            .dimensions()
            .iter()
            .map(|d| (text(d.name()), text(d.value())))
            .collect();
        dimensions.sort();
        Self {
            namespace: text(alarm.namespace()),
            metric: text(alarm.metric_name()),
            statistic: text(alarm.statistic().map(|s| s.as_str())),
            period: alarm.period(),
            evaluation_periods: alarm.evaluation_periods(),
            threshold: alarm.threshold(),
            comparison: text(alarm.comparison_operator().map(|c| c.as_str())),
            treat_missing_data: text(alarm.treat_missing_data()),
            dimensions,
        }
    }
}

impl DeploymentGroup {
    fn of(g: &aws_sdk_codedeploy::types::DeploymentGroupInfo) -> Self {
        let pair = g
            .load_balancer_info()
            .and_then(|l| l.target_group_pair_info_list().first());
        let listeners = |route: Option<&aws_sdk_codedeploy::types::TrafficRoute>| {
            route
                .map(|r| r.listener_arns().to_vec())
                .unwrap_or_default()
        };
        let rollback = g.auto_rollback_configuration();
        let mut rollback_events: Vec<String> = rollback
            .map(|r| r.events())
            .unwrap_or_default()
            .iter()
            .map(|e| e.as_str().to_string())
            .collect();
        rollback_events.sort();
        Self {
            termination_wait_minutes: g
                .blue_green_deployment_configuration()
                .and_then(|b| b.terminate_blue_instances_on_deployment_success())
                .map(|t| t.termination_wait_time_in_minutes()),
            deployment_config: text(g.deployment_config_name()),
            target_groups: pair
                .map(|p| {
                    p.target_groups()
                        .iter()
                        .filter_map(|t| t.name().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            prod_listeners: listeners(pair.and_then(|p| p.prod_traffic_route())),
            test_listeners: listeners(pair.and_then(|p| p.test_traffic_route())),
            services: g
                .ecs_services()
                .iter()
                .map(|s| (text(s.cluster_name()), text(s.service_name())))
                .collect(),
            service_role: text(g.service_role_arn()),
            rollback_enabled: rollback.is_some_and(|r| r.enabled()),
            rollback_events,
        }
    }
}

/// Everything of the tier.
pub async fn observe(
    codedeploy: &aws_sdk_codedeploy::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
) -> Result<Found> {
    let mut found = Found::default();
    let alarms = find_alarms(cloudwatch, names).await?;
    for colour in COLOURS {
        let name = names.alarm(colour);
        if let Some(alarm) = alarms
            .iter()
            .find(|a| a.alarm_name() == Some(name.as_str()))
        {
            found.alarms.insert(colour.to_string(), Alarm::of(alarm));
        }
    }
    found.application = find_application(codedeploy, names).await?.is_some();
    if found.application {
        let application = names.codedeploy_application();
        let group =
            find_deployment_group(codedeploy, &application, &names.deployment_group()).await?;
        found.deployment_group = group.as_ref().map(DeploymentGroup::of);
    }
    found.probe = find_probe_attachment(lambda, names).await?;
    Ok(found)
}

/// What else stands, for teardown: only what carries the stack's tag.
#[derive(Debug, Clone, Default)]
pub struct Remains {
    /// The application is the stack's: it goes, and every deployment group of it with it.
    pub application: bool,
    pub deployment_groups: Vec<String>,
    /// Those groups' deployments that have not finished.
    pub running_deployments: Vec<String>,
    /// Every alarm named with the tier's prefix.
    pub alarms: Vec<String>,
}

/// `application_arn`: the application's, which CodeDeploy never answers with.
pub async fn observe_remains(
    clients: &Clients<'_>,
    names: &Names,
    application_arn: &str,
    found: &Found,
) -> Result<Remains> {
    let (codedeploy, stack) = (clients.codedeploy, names.stack());
    let mut remains = Remains::default();
    for alarm in find_alarms(clients.cloudwatch, names).await? {
        if alarm_is_ours(clients.cloudwatch, &alarm, stack).await? {
            remains
                .alarms
                .extend(alarm.alarm_name().map(str::to_string));
        }
    }
    if !found.application {
        return Ok(remains);
    }
    let name = names.codedeploy_application();
    let tags = codedeploy
        .list_tags_for_resource()
        .resource_arn(application_arn)
        .send()
        .await
        .context(format!("read tags of CodeDeploy application {name}"))?;
    let pairs = tags
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)));
    if !tags::belongs_to(pairs, stack) {
        return Ok(remains);
    }
    remains.application = true;
    remains.deployment_groups = codedeploy
        .list_deployment_groups()
        .application_name(&name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list deployment groups of {name}"))?;
    let running = [
        DeploymentStatus::Created,
        DeploymentStatus::Queued,
        DeploymentStatus::InProgress,
        DeploymentStatus::Ready,
    ];
    for group in &remains.deployment_groups {
        match find_deployments(codedeploy, &name, group, &running).await {
            Ok(ids) => remains.running_deployments.extend(ids),
            // A group whose ECS service is gone (a teardown resumed after the backend went)
            // cannot be deploying. AWS answers an empty list; the local CodeDeploy simulator
            // validates the group as for a new deployment and answers this instead.
            Err(e) if e.code() == Some("InvalidECSServiceException") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(remains)
}
