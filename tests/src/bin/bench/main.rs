//! `make bench`: one run on a fresh local AWS stack, printed as tables and written as JSON
//! (`BENCH_OUT`, default `$CARGO_TARGET_DIR/bench.json`) for the docs and for comparing two
//! commits. Figures for the docs come from here, not from timed tests.
//!
//! - per workflow: wall time, executions, state transitions, Lambda invocations and
//!   GB-seconds (the local Lambda host's REPORTs), and what that costs on AWS;
//! - the frontend publish against `aws s3 sync` + `aws cloudfront create-invalidation` of
//!   the same build on the same endpoint;
//! - per function: cold starts (spawn → first `next`), resident memory then and at the
//!   peak of the run's invocations, and the zip's size — of the binaries the run deploys
//!   (`VIKUNJA_BINARIES`: the debug builds unless pointed at `make build`'s);
//! - with `BENCH_BUILD=1`, the cold and warm times of `make build-local` and `make build`.

mod build;
mod cost;
mod functions;
mod readme;
mod sync;
mod workflows;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use vikunja_aws::down::{self, DownOptions};
use vikunja_aws::release_frontend::{self, FrontendRelease};
use vikunja_aws::{release_backend, Output};
use vikunja_core::outputs::FrontendOutputs;
use vikunja_core::tags::Tier;
use vikunja_tests::{site, Harness};

/// What the CLI does, packaging included (the harness keeps its packaging for later tests).
async fn bootstrap(h: &Harness, stack: &str) -> Result<vikunja_aws::package::Packaged> {
    let packaged = vikunja_aws::package::package(&h.root, &h.binaries, compression(h))?;
    vikunja_aws::deploy::bootstrap(&h.aws, stack, &packaged, Output::Json).await?;
    Ok(packaged)
}

/// About Vikunja's own frontend build (hundreds of files, tens of MB with its maps).
const BUILD_BYTES: usize = 30_000_000;

struct Bench {
    stack: String,
    runs: Vec<workflows::Run>,
}

impl Bench {
    async fn measure<F, T>(&mut self, h: &Harness, label: &'static str, run: F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let before = workflows::before(h, &self.stack).await?;
        let outcome = run.await.with_context(|| label.to_string())?;
        self.runs
            .push(workflows::after(h, &self.stack, label, before).await?);
        Ok(outcome)
    }
}

/// AWS's typical creation times on provision's path, scaled down by one factor: RDS MySQL
/// (db.t4g.micro, ~10 minutes) is the one step `up` waits on — the load balancer, the
/// distribution and the service settle after it returns — and the workflow's poll
/// interval (15 s on AWS) scales with it.
struct LatencyModel {
    rds_seconds: f64,
    poll_seconds: u64,
    scale: f64,
}

fn latency_model() -> LatencyModel {
    const AWS_RDS_SECONDS: f64 = 600.0;
    const AWS_POLL_SECONDS: f64 = 15.0;
    let rds_seconds = std::env::var("VIKUNJA_LOCAL_RDS_CREATE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let scale = AWS_RDS_SECONDS / rds_seconds;
    LatencyModel {
        rds_seconds,
        poll_seconds: (AWS_POLL_SECONDS / scale).round().max(1.0) as u64,
        scale,
    }
}

/// `bench readme <bench.json> <README.md>`: the README's section from a run's JSON.
fn render_readme(json: &str, readme: &str) -> Result<()> {
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(json).with_context(|| format!("read {json} (run make bench)"))?,
    )?;
    let text = std::fs::read_to_string(readme).with_context(|| format!("read {readme}"))?;
    let updated = readme::replace_section(&text, &readme::render(&document))?;
    std::fs::write(readme, updated)?;
    println!("{readme}: performance section rendered from {json}");
    Ok(())
}

/// Where `BENCH_BUILD=1` builds from nothing: beside the build cache, never in it.
fn build_directory() -> std::path::PathBuf {
    std::env::var_os("BENCH_BUILD_DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
            std::path::Path::new(&home).join(".cache/vikunja-aws/bench-build")
        })
}

/// Release binaries are zipped as `make build` zips them for AWS, so the zip column is what
/// AWS would be sent; the debug builds as the local stack's `bootstrap` zips them.
fn compression(h: &Harness) -> vikunja_aws::package::Compression {
    if is_release(&h.binaries) {
        vikunja_aws::package::Compression::Small
    } else {
        vikunja_aws::package::Compression::Fast
    }
}

fn is_release(binaries: &std::path::Path) -> bool {
    binaries.display().to_string().contains("/lambda")
}

