//! Delivery: the unhealthy-host alarms, the CodeDeploy application and deployment group and
//! the smoke-test probe's place in the VPC — the one finder of each; with the `lifecycle`
//! feature (that is, `probe` and `alarms`) also [`observe`], [`diff`], [`retire`] and
//! [`apply`], which provisioning, `plan` and teardown share.

#[cfg(all(feature = "probe", feature = "alarms"))]
mod apply;
#[cfg(all(feature = "probe", feature = "alarms"))]
mod diff;
#[cfg(all(feature = "probe", feature = "alarms"))]
mod observe;

#[cfg(all(feature = "probe", feature = "alarms"))]
pub use apply::{apply, delete, ensure, Clients, Inputs};
#[cfg(all(feature = "probe", feature = "alarms"))]
pub use diff::{
    diff, dimension_or_new, load_balancer_dimension, retire, target_group_dimension, Op, Plan,
    Spec, PROBE_ATTACHMENT,
};
#[cfg(all(feature = "probe", feature = "alarms"))]
pub use observe::{observe, observe_remains, Alarm, DeploymentGroup, Found, Remains};

/// How CodeDeploy shifts traffic: all at once, after the hook passed green.
pub const DEPLOYMENT_CONFIG: &str = "CodeDeployDefault.ECSAllAtOnce";
/// What rolls a deployment back, as CodeDeploy names the events (sorted).
pub const ROLLBACK_EVENTS: [&str; 2] = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"];
pub const COLOURS: [&str; 2] = ["blue", "green"];

use aws_sdk_codedeploy::types::{ApplicationInfo, DeploymentGroupInfo};
use vikunja_core::{Names, Result, SdkContext};

use resources::found::absent_if_not_found;

pub async fn find_application(
    codedeploy: &aws_sdk_codedeploy::Client,
    names: &Names,
) -> Result<Option<ApplicationInfo>> {
    let name = names.codedeploy_application();
    let found = codedeploy
        .get_application()
        .application_name(&name)
        .send()
        .await;
    let found = absent_if_not_found(found.context(format!("find CodeDeploy application {name}")))?;
    Ok(found.and_then(|f| f.application().cloned()))
}

/// A deployment group of an application, by name (the stack's, or the one a deployment
/// names).
pub async fn find_deployment_group(
    codedeploy: &aws_sdk_codedeploy::Client,
    application: &str,
    group: &str,
) -> Result<Option<DeploymentGroupInfo>> {
    let found = codedeploy
        .get_deployment_group()
        .application_name(application)
        .deployment_group_name(group)
        .send()
        .await;
    let found = absent_if_not_found(found.context(format!("find deployment group {group}")))?;
    Ok(found.and_then(|f| f.deployment_group_info().cloned()))
}

/// Where the smoke-test probe is attached: its VPC, subnets and security groups, sorted.
#[cfg(feature = "probe")]
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeAttachment {
    pub vpc_id: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// The bootstrap stack's probe function and where it is attached: `None` without the
/// function (no bootstrap stack), `Some(None)` while it is in no VPC.
#[cfg(feature = "probe")]
pub async fn find_probe_attachment(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
) -> Result<Option<Option<ProbeAttachment>>> {
    let name = names.probe_function();
    let config = lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await;
    let Some(config) = absent_if_not_found(config.context(format!("read the probe {name}")))?
    else {
        return Ok(None);
    };
    let sorted = |ids: &[String]| {
        let mut ids = ids.to_vec();
        ids.sort();
        ids
    };
    Ok(Some(
        config
            .vpc_config()
            .filter(|vpc| !vpc.subnet_ids().is_empty())
            .map(|vpc| ProbeAttachment {
                vpc_id: vpc.vpc_id().unwrap_or_default().to_string(),
                subnets: sorted(vpc.subnet_ids()),
                security_groups: sorted(vpc.security_group_ids()),
            }),
    ))
}

/// The delivery tier's alarms: every alarm named with its prefix, on every page. Whether
/// one is the stack's is [`alarm_is_ours`].
#[cfg(feature = "alarms")]
pub async fn find_alarms(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    names: &Names,
) -> Result<Vec<aws_sdk_cloudwatch::types::MetricAlarm>> {
    let prefix = names.of(vikunja_core::tags::Tier::Delivery, "");
    let pages: Vec<_> = cloudwatch
        .describe_alarms()
        .alarm_name_prefix(&prefix)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .context(format!("list alarms named {prefix}*"))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.metric_alarms().to_vec())
        .collect())
}

/// Whether an alarm carries the stack's tag: the rule for deleting it.
#[cfg(feature = "alarms")]
pub async fn alarm_is_ours(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    alarm: &aws_sdk_cloudwatch::types::MetricAlarm,
    stack: &str,
) -> Result<bool> {
    let (Some(name), Some(arn)) = (alarm.alarm_name(), alarm.alarm_arn()) else {
        return Ok(false);
    };
    let tags = cloudwatch
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .context(format!("read tags of alarm {name}"))?;
    Ok(vikunja_core::tags::belongs_to(
        tags.tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
        stack,
    ))
}

/// The ids of the group's deployments with one of `statuses` (every status
/// when empty), on every page.
pub async fn find_deployments(
    codedeploy: &aws_sdk_codedeploy::Client,
    application: &str,
    group: &str,
    statuses: &[aws_sdk_codedeploy::types::DeploymentStatus],
) -> Result<Vec<String>> {
    let statuses = (!statuses.is_empty()).then(|| statuses.to_vec());
    codedeploy
        .list_deployments()
        .application_name(application)
        .deployment_group_name(group)
        .set_include_only_statuses(statuses)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list deployments of {group}"))
}

/// One deployment, by id.
pub async fn find_deployment(
    codedeploy: &aws_sdk_codedeploy::Client,
    id: &str,
) -> Result<Option<aws_sdk_codedeploy::types::DeploymentInfo>> {
    let found = codedeploy.get_deployment().deployment_id(id).send().await;
    let found = absent_if_not_found(found.context(format!("get deployment {id}")))?;
    Ok(found.and_then(|f| f.deployment_info().cloned()))
}

/// Several deployments, by id (CodeDeploy takes at most 25 at a time).
pub async fn describe_deployments(
    codedeploy: &aws_sdk_codedeploy::Client,
    ids: &[String],
) -> Result<Vec<aws_sdk_codedeploy::types::DeploymentInfo>> {
    let mut infos = Vec::new();
    for batch in ids.chunks(25) {
        let described = codedeploy
            .batch_get_deployments()
            .set_deployment_ids(Some(batch.to_vec()))
            .send()
            .await
            .context(format!("describe deployments {}", batch.join(", ")))?;
        infos.extend(described.deployments_info().iter().cloned());
    }
    Ok(infos)
}
