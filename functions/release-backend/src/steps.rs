//! The release steps. Each is safe to repeat: a retry after a crash finds what the
//! first attempt did and carries on from there.

use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, RevisionLocation, RevisionLocationType,
};
use aws_sdk_ecr::types::ImageIdentifier;
use resources_backend::Revision;
use resources_data::snapshots::{self as release_snapshots, schema_change};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};
use vikunja_core::image::VersionChange;
use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT};
use vikunja_core::tags::{self, Tier};
use vikunja_core::time::now_seconds;
use vikunja_core::{inventory, DataOutputs, Error, Names, Result, SdkContext};

use crate::appspec;
use crate::handler::{Clients, Config};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub stack: String,
    pub repository: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub digest: String,
    /// `<repository URI>@<digest>`: the task runs exactly the pushed bytes.
    #[serde(default)]
    pub image: String,
    /// Set when the event does not start a release; the workflow ends without error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Seconds the workflow waits between two deployment status polls.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u32,
    /// The image tag that was live when the release was prepared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_tag: Option<String>,
    /// The database snapshot taken before the deployment (a major or minor upgrade, with
    /// `snapshotBeforeUpgrade` on); the workflow waits until it is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotStep>,
    /// Who runs the deployment (`ecs` when the service deploys itself); set by `deploy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotStep {
    /// The snapshot's identifier, decided by `prepare` (so a retried step adopts it).
    pub id: String,
    pub db_instance: String,
    /// RDS's status of the snapshot; empty until it is taken.
    #[serde(default)]
    pub status: String,
    /// Unix seconds when the release decided to take it, to bound the wait.
    pub since: u64,
    /// Older release snapshots deleted once this one was available (the last three stay).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
    /// Why pruning failed, if it did (the release goes on: the new snapshot is there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_error: Option<String>,
}

/// Give up waiting for the snapshot after this long (a first manual snapshot copies the
/// whole volume: minutes for the default 20 GiB).
pub const SNAPSHOT_WAIT_MINUTES: u64 = 120;

fn default_poll_seconds() -> u32 {
    15
}

impl Release {
    pub fn ignored(config: &Config, repository: &str, reason: String) -> Self {
        info!(reason, "event ignored");
        let stack = &config.stack;
        Self {
            stack: stack.to_string(),
            repository: repository.to_string(),
            tag: String::new(),
            digest: String::new(),
            image: String::new(),
            ignored: Some(reason),
            task_definition_arn: None,
            deployment_id: None,
            status: None,
            poll_seconds: config.poll_seconds,
            live_tag: None,
            snapshot: None,
            engine: None,
        }
    }

    fn description(&self) -> String {
        format!("release {} {}", self.tag, self.digest)
    }
}

/// Checks the pushed image exists and is not already live or on its way.
pub async fn prepare(
    clients: &Clients,
    config: &Config,
    tag: String,
    digest: String,
) -> Result<Release> {
    let names = Names::new(&config.stack);
    let repository = names.repository();
    let uri = repository_uri(clients, &repository).await?;
    image_exists(clients, &repository, &digest).await?;
    let release = Release {
        stack: config.stack.clone(),
        image: format!("{uri}@{digest}"),
        repository,
        tag,
        digest,
        ignored: None,
        task_definition_arn: None,
        deployment_id: None,
        status: None,
        poll_seconds: config.poll_seconds,
        live_tag: None,
        snapshot: None,
        engine: None,
    };
    let live = revision(clients, &live_task_definition(clients, &names).await?).await?;
    if live.image() == Some(release.image.as_str()) {
        return Ok(Release {
            ignored: Some(format!("{} is already live", release.image)),
            ..release
        });
    }
    let in_flight = if deploys_itself(clients, &names).await? {
        crate::ecs::in_flight_for(clients, &names, &release.digest).await?
    } else {
        in_flight_for(clients, &names, &release.digest).await?
    };
    if let Some(id) = in_flight {
        return Ok(Release {
            ignored: Some(format!(
                "deployment {id} is already releasing {}",
                release.digest
            )),
            ..release
        });
    }
    if let Some(later) =
        superseded_by(clients, config, &release.repository, &release.digest).await?
    {
        return Ok(Release {
            ignored: Some(later),
            ..release
        });
    }
    let live_tag = live.image_tag().unwrap_or_default();
    // Refused before anything changes: nothing was registered, snapshotted or deployed.
    let change = schema_change(&live_tag, &release.tag)?;
    let snapshot = match change {
        VersionChange::SameSeries => None,
        VersionChange::Upgrade | VersionChange::Unknown => {
            if snapshots_before_upgrade(clients, &config.stack).await? {
                let since = now_seconds();
                Some(SnapshotStep {
                    id: release_snapshots::release_snapshot_name(&names.db_instance(), since),
                    db_instance: names.db_instance(),
                    status: String::new(),
                    since,
                    pruned: vec![],
                    prune_error: None,
                })
            } else {
                info!(
                    live_tag,
                    tag = release.tag,
                    "snapshotBeforeUpgrade is off: no snapshot"
                );
                None
            }
        }
        VersionChange::Downgrade => unreachable!("schema_change refuses downgrades"),
    };
    let release = Release {
        live_tag: Some(live_tag),
        snapshot,
        ..release
    };
    info!(
        tag = release.tag,
        live_tag = release.live_tag,
        image = release.image,
        change = ?change,
        snapshot = release.snapshot.as_ref().map(|s| s.id.as_str()),
        "release prepared"
    );
    Ok(release)
}

