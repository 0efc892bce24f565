//! The sync step: from the uploaded zip to every file in the site bucket, in an order that
//! never serves half a release.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use tracing::info;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, Error, FrontendOutputs, Result, SdkContext};

use crate::archive::{self, Entry};
use crate::classify::{self, Naming, Role};
use crate::event::{self, ObjectCreated};
use crate::handler::{
    now_ms, Clients, Release, DEFAULT_KEEP_PREVIOUS_SECONDS, MAX_KEEP_PREVIOUS_SECONDS,
};
use crate::index_html;
use crate::invalidation;
use crate::live::{self, LiveRelease};
use crate::manifest::{self, FileRecord, Manifest};
use crate::naming;
use crate::site::{self, Upload};

/// PutObject calls in flight: S3 takes thousands a second per prefix; this bounds memory.
const CONCURRENCY: usize = 16;
/// A frontend build zip is a few MB; this bounds the Lambda's local storage.
const MAX_ZIP_BYTES: u64 = 256 * 1024 * 1024;
/// The upload's metadata key (`x-amz-meta-keep-previous-seconds`).
pub const KEEP_PREVIOUS_METADATA: &str = "keep-previous-seconds";

pub async fn sync(
    clients: &Clients,
    stack: &str,
    event: serde_json::Value,
    poll_seconds: u64,
) -> Result<Release> {
    let clock = Instant::now();
    let started_at_ms = now_ms();
    let event = ObjectCreated::parse(event)?;
    let frontend = frontend_outputs(clients, stack).await?;
    let source = event.location();
    if event.detail.bucket.name != frontend.uploads_bucket {
        return Err(Error::invalid(format!(
            "{source} is not in stack {stack}'s uploads bucket {}",
            frontend.uploads_bucket
        )));
    }
    let version = event::release_version(&event.detail.object.key)?;
    let etag = event.etag();
    let release_id = event::release_id(&version, etag.as_deref());
    if event.detail.object.size == Some(0) {
        return Err(empty(&source));
    }
    let live = live::read(&clients.ssm, stack).await?;
    let release = Release {
        stack: stack.to_string(),
        version,
        release_id,
        event_id: event.id.clone(),
        source,
        uploads_bucket: frontend.uploads_bucket,
        site_bucket: frontend.site_bucket,
        distribution_id: frontend.distribution_id,
        url: frontend.url,
        files: 0,
        uploaded: 0,
        unchanged: 0,
        uploaded_bytes: 0,
        invalidation_paths: Vec::new(),
        keep_previous_seconds: DEFAULT_KEEP_PREVIOUS_SECONDS,
        poll_seconds,
        started_at_ms,
        sync_seconds: 0.0,
        uploaded_at: event.time.clone(),
        skipped: live::skip_reason(live.as_ref(), &event.id, &event.time),
    };
    if let Some(why) = &release.skipped {
        info!(release = release.release_id, why, "not released");
        return Ok(release);
    }
    let (version, release_id, source) = (&release.version, &release.release_id, &release.source);

    let download = TempFile::new(release_id);
    let keep_previous_seconds = fetch(clients, &event, etag.as_deref(), download.path()).await?;
    let build = inspect(download.path(), source).await?;
    let index = edited_index(download.path(), &build.entries, source).await?;
    let naming = build_naming(download.path(), &build.entries, source).await?;
    let records = file_records(&build.entries, &index, &naming);

    let uploads = &release.uploads_bucket;
    let previous = match LiveRelease::previous_of(live.as_ref(), release_id) {
        Some(p) => manifest::read(&clients.s3, uploads, &p.release_id).await?,
        None => None,
    };
    let earlier_run = manifest::read(&clients.s3, uploads, release_id).await?;
    let there = site::list_keys(&clients.s3, &release.site_bucket, None).await?;
    let known: Vec<&Manifest> = previous.iter().chain(earlier_run.iter()).collect();
    let (to_write, unchanged): (Vec<&FileRecord>, Vec<&FileRecord>) = records
        .iter()
        .partition(|record| !is_in_place(record, &there, &known));

    // The manifest first: if this step dies halfway, the next release still knows (and
    // prunes) what this one wrote.
    let manifest = Manifest {
        release_id: release_id.clone(),
        version: version.clone(),
        source: source.clone(),
        started_at_ms,
        files: records.clone(),
    };
    manifest::write(&clients.s3, uploads, &manifest).await?;

    let by_key: BTreeMap<&str, &Entry> =
        build.entries.iter().map(|e| (e.key.as_str(), e)).collect();
    for role in [Role::Hashed, Role::Fixed, Role::Index] {
        let phase: Vec<(usize, FileRecord)> = to_write
            .iter()
            .filter(|r| Role::recorded(&r.key, &r.cache_control) == role)
            .filter_map(|r| by_key.get(r.key.as_str()).map(|e| (e.index, (*r).clone())))
            .collect();
        if role == Role::Index {
            if let Some((_, record)) = phase.first() {
                write_file(clients, &release.site_bucket, record, index.clone()).await?;
            }
        } else {
            write_from_zip(clients, &release.site_bucket, download.path(), phase).await?;
        }
    }

    let uploaded_bytes = to_write.iter().map(|r| r.size).sum();
    let invalidation_paths = invalidation::paths(&records, previous.as_ref());
    let release = Release {
        files: records.len(),
        uploaded: to_write.len(),
        unchanged: unchanged.len(),
        uploaded_bytes,
        invalidation_paths,
        keep_previous_seconds,
        sync_seconds: (clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        ..release
    };
    info!(
        release = release.release_id,
        files = release.files,
        uploaded = release.uploaded,
        unchanged = release.unchanged,
        seconds = release.sync_seconds,
        stripped_folder = build.stripped_folder,
        naming = ?naming.sources,
        hashed = records.iter().filter(|r| r.cache_control == classify::IMMUTABLE).count(),
        "synced"
    );
    Ok(release)
}

async fn frontend_outputs(clients: &Clients, stack: &str) -> Result<FrontendOutputs> {
    inventory::read(&clients.ssm, stack, Tier::Frontend)
        .await?
        .ok_or_else(|| {
            Error::invalid(format!(
                "stack {stack} has no frontend tier yet: run `vikunja-aws up --stack {stack}` first"
            ))
        })
}

fn empty(source: &str) -> Error {
    Error::invalid(format!(
        "{source} is empty (0 bytes): upload a zip of the frontend build"
    ))
}

/// Each file's record: headers from what the build says of its name, MD5 of what will be
/// written (the edited page).
fn file_records(entries: &[Entry], index: &[u8], naming: &Naming) -> Vec<FileRecord> {
    entries
        .iter()
        .map(|entry| {
            let role = naming.role(&entry.key);
            let (md5, size) = if role == Role::Index {
                (archive::md5_hex(index), index.len() as u64)
            } else {
                (entry.md5.clone(), entry.size)
            };
            FileRecord {
                key: entry.key.clone(),
                md5,
                size,
                content_type: classify::content_type(&entry.key),
                cache_control: role.cache_control().to_string(),
            }
        })
        .collect()
}

/// Already in the bucket with this content (its ETag is the MD5 of a single-part upload) and
/// written by a known release with these headers, so writing it again would change nothing.
fn is_in_place(record: &FileRecord, there: &BTreeMap<String, String>, known: &[&Manifest]) -> bool {
    there.get(&record.key) == Some(&record.md5)
        && known.iter().any(|m| m.record(&record.key) == Some(record))
}

/// Streams the upload to local storage (never whole in memory) and returns how long the
/// previous release's files are to be kept.
async fn fetch(
    clients: &Clients,
    event: &ObjectCreated,
    etag: Option<&str>,
    path: &Path,
) -> Result<u64> {
    let source = event.location();
    let bucket = &event.detail.bucket.name;
    let key = &event.detail.object.key;
    let mut request = clients.s3.get_object().bucket(bucket).key(key);
    if let Some(etag) = etag {
        // The object the event is about, not a newer upload under the same key.
        request = request.if_match(format!("\"{etag}\""));
    }
    let object = match request.send().await {
        Ok(object) => object,
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(412) => {
            return Err(Error::conflict(format!(
                "{source} was replaced after this release started; the newer upload runs its own release"
            )))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
            return Err(Error::invalid(format!("{source} no longer exists")))
        }
        Err(e) => return Err(e).context(format!("download {source}")),
    };
    let keep = keep_previous_seconds(object.metadata(), &source)?;
    let length = object.content_length().unwrap_or_default().max(0) as u64;
    if length > MAX_ZIP_BYTES {
        return Err(Error::invalid(format!(
            "{source} is {length} bytes; a frontend build zip is at most {MAX_ZIP_BYTES}"
        )));
    }
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| local_storage(path, e))?;
    let mut body = object.body;
    let mut written = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(|e| Error::Aws {
        context: format!("download {source}"),
        code: None,
        message: e.to_string(),
        class: vikunja_core::ErrorClass::Transient,
    })? {
        written += chunk.len() as u64;
        if written > MAX_ZIP_BYTES {
            return Err(Error::invalid(format!(
                "{source} is over {MAX_ZIP_BYTES} bytes"
            )));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| local_storage(path, e))?;
    }
    file.flush().await.map_err(|e| local_storage(path, e))?;
    if written == 0 {
        return Err(empty(&source));
    }
    Ok(keep)
}