/// Which build the run deployed: a figure of a debug build is not one of a release build.
fn binaries_label(binaries: &std::path::Path) -> String {
    let path = binaries.display().to_string();
    if is_release(binaries) {
        format!("release, make build ({path}), zipped at deflate level 6 as for AWS")
    } else if path.ends_with("/debug") {
        "debug, make build-local, zipped at deflate level 1 as for the local stack".into()
    } else {
        path
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, json, readme] = args.as_slice() {
        anyhow::ensure!(
            command == "readme",
            "usage: bench [readme <bench.json> <README.md>]"
        );
        return render_readme(json, readme);
    }
    let h = Harness::new().await;
    let builds = match std::env::var("BENCH_BUILD").ok().filter(|v| v == "1") {
        Some(_) => Some(build::timings(&h.root, &build_directory())?),
        None => None,
    };
    let stack = Harness::unique_stack("bench");
    let mut bench = Bench {
        stack: stack.clone(),
        runs: vec![],
    };

    let packaged = bench
        .measure(
            &h,
            "bootstrap (package, upload, change set)",
            bootstrap(&h, &stack),
        )
        .await?;
    bench
        .measure(
            &h,
            "bootstrap again (nothing changed)",
            bootstrap(&h, &stack),
        )
        .await?;
    // The local stack's RDS takes `VIKUNJA_LOCAL_RDS_CREATE_SECONDS` to create (make bench:
    // AWS's ~10 minutes scaled down with the polling): the one wait on provision's path.
    let modelled = latency_model();
    let settings = json!({"pollSeconds": modelled.poll_seconds});
    bench
        .measure(
            &h,
            "provision, first run",
            h.provision(&stack, settings.clone()),
        )
        .await?;
    let first_provision = bench.runs.last().map(|r| r.seconds).unwrap_or_default();
    // Where the time beside the database's creation goes: the provision execution's states.
    let provision_execution = bench
        .runs
        .last()
        .and_then(|r| r.executions.first().cloned())
        .unwrap_or_default();
    let (provision_states, provision_execution_seconds) =
        workflows::state_seconds(&h, &provision_execution).await?;
    bench
        .measure(
            &h,
            "provision, re-run (converges)",
            h.provision(&stack, settings),
        )
        .await?;
    let release = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.1", Output::Json);
    bench
        .measure(&h, "backend release, push to live", release)
        .await?;
    let broken = async {
        let failed =
            release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.2-broken", Output::Json)
                .await;
        anyhow::ensure!(failed.is_err(), "the broken release should fail");
        Ok(())
    };
    bench
        .measure(&h, "broken backend release, rolled back", broken)
        .await?;

    // Two releases, as two CI builds make them: each build a fresh folder (new files, new
    // times), the second changing a third of the chunks.
    let first = site::large(1, BUILD_BYTES);
    let second = site::large(2, BUILD_BYTES);
    let build_bytes: usize = first.iter().map(|f| f.content.len()).sum();
    let folders = [site::scratch("bench-1"), site::scratch("bench-2")];
    site::write_build(&first, &folders[0]);
    let mut ours = Vec::new();
    for (n, folder) in folders.iter().enumerate() {
        if n == 1 {
            site::write_build(&second, folder);
        }
        let request = FrontendRelease {
            path: folder.clone(),
            version: Some(format!("bench-{}", n + 1)),
            keep_previous: Some(Duration::from_secs(1)),
            wait_prune: false,
        };
        let publish = release_frontend::release(&h.aws, &stack, &request, Output::Json);
        let label = if n == 0 {
            "frontend release (upload to live)"
        } else {
            "frontend release, next build (a third changed)"
        };
        let published = bench.measure(&h, label, publish).await?;
        let seconds = bench.runs.last().map(|r| r.seconds).unwrap_or_default();
        let execution = published["execution"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (states, in_workflow) = workflows::state_seconds(&h, &execution).await?;
        let phases = published["phases"].clone();
        ours.push((
            seconds,
            in_workflow,
            states,
            published["uploaded"].clone(),
            phases,
        ));
    }

    let frontend: FrontendOutputs =
        vikunja_core::inventory::read(&h.aws.ssm(), &stack, Tier::Frontend)
            .await?
            .context("no frontend outputs after provision")?;
    let cli = sync::aws_cli(&h.root);
    let bucket = format!("{stack}-sync-bench");
    sync::create_bucket(&h, &bucket).await?;
    let mut theirs = Vec::new();
    // Each build written just before its sync, as a CI job writes it: `aws s3 sync` skips
    // a file of the same size whose copy in the bucket is newer than it.
    for (n, build) in [&first, &second].into_iter().enumerate() {
        let folder = site::scratch(&format!("bench-aws-{}", n + 1));
        site::write_build(build, &folder);
        let distribution = &frontend.distribution_id;
        theirs.push(sync::aws_s3_sync(&cli, &bucket, &folder, distribution)?);
    }
    let publishes: Vec<Value> = ours
        .iter()
        .zip(&theirs)
        .enumerate()
        .map(|(n, ((seconds, in_workflow, states, uploaded, phases), (synced, invalidated)))| {
            json!({
                "release": n + 1,
                "frontendReleaseSeconds": cost::round(*seconds, 2),
                "filesWritten": uploaded,
                "executionSeconds": cost::round(*in_workflow, 2),
                "phases": phases,
                "states": states.iter().map(|(n, s)| json!({"state": n, "seconds": cost::round(*s, 2)})).collect::<Vec<_>>(),
                "awsS3SyncSeconds": cost::round(*synced, 2),
                "awsInvalidationSeconds": cost::round(*invalidated, 2),
                "ratio": cost::round((synced + invalidated) / seconds, 2),
            })
        })
        .collect();
    let sync = json!({
        "files": first.len(),
        "megabytes": cost::round(build_bytes as f64 / 1e6, 1),
        "releases": publishes,
    });

    let cold = cold_starts(&h, &stack, &packaged).await?;

    let teardown = async {
        let options = DownOptions {
            delete_data: true,
            skip_final_snapshot: true,
            // Its executions are counted from the state machines the bootstrap holds.
            keep_bootstrap: true,
            ..DownOptions::default()
        };
        let report = down::down(&h.aws, &stack, &options, Output::Json, &mut |_| Ok(true)).await?;
        anyhow::ensure!(report.complete, "down did not finish");
        Ok(())
    };
    bench
        .measure(&h, "teardown (down, bootstrap kept)", teardown)
        .await?;

    let mut peaks: BTreeMap<String, u64> = BTreeMap::new();
    for run in &bench.runs {
        for (function, mb) in &run.usage.peak_memory_mb {
            let short = function
                .trim_start_matches(&format!("{stack}-"))
                .to_string();
            let peak = peaks.entry(short).or_default();
            *peak = (*peak).max(*mb);
        }
    }

    print_workflows(&stack, &bench.runs);
    print_sync(&sync);
    let functions = print_functions(&h, &packaged, &cold, &peaks);
    let critical = json!({
        "rdsCreateSeconds": modelled.rds_seconds,
        "pollSeconds": modelled.poll_seconds,
        "scale": modelled.scale,
        "provisionSeconds": cost::round(first_provision, 2),
        "overhead": cost::round(first_provision / modelled.rds_seconds - 1.0, 3),
        "executionSeconds": cost::round(provision_execution_seconds, 2),
        "states": provision_states.iter().map(|(n, s)| json!({"state": n, "seconds": cost::round(*s, 2)})).collect::<Vec<_>>(),
    });
    println!(
        "\nprovision against its critical path: RDS creation modelled at {} s (AWS's ~600 s / {}), polled every {} s: first run {:.1} s, orchestration overhead {:.0} %",
        modelled.rds_seconds,
        modelled.scale,
        modelled.poll_seconds,
        first_provision,
        (first_provision / modelled.rds_seconds - 1.0) * 100.0
    );
    let states: Vec<String> = provision_states
        .iter()
        .map(|(n, s)| format!("{n} {s:.2}"))
        .collect();
    println!(
        "  the execution {provision_execution_seconds:.2} s of it; seconds per state (a loop's summed, branches overlap): {}",
        states.join(", ")
    );

    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/bench.json")
    });
    let today = vikunja_core::time::compact_utc(vikunja_core::time::now_seconds());
    let document = json!({
        "measured": format!("{}-{}-{}", &today[0..4], &today[4..6], &today[6..8]),
        "machine": machine(),
        // What else ran meanwhile, as the one who ran it says (`BENCH_NOTE`).
        "note": std::env::var("BENCH_NOTE").ok().filter(|n| !n.is_empty()),
        "binaries": binaries_label(&h.binaries),
        "prices": cost::prices_note(),
        "workflows": bench.runs.iter().map(workflows::Run::json).collect::<Vec<_>>(),
        "frontendPublish": sync,
        "criticalPath": critical,
        "functions": functions,
        "builds": builds,
    });
    std::fs::write(&out, serde_json::to_string_pretty(&document)?)
        .with_context(|| format!("write {out}"))?;
    println!("\nwritten: {out}");
    Ok(())
}

