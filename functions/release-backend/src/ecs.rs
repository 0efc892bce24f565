//! Releases under the `ecs` engine: the service deploys itself blue/green. A release is an
//! `UpdateService` naming the new task definition; ECS starts a service deployment
//! (green revision, test traffic, the smoke-test hook, production, bake), which this
//! module finds, adopts on a retry and reads the end of.

use aws_sdk_ecs::types::{ServiceDeploymentBrief, ServiceDeploymentStatus};
use tracing::info;
use vikunja_core::{Error, Names, Result, SdkContext};

use crate::handler::{Clients, Config};
use crate::steps::Release;

pub const ENGINE: &str = "ecs";

/// The task definition a service deployment rolls out (its target revision's).
async fn target_task_definition(
    clients: &Clients,
    deployment: &ServiceDeploymentBrief,
) -> Result<Option<String>> {
    let Some(revision) = deployment.target_service_revision_arn() else {
        return Ok(None);
    };
    Ok(
        resources_backend::find_service_revision(&clients.ecs, revision)
            .await?
            .and_then(|r| r.task_definition().map(str::to_string)),
    )
}

/// A deployment of the service, not yet ended, whose task definition runs this digest.
pub async fn in_flight_for(
    clients: &Clients,
    names: &Names,
    digest: &str,
) -> Result<Option<String>> {
    for deployment in resources_backend::find_service_deployments(&clients.ecs, names).await? {
        if !resources_backend::deployment_in_flight(deployment.status()) {
            continue;
        }
        let Some(task_definition) = target_task_definition(clients, &deployment).await? else {
            continue;
        };
        let image = resources_backend::find_task_definition(&clients.ecs, &task_definition)
            .await?
            .and_then(|r| r.image().map(str::to_string));
        if image.is_some_and(|i| i.ends_with(digest)) {
            return Ok(deployment.service_deployment_arn().map(str::to_string));
        }
    }
    Ok(None)
}

/// What stands in the release's way or carries it: this task definition's own deployment
/// (adopted), another one still running (wait), or nothing (start one).
enum Found {
    Ours(String),
    Busy(String),
    Clear,
}

async fn find(clients: &Clients, names: &Names, task_definition: &str) -> Result<Found> {
    let service = resources_backend::find_service(&clients.ecs, names).await?;
    let service_runs_ours = service
        .as_ref()
        .and_then(|s| s.task_definition())
        .is_some_and(|t| t == task_definition);
    for (newest, deployment) in resources_backend::find_service_deployments(&clients.ecs, names)
        .await?
        .into_iter()
        .enumerate()
    {
        let arn = deployment
            .service_deployment_arn()
            .unwrap_or_default()
            .to_string();
        let in_flight = resources_backend::deployment_in_flight(deployment.status());
        // Only a running deployment, or the newest one, can be this release's: older ended
        // ones are not read (a service keeps a long history).
        if !in_flight && newest > 0 {
            continue;
        }
        let ours = target_task_definition(clients, &deployment)
            .await?
            .as_deref()
            == Some(task_definition);
        // An UpdateService answered with an error after it took effect left the newest
        // deployment on this revision, with the service naming it.
        if ours && (in_flight || service_runs_ours) {
            return Ok(Found::Ours(arn));
        }
        if in_flight {
            return Ok(Found::Busy(arn));
        }
    }
    Ok(Found::Clear)
}