fn local_storage(path: &Path, e: std::io::Error) -> Error {
    Error::Aws {
        context: format!("write {}", path.display()),
        code: None,
        message: e.to_string(),
        class: vikunja_core::ErrorClass::Other,
    }
}

fn keep_previous_seconds(
    metadata: Option<&std::collections::HashMap<String, String>>,
    source: &str,
) -> Result<u64> {
    let Some(value) = metadata.and_then(|m| m.get(KEEP_PREVIOUS_METADATA)) else {
        return Ok(DEFAULT_KEEP_PREVIOUS_SECONDS);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s <= MAX_KEEP_PREVIOUS_SECONDS)
        .ok_or_else(|| {
            Error::invalid(format!(
                "{source}: metadata {KEEP_PREVIOUS_METADATA}={value:?} must be 0 to {MAX_KEEP_PREVIOUS_SECONDS} seconds"
            ))
        })
}

async fn inspect(path: &Path, source: &str) -> Result<archive::Build> {
    let path = path.to_path_buf();
    let what = source.to_string();
    tokio::task::spawn_blocking(move || archive::inspect(&path, &what))
        .await
        .map_err(|e| Error::invalid(format!("inspect {source}: {e}")))?
}

/// `index.html` as it will be served: pointing the app at the same-origin API.
async fn edited_index(path: &Path, entries: &[Entry], source: &str) -> Result<Vec<u8>> {
    let index = entries
        .iter()
        .find(|e| e.key == "index.html")
        .map(|e| e.index)
        .ok_or_else(|| Error::invalid(format!("{source} has no index.html")))?;
    let path = path.to_path_buf();
    let raw = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
        archive::read_entry(&mut zip, index)
    })
    .await
    .map_err(|e| Error::invalid(format!("read index.html of {source}: {e}")))?
    .map_err(|e| Error::invalid(format!("read index.html of {source}: {e}")))?;
    let html = String::from_utf8(raw)
        .map_err(|_| Error::invalid(format!("{source}: index.html is not UTF-8")))?;
    Ok(index_html::point_at_api(&html, index_html::SAME_ORIGIN_API_URL)?.into_bytes())
}