/// The `snapshotBeforeUpgrade` setting the last `up` recorded with the data tier (on when
/// the record predates it, or there is none).
async fn snapshots_before_upgrade(clients: &Clients, stack: &str) -> Result<bool> {
    let data: Option<DataOutputs> = inventory::read(&clients.ssm, stack, Tier::Data).await?;
    Ok(data.is_none_or(|d| d.snapshots_before_upgrade()))
}

fn planned_snapshot(release: &Release) -> Result<SnapshotStep> {
    release
        .snapshot
        .clone()
        .ok_or_else(|| Error::invalid("snapshot: the release plans no snapshot (prepare first)"))
}

/// Takes the snapshot `prepare` planned; a retry adopts the one its first attempt took.
pub async fn snapshot(clients: &Clients, mut release: Release) -> Result<Release> {
    let names = Names::new(&release.stack);
    let mut step = planned_snapshot(&release)?;
    let taken = release_snapshots::take_release_snapshot(
        &clients.rds,
        &names,
        &step.id,
        release.live_tag.as_deref().unwrap_or("unknown"),
        &release.tag,
    )
    .await?;
    info!(
        snapshot = taken.id,
        status = taken.status,
        "snapshot before the upgrade started"
    );
    step.status = taken.status;
    release.snapshot = Some(step);
    Ok(release)
}

/// The snapshot's status. Once it is available the older release snapshots beyond the
/// last three are deleted and the release goes on; a failed or vanished snapshot, or one
/// still not available after [`SNAPSHOT_WAIT_MINUTES`], stops it before the deployment.
pub async fn snapshot_status(clients: &Clients, mut release: Release) -> Result<Release> {
    let names = Names::new(&release.stack);
    let mut step = planned_snapshot(&release)?;
    let found = release_snapshots::find_snapshot(&clients.rds, &names, &step.id)
        .await?
        .ok_or_else(|| {
            Error::conflict(format!(
                "snapshot {} of {} disappeared before it was available: nothing was deployed; push the image again to retry",
                step.id, step.db_instance
            ))
        })?;
    step.status = found.status.clone();
    if found.is_available() {
        match release_snapshots::prune_release_snapshots(&clients.rds, &names, &step.id).await {
            Ok(pruned) => step.pruned = pruned,
            Err(e) => {
                warn!(error = %e, "could not delete older release snapshots");
                step.prune_error = Some(e.to_string());
            }
        }
        info!(snapshot = step.id, pruned = ?step.pruned, "snapshot before the upgrade is available");
    } else if matches!(
        found.status.as_str(),
        "failed" | "deleting" | "incompatible-restore"
    ) {
        return Err(Error::conflict(format!(
            "snapshot {} of {} is {}: nothing was deployed; look at the database's events in the RDS console, then push the image again",
            step.id, step.db_instance, found.status
        )));
    } else {
        let waited = now_seconds().saturating_sub(step.since);
        if waited > SNAPSHOT_WAIT_MINUTES * 60 {
            return Err(Error::conflict(format!(
                "snapshot {} of {} still {} after {} minutes: nothing was deployed; once it is available, push the image again (the snapshot is kept)",
                step.id,
                step.db_instance,
                found.status,
                waited / 60
            )));
        }
    }
    release.snapshot = Some(step);
    Ok(release)
}

