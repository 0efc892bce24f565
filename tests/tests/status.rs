//! `vikunja-aws status` on the local stack: after a backend and a frontend release it says
//! healthy, with the live colour, both versions and both releases; after the live task
//! crashes (it stops answering and stays registered, as a hung container does) it names the
//! unhealthy target group and the command that shows more, and the CLI exits 1.

use std::time::Duration;

use serde_json::{json, Value};
use vikunja_aws::release_frontend::{self, FrontendRelease};
use vikunja_aws::status::{self, Report};
use vikunja_aws::{release_backend, Output};
use vikunja_tests::site::{build, scratch, write_build};
use vikunja_tests::{wait, Harness};

async fn report(h: &Harness, stack: &str) -> Report {
    status::judge(
        &status::observe(&h.aws, stack)
            .await
            .expect("status reads the stack"),
    )
}

fn tier<'a>(report: &'a Report, name: &str) -> &'a status::Verdict {
    report
        .tiers
        .iter()
        .find(|t| t.tier == name)
        .unwrap_or_else(|| panic!("no {name} verdict in {report:#?}"))
}

/// The CLI binary's exit code and stdout for `status` with the given arguments.
fn cli_status(h: &Harness, stack: &str, args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(h.binaries.join("vikunja-aws"))
        .arg("status")
        .args(args)
        .args(["--stack", stack])
        .output()
        .expect("the CLI runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn crash_stand_in(target: &str) -> (u16, Value) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/_vikunja_local/stand-ins/crash"))
        .json(&json!({ "target": target }))
        .send()
        .await
        .expect("the local stack answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_healthy_after_both_releases_and_names_a_crashed_live_target_and_what_to_run() {
    let h = Harness::new().await;
    let (stack, _) = h.provisioned("sta").await;

    // Before any frontend build the site bucket serves nothing: not healthy, and the hint
    // is the command that publishes one.
    let fresh = report(&h, &stack).await;
    let frontend = tier(&fresh, "frontend");
    assert!(!frontend.healthy, "{frontend:?}");
    assert!(
        frontend
            .hint
            .as_deref()
            .is_some_and(|hint| hint.contains("release frontend")),
        "{frontend:?}"
    );

    let backend = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.1", Output::Json)
        .await
        .expect("good backend release");
    assert_eq!(backend["status"], "Succeeded");
    let dist = scratch("status-dist");
    write_build(&build(1), &dist);
    let request = FrontendRelease {
        path: dist,
        version: Some("1.0.0".into()),
        keep_previous: Some(Duration::ZERO),
        wait_prune: true,
    };
    release_frontend::release(&h.aws, &stack, &request, Output::Json)
        .await
        .expect("frontend release");

    let healthy = report(&h, &stack).await;
    let text = status::render(&healthy);
    println!("{text}");
    assert!(healthy.healthy, "{text}");
    for verdict in &healthy.tiers {
        assert!(verdict.healthy && verdict.hint.is_none(), "{verdict:?}");
    }
    assert_eq!(healthy.backend_version.as_deref(), Some("2.5.1"));
    assert_eq!(healthy.frontend_version.as_deref(), Some("1.0.0"));
    let live_colour = healthy.live_colour.clone().expect("a live colour");
    // A release moves production to the colour that was idle: green after the first.
    assert_eq!(live_colour, "green");
    let live = healthy
        .target_groups
        .iter()
        .find(|g| g.live)
        .expect("a live group");
    assert_eq!(live.colour, live_colour);
    assert!(live.healthy >= 1, "{live:?}");
    assert_eq!(live.healthy, live.targets.len(), "{live:?}");
    assert_eq!(
        healthy.database.as_ref().map(|d| d.status.as_str()),
        Some("available")
    );
    let outcome = |workflow: &str| {
        healthy
            .releases
            .iter()
            .find(|r| r.workflow == workflow)
            .map(|r| (r.status.clone(), r.version.clone(), r.seconds.is_some()))
    };
    assert_eq!(
        outcome("backend"),
        Some(("SUCCEEDED".into(), "2.5.1".into(), true))
    );
    assert_eq!(
        outcome("frontend"),
        Some(("SUCCEEDED".into(), "1.0.0".into(), true))
    );
    assert!(healthy.alarms_in_alarm.is_empty(), "{healthy:?}");

    let (code, out) = cli_status(&h, &stack, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("✓") && !out.contains("✗"), "{out}");
    let (code, out) = cli_status(&h, &stack, &["--output", "json"]);
    assert_eq!(code, Some(0), "{out}");
    let json: Value = serde_json::from_str(&out).expect("status --output json is JSON");
    assert_eq!(json["healthy"], true, "{json}");
    assert_eq!(json["liveColour"], live_colour.as_str(), "{json}");

    // The same reading drawn: `diagram --live` (Graphviz may be missing here: the DOT is
    // what is checked).
    let drawings = scratch("status-diagram");
    let output = std::process::Command::new(h.binaries.join("vikunja-aws"))
        .args(["diagram", "--live", "--stack", &stack, "--out"])
        .arg(&drawings)
        .output()
        .expect("the CLI runs");
    assert!(output.status.success(), "{output:?}");
    let drawn = std::fs::read_to_string(drawings.join("live-stack.dot")).unwrap();
    for expected in [
        format!("label=\"{stack}: healthy\""),
        format!("{live_colour} target group (live)\\n1 of 1 targets healthy"),
        "1 of 1 tasks running\\nVikunja 2.5.1".to_string(),
        "\"prod\" -> \"green\" [label=\"forwards\", penwidth=2];".to_string(),
    ] {
        assert!(drawn.contains(&expected), "{expected}\nnot in\n{drawn}");
    }

    // The live task hangs: its target fails its health checks and stays registered.
    let target = live.targets[0].target.clone();
    assert_eq!(crash_stand_in(&target).await.0, 200);
    let crashed = report(&h, &stack).await;
    let text = status::render(&crashed);
    println!("{text}");
    assert!(!crashed.healthy, "{text}");
    let lb = tier(&crashed, "loadbalancer");
    assert!(!lb.healthy, "{lb:?}");
    assert!(lb.summary.contains(&live_colour), "{lb:?}");
    let hint = lb.hint.as_deref().expect("a hint");
    assert!(
        hint.contains("aws elbv2 describe-target-health") && hint.contains(&live.arn),
        "{hint}"
    );
    let group = crashed
        .target_groups
        .iter()
        .find(|g| g.live)
        .expect("the live group");
    let view = group
        .targets
        .iter()
        .find(|t| t.target == target)
        .expect("the crashed target stays registered");
    assert_eq!(view.state, "unhealthy");
    assert!(
        view.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("Target.Timeout")),
        "{view:?}"
    );
    // The tiers the crash does not touch still say so.
    for name in ["network", "data", "frontend", "delivery"] {
        assert!(tier(&crashed, name).healthy, "{:?}", tier(&crashed, name));
    }
    // ECS counts the hung task out at the local stack's next sync: the backend says so too.
    let counted_out = wait::until(
        Duration::from_secs(15),
        Duration::from_millis(250),
        "the service counts the crashed task out",
        async || {
            let now = report(&h, &stack).await;
            (!tier(&now, "backend").healthy).then_some(now)
        },
    )
    .await;
    let backend = tier(&counted_out, "backend");
    assert!(
        backend.summary.contains("0 of 1 tasks running"),
        "{backend:?}"
    );
    assert!(
        backend
            .hint
            .as_deref()
            .is_some_and(|hint| hint.starts_with("aws logs tail")),
        "{backend:?}"
    );
    let (code, out) = cli_status(&h, &stack, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✗") && out.contains("describe-target-health"),
        "{out}"
    );
}