/// What the build says about its names: its Vite manifest and service worker, read from the
/// zip (already checked by [`archive::inspect`]).
async fn build_naming(path: &Path, entries: &[Entry], source: &str) -> Result<Naming> {
    let wanted: Vec<(usize, String)> = entries
        .iter()
        .filter(|e| naming::is_naming_source(&e.key))
        .map(|e| (e.index, e.key.clone()))
        .collect();
    if wanted.is_empty() {
        return Ok(Naming::default());
    }
    let path = path.to_path_buf();
    let contents = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
        wanted
            .into_iter()
            .map(|(index, key)| archive::read_entry(&mut zip, index).map(|c| (key, c)))
            .collect::<std::result::Result<Vec<_>, String>>()
    })
    .await
    .map_err(|e| Error::invalid(format!("read the manifests of {source}: {e}")))?
    .map_err(|e| Error::invalid(format!("read the manifests of {source}: {e}")))?;
    Naming::read(contents.iter().map(|(k, c)| (k.as_str(), c.as_slice()))).map_err(|why| {
        Error::invalid(format!(
            "{source}: {why}; rebuild the frontend, or leave the file out of the zip"
        ))
    })
}

async fn write_file(
    clients: &Clients,
    bucket: &str,
    record: &FileRecord,
    body: Vec<u8>,
) -> Result<()> {
    site::put(
        &clients.s3,
        bucket,
        Upload {
            key: &record.key,
            content_type: &record.content_type,
            cache_control: &record.cache_control,
            body,
        },
    )
    .await
}

