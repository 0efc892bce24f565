//! Delivery: the CodeDeploy application (its deployment groups go with it) and the
//! unhealthy-host alarms. Running deployments are stopped first, without rollback.

use aws_sdk_codedeploy::types::DeploymentStatus;
use vikunja_core::teardown::PlannedTier;
use vikunja_core::{Result, SdkContext};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

#[derive(Debug, Default)]
pub struct Found {
    pub application: Option<String>,
    pub deployment_groups: Vec<String>,
    pub running_deployments: Vec<String>,
    pub alarms: Vec<String>,
    /// The probe function's VPC, while it is attached to one: its interfaces would keep the
    /// network tier's subnets and security group from being deleted.
    pub probe_vpc: Option<String>,
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    let mut found = Found {
        alarms: find_alarms(clients, ctx).await?,
        probe_vpc: find_probe_vpc(clients, ctx).await?,
        ..Found::default()
    };
    let name = ctx.names.codedeploy_application();
    if resources_delivery::find_application(&clients.codedeploy, &ctx.names)
        .await?
        .is_none()
    {
        return Ok(found);
    }
    let arn = ctx.arn("codedeploy", &format!("application:{name}"));
    let tags = clients
        .codedeploy
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .context(format!("read tags of CodeDeploy application {name}"))?;
    if !ctx.owns(
        tags.tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
    ) {
        return Ok(found);
    }
    let groups = clients
        .codedeploy
        .list_deployment_groups()
        .application_name(&name)
        .send()
        .await
        .context(format!("list deployment groups of {name}"))?;
    found.deployment_groups = groups.deployment_groups().to_vec();
    for group in &found.deployment_groups {
        let running = resources_delivery::find_deployments(
            &clients.codedeploy,
            &name,
            group,
            &[
                DeploymentStatus::Created,
                DeploymentStatus::Queued,
                DeploymentStatus::InProgress,
                DeploymentStatus::Ready,
            ],
        )
        .await;
        match running {
            Ok(running) => found.running_deployments.extend(running),
            // A group whose ECS service is gone (a teardown resumed after the backend went)
            // cannot be deploying. AWS answers an empty list; the local CodeDeploy simulator
            // validates the group as for a new deployment and answers this instead.
            Err(e) if e.code() == Some("InvalidECSServiceException") => {}
            Err(e) => return Err(e),
        }
    }
    found.application = Some(name);
    Ok(found)
}

async fn find_probe_vpc(clients: &Clients, ctx: &Ctx) -> Result<Option<String>> {
    let attachment = resources_delivery::find_probe_attachment(&clients.lambda, &ctx.names).await?;
    Ok(attachment
        .flatten()
        .map(|a| a.vpc_id)
        .filter(|id| !id.is_empty()))
}

/// The delivery tier's alarms that carry our tag.
async fn find_alarms(clients: &Clients, ctx: &Ctx) -> Result<Vec<String>> {
    let mut ours = Vec::new();
    for alarm in resources_delivery::find_alarms(&clients.cloudwatch, &ctx.names).await? {
        if resources_delivery::alarm_is_ours(&clients.cloudwatch, &alarm, ctx.stack()).await? {
            ours.extend(alarm.alarm_name().map(str::to_string));
        }
    }
    Ok(ours)
}

pub const PROBE_ATTACHMENT: &str = "probe's vpc attachment";

pub fn plan(found: &Found) -> PlannedTier {
    let mut delete = Vec::new();
    let mut add = |kind: &str, id: &str| {
        delete.push(vikunja_core::teardown::Resource {
            kind: kind.into(),
            id: id.into(),
        })
    };
    for id in &found.running_deployments {
        add("codedeploy deployment (stopped)", id);
    }
    if let Some(app) = &found.application {
        add("codedeploy application", app);
    }
    for group in &found.deployment_groups {
        add("codedeploy deployment group", group);
    }
    for alarm in &found.alarms {
        add("cloudwatch alarm", alarm);
    }
    if let Some(vpc) = &found.probe_vpc {
        add(PROBE_ATTACHMENT, vpc);
    }
    PlannedTier {
        tier: "delivery".into(),
        delete,
        keep: vec![],
        refuse: vec![],
    }
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    for id in &found.running_deployments {
        let stopped = clients
            .codedeploy
            .stop_deployment()
            .deployment_id(id)
            .auto_rollback_enabled(false)
            .send()
            .await
            .context(format!("stop deployment {id}"));
        if step.record("codedeploy deployment (stopped)", id, stopped.map(|_| ())) {
            step.wait(format!("CodeDeploy deployment {id} to stop"));
        }
    }
    if let Some(app) = &found.application {
        if found.running_deployments.is_empty() {
            let deleted = clients
                .codedeploy
                .delete_application()
                .application_name(app)
                .send()
                .await
                .context(format!("delete CodeDeploy application {app}"));
            if step.record("codedeploy application", app, deleted.map(|_| ())) {
                for group in &found.deployment_groups {
                    step.deleted("codedeploy deployment group", group);
                }
            }
        }
    }
    if let Some(vpc) = &found.probe_vpc {
        let probe = ctx.names.probe_function();
        let detached = clients
            .lambda
            .update_function_configuration()
            .function_name(&probe)
            .vpc_config(
                aws_sdk_lambda::types::VpcConfig::builder()
                    .set_subnet_ids(Some(vec![]))
                    .set_security_group_ids(Some(vec![]))
                    .build(),
            )
            .send()
            .await
            .context(format!("detach the probe {probe} from {vpc}"));
        step.record(PROBE_ATTACHMENT, vpc, detached.map(|_| ()));
    }
    if !found.alarms.is_empty() {
        let deleted = clients
            .cloudwatch
            .delete_alarms()
            .set_alarm_names(Some(found.alarms.clone()))
            .send()
            .await
            .context(format!("delete alarms {}", found.alarms.join(", ")));
        match deleted {
            Ok(_) => found
                .alarms
                .iter()
                .for_each(|a| step.deleted("cloudwatch alarm", a)),
            Err(error) => found
                .alarms
                .iter()
                .for_each(|a| step.refused("cloudwatch alarm", a, &error)),
        }
    }
    Ok(())
}
