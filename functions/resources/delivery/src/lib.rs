//! Delivery: the CodeDeploy application and deployment group — the one finder of each.

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
