//! `make bench`: wall times of the workflows on a fresh local AWS stack, printed as a table.
//! Figures for the docs come from here, not from timed tests.

use std::time::Instant;

use serde_json::json;
use vikunja_aws::{release_backend, Output};
use vikunja_tests::Harness;

/// What the CLI does, packaging included (the harness keeps its packaging for later tests).
async fn bootstrap(h: &Harness, stack: &str) -> anyhow::Result<serde_json::Value> {
    let packaged = vikunja_aws::package::package(&h.root, &h.binaries)?;
    vikunja_aws::deploy::bootstrap(&h.aws, stack, &packaged, Output::Json).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("bench");
    let mut rows: Vec<(&str, f64)> = Vec::new();
    let mut time =
        |label: &'static str, started: Instant| rows.push((label, started.elapsed().as_secs_f64()));

    let t = Instant::now();
    bootstrap(&h, &stack).await?;
    time("bootstrap (package, upload, change set: create)", t);
    let t = Instant::now();
    bootstrap(&h, &stack).await?;
    time("bootstrap again (package, nothing changed)", t);
    let t = Instant::now();
    h.provision(&stack, json!({})).await?;
    time("provision, first run", t);
    let t = Instant::now();
    h.provision(&stack, json!({})).await?;
    time("provision, second run (converges)", t);
    let t = Instant::now();
    release_backend::release(&h.aws, &stack, "vikunja/vikunja:0.25.0", Output::Json).await?;
    time("backend release, push to Succeeded", t);
    let t = Instant::now();
    let failed = release_backend::release(
        &h.aws,
        &stack,
        "vikunja/vikunja:0.25.1-broken",
        Output::Json,
    )
    .await;
    anyhow::ensure!(failed.is_err(), "the broken release should fail");
    time("broken backend release, push to rolled back", t);

    println!(
        "\n{:<48} {:>9}",
        "local stack, stack ".to_string() + &stack,
        "seconds"
    );
    for (label, seconds) in rows {
        println!("{label:<48} {seconds:>9.2}");
    }
    Ok(())
}