async fn repository_uri(clients: &Clients, repository: &str) -> Result<String> {
    resources_backend::find_repository(&clients.ecr, repository)
        .await?
        .and_then(|r| r.repository_uri().map(str::to_string))
        .ok_or_else(|| {
            Error::invalid(format!(
                "repository {repository} not found (was the stack provisioned?)"
            ))
        })
}

async fn image_exists(clients: &Clients, repository: &str, digest: &str) -> Result<()> {
    let described = clients
        .ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(ImageIdentifier::builder().image_digest(digest).build())
        .send()
        .await;
    match described {
        Ok(out) if !out.image_details().is_empty() => Ok(()),
        Ok(_) => Err(Error::invalid(format!(
            "image {digest} is not in {repository}"
        ))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_image_not_found_exception()) =>
        {
            Err(Error::invalid(format!(
                "image {digest} is not in {repository}"
            )))
        }
        Err(e) => Err(e).context(format!("look up image {digest} in {repository}")),
    }
}

/// An image pushed to the repository after this one, under a tag the release rule
/// matches: when two pushes are released at once, the later push is what production ends
/// on, whichever workflow reaches CodeDeploy first. Its reason, or `None`.
pub(crate) async fn superseded_by(
    clients: &Clients,
    config: &Config,
    repository: &str,
    digest: &str,
) -> Result<Option<String>> {
    let images: Vec<_> = clients
        .ecr
        .describe_images()
        .repository_name(repository)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list the images of {repository}"))?;
    let pushes: Vec<Push> = images
        .iter()
        .filter_map(|image| {
            Some(Push {
                digest: image.image_digest()?.to_string(),
                tags: image.image_tags().to_vec(),
                pushed_at: image.image_pushed_at()?.as_secs_f64(),
            })
        })
        .collect();
    Ok(
        later_push(&pushes, digest, &config.tag_filter).map(|later| {
            format!(
                "superseded: {}:{} ({}) was pushed after this image and is released instead",
                repository,
                later.tags.join(","),
                later.digest
            )
        }),
    )
}

/// One image of the repository, as far as the order of pushes goes.
#[derive(Debug, Clone)]
pub struct Push {
    pub digest: String,
    pub tags: Vec<String>,
    /// Seconds since the epoch.
    pub pushed_at: f64,
}

