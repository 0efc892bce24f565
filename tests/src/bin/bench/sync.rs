//! The frontend publish against the common alternative: `aws s3 sync` of the same build
//! plus `aws cloudfront create-invalidation`, on the same endpoint, in the same run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use vikunja_tests::Harness;

/// The AWS CLI `make bench` installs in a venv of its own (its botocore pin must not move
/// the local stack's).
pub fn aws_cli(root: &Path) -> PathBuf {
    std::env::var("BENCH_AWS_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join(".local/bench-venv/bin/aws"))
}

fn run(cli: &Path, args: &[&str]) -> Result<()> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")?;
    let output = Command::new(cli)
        .args(args)
        .args(["--endpoint-url", &endpoint, "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_PAGER", "")
        .output()
        .with_context(|| format!("run {} (make bench installs it)", cli.display()))?;
    if !output.status.success() {
        bail!(
            "aws {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

pub async fn create_bucket(h: &Harness, bucket: &str) -> Result<()> {
    h.clients.s3.create_bucket().bucket(bucket).send().await?;
    Ok(())
}

/// Seconds for `aws s3 sync` of `build` into `bucket` (what it finds there with the same
/// size and a later time it skips, as it does), and for the invalidation.
pub fn aws_s3_sync(
    cli: &Path,
    bucket: &str,
    build: &Path,
    distribution: &str,
) -> Result<(f64, f64)> {
    let target = format!("s3://{bucket}/");
    let started = Instant::now();
    run(
        cli,
        &[
            "s3",
            "sync",
            &build.to_string_lossy(),
            &target,
            "--only-show-errors",
        ],
    )?;
    let synced = started.elapsed().as_secs_f64();
    let started = Instant::now();
    run(
        cli,
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            distribution,
            "--paths",
            "/*",
        ],
    )?;
    Ok((synced, started.elapsed().as_secs_f64()))
}
