//! What each release wrote, kept in the uploads bucket (private; the site bucket is public
//! through CloudFront) under `manifests/frontend/<release id>.json`. Pruning deletes only
//! files a manifest names, so objects this workflow never wrote are never touched.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};
use vikunja_core::{Error, Result, SdkContext};

pub const MANIFEST_PREFIX: &str = "manifests/frontend/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    pub key: String,
    pub md5: String,
    pub size: u64,
    pub content_type: String,
    pub cache_control: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub release_id: String,
    pub version: String,
    /// Where the build came from: `s3://<uploads>/releases/<version>.zip`.
    pub source: String,
    /// When this release's sync started (Unix milliseconds): orders releases for pruning.
    pub started_at_ms: u64,
    pub files: Vec<FileRecord>,
}

impl Manifest {
    pub fn key(release_id: &str) -> String {
        format!("{MANIFEST_PREFIX}{release_id}.json")
    }

    pub fn record(&self, key: &str) -> Option<&FileRecord> {
        self.files.iter().find(|f| f.key == key)
    }
}

pub async fn write(s3: &Client, bucket: &str, manifest: &Manifest) -> Result<()> {
    let key = Manifest::key(&manifest.release_id);
    let body = serde_json::to_vec(manifest)
        .map_err(|e| Error::invalid(format!("serialize manifest {key}: {e}")))?;
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .context(format!("write manifest s3://{bucket}/{key}"))?;
    Ok(())
}

/// A release's manifest, or `None` when it was never written (or already pruned).
pub async fn read(s3: &Client, bucket: &str, release_id: &str) -> Result<Option<Manifest>> {
    read_key(s3, bucket, &Manifest::key(release_id)).await
}

async fn read_key(s3: &Client, bucket: &str, key: &str) -> Result<Option<Manifest>> {
    let object = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => object,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(e).context(format!("read manifest s3://{bucket}/{key}")),
    };
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| Error::Aws {
            context: format!("read manifest s3://{bucket}/{key}"),
            code: None,
            message: e.to_string(),
            class: vikunja_core::ErrorClass::Transient,
        })?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::conflict(format!("manifest s3://{bucket}/{key} is not valid: {e}")))
}

/// Every manifest in the bucket.
pub async fn list(s3: &Client, bucket: &str) -> Result<Vec<Manifest>> {
    let keys = crate::site::list_keys(s3, bucket, Some(MANIFEST_PREFIX)).await?;
    let mut manifests = Vec::new();
    for key in keys.keys().filter(|k| k.ends_with(".json")) {
        if let Some(manifest) = read_key(s3, bucket, key).await? {
            manifests.push(manifest);
        }
    }
    Ok(manifests)
}

pub async fn delete(s3: &Client, bucket: &str, release_id: &str) -> Result<()> {
    let key = Manifest::key(release_id);
    s3.delete_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .context(format!("delete manifest s3://{bucket}/{key}"))?;
    Ok(())
}

/// What pruning after `current` deletes: the files of releases that started before it, less
/// every file `current` or a later release (one still in flight) still uses. Files the
/// previous release shares with `current` stay by the same rule.
#[derive(Debug, Default, PartialEq)]
pub struct PrunePlan {
    pub files: BTreeSet<String>,
    pub manifests: Vec<String>,
}

pub fn plan_prune(current: &Manifest, all: &[Manifest]) -> PrunePlan {
    let is_older = |m: &Manifest| {
        m.release_id != current.release_id
            && (m.started_at_ms, &m.release_id) < (current.started_at_ms, &current.release_id)
    };
    let in_use: BTreeSet<&str> = all
        .iter()
        .chain(std::iter::once(current))
        .filter(|m| !is_older(m))
        .flat_map(|m| m.files.iter().map(|f| f.key.as_str()))
        .collect();
    let mut plan = PrunePlan::default();
    let mut older: BTreeMap<&str, &Manifest> = BTreeMap::new();
    for manifest in all.iter().filter(|m| is_older(m)) {
        older.insert(&manifest.release_id, manifest);
    }
    for (release_id, manifest) in older {
        plan.manifests.push(release_id.to_string());
        plan.files.extend(
            manifest
                .files
                .iter()
                .map(|f| f.key.as_str())
                .filter(|key| !in_use.contains(key))
                .map(str::to_string),
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(id: &str, at: u64, keys: &[&str]) -> Manifest {
        Manifest {
            release_id: id.into(),
            version: id.into(),
            source: format!("s3://u/releases/{id}.zip"),
            started_at_ms: at,
            files: keys
                .iter()
                .map(|k| FileRecord {
                    key: k.to_string(),
                    md5: "m".into(),
                    size: 1,
                    content_type: "text/plain".into(),
                    cache_control: "no-cache".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn pruning_deletes_what_only_older_releases_used() {
        let one = manifest(
            "one",
            1,
            &[
                "index.html",
                "sw.js",
                "assets/a-11111111.js",
                "assets/shared-33333333.js",
            ],
        );
        let two = manifest(
            "two",
            2,
            &[
                "index.html",
                "sw.js",
                "assets/b-22222222.js",
                "assets/shared-33333333.js",
            ],
        );
        let plan = plan_prune(&two, &[one.clone(), two.clone()]);
        assert_eq!(plan.manifests, ["one"]);
        assert_eq!(
            plan.files.into_iter().collect::<Vec<_>>(),
            ["assets/a-11111111.js"]
        );
    }

    #[test]
    fn a_later_release_in_flight_is_never_pruned() {
        let one = manifest("one", 1, &["index.html", "assets/a-11111111.js"]);
        let two = manifest("two", 2, &["index.html", "assets/b-22222222.js"]);
        let three = manifest(
            "three",
            3,
            &["index.html", "assets/a-11111111.js", "assets/c-33333333.js"],
        );
        // Two's prune runs while three is syncing: one's asset is three's too, so it stays.
        let plan = plan_prune(&two, &[one.clone(), two.clone(), three.clone()]);
        assert_eq!(plan.manifests, ["one"]);
        assert!(plan.files.is_empty());
        // Pruning after the first release, or re-running a prune, deletes nothing new.
        assert_eq!(
            plan_prune(&one, std::slice::from_ref(&one)),
            PrunePlan::default()
        );
        let again = plan_prune(&three, std::slice::from_ref(&three));
        assert_eq!(again, PrunePlan::default());
    }
}
