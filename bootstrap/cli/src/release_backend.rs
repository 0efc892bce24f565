//! `vikunja-aws release backend --image REF`: put the image in the stack's repository —
//! the push alone starts the release (EventBridge → release-backend state machine) — then
//! find that execution and follow it, with CodeDeploy's lifecycle events as they happen.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_ecr::types::ImageIdentifier;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vikunja_core::image::ImageRef;
use vikunja_core::Names;

use crate::target::{Aws, Target};
use crate::{follow, Output};

/// How long the push event may take to start an execution before we say so.
const EXECUTION_APPEARS_WITHIN: Duration = Duration::from_secs(60);

pub async fn release(aws: &Aws, stack: &str, image: &str, output: Output) -> Result<Value> {
    let reference = ImageRef::parse(image)
        .with_context(|| format!("{image:?} is not an image reference (repository:tag)"))?;
    let tag = reference
        .tag
        .clone()
        .context("the image needs a tag: the tag is the version the release must report")?;
    let names = Names::new(stack);
    let repository = names.repository();
    // Before the push, which is the release: a downgrade changes nothing, not even a tag.
    refuse_downgrade(aws, &names, &tag).await?;
    let (digest, pushed) = push(aws, &repository, &reference, &tag).await?;
    if output == Output::Text {
        match pushed {
            Pushed::Now => println!("pushed {repository}:{tag} ({digest}); the push starts the release"),
            Pushed::Before => println!(
                "{repository}:{tag} is already this image ({digest}): following the release its push started"
            ),
        }
    }
    let state_machine =
        follow::state_machine_arn(aws, stack, "ReleaseBackendStateMachineArn").await?;
    let execution = find_execution(aws, &state_machine, &digest).await?;
    let result = follow::follow(aws, &execution, output).await?;
    if let Some(reason) = result.get("ignored").and_then(Value::as_str) {
        if output == Output::Text {
            println!("not released: {reason}");
        }
    }
    Ok(result)
}

/// A release of an earlier major or minor Vikunja than the live one is refused (the
/// workflow refuses it too, for pushes made without this command). A stack with no live
/// service is left to the workflow, which says what is missing.
async fn refuse_downgrade(aws: &Aws, names: &Names, tag: &str) -> Result<()> {
    let ecs = aws_sdk_ecs::Client::new(&aws.config);
    let Some(service) = resources_backend::find_service(&ecs, names)
        .await?
        .filter(resources_backend::is_active)
    else {
        return Ok(());
    };
    let Some(live) = resources_backend::live_task_definition(&service) else {
        return Ok(());
    };
    let Some(revision) = resources_backend::find_task_definition(&ecs, live).await? else {
        return Ok(());
    };
    let live_tag = revision.image_tag().unwrap_or_default();
    resources_data::snapshots::schema_change(&live_tag, tag)?;
    Ok(())
}

/// Whether this call pushed the tag, or an earlier one pushed the same image under it (a
/// re-run after a lost answer or an interrupted follow: that push's release is followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pushed {
    Now,
    Before,
}

/// On the local stack the push is ECR `PutImage` with a manifest derived from the reference
/// (no registry holds image bytes there). On AWS the image must already be in the
/// repository (pushed with docker or crane): the tag is added to it, which is a push.
async fn push(
    aws: &Aws,
    repository: &str,
    reference: &ImageRef,
    tag: &str,
) -> Result<(String, Pushed)> {
    let ecr = aws_sdk_ecr::Client::new(&aws.config);
    let (manifest, media_type) = match aws.target {
        Target::Local => (
            local_manifest(&reference.repository, tag),
            DOCKER_MANIFEST.to_string(),
        ),
        Target::Aws => existing_manifest(&ecr, repository, reference).await?,
    };
    let put = ecr
        .put_image()
        .repository_name(repository)
        .image_manifest(&manifest)
        .image_manifest_media_type(&media_type)
        .image_tag(tag)
        .send()
        .await;
    match put {
        Ok(out) => out
            .image()
            .and_then(|i| i.image_id())
            .and_then(|id| id.image_digest())
            .map(|digest| (digest.to_string(), Pushed::Now))
            .context("ECR answered without the image digest"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_image_already_exists_exception()) =>
        {
            // ECR's digest of an image is the SHA-256 of its manifest.
            let wanted = format!(
                "sha256:{}",
                hex::encode(Sha256::digest(manifest.as_bytes()))
            );
            match tagged_digest(&ecr, repository, tag).await? {
                Some(tagged) if tagged == wanted => Ok((wanted, Pushed::Before)),
                tagged => bail!(
                    "{repository}:{tag} already names another image ({}; this one is {wanted}), and tags are immutable: release it under a new tag",
                    tagged.as_deref().unwrap_or("unknown digest")
                ),
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) =>
        {
            bail!("repository {repository} does not exist: provision the stack first (vikunja-aws up)")
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("push {repository}:{tag}"))),
    }
}

/// The digest the tag names in the repository.
async fn tagged_digest(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    tag: &str,
) -> Result<Option<String>> {
    let described = ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await
        .with_context(|| format!("look up {repository}:{tag}"))?;
    Ok(described
        .image_details()
        .first()
        .and_then(|d| d.image_digest())
        .map(str::to_string))
}

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A schema-2 manifest whose config digest names the reference: the same reference gives
/// the same manifest, hence the same image digest, as re-pushing the same image would.
fn local_manifest(source_repository: &str, tag: &str) -> String {
    let config = hex::encode(Sha256::digest(
        format!("{source_repository}:{tag}").as_bytes(),
    ));
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1024, "digest": format!("sha256:{config}")},
        "layers": []
    })
    .to_string()
}

