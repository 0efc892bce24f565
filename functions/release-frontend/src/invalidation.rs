//! One CloudFront invalidation per release, with the fewest paths that are still correct.
//! CloudFront bills invalidation paths beyond 1,000 a month; a wildcard counts as one path.
//!
//! - Hashed assets are never invalidated: a new build gives them new names.
//! - `/` and `/index.html` always: the entry page is what makes a release visible, and
//!   CloudFront caches the default root object under `/` and the SPA fallback's rewrites
//!   under `/index.html`.
//! - Every other fixed-name file whose content or headers changed since the previous release.
//! - More than `MAX_EXPLICIT_PATHS`, or no previous release to compare with (the first
//!   release may replace files uploaded by hand with any headers): `/*`, one path.

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use aws_sdk_cloudfront::Client;
use vikunja_core::error::built;
use vikunja_core::{Error, Result, SdkContext};

use crate::classify::Role;
use crate::manifest::{FileRecord, Manifest};

/// Typical Vikunja release: `/`, `/index.html`, `/sw.js` — three paths, ~330 free releases a month.
pub const MAX_EXPLICIT_PATHS: usize = 8;
pub const EVERYTHING: &str = "/*";

pub fn paths(files: &[FileRecord], previous: Option<&Manifest>) -> Vec<String> {
    let Some(previous) = previous else {
        return vec![EVERYTHING.to_string()];
    };
    let mut paths = vec!["/".to_string(), "/index.html".to_string()];
    for file in files {
        if Role::recorded(&file.key, &file.cache_control) != Role::Fixed {
            continue;
        }
        // New names were not cached under this release's headers; changed ones were.
        if previous.record(&file.key).is_some_and(|old| old != file) {
            paths.push(format!("/{}", encode_path(&file.key)));
        }
    }
    if paths.len() > MAX_EXPLICIT_PATHS {
        return vec![EVERYTHING.to_string()];
    }
    paths
}

/// CloudFront wants unsafe characters percent-encoded; `*` would otherwise be a wildcard.
fn encode_path(key: &str) -> String {
    let mut encoded = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Creates the release's invalidation. The caller reference is the upload event's id, so a
/// retried step finds the invalidation it already made instead of paying for a second one.
pub async fn create(
    cloudfront: &Client,
    distribution_id: &str,
    caller_reference: &str,
    paths: &[String],
) -> Result<(String, String)> {
    let batch = built(
        InvalidationBatch::builder()
            .caller_reference(caller_reference)
            .paths(built(
                Paths::builder()
                    .quantity(paths.len() as i32)
                    .set_items(Some(paths.to_vec()))
                    .build(),
                "invalidation paths",
            )?)
            .build(),
        "invalidation batch",
    )?;
    let created = cloudfront
        .create_invalidation()
        .distribution_id(distribution_id)
        .invalidation_batch(batch)
        .send()
        .await
        .context(format!(
            "invalidate {} paths of distribution {distribution_id}",
            paths.len()
        ))?;
    let invalidation = created
        .invalidation()
        .ok_or_else(|| Error::conflict("CloudFront answered without the invalidation"))?;
    Ok((
        invalidation.id().to_string(),
        normalize(invalidation.status()),
    ))
}

/// CloudFront says `InProgress` or `Completed`; moto says `COMPLETED`. The state machine
/// compares with `Completed`.
fn normalize(status: &str) -> String {
    if status.eq_ignore_ascii_case("completed") {
        "Completed".to_string()
    } else {
        status.to_string()
    }
}

pub async fn status(cloudfront: &Client, distribution_id: &str, id: &str) -> Result<String> {
    let found = cloudfront
        .get_invalidation()
        .distribution_id(distribution_id)
        .id(id)
        .send()
        .await
        .context(format!(
            "read invalidation {id} of distribution {distribution_id}"
        ))?;
    Ok(found
        .invalidation()
        .map(|i| normalize(i.status()))
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, md5: &str) -> FileRecord {
        FileRecord {
            key: key.into(),
            md5: md5.into(),
            size: 1,
            content_type: crate::classify::content_type(key),
            cache_control: crate::classify::Naming::default()
                .role(key)
                .cache_control()
                .into(),
        }
    }

    fn manifest(files: Vec<FileRecord>) -> Manifest {
        Manifest {
            release_id: "prev".into(),
            version: "prev".into(),
            source: "s3://u/releases/prev.zip".into(),
            started_at_ms: 1,
            files,
        }
    }

    #[test]
    fn only_the_entry_page_and_changed_fixed_files_are_invalidated() {
        let previous = manifest(vec![
            record("index.html", "a"),
            record("sw.js", "a"),
            record("manifest.webmanifest", "a"),
            record("assets/index-BUd7TCYz.js", "a"),
        ]);
        let next = vec![
            record("index.html", "b"),
            record("sw.js", "b"),
            record("manifest.webmanifest", "a"),
            record("assets/index-Zx9Qw2Er.js", "b"),
            record("images/new icon.png", "b"),
        ];
        assert_eq!(
            paths(&next, Some(&previous)),
            ["/", "/index.html", "/sw.js"]
        );
    }

    #[test]
    fn headers_that_changed_count_as_a_change() {
        let mut old = record("robots.txt", "a");
        old.content_type = "binary/octet-stream".into();
        let previous = manifest(vec![old]);
        assert_eq!(
            paths(&[record("robots.txt", "a")], Some(&previous)),
            ["/", "/index.html", "/robots.txt"]
        );
    }

    #[test]
    fn many_changes_or_no_history_take_one_wildcard() {
        let keys: Vec<String> = (0..10).map(|i| format!("icons/i{i}.png")).collect();
        let previous = manifest(keys.iter().map(|k| record(k, "a")).collect());
        let next: Vec<_> = keys.iter().map(|k| record(k, "b")).collect();
        assert_eq!(paths(&next, Some(&previous)), [EVERYTHING]);
        assert_eq!(paths(&next, None), [EVERYTHING]);
    }

    #[test]
    fn unsafe_characters_are_encoded() {
        assert_eq!(encode_path("a b/c*d+é.png"), "a%20b/c%2Ad%2B%C3%A9.png");
    }
}