/// The latest push after `digest`'s with a tag the rule releases. Pushes in the same
/// instant are ordered by digest, so every workflow agrees on which one is last.
pub fn later_push<'a>(pushes: &'a [Push], digest: &str, tag_filter: &str) -> Option<&'a Push> {
    let order = |p: &Push| (p.pushed_at, p.digest.clone());
    let mine = order(pushes.iter().find(|p| p.digest == digest)?);
    pushes
        .iter()
        .filter(|p| {
            p.tags
                .iter()
                .any(|t| crate::event::glob_matches(tag_filter, t))
        })
        .filter(|p| order(p) > mine)
        .max_by(|a, b| {
            order(a)
                .partial_cmp(&order(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
}

/// The task definition serving production: the primary task set's (CodeDeploy swaps task
/// sets; the service's own field may lag).
async fn live_task_definition(clients: &Clients, names: &Names) -> Result<String> {
    let service = resources_backend::find_service(&clients.ecs, names)
        .await?
        .filter(resources_backend::is_active)
        .ok_or_else(|| {
            Error::invalid(format!(
                "service {} is not active: provision the stack first",
                names.service()
            ))
        })?;
    resources_backend::live_task_definition(&service)
        .map(str::to_string)
        .ok_or_else(|| {
            Error::conflict(format!(
                "service {} has no task definition",
                names.service()
            ))
        })
}

/// Whether the stack's service runs its own blue/green (controller `ECS`, engine `ecs`)
/// rather than CodeDeploy's.
async fn deploys_itself(clients: &Clients, names: &Names) -> Result<bool> {
    let service = resources_backend::find_service(&clients.ecs, names).await?;
    Ok(service
        .as_ref()
        .and_then(|s| s.deployment_controller())
        .is_some_and(|c| c.r#type() == &aws_sdk_ecs::types::DeploymentControllerType::Ecs))
}

async fn revision(clients: &Clients, which: &str) -> Result<Revision> {
    resources_backend::find_task_definition(&clients.ecs, which)
        .await?
        .ok_or_else(|| Error::conflict(format!("task definition {which} does not exist")))
}

const IN_FLIGHT: [DeploymentStatus; 4] = [
    DeploymentStatus::Created,
    DeploymentStatus::Queued,
    DeploymentStatus::InProgress,
    DeploymentStatus::Ready,
];

/// The deployment of the group that carries exactly this description (the push's tag and
/// digest), in any status.
async fn deployment_of(
    clients: &Clients,
    names: &Names,
    description: &str,
) -> Result<Option<String>> {
    let all = resources_delivery::find_deployments(
        &clients.codedeploy,
        &names.codedeploy_application(),
        &names.deployment_group(),
        &[],
    )
    .await?;
    let described = resources_delivery::describe_deployments(&clients.codedeploy, &all).await?;
    Ok(described
        .iter()
        .find(|d| d.description() == Some(description))
        .and_then(|d| d.deployment_id())
        .map(str::to_string))
}

/// A deployment of the group, not yet ended, that releases this digest.
async fn in_flight_for(clients: &Clients, names: &Names, digest: &str) -> Result<Option<String>> {
    let in_flight = resources_delivery::find_deployments(
        &clients.codedeploy,
        &names.codedeploy_application(),
        &names.deployment_group(),
        &IN_FLIGHT,
    )
    .await?;
    let described =
        resources_delivery::describe_deployments(&clients.codedeploy, &in_flight).await?;
    Ok(described
        .iter()
        .find(|d| d.description().is_some_and(|text| text.contains(digest)))
        .and_then(|d| d.deployment_id())
        .map(str::to_string))
}

/// The live task definition again, with only the image changed. A retry that finds the
/// family's latest revision already running this image reuses it.
pub async fn register(clients: &Clients, mut release: Release) -> Result<Release> {
    let names = Names::new(&release.stack);
    let latest = revision(clients, &names.task_family()).await?;
    if latest.image() == Some(release.image.as_str()) {
        release.task_definition_arn = Some(latest.arn().to_string());
        return Ok(release);
    }
    let live = live_task_definition(clients, &names).await?;
    let definition = revision(clients, &live).await?.definition;
    let containers = definition
        .container_definitions()
        .iter()
        .cloned()
        .map(|c| {
            if c.name() == Some(CONTAINER_NAME) {
                with_image(c, &release.image)
            } else {
                c
            }
        })
        .collect();
    let mut tag_list: Vec<aws_sdk_ecs::types::Tag> = tags::standard(&release.stack, Tier::Backend)
        .into_iter()
        .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        .collect();
    tag_list.push(
        aws_sdk_ecs::types::Tag::builder()
            .key(resources_backend::IMAGE_TAG_TAG)
            .value(&release.tag)
            .build(),
    );
    let request = clients
        .ecs
        .register_task_definition()
        .family(names.task_family())
        .set_task_role_arn(definition.task_role_arn().map(str::to_string))
        .set_execution_role_arn(definition.execution_role_arn().map(str::to_string))
        .set_network_mode(definition.network_mode().cloned())
        .set_container_definitions(Some(containers))
        .set_volumes(Some(definition.volumes().to_vec()))
        .set_requires_compatibilities(Some(definition.requires_compatibilities().to_vec()))
        .set_cpu(definition.cpu().map(str::to_string))
        .set_memory(definition.memory().map(str::to_string))
        .set_runtime_platform(definition.runtime_platform().cloned())
        .set_ephemeral_storage(definition.ephemeral_storage().cloned())
        .set_tags(Some(tag_list));
    let arn =
        resources_backend::register_once(&clients.ecs, &names.task_family(), request, |latest| {
            latest.image() == Some(release.image.as_str())
        })
        .await?;
    info!(arn, image = release.image, "registered task definition");
    release.task_definition_arn = Some(arn);
    Ok(release)
}

fn with_image(
    container: aws_sdk_ecs::types::ContainerDefinition,
    image: &str,
) -> aws_sdk_ecs::types::ContainerDefinition {
    let mut container = container;
    container.image = Some(image.to_string());
    container
}

/// Starts the blue/green deployment. A deployment already releasing this digest (a retry)
/// is adopted; one releasing something else makes this step wait its turn (`NotReady`).
pub async fn deploy(clients: &Clients, config: &Config, mut release: Release) -> Result<Release> {
    let names = Names::new(&release.stack);
    if deploys_itself(clients, &names).await? {
        return crate::ecs::deploy(clients, config, release).await;
    }
    // This push's own deployment, whatever its status: a CreateDeployment answered with an
    // error after it took effect made one, which may have ended before this retry.
    if let Some(id) = deployment_of(clients, &names, &release.description()).await? {
        release.deployment_id = Some(id);
        return Ok(release);
    }
    if let Some(id) = in_flight_for(clients, &names, &release.digest).await? {
        release.deployment_id = Some(id);
        return Ok(release);
    }
    // Checked again here, where a release that waited for another deployment gets its
    // turn: a push made meanwhile is the one production must end on.
    if let Some(later) =
        superseded_by(clients, config, &release.repository, &release.digest).await?
    {
        info!(tag = release.tag, reason = later, "release superseded");
        release.ignored = Some(later);
        return Ok(release);
    }
    let task_definition = release.task_definition_arn.clone().ok_or_else(|| {
        Error::invalid("deploy: the release has no task definition (register first)")
    })?;
    let content = appspec::ecs_appspec(
        &task_definition,
        CONTAINER_NAME,
        CONTAINER_PORT,
        &config.hook_function_arn,
    );
    let revision = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(
            AppSpecContent::builder()
                .sha256(appspec::sha256_hex(&content))
                .content(content)
                .build(),
        )
        .build();
    let created = clients
        .codedeploy
        .create_deployment()
        .application_name(names.codedeploy_application())
        .deployment_group_name(names.deployment_group())
        .revision(revision)
        .description(release.description())
        .send()
        .await;
    let id = match created {
        Ok(out) => out.deployment_id().map(str::to_string),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_deployment_limit_exceeded_exception()) =>
        {
            return Err(Error::NotReady(format!(
                "another deployment is running on {}; this release waits for it",
                names.deployment_group()
            )))
        }
        Err(e) => {
            return Err(e).context(format!("create deployment on {}", names.deployment_group()))
        }
    };
    let id = id.ok_or_else(|| Error::conflict("CodeDeploy answered without a deployment id"))?;
    info!(deployment_id = id, tag = release.tag, "deployment started");
    release.deployment_id = Some(id);
    Ok(release)
}

/// The deployment's status; an unsuccessful end is an error carrying CodeDeploy's reason.
pub async fn status(clients: &Clients, mut release: Release) -> Result<Release> {
    if release.engine.as_deref() == Some(crate::ecs::ENGINE) {
        return crate::ecs::status(clients, release).await;
    }
    let id = release
        .deployment_id
        .clone()
        .ok_or_else(|| Error::invalid("status: the release has no deployment id"))?;
    let info = resources_delivery::find_deployment(&clients.codedeploy, &id)
        .await?
        .ok_or_else(|| Error::conflict(format!("deployment {id} does not exist")))?;
    let status = info.status().cloned().unwrap_or(DeploymentStatus::Created);
    if matches!(status, DeploymentStatus::Failed | DeploymentStatus::Stopped) {
        let reason = info
            .error_information()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.code().map(|c| c.as_str()).unwrap_or("ERROR"),
                    e.message().unwrap_or("no message")
                )
            })
            .unwrap_or_else(|| "no reason given".into());
        let diagnosis = failed_lifecycle_event(clients, &id)
            .await
            .unwrap_or_default();
        return Err(Error::DeploymentFailed(format!(
            "deployment {id} of {} {}: {reason}{diagnosis}",
            release.tag,
            status.as_str()
        )));
    }
    release.status = Some(status.as_str().to_string());
    Ok(release)
}

/// The failed lifecycle event's own diagnosis (for a hook: the last line of its log, which
/// carries its reason), as `" — <event>: <message>"`; empty when CodeDeploy has none.
async fn failed_lifecycle_event(clients: &Clients, deployment_id: &str) -> Result<String> {
    let targets = clients
        .codedeploy
        .list_deployment_targets()
        .deployment_id(deployment_id)
        .send()
        .await
        .context(format!("list targets of {deployment_id}"))?;
    if targets.target_ids().is_empty() {
        return Ok(String::new());
    }
    let described = clients
        .codedeploy
        .batch_get_deployment_targets()
        .deployment_id(deployment_id)
        .set_target_ids(Some(targets.target_ids().to_vec()))
        .send()
        .await
        .context(format!("describe targets of {deployment_id}"))?;
    let failed = described
        .deployment_targets()
        .iter()
        .filter_map(|t| t.ecs_target())
        .flat_map(|t| t.lifecycle_events())
        .find(|e| e.status() == Some(&aws_sdk_codedeploy::types::LifecycleEventStatus::Failed));
    let Some(event) = failed else {
        return Ok(String::new());
    };
    let diagnostics = event.diagnostics();
    let reason = diagnostics
        .and_then(|d| d.log_tail())
        .and_then(reason_in_log);
    let detail = reason
        .or(diagnostics.and_then(|d| d.message()).map(str::to_string))
        .unwrap_or_else(|| "no diagnostics".into());
    Ok(format!(
        " — {}: {}",
        event.lifecycle_event_name().unwrap_or("lifecycle event"),
        detail.trim()
    ))
}

/// The hook logs its verdict as a JSON line with a `reason` field; the last one is it.
fn reason_in_log(tail: &str) -> Option<String> {
    tail.lines().rev().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        value["fields"]["reason"].as_str().map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hooks_reason_is_read_from_its_log_tail() {
        let tail = concat!(
            "START RequestId: 1\n",
            r#"{"level":"INFO","fields":{"message":"green not ready yet","reason":"old"}}"#,
            "\n",
            r#"{"level":"WARN","fields":{"message":"green failed","reason":"/health answered 500: boom"}}"#,
            "\nEND RequestId: 1\nREPORT RequestId: 1\n"
        );
        assert_eq!(
            reason_in_log(tail).as_deref(),
            Some("/health answered 500: boom")
        );
        assert_eq!(reason_in_log("no json here"), None);
    }

    fn push(digest: &str, tag: &str, pushed_at: f64) -> Push {
        Push {
            digest: digest.into(),
            tags: vec![tag.into()],
            pushed_at,
        }
    }

    #[test]
    fn a_release_yields_to_the_latest_later_push_the_rule_releases() {
        let pushes = [
            push("sha256:a", "2.5.1", 100.0),
            push("sha256:b", "2.5.2", 101.0),
            push("sha256:c", "2.5.3", 102.5),
            push("sha256:d", "dev-x", 200.0),
        ];
        let later = |digest, filter| later_push(&pushes, digest, filter).map(|p| p.digest.as_str());
        assert_eq!(
            later("sha256:a", "2.*"),
            Some("sha256:c"),
            "the last one, not the next"
        );
        assert_eq!(later("sha256:c", "2.*"), None, "the last push is released");
        assert_eq!(
            later("sha256:c", "*"),
            Some("sha256:d"),
            "any tag when the rule takes any"
        );
        assert_eq!(
            later("sha256:z", "*"),
            None,
            "an image that is not there is not superseded"
        );
    }

    #[test]
    fn pushes_in_the_same_instant_are_ordered_by_digest_for_every_workflow() {
        let pushes = [push("sha256:b", "1", 5.0), push("sha256:a", "2", 5.0)];
        assert_eq!(
            later_push(&pushes, "sha256:a", "*").map(|p| p.digest.as_str()),
            Some("sha256:b")
        );
        assert!(later_push(&pushes, "sha256:b", "*").is_none());
    }
}