/// The function's own environment (as deployed) for its cold starts, credentials and
/// endpoint as the local stack's Lambda host gives them.
async fn cold_starts(
    h: &Harness,
    stack: &str,
    packaged: &vikunja_aws::package::Packaged,
) -> Result<BTreeMap<String, functions::ColdStarts>> {
    let mut all = BTreeMap::new();
    for function in &packaged.functions {
        let name = format!("{stack}-{}", function.name);
        let configuration = h
            .clients
            .lambda
            .get_function_configuration()
            .function_name(&name)
            .send()
            .await
            .with_context(|| format!("read the configuration of {name}"))?;
        let mut environment: Vec<(String, String)> = configuration
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let memory = configuration.memory_size().unwrap_or(128).to_string();
        for (key, value) in [
            ("AWS_LAMBDA_FUNCTION_NAME", name.as_str()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory.as_str()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ] {
            environment.push((key.into(), value.into()));
        }
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            environment.push(("AWS_ENDPOINT_URL".into(), endpoint));
        }
        let binary = h.binaries.join(&function.name);
        let binary = if binary.join("bootstrap").is_file() {
            binary.join("bootstrap")
        } else {
            binary
        };
        let started = Instant::now();
        let starts =
            tokio::task::spawn_blocking(move || functions::cold_starts(&binary, &environment))
                .await??;
        eprintln!(
            "{}: {} cold starts in {:.1}s",
            function.name,
            starts.init_ms.len(),
            started.elapsed().as_secs_f64()
        );
        all.insert(function.name.clone(), starts);
    }
    Ok(all)
}

