//! `vikunja-aws release frontend <dir or zip>`: upload the build to the stack's uploads
//! bucket as `releases/<version>.zip` — the upload alone starts the release (EventBridge →
//! release-frontend state machine) — then find that execution and follow it until the new
//! release is live (or, with `--wait-prune`, until older files are pruned).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{json, Value};
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, FrontendOutputs, Names};

use crate::target::Aws;
use crate::{follow, Output};

/// How long the upload event may take to start an execution before we say so.
const EXECUTION_APPEARS_WITHIN: Duration = Duration::from_secs(60);
/// The object metadata the release reads its keep-previous period from.
pub const KEEP_PREVIOUS_METADATA: &str = "keep-previous-seconds";

#[derive(Debug, Clone)]
pub struct FrontendRelease {
    /// A build folder (zipped here) or a zip of one.
    pub path: PathBuf,
    /// Default: the zip's name without `.zip`, or the upload time for a folder.
    pub version: Option<String>,
    /// How long the previous release's files stay after this one is live (default: 24 h).
    pub keep_previous: Option<Duration>,
    /// Follow past publication, through the keep-previous wait and the pruning.
    pub wait_prune: bool,
}

pub async fn release(
    aws: &Aws,
    stack: &str,
    request: &FrontendRelease,
    output: Output,
) -> Result<Value> {
    let frontend: FrontendOutputs = inventory::read(&aws.ssm(), stack, Tier::Frontend)
        .await?
        .with_context(|| {
            format!("stack {stack} has no frontend tier yet: run `vikunja-aws up --stack {stack}` first")
        })?;
    let state_machine =
        follow::state_machine_arn(aws, stack, "ReleaseFrontendStateMachineArn").await?;
    let version = match &request.version {
        Some(version) => version.clone(),
        None => default_version(&request.path),
    };
    validate_version(&version)?;
    let clock = Instant::now();
    let (zip, _temporary) = zip_of(&request.path)?;
    let zipped = clock.elapsed();
    let key = format!("releases/{version}.zip");
    // The same zip uploaded again later is released again: only the executions this
    // upload started count.
    let uploading = std::time::SystemTime::now();
    let etag = upload(
        aws,
        &frontend.uploads_bucket,
        &key,
        &zip,
        request.keep_previous,
    )
    .await?;
    if output == Output::Text {
        println!(
            "uploaded s3://{}/{key} in {:.1}s; the upload starts the release",
            frontend.uploads_bucket,
            clock.elapsed().as_secs_f64()
        );
    }
    let uploaded = clock.elapsed();
    let execution = find_execution(aws, &state_machine, &key, &etag, Some(uploading)).await?;
    let found = clock.elapsed();
    let mut result = follow_release(aws, &execution, request.wait_prune, output).await?;
    let tenths = |d: Duration| (d.as_secs_f64() * 10.0).round() / 10.0;
    if let Some(map) = result.as_object_mut() {
        map.insert("execution".into(), Value::String(execution));
        map.insert("seconds".into(), json!(tenths(clock.elapsed())));
        // Where the time went: zipping here, the upload, the event starting the release,
        // and the release itself as followed from here.
        map.insert(
            "phases".into(),
            json!({
                "zip": tenths(zipped),
                "upload": tenths(uploaded - zipped),
                "started": tenths(found - uploaded),
                "release": tenths(clock.elapsed() - found),
            }),
        );
    }
    Ok(result)
}

/// The live frontend release for `status`: version, when it was published, and the one before.
pub async fn frontend_status(aws: &Aws, stack: &str) -> Result<Value> {
    let name = Names::new(stack).frontend_release_parameter();
    match aws.ssm().get_parameter().name(&name).send().await {
        Ok(found) => {
            let value = found.parameter().and_then(|p| p.value()).unwrap_or("null");
            serde_json::from_str(value).with_context(|| format!("{name} is not JSON"))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(json!(
                "none yet: `vikunja-aws release frontend <dir or zip>`"
            ))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("read {name}"))),
    }
}

fn default_version(path: &Path) -> String {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".zip"))
        .filter(|stem| validate_version(stem).is_ok());
    match stem {
        Some(stem) => stem.to_string(),
        None => {
            // 2025-01-31T12:34:56Z → 20250131-123456: sortable, and unique per second.
            let digits: String = DateTime::from(SystemTime::now())
                .fmt(DateTimeFormat::DateTime)
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .take(14) // no fractions of a second
                .collect();
            format!(
                "{}-{}",
                &digits[..8.min(digits.len())],
                &digits[8.min(digits.len())..]
            )
        }
    }
}

