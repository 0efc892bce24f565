//! The `BeforeAllowTraffic` hook when AWS misbehaves, on real releases: a third of its AWS
//! calls faulted (throttled, refused with a 5xx, or carried out and then answered 5xx — the
//! verdict CodeDeploy recorded, the hook never told), then the hook killed mid-test. Each
//! release must still succeed on its first run: the SDK's and the hook's own retries absorb
//! the faults, and Lambda's retry of the asynchronous invocation the crash.

use std::time::Instant;

use serde_json::{json, Value};
use vikunja_aws::{release_backend, Output};
use vikunja_tests::{faults, Harness};

const SEED: u64 = 20_261_202;

fn count(report: &Value, what: &str, kind: &str) -> i64 {
    report[what][kind].as_i64().unwrap_or(0)
}

async fn release(h: &Harness, stack: &str, tag: &str) -> (anyhow::Result<Value>, f64) {
    let started = Instant::now();
    let image = format!("vikunja/vikunja:{tag}");
    let released = release_backend::release(&h.aws, stack, &image, Output::Json).await;
    (released, started.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_succeed_when_the_hooks_calls_fail_and_when_the_hook_is_killed() {
    let _turn = faults::one_at_a_time().await;
    let h = Harness::new().await;
    let (stack, _) = h.provisioned("hookf").await;
    let hook = format!("{stack}-hook");

    faults::inject(&json!({
        "rate": 0.3,
        "seed": SEED,
        "kinds": {"throttle": 1, "error-before": 1, "error-after": 1},
        "functions": [hook],
    }))
    .await
    .unwrap();
    let (faulted, seconds) = release(&h, &stack, "2.5.1").await;
    let report = faults::stop().await.unwrap();
    let injected = count(&report, "injected", "total");
    eprintln!(
        "hook faulted ({injected} faults, {:?}): {seconds:.1}s",
        report["injected"]
    );
    let faulted = faulted.unwrap_or_else(|e| panic!("release under hook faults failed: {e:#}"));
    assert_eq!(faulted["status"], "Succeeded", "{faulted}");
    assert!(
        injected > 0,
        "the seed faulted none of the hook's calls: {report}"
    );

    faults::inject(&json!({"rate": 0, "crash": {"function": hook, "after_calls": 2, "times": 1}}))
        .await
        .unwrap();
    let (crashed, seconds) = release(&h, &stack, "2.5.2").await;
    let report = faults::stop().await.unwrap();
    eprintln!("hook killed after its 2nd call: {seconds:.1}s");
    assert_eq!(count(&report, "crashes", "total"), 1, "{report}");
    let crashed = crashed.unwrap_or_else(|e| panic!("release with a killed hook failed: {e:#}"));
    assert_eq!(crashed["status"], "Succeeded", "{crashed}");
    assert_eq!(crashed["tag"], "2.5.2");
}
