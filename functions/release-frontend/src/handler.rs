//! The Lambda boundary: one request per state-machine step, one error type out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use serde::{Deserialize, Serialize};
use tracing::info;
use vikunja_core::{Error, Result};

use crate::live::{self, LiveRelease};
use crate::{invalidation, manifest, site, sync};

/// How long the previous release's files stay after a new one is live, unless the upload
/// says otherwise (object metadata `keep-previous-seconds`, set by `vikunja-aws release`).
pub const DEFAULT_KEEP_PREVIOUS_SECONDS: u64 = 24 * 3600;
pub const MAX_KEEP_PREVIOUS_SECONDS: u64 = 30 * 24 * 3600;
/// Give up on an invalidation after this long (they usually take under five minutes).
const INVALIDATION_WAIT: Duration = Duration::from_secs(3600);
const DEFAULT_POLL_SECONDS: u64 = 10;

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sfn: aws_sdk_sfn::Client,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Request {
    /// Whether the releases that started before this execution have published.
    Turn {
        execution: String,
    },
    /// The state machine's input: the EventBridge event of the upload.
    Sync {
        event: serde_json::Value,
    },
    Invalidate {
        release: Release,
    },
    InvalidationStatus {
        release: Release,
        invalidation: Invalidation,
    },
    Publish {
        release: Release,
        invalidation: Invalidation,
    },
    Prune {
        release: Release,
    },
}

/// What the sync step hands to the next steps. Small: file lists live in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub stack: String,
    pub version: String,
    pub release_id: String,
    pub event_id: String,
    pub source: String,
    pub uploads_bucket: String,
    pub site_bucket: String,
    pub distribution_id: String,
    pub url: String,
    pub files: usize,
    pub uploaded: usize,
    pub unchanged: usize,
    pub uploaded_bytes: u64,
    pub invalidation_paths: Vec<String>,
    pub keep_previous_seconds: u64,
    pub poll_seconds: u64,
    pub started_at_ms: u64,
    pub sync_seconds: f64,
    /// The upload's time (EventBridge's), recorded with the live release.
    #[serde(default)]
    pub uploaded_at: String,
    /// Why nothing was released (a duplicate event, a later upload live already): the
    /// state machine ends there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invalidation {
    pub id: String,
    pub status: String,
    pub created_at_ms: u64,
}

pub async fn handle(clients: &Clients, request: Request) -> Result<serde_json::Value> {
    let answer = match request {
        Request::Turn { execution } => to_json(crate::turn::take(&clients.sfn, &execution).await?),
        Request::Sync { event } => {
            let stack = stack_from_env()?;
            to_json(sync::sync(clients, &stack, event, poll_seconds()).await?)
        }
        Request::Invalidate { release } => to_json(invalidate(clients, &release).await?),
        Request::InvalidationStatus {
            release,
            invalidation,
        } => to_json(invalidation_status(clients, &release, invalidation).await?),
        Request::Publish {
            release,
            invalidation,
        } => to_json(publish(clients, &release, &invalidation).await?),
        Request::Prune { release } => to_json(prune(clients, &release).await?),
    };
    answer
}

fn to_json<T: Serialize>(value: T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::invalid(format!("serialize the answer: {e}")))
}

fn stack_from_env() -> Result<String> {
    let stack = std::env::var("VIKUNJA_STACK")
        .map_err(|_| Error::invalid("VIKUNJA_STACK is not set (the bootstrap template sets it)"))?;
    vikunja_core::settings::validate_stack_name(&stack)?;
    Ok(stack)
}