/// The same rule the release function applies, checked before uploading anything.
pub fn validate_version(version: &str) -> Result<()> {
    let plain = version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if version.is_empty()
        || version.len() > 64
        || !plain
        || !version.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        bail!("release version {version:?}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    Ok(())
}

/// The zip to upload: the file itself, or a zip of the folder written to a temporary file
/// (removed when the returned guard is dropped).
fn zip_of(path: &Path) -> Result<(PathBuf, Option<TempZip>)> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("{} not found", path.display()))?;
    if metadata.is_file() {
        if path.extension().and_then(|e| e.to_str()) != Some("zip") {
            bail!(
                "{} is neither a folder nor a .zip of a frontend build",
                path.display()
            );
        }
        return Ok((path.to_path_buf(), None));
    }
    if !path.join("index.html").is_file() {
        bail!(
            "{} has no index.html: give the build's output folder (e.g. dist/)",
            path.display()
        );
    }
    let temp = TempZip(std::env::temp_dir().join(format!(
        "vikunja-frontend-{}-{}.zip",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    )));
    zip_folder(path, &temp.0)?;
    Ok((temp.0.clone(), Some(temp)))
}

/// Zips the folder's files (not the folder itself), relative paths with '/', in a stable order.
pub fn zip_folder(folder: &Path, out: &Path) -> Result<usize> {
    let mut files = Vec::new();
    collect_files(folder, folder, &mut files)?;
    files.sort();
    let file = std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?;
    let mut writer = zip::ZipWriter::new(std::io::BufWriter::new(file));
    // Level 1: on a 30 MB build (`make bench`) about three times as fast as level 6 for a
    // zip a fifth larger — zipping was the slowest part of a release from a fast link.
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, path) in &files {
        let options = if is_compressed_already(name) {
            stored
        } else {
            deflated
        };
        writer.start_file(name.as_str(), options)?;
        let mut source =
            std::fs::File::open(path).with_context(|| format!("read {}", path.display()))?;
        std::io::copy(&mut source, &mut writer)?;
    }
    writer.finish()?.flush()?;
    Ok(files.len())
}

/// Formats that are compressed themselves: deflating them again costs time and saves nothing.
fn is_compressed_already(name: &str) -> bool {
    const COMPRESSED: [&str; 12] = [
        "woff2", "woff", "png", "jpg", "jpeg", "gif", "webp", "avif", "gz", "br", "zip", "zst",
    ];
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| COMPRESSED.contains(&ext.to_ascii_lowercase().as_str()))
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, files)?;
        } else if path.is_file() {
            let relative = path.strip_prefix(root)?;
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .with_context(|| format!("{} is not a UTF-8 path", path.display()))?
                .join("/");
            files.push((name, path));
        }
    }
    Ok(())
}

struct TempZip(PathBuf);

impl Drop for TempZip {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Uploads the zip; returns its ETag (without quotes), which the release's event carries.
async fn upload(
    aws: &Aws,
    bucket: &str,
    key: &str,
    zip: &Path,
    keep_previous: Option<Duration>,
) -> Result<String> {
    let body = ByteStream::from_path(zip)
        .await
        .with_context(|| format!("read {}", zip.display()))?;
    let mut request = aws
        .s3()
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/zip")
        .body(body);
    if let Some(keep) = keep_previous {
        request = request.metadata(KEEP_PREVIOUS_METADATA, keep.as_secs().to_string());
    }
    let put = request
        .send()
        .await
        .with_context(|| format!("upload s3://{bucket}/{key}"))?;
    Ok(put
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string())
}

/// The execution the upload started: its input (the S3 event) names this key and ETag.
pub async fn find_execution(
    aws: &Aws,
    state_machine: &str,
    key: &str,
    etag: &str,
    uploaded_since: Option<std::time::SystemTime>,
) -> Result<String> {
    let found = follow::execution_started_by(
        aws,
        state_machine,
        EXECUTION_APPEARS_WITHIN,
        uploaded_since,
        |input| {
            let object = &input["detail"]["object"];
            object["key"] == key
                && object["etag"].as_str().map(|e| e.trim_matches('"')) == Some(etag)
        },
    )
    .await?;
    found.with_context(|| {
        format!(
            "no release started within {}s of the upload: is the bootstrap stack's EventBridge rule <stack>-frontend-upload there (run `vikunja-aws bootstrap`)?",
            EXECUTION_APPEARS_WITHIN.as_secs()
        )
    })
}

/// Follows the execution, printing each step as it ends, until `Publish` has run (the release
/// is live) or, with `to_the_end`, until the execution ends. Returns what the steps reported.
pub async fn follow_release(
    aws: &Aws,
    execution: &str,
    to_the_end: bool,
    output: Output,
) -> Result<Value> {
    let sfn = aws.sfn();
    let clock = Instant::now();
    let mut history = crate::follow::History::default();
    let mut state = Value::Null;
    let mut published = false;
    let mut waiting = crate::progress::Waiting::new(output);
    loop {
        // The status first, then the history: once the status says it ended, the history
        // read after it holds every step's output (the other order races the last step).
        let described = crate::follow::watching(aws, "describe the release", || {
            sfn.describe_execution().execution_arn(execution).send()
        })
        .await?;
        let new = history.read_new(aws, execution).await?;
        waiting.suspend(|| {
            for event in new {
                if event.r#type() != &HistoryEventType::TaskStateExited {
                    continue;
                }
                let Some(details) = event.state_exited_event_details() else {
                    continue;
                };
                if let Some(out) = details.output() {
                    state = serde_json::from_str(out).unwrap_or(Value::Null);
                }
                if output == Output::Text {
                    println!(
                        "  {:7.1}s  ✓ {}",
                        clock.elapsed().as_secs_f64(),
                        details.name()
                    );
                }
                published |= details.name() == "Publish";
            }
        });
        // Returning at `Publish`, the grace period after it is not this command's wait.
        let open: Vec<_> = crate::progress::waits(history.events())
            .into_iter()
            .filter(|r| to_the_end || r.wait != "KeepPrevious")
            .collect();
        waiting.show(&open);
        match described.status() {
            ExecutionStatus::Succeeded => {
                waiting.finish();
                return Ok(summary(&state, true));
            }
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {
                if published && !to_the_end {
                    waiting.finish();
                    return Ok(summary(&state, false));
                }
            }
            status => bail!(
                "frontend release {execution} ended {}: {}: {}",
                status.as_str(),
                described.error().unwrap_or("no error name"),
                described
                    .cause()
                    .map(follow::error_message)
                    .unwrap_or_else(|| "no cause given".into())
            ),
        }
        tokio::time::sleep(aws.poll_interval()).await;
    }
}

