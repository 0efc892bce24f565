//! The live release, as recorded in SSM next to the tiers' inventory
//! (`/vikunja/<stack>/frontend-release`), read by `vikunja-aws status` and by the next release.

use serde::{Deserialize, Serialize};
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, Error, Names, Result, SdkContext};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveRelease {
    pub version: String,
    pub release_id: String,
    /// When the release's invalidation completed (RFC 3339, UTC).
    pub published_at: String,
    pub source: String,
    pub files: usize,
    pub invalidation_id: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousRelease>,
    /// The upload's EventBridge event and its time (records before these fields: empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uploaded_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousRelease {
    pub version: String,
    pub release_id: String,
    pub published_at: String,
}

/// Why an upload is not released: the same event delivered again once its release is live,
/// or a later upload already live (releases run one at a time, in the order they started; an
/// event delivered late must not undo a newer one).
pub fn skip_reason(
    live: Option<&LiveRelease>,
    event_id: &str,
    uploaded_at: &str,
) -> Option<String> {
    let live = live?;
    if !live.event_id.is_empty() && live.event_id == event_id {
        return Some(format!(
            "release {} of this upload is live already (event {event_id} delivered again)",
            live.release_id
        ));
    }
    if !uploaded_at.is_empty() && live.uploaded_at.as_str() > uploaded_at {
        return Some(format!(
            "a later upload ({} at {}) is live already; this one ({uploaded_at}) would undo it",
            live.release_id, live.uploaded_at
        ));
    }
    None
}

impl LiveRelease {
    /// The release before `release_id`: the live one, unless `release_id` is live already
    /// (a re-run), in which case the one before it.
    pub fn previous_of(live: Option<&LiveRelease>, release_id: &str) -> Option<PreviousRelease> {
        let live = live?;
        if live.release_id == release_id {
            return live.previous.clone();
        }
        Some(PreviousRelease {
            version: live.version.clone(),
            release_id: live.release_id.clone(),
            published_at: live.published_at.clone(),
        })
    }
}

pub async fn read(ssm: &aws_sdk_ssm::Client, stack: &str) -> Result<Option<LiveRelease>> {
    let name = Names::new(stack).frontend_release_parameter();
    match ssm.get_parameter().name(&name).send().await {
        Ok(out) => {
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            serde_json::from_str(value).map(Some).map_err(|e| {
                Error::conflict(format!("{name} is not a frontend release record: {e}"))
            })
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).context(format!("read {name}")),
    }
}

pub async fn write(ssm: &aws_sdk_ssm::Client, stack: &str, live: &LiveRelease) -> Result<()> {
    let name = Names::new(stack).frontend_release_parameter();
    inventory::write_json(ssm, &name, stack, Tier::Frontend, live).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: &str, previous: Option<&str>) -> LiveRelease {
        LiveRelease {
            version: id.into(),
            release_id: id.into(),
            published_at: "2025-01-01T00:00:00Z".into(),
            source: "s3://u/releases/x.zip".into(),
            files: 1,
            invalidation_id: "I1".into(),
            url: "https://d.cloudfront.net".into(),
            previous: previous.map(|p| PreviousRelease {
                version: p.into(),
                release_id: p.into(),
                published_at: "2024-12-31T00:00:00Z".into(),
            }),
            event_id: String::new(),
            uploaded_at: String::new(),
        }
    }

    #[test]
    fn a_duplicate_event_or_an_older_upload_is_skipped_and_a_re_upload_is_not() {
        let mut current = live("b", None);
        current.event_id = "ev-b".into();
        current.uploaded_at = "2026-12-01T10:00:05Z".into();
        let why = skip_reason(Some(&current), "ev-b", "2026-12-01T10:00:05Z").unwrap();
        assert!(why.contains("delivered again"), "{why}");
        let why = skip_reason(Some(&current), "ev-a", "2026-12-01T10:00:01Z").unwrap();
        assert!(why.contains("later upload"), "{why}");
        // The same zip uploaded again is a new event, at a later time: released.
        assert_eq!(
            skip_reason(Some(&current), "ev-c", "2026-12-01T10:00:09Z"),
            None
        );
        assert_eq!(skip_reason(None, "ev-b", "2026-12-01T10:00:05Z"), None);
        // A record from before these fields decides nothing.
        assert_eq!(
            skip_reason(Some(&live("old", None)), "ev", "2026-01-01T00:00:00Z"),
            None
        );
    }

    #[test]
    fn a_rerun_keeps_the_release_before_it() {
        let current = live("two", Some("one"));
        assert_eq!(
            LiveRelease::previous_of(Some(&current), "three").map(|p| p.release_id),
            Some("two".into())
        );
        assert_eq!(
            LiveRelease::previous_of(Some(&current), "two").map(|p| p.release_id),
            Some("one".into())
        );
        assert_eq!(LiveRelease::previous_of(None, "one"), None);
    }
}
