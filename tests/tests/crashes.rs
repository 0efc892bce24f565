//! Crash-after-each-call: for a provisioning step, the function is killed after its 1st AWS
//! call, then — on a fresh stack — after its 2nd, and so on until a run makes fewer calls
//! than the crash point. Each time the call took effect and the function never saw the
//! answer (what an out-of-memory kill or a timeout does). The state machine runs the
//! crashed step again (its `Retry` of `Lambda.Unknown`, `Runtime.ExitError`,
//! `Sandbox.Timedout`), and the one `up` must converge on exactly what an uncrashed `up`
//! leaves: the same census of the stack's resources, by kind — nothing duplicated, nothing
//! half-made.
//!
//! Teardown likewise: its function serves every tier (`{"action": "<tier>"}`), so the crash
//! rule names the tier; after each crash point `down` must finish on its first run and leave
//! nothing tagged with the stack.
//!
//! A soak (`make test-crashes`, `CRASH_STEPS=network,data,…`, `TEARDOWN_CRASH_STEPS=…`): each
//! crash point is a bootstrap and a provision (and a teardown). The `domain` step and tier are
//! crashed on stacks with an own domain (a hosted zone each), the others on default settings.

use serde_json::{json, Value};
use vikunja_aws::down::{self, DownOptions};
use vikunja_aws::Output;
use vikunja_tests::census::{kinds, tagged};
use vikunja_tests::{faults, Harness};

const DEFAULT_STEPS: &str = "loadbalancer,data,delivery";
const DEFAULT_TEARDOWN_STEPS: &str = "backend,loadbalancer,network";

fn steps() -> Vec<String> {
    listed("CRASH_STEPS", DEFAULT_STEPS)
}

fn listed(variable: &str, default: &str) -> Vec<String> {
    let steps = std::env::var(variable).unwrap_or_else(|_| default.into());
    steps
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What `up` is given for a crash of `step`: the domain step makes calls only for a stack
/// with its own domain (a zone of its own each time).
async fn settings_for(h: &Harness, stack: &str, step: &str) -> Value {
    if step == "domain" {
        h.own_domain(stack).await
    } else {
        json!({})
    }
}

fn crashed(report: &Value) -> i64 {
    report["crashes"]["total"].as_i64().unwrap_or(0)
}

async fn remove(h: &Harness, stack: &str) {
    let options = DownOptions {
        delete_data: true,
        skip_final_snapshot: true,
        ..DownOptions::default()
    };
    let report = down::down(&h.aws, stack, &options, Output::Json, &mut |_| Ok(true)).await;
    assert!(report.is_ok_and(|r| r.complete), "down {stack}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the crash soak: make test-crashes"]
async fn every_provisioning_step_killed_after_each_of_its_calls_converges() {
    let _turn = faults::one_at_a_time().await;
    let h = Harness::new().await.one_bootstrap_at_a_time();
    let mut summary = Vec::new();
    for step in steps() {
        // What an uncrashed `up` with the same kind of settings leaves.
        let reference = Harness::unique_stack("cref");
        h.bootstrap(&reference).await.unwrap();
        let settings = settings_for(&h, &reference, &step).await;
        h.provision(&reference, settings).await.unwrap();
        let expected = kinds(&tagged(&h, &reference).await);
        remove(&h, &reference).await;
        let mut points = 0;
        for after_calls in 1.. {
            let stack = Harness::unique_stack("crash");
            h.bootstrap(&stack).await.unwrap();
            let settings = settings_for(&h, &stack, &step).await;
            let rule = json!({"function": format!("{stack}-{step}"), "after_calls": after_calls, "times": 1});
            faults::inject(&json!({"rate": 0, "crash": rule}))
                .await
                .unwrap();
            let first = h.provision(&stack, settings).await;
            let report = faults::stop().await.unwrap();
            let where_ = format!("{step} killed after call {after_calls}");
            if crashed(&report) == 0 {
                // The step made fewer calls than this: every point has been tried.
                first.unwrap_or_else(|e| panic!("up without a crash failed ({where_}): {e:#}"));
                remove(&h, &stack).await;
                break;
            }
            points += 1;
            first.unwrap_or_else(|e| {
                panic!("{where_}: the workflow did not run the crashed step again: {e:#}")
            });
            let left = kinds(&tagged(&h, &stack).await);
            assert_eq!(
                left, expected,
                "{where_}: the stack differs from an uncrashed up's"
            );
            remove(&h, &stack).await;
        }
        assert!(
            points > 0,
            "no crash point of {step} was reached: is it a step of provision?"
        );
        eprintln!("{step}: {points} crash points, each converged on the first up");
        summary.push(format!("{step}: {points} crash points"));
    }
    eprintln!("crash points tried and converged: {}", summary.join("; "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the crash soak: make test-crashes"]
async fn every_teardown_step_killed_after_each_of_its_calls_still_leaves_nothing() {
    let _turn = faults::one_at_a_time().await;
    let h = Harness::new().await.one_bootstrap_at_a_time();
    let mut summary = Vec::new();
    for tier in listed("TEARDOWN_CRASH_STEPS", DEFAULT_TEARDOWN_STEPS) {
        let mut points = 0;
        for after_calls in 1.. {
            let stack = Harness::unique_stack("tcrash");
            h.bootstrap(&stack).await.unwrap();
            let settings = settings_for(&h, &stack, &tier).await;
            h.provision(&stack, settings).await.unwrap();
            let rule = json!({
                "function": format!("{stack}-teardown"),
                "after_calls": after_calls,
                "when": {"action": tier},
            });
            faults::inject(&json!({"rate": 0, "crash": rule}))
                .await
                .unwrap();
            let options = DownOptions {
                delete_data: true,
                skip_final_snapshot: true,
                ..DownOptions::default()
            };
            let report =
                down::down(&h.aws, &stack, &options, Output::Json, &mut |_| Ok(true)).await;
            let crashes = crashed(&faults::stop().await.unwrap());
            let where_ = format!("teardown of {tier} killed after call {after_calls}");
            let report = report.unwrap_or_else(|e| panic!("{where_}: down failed: {e:#}"));
            assert!(
                report.complete,
                "{where_}: down did not finish: {:?}",
                vikunja_tests::failures(&report)
            );
            let left = tagged(&h, &stack).await;
            assert!(left.is_empty(), "{where_}: down left {left:#?}");
            if crashes == 0 {
                break; // the tier made fewer calls than this: every point has been tried
            }
            points += 1;
        }
        assert!(
            points > 0,
            "no crash point of {tier}'s teardown was reached"
        );
        eprintln!("teardown of {tier}: {points} crash points, each converged");
        summary.push(format!("{tier}: {points} crash points"));
    }
    eprintln!(
        "teardown crash points tried and converged: {}",
        summary.join("; ")
    );
}