fn print_workflows(stack: &str, runs: &[workflows::Run]) {
    println!(
        "\nworkflows on the local stack (stack {stack}); cost at {}",
        cost::prices_note()
    );
    println!(
        "{:<42} {:>8} {:>6} {:>11} {:>8} {:>8} {:>10}",
        "run", "seconds", "execs", "transitions", "lambdas", "GB-s", "dollars"
    );
    for run in runs {
        let u = &run.usage;
        println!(
            "{:<42} {:>8.2} {:>6} {:>11} {:>8} {:>8.3} {:>10.6}",
            run.label,
            run.seconds,
            u.executions,
            u.transitions,
            u.invocations,
            u.gb_seconds,
            u.dollars()
        );
    }
}

fn print_sync(sync: &Value) {
    println!(
        "\nfrontend publish of two builds ({} files, {} MB each; the second changes a third), same endpoint",
        sync["files"], sync["megabytes"]
    );
    for release in sync["releases"].as_array().into_iter().flatten() {
        let states: Vec<String> = release["states"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "{} {}",
                    s["state"].as_str().unwrap_or_default(),
                    s["seconds"]
                )
            })
            .collect();
        println!(
            "release {}: vikunja-aws release frontend {} s ({} files written; phases {}; execution {} s: {})",
            release["release"],
            release["frontendReleaseSeconds"],
            release["filesWritten"],
            release["phases"],
            release["executionSeconds"],
            states.join(", ")
        );
        println!(
            "           aws s3 sync {} s + aws cloudfront create-invalidation {} s: {}x the release's time",
            release["awsS3SyncSeconds"], release["awsInvalidationSeconds"], release["ratio"]
        );
    }
}

fn print_functions(
    h: &Harness,
    packaged: &vikunja_aws::package::Packaged,
    cold: &BTreeMap<String, functions::ColdStarts>,
    peaks: &BTreeMap<String, u64>,
) -> Vec<Value> {
    println!(
        "\nfunctions ({}): {} cold starts each",
        h.binaries.display(),
        functions::COLD_STARTS
    );
    println!(
        "{:<18} {:>10} {:>10} {:>12} {:>14} {:>9}",
        "function", "init med", "init max", "RSS at init", "peak in run", "zip MB"
    );
    let mut rows = Vec::new();
    for function in &packaged.functions {
        let Some(starts) = cold.get(&function.name) else {
            continue;
        };
        let zip_mb = function.zip.len() as f64 / 1e6;
        let peak = peaks.get(&function.name).copied();
        println!(
            "{:<18} {:>8.1}ms {:>8.1}ms {:>10.1}MB {:>14} {:>9.1}",
            function.name,
            starts.median_ms(),
            starts.max_ms(),
            starts.max_rss_mb(),
            peak.map_or("not invoked".into(), |mb| format!("{mb} MB")),
            zip_mb
        );
        rows.push(json!({
            "function": function.name,
            "initMedianMs": cost::round(starts.median_ms(), 1),
            "initMaxMs": cost::round(starts.max_ms(), 1),
            "rssAtInitMb": cost::round(starts.max_rss_mb(), 1),
            "peakMemoryInRunMb": peak,
            "zipMb": cost::round(zip_mb, 2),
        }));
    }
    rows
}