/// Starts (or adopts) the service deployment of the release's task definition.
pub async fn deploy(clients: &Clients, config: &Config, mut release: Release) -> Result<Release> {
    let names = Names::new(&release.stack);
    let task_definition = release.task_definition_arn.clone().ok_or_else(|| {
        Error::invalid("deploy: the release has no task definition (register first)")
    })?;
    release.engine = Some(ENGINE.to_string());
    match find(clients, &names, &task_definition).await? {
        Found::Ours(arn) => {
            release.deployment_id = Some(arn);
            return Ok(release);
        }
        Found::Busy(arn) => {
            return Err(Error::NotReady(format!(
                "deployment {arn} is running on service {}; this release waits for it",
                names.service()
            )))
        }
        Found::Clear => {}
    }
    // Checked here, where a release that waited for another deployment gets its turn: a
    // push made meanwhile is the one production must end on.
    if let Some(later) =
        crate::steps::superseded_by(clients, config, &release.repository, &release.digest).await?
    {
        info!(tag = release.tag, reason = later, "release superseded");
        release.ignored = Some(later);
        return Ok(release);
    }
    clients
        .ecs
        .update_service()
        .cluster(names.cluster())
        .service(names.service())
        .task_definition(&task_definition)
        .send()
        .await
        .context(format!(
            "update service {} to {task_definition}",
            names.service()
        ))?;
    match find(clients, &names, &task_definition).await? {
        Found::Ours(arn) => {
            info!(
                deployment = arn,
                tag = release.tag,
                "service deployment started"
            );
            release.deployment_id = Some(arn);
            Ok(release)
        }
        // ECS lists a deployment a moment after UpdateService: the retry adopts it.
        _ => Err(Error::NotReady(format!(
            "service {} took {task_definition}, but ECS lists no deployment of it yet",
            names.service()
        ))),
    }
}

/// How a service deployment ended, or that it has not: `Ok(None)` while it runs.
pub fn outcome(status: &ServiceDeploymentStatus) -> Option<std::result::Result<(), ()>> {
    match status {
        ServiceDeploymentStatus::Successful => Some(Ok(())),
        ServiceDeploymentStatus::RollbackSuccessful
        | ServiceDeploymentStatus::RollbackFailed
        | ServiceDeploymentStatus::Stopped => Some(Err(())),
        _ => None,
    }
}

/// The deployment's status; an unsuccessful end is an error carrying ECS's reason.
pub async fn status(clients: &Clients, mut release: Release) -> Result<Release> {
    let arn = release
        .deployment_id
        .clone()
        .ok_or_else(|| Error::invalid("status: the release has no deployment"))?;
    let deployment = resources_backend::find_service_deployment(&clients.ecs, &arn)
        .await?
        .ok_or_else(|| Error::conflict(format!("service deployment {arn} does not exist")))?;
    let status = deployment
        .status()
        .cloned()
        .unwrap_or(ServiceDeploymentStatus::Pending);
    match outcome(&status) {
        Some(Ok(())) => release.status = Some("Succeeded".to_string()),
        Some(Err(())) => {
            let reason = deployment
                .rollback()
                .and_then(|r| r.reason())
                .or(deployment.status_reason())
                .unwrap_or("no reason given");
            return Err(Error::DeploymentFailed(format!(
                "deployment {arn} of {} {}: {reason}",
                release.tag,
                status.as_str()
            )));
        }
        None => {
            let stage = deployment
                .lifecycle_stage()
                .map(|s| format!(" ({})", s.as_str()))
                .unwrap_or_default();
            release.status = Some(format!("{}{stage}", status.as_str()));
        }
    }
    Ok(release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_successful_deployment_is_a_release_and_every_rollback_is_a_failure() {
        assert_eq!(outcome(&ServiceDeploymentStatus::Successful), Some(Ok(())));
        for failed in [
            ServiceDeploymentStatus::RollbackSuccessful,
            ServiceDeploymentStatus::RollbackFailed,
            ServiceDeploymentStatus::Stopped,
        ] {
            assert_eq!(outcome(&failed), Some(Err(())), "{failed:?}");
        }
        for running in [
            ServiceDeploymentStatus::Pending,
            ServiceDeploymentStatus::InProgress,
            ServiceDeploymentStatus::RollbackInProgress,
            ServiceDeploymentStatus::StopRequested,
        ] {
            assert_eq!(outcome(&running), None, "{running:?}");
        }
    }
}