fn poll_seconds() -> u64 {
    std::env::var("POLL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=300).contains(s))
        .unwrap_or(DEFAULT_POLL_SECONDS)
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// RFC 3339 in UTC, for people reading `status`.
pub fn rfc3339(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

async fn invalidate(clients: &Clients, release: &Release) -> Result<Invalidation> {
    let (id, status) = invalidation::create(
        &clients.cloudfront,
        &release.distribution_id,
        &release.event_id,
        &release.invalidation_paths,
    )
    .await?;
    info!(
        release = release.release_id,
        id,
        paths = ?release.invalidation_paths,
        "created invalidation"
    );
    Ok(Invalidation {
        id,
        status,
        created_at_ms: now_ms(),
    })
}

async fn invalidation_status(
    clients: &Clients,
    release: &Release,
    mut invalidation: Invalidation,
) -> Result<Invalidation> {
    invalidation.status = invalidation::status(
        &clients.cloudfront,
        &release.distribution_id,
        &invalidation.id,
    )
    .await?;
    let waited = Duration::from_millis(now_ms().saturating_sub(invalidation.created_at_ms));
    if invalidation.status != "Completed" && waited > INVALIDATION_WAIT {
        return Err(Error::conflict(format!(
            "invalidation {} of distribution {} is still {} after {} minutes; the new files are in place and will be served once it completes",
            invalidation.id,
            release.distribution_id,
            invalidation.status,
            waited.as_secs() / 60
        )));
    }
    Ok(invalidation)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub version: String,
    pub release_id: String,
    pub published_at: String,
    pub url: String,
    pub previous: Option<String>,
    /// When files only older releases use are deleted.
    pub prune_at: String,
}

/// The new `index.html` is live at the edges: record the release as the live one.
async fn publish(
    clients: &Clients,
    release: &Release,
    invalidation: &Invalidation,
) -> Result<Published> {
    let current = live::read(&clients.ssm, &release.stack).await?;
    let previous = LiveRelease::previous_of(current.as_ref(), &release.release_id);
    let now = SystemTime::now();
    let record = LiveRelease {
        version: release.version.clone(),
        release_id: release.release_id.clone(),
        published_at: rfc3339(now),
        source: release.source.clone(),
        files: release.files,
        invalidation_id: invalidation.id.clone(),
        url: release.url.clone(),
        previous: previous.clone(),
        event_id: release.event_id.clone(),
        uploaded_at: release.uploaded_at.clone(),
    };
    live::write(&clients.ssm, &release.stack, &record).await?;
    info!(release = release.release_id, "release is live");
    Ok(Published {
        version: record.version,
        release_id: record.release_id,
        published_at: record.published_at,
        url: record.url,
        previous: previous.map(|p| p.version),
        prune_at: rfc3339(now + Duration::from_secs(release.keep_previous_seconds)),
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    pub deleted_files: usize,
    pub pruned_releases: Vec<String>,
}

/// Deletes the files only releases older than this one used, then their manifests.
async fn prune(clients: &Clients, release: &Release) -> Result<Pruned> {
    let all = manifest::list(&clients.s3, &release.uploads_bucket).await?;
    let Some(current) = all.iter().find(|m| m.release_id == release.release_id) else {
        // A later release pruned this one already: nothing of ours is left to decide on.
        return Ok(Pruned {
            deleted_files: 0,
            pruned_releases: Vec::new(),
        });
    };
    let plan = manifest::plan_prune(current, &all);
    let files: Vec<String> = plan.files.into_iter().collect();
    let deleted_files = site::delete_keys(&clients.s3, &release.site_bucket, &files).await?;
    for release_id in &plan.manifests {
        manifest::delete(&clients.s3, &release.uploads_bucket, release_id).await?;
    }
    info!(
        release = release.release_id,
        deleted_files,
        releases = ?plan.manifests,
        "pruned older releases"
    );
    Ok(Pruned {
        deleted_files,
        pruned_releases: plan.manifests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_from_state_machine_input() {
        let request: Request = serde_json::from_value(serde_json::json!({
            "action": "sync",
            "event": {"id": "e"}
        }))
        .unwrap();
        assert!(matches!(request, Request::Sync { .. }));
        assert!(serde_json::from_value::<Request>(serde_json::json!({"action": "nope"})).is_err());
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}

#[cfg(test)]
mod fuzz {
    //! What the state machine hands each step, as `serve` decodes it: a request or
    //! `InvalidInput` (the upload's event inside `sync` is read by the sync step itself).

    use super::*;
    use serde_json::json;
    use vikunja_core::fuzzing::{assert_invalid_input, nested, Shape};
    use vikunja_core::lambda::decode;

    const EVENT: &str = "a frontend release request";

    fn release() -> serde_json::Value {
        serde_json::to_value(Release {
            stack: "vikunja".into(),
            version: "0.24.6".into(),
            release_id: "0.24.6-b1946ac92492".into(),
            event_id: "e-1".into(),
            source: "s3://uploads/releases/0.24.6.zip".into(),
            uploads_bucket: "uploads".into(),
            site_bucket: "site".into(),
            distribution_id: "E1".into(),
            url: "https://d.cloudfront.net".into(),
            files: 271,
            uploaded: 3,
            unchanged: 268,
            uploaded_bytes: 168_000,
            invalidation_paths: vec!["/index.html".into()],
            keep_previous_seconds: DEFAULT_KEEP_PREVIOUS_SECONDS,
            poll_seconds: 10,
            started_at_ms: 1_764_000_000_000,
            sync_seconds: 1.5,
            uploaded_at: "2026-12-01T10:00:00Z".into(),
            skipped: None,
        })
        .unwrap()
    }

    fn requests() -> Vec<serde_json::Value> {
        let invalidation =
            json!({"id": "I1", "status": "InProgress", "createdAtMs": 1_764_000_000_000u64});
        vec![
            json!({"action": "turn", "execution": "arn:aws:states:us-east-1:1:execution:v-release-frontend:e1"}),
            json!({"action": "sync", "event": crate::event::fuzz::object_created()}),
            json!({"action": "invalidate", "release": release()}),
            json!({"action": "invalidationStatus", "release": release(), "invalidation": invalidation}),
            json!({"action": "publish", "release": release(), "invalidation": invalidation}),
            json!({"action": "prune", "release": release()}),
        ]
    }

    fn decoded_or_invalid(body: &[u8]) {
        match decode::<Request>(EVENT, body) {
            Ok(Request::Sync { event }) => {
                if let Err(error) = crate::event::ObjectCreated::parse(event) {
                    assert_invalid_input(&error, &String::from_utf8_lossy(body));
                }
            }
            Ok(_) => {}
            Err(error) => assert_invalid_input(&error, &String::from_utf8_lossy(body)),
        }
    }

    #[test]
    fn any_body_is_a_request_or_invalid_input() {
        let shape = Shape::of(&requests()).strings(&["nope", "Sync"]);
        for request in requests() {
            let _: Request = serde_json::from_value(request).unwrap();
        }
        bolero::check!().for_each(|data: &[u8]| decoded_or_invalid(&shape.body(data)));
    }

    #[test]
    fn deep_nesting_is_invalid_input() {
        for kind in 0..3 {
            decoded_or_invalid(&nested(100_000, kind));
            let mut inside = br#"{"action": "sync", "event": "#.to_vec();
            inside.extend(nested(100_000, kind));
            decoded_or_invalid(&inside);
        }
    }
}