const ACCEPTED_MANIFESTS: [&str; 4] = [
    DOCKER_MANIFEST,
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// The manifest and its media type as ECR holds them (an OCI index for multi-arch images),
/// so the new tag names exactly the same image. An image the repository does not hold (a
/// tag that was never pushed, a mistyped version) is refused before anything is tagged.
pub async fn existing_manifest(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    reference: &ImageRef,
) -> Result<(String, String)> {
    let id = match (&reference.digest, &reference.tag) {
        (Some(digest), _) => ImageIdentifier::builder().image_digest(digest).build(),
        (None, Some(tag)) => ImageIdentifier::builder().image_tag(tag).build(),
        (None, None) => bail!("name the image by tag or digest"),
    };
    let found = ecr
        .batch_get_image()
        .repository_name(repository)
        .image_ids(id)
        // Without these ECR answers in Docker schema 2 only and refuses what it cannot convert
        // (an OCI manifest, a multi-arch index such as Vikunja's published image).
        .set_accepted_media_types(Some(
            ACCEPTED_MANIFESTS.iter().map(|t| t.to_string()).collect(),
        ))
        .send()
        .await
        .context("look up the image")?;
    let image = found.images().first();
    let manifest = image.and_then(|i| i.image_manifest()).map(str::to_string);
    let media_type = image
        .and_then(|i| i.image_manifest_media_type())
        .unwrap_or(DOCKER_MANIFEST)
        .to_string();
    let wanted = match (&reference.digest, &reference.tag) {
        (Some(digest), _) => digest.clone(),
        (None, tag) => format!("tag {}", tag.as_deref().unwrap_or_default()),
    };
    let why = found
        .failures()
        .first()
        .map(|f| {
            format!(
                " (ECR: {} {})",
                f.failure_code().map(|c| c.as_str()).unwrap_or_default(),
                f.failure_reason().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    manifest.map(|m| (m, media_type)).with_context(|| {
        format!(
            "{} ({wanted}) is not in {repository}{why}: nothing was released. Check the version (Vikunja's tags are vikunja/vikunja:<major>.<minor>.<patch>), push it there first (docker push / crane copy, docs/aws.md), then run this again",
            reference.repository
        )
    })
}

/// The execution the push started: its input (the ECR event) names this digest.
async fn find_execution(aws: &Aws, state_machine: &str, digest: &str) -> Result<String> {
    let found =
        // Any time: a re-run follows the release an earlier push of this image started.
        follow::execution_started_by(aws, state_machine, EXECUTION_APPEARS_WITHIN, None, |input| {
            input["detail"]["image-digest"] == digest
        })
        .await?;
    found.with_context(|| {
        format!(
            "no release started within {}s of the push: is the EventBridge rule <stack>-ecr-push enabled?",
            EXECUTION_APPEARS_WITHIN.as_secs()
        )
    })
}

/// The live version and the last deployments with their outcome, for `status`.
pub async fn backend_status(aws: &Aws, stack: &str) -> Result<Value> {
    let names = Names::new(stack);
    let codedeploy = aws_sdk_codedeploy::Client::new(&aws.config);
    let ecs = aws_sdk_ecs::Client::new(&aws.config);
    let service = resources_backend::find_service(&ecs, &names).await?;
    let live = match service.filter(resources_backend::is_active) {
        Some(service) => {
            let task_definition = resources_backend::live_task_definition(&service)
                .unwrap_or_default()
                .to_string();
            let revision = resources_backend::find_task_definition(&ecs, &task_definition)
                .await
                .ok()
                .flatten();
            let image = revision
                .as_ref()
                .and_then(|r| r.image())
                .unwrap_or_default()
                .to_string();
            let version = revision
                .as_ref()
                .and_then(|r| r.image_tag())
                .unwrap_or_default();
            json!({"version": version, "image": image, "taskDefinition": task_definition})
        }
        None => Value::Null,
    };
    let listed = resources_delivery::find_deployments(
        &codedeploy,
        &names.codedeploy_application(),
        &names.deployment_group(),
        &[],
    )
    .await;
    let mut deployments = Vec::new();
    if let Ok(listed) = listed {
        let ids: Vec<String> = listed.into_iter().take(5).collect();
        if !ids.is_empty() {
            let described = resources_delivery::describe_deployments(&codedeploy, &ids).await?;
            let mut infos = described;
            infos
                .sort_by_key(|d| std::cmp::Reverse(d.create_time().map(|t| t.secs()).unwrap_or(0)));
            for info in infos {
                let mut entry = BTreeMap::new();
                entry.insert("id", json!(info.deployment_id()));
                entry.insert("status", json!(info.status().map(|s| s.as_str())));
                entry.insert("description", json!(info.description()));
                entry.insert("created", json!(info.create_time().map(|t| t.to_string())));
                if let Some(error) = info.error_information() {
                    entry.insert(
                        "error",
                        json!(format!(
                            "{}: {}",
                            error.code().map(|c| c.as_str()).unwrap_or(""),
                            error.message().unwrap_or("")
                        )),
                    );
                }
                deployments.push(json!(entry));
            }
        }
    }
    Ok(json!({"live": live, "deployments": deployments}))
}