/// Writes files read from the zip, `CONCURRENCY` at a time: one blocking reader decompresses
/// in order into a bounded channel, the uploads drain it. Returns when all are written.
async fn write_from_zip(
    clients: &Clients,
    bucket: &str,
    zip_path: &Path,
    files: Vec<(usize, FileRecord)>,
) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<(FileRecord, Vec<u8>)>>(CONCURRENCY);
    let path = zip_path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let opened = std::fs::File::open(&path)
            .map_err(|e| e.to_string())
            .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()));
        let mut zip = match opened {
            Ok(zip) => zip,
            Err(e) => {
                let _ = sender.blocking_send(Err(Error::invalid(format!("reopen the build: {e}"))));
                return;
            }
        };
        for (index, record) in files {
            let content = archive::read_entry(&mut zip, index)
                .map(|body| (record.clone(), body))
                .map_err(|e| Error::invalid(format!("read {}: {e}", record.key)));
            // A closed channel means an upload failed and the writer gave up: stop reading.
            if sender.blocking_send(content).is_err() {
                return;
            }
        }
    });
    let contents = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let written = contents
        .map(|item| async move {
            let (record, body) = item?;
            write_file(clients, bucket, &record, body).await
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await;
    // On an upload error the stream is dropped, the channel closes and the reader ends.
    reader
        .await
        .map_err(|e| Error::invalid(format!("zip reader stopped: {e}")))?;
    written.map(|_| ())
}

/// The downloaded zip, removed when the step ends (Lambda's /tmp outlives an invocation).
struct TempFile(PathBuf);

impl TempFile {
    fn new(release_id: &str) -> Self {
        Self(std::env::temp_dir().join(format!(
            "release-frontend-{}-{release_id}.zip",
            std::process::id()
        )))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn record(key: &str, md5: &str) -> FileRecord {
        FileRecord {
            key: key.into(),
            md5: md5.into(),
            size: 1,
            content_type: classify::content_type(key),
            cache_control: Naming::default().role(key).cache_control().into(),
        }
    }

    #[test]
    fn a_file_is_skipped_only_when_content_and_headers_are_known() {
        let there: BTreeMap<String, String> = [("a.js".to_string(), "m1".to_string())].into();
        let known = Manifest {
            release_id: "r".into(),
            version: "r".into(),
            source: "s".into(),
            started_at_ms: 0,
            files: vec![record("a.js", "m1")],
        };
        assert!(is_in_place(&record("a.js", "m1"), &there, &[&known]));
        assert!(!is_in_place(&record("a.js", "m2"), &there, &[&known]));
        assert!(
            !is_in_place(&record("a.js", "m1"), &there, &[]),
            "uploaded by hand: headers unknown"
        );
        assert!(!is_in_place(&record("b.js", "m1"), &there, &[&known]));
    }

    #[test]
    fn keep_previous_comes_from_the_upload_metadata() {
        assert_eq!(
            keep_previous_seconds(None, "s").unwrap(),
            DEFAULT_KEEP_PREVIOUS_SECONDS
        );
        let short: HashMap<String, String> =
            [(KEEP_PREVIOUS_METADATA.to_string(), "5".to_string())].into();
        assert_eq!(keep_previous_seconds(Some(&short), "s").unwrap(), 5);
        let bad: HashMap<String, String> =
            [(KEEP_PREVIOUS_METADATA.to_string(), "soon".to_string())].into();
        assert_eq!(
            keep_previous_seconds(Some(&bad), "s").unwrap_err().name(),
            "InvalidInput"
        );
    }
}