/// The result from the execution's state after `Publish` (and `Prune`, when it ran); for
/// an upload that was not released, why.
fn summary(state: &Value, pruned: bool) -> Value {
    let release = &state["release"];
    if let Some(skipped) = release.get("skipped").filter(|s| s.is_string()) {
        return json!({
            "version": release["version"],
            "releaseId": release["releaseId"],
            "skipped": skipped,
        });
    }
    let mut result = json!({
        "version": release["version"],
        "releaseId": release["releaseId"],
        "url": release["url"],
        "publishedAt": state["published"]["publishedAt"],
        "files": release["files"],
        "uploaded": release["uploaded"],
        "unchanged": release["unchanged"],
        "syncSeconds": release["syncSeconds"],
        "invalidationPaths": release["invalidationPaths"],
        "invalidationId": state["invalidation"]["id"],
        "pruneAt": state["published"]["pruneAt"],
    });
    if pruned {
        result["prunedFiles"] = state["pruned"]["deletedFiles"].clone();
        result["prunedReleases"] = state["pruned"]["prunedReleases"].clone();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_default_to_the_zip_name_or_the_time() {
        assert_eq!(
            default_version(Path::new("/x/vikunja-frontend-0.24.6.zip")),
            "vikunja-frontend-0.24.6"
        );
        let timed = default_version(Path::new("./dist"));
        assert_eq!(timed.len(), 15, "{timed}");
        assert!(validate_version(&timed).is_ok());
        assert!(validate_version("a b").is_err());
    }

    #[test]
    fn a_folder_is_zipped_with_relative_names() {
        let dir = std::env::temp_dir().join(format!("vikunja-zip-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html></html>").unwrap();
        std::fs::write(dir.join("assets/a-12345678.js"), "x").unwrap();
        let out = dir.with_extension("zip");
        assert_eq!(zip_folder(&dir, &out).unwrap(), 2);
        let archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        let names: Vec<_> = archive.file_names().collect();
        assert_eq!(names, ["assets/a-12345678.js", "index.html"]);
        std::fs::remove_dir_all(&dir).ok();
        std::fs::remove_file(&out).ok();
    }

    #[test]
    fn fonts_and_images_are_stored_and_code_is_deflated() {
        let dir = std::env::temp_dir().join(format!("vikunja-zip-kinds-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html></html>".repeat(100)).unwrap();
        std::fs::write(dir.join("assets/font-1234abcd.WOFF2"), [7u8; 500]).unwrap();
        let out = dir.with_extension("zip");
        zip_folder(&dir, &out).unwrap();
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        let method = |archive: &mut zip::ZipArchive<std::fs::File>, name: &str| {
            archive.by_name(name).unwrap().compression()
        };
        assert_eq!(
            method(&mut archive, "assets/font-1234abcd.WOFF2"),
            zip::CompressionMethod::Stored
        );
        assert_eq!(
            method(&mut archive, "index.html"),
            zip::CompressionMethod::Deflated
        );
        std::fs::remove_dir_all(&dir).ok();
        std::fs::remove_file(&out).ok();
    }
}
