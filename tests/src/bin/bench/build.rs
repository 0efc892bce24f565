//! `BENCH_BUILD=1`: how long a newcomer's first `make up` compiles, and a change after it.
//! Cold is an empty build directory of its own (the user's cache is left alone); warm is
//! the same directory after an edit of the shared library, which every function links.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::cost::round;

/// The file every function and the CLI depend on: an edit there rebuilds them all.
const SHARED_LIBRARY: &str = "functions/core/src/lib.rs";

fn make(root: &Path, target_dir: &Path, goal: &str) -> Result<f64> {
    eprintln!("bench: make {goal} in {}", target_dir.display());
    let started = Instant::now();
    let status = Command::new("make")
        .arg("-C")
        .arg(root)
        .arg(goal)
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .with_context(|| format!("run make {goal}"))?;
    ensure!(status.success(), "make {goal} failed ({status})");
    Ok(started.elapsed().as_secs_f64())
}

/// Rewrites the file as it is: a new modification time, the same contents.
fn touch(path: &Path) -> Result<()> {
    let contents = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    std::fs::write(path, contents).with_context(|| format!("touch {}", path.display()))
}

/// Cold and warm times of `make build-local` and of `make build`'s release part (it runs
/// after build-local, whose debug builds it reuses).
pub fn timings(root: &Path, target_dir: &Path) -> Result<Value> {
    if target_dir.exists() {
        std::fs::remove_dir_all(target_dir)
            .with_context(|| format!("empty {}", target_dir.display()))?;
    }
    let cold_local = make(root, target_dir, "build-local")?;
    let cold_release = make(root, target_dir, "build")?;
    touch(&root.join(SHARED_LIBRARY))?;
    let warm_local = make(root, target_dir, "build-local")?;
    let warm_release = make(root, target_dir, "build")?;
    let size_gb = directory_bytes(target_dir) as f64 / 1e9;
    if std::env::var_os("BENCH_KEEP_BUILD").is_none() {
        let _ = std::fs::remove_dir_all(target_dir);
    }
    let timings = json!({
        "buildLocalColdSeconds": round(cold_local, 0),
        "buildReleaseColdSeconds": round(cold_release, 0),
        "buildLocalWarmSeconds": round(warm_local, 0),
        "buildReleaseWarmSeconds": round(warm_release, 0),
        "warmAfter": format!("an edit of {SHARED_LIBRARY}"),
        "targetDirGb": round(size_gb, 1),
    });
    println!(
        "\nbuilds (empty build directory, then after an edit of {SHARED_LIBRARY}):\n  make build-local: cold {cold_local:.0} s, warm {warm_local:.0} s\n  make build (release, after build-local): cold {cold_release:.0} s, warm {warm_release:.0} s\n  build directory: {size_gb:.1} GB"
    );
    Ok(timings)
}

fn directory_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => directory_bytes(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
