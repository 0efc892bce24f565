//! Upgrading Vikunja on the local stack: a stack provisioned with 0.24.x is released to
//! 2.5.0. A release that changes the major or minor version snapshots the database first
//! and waits for the snapshot (the local stack's snapshots are `creating` for a few
//! seconds); the last three release snapshots are kept; a broken upgrade rolls back with
//! the data intact; a downgrade is refused before anything changes.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_rds::types::Tag;
use aws_sdk_sfn::types::HistoryEventType;
use serde_json::{json, Value};
use vikunja_aws::{release_backend, Output};
use vikunja_core::image::ImageRef;
use vikunja_core::Names;
use vikunja_tests::release::{
    deployments, download, finished_execution, upload, version_at, watch_production,
};
use vikunja_tests::Harness;

/// The stack's manual snapshots: id → (status, tags).
async fn snapshots(h: &Harness, stack: &str) -> Vec<(String, String, Vec<(String, String)>)> {
    let listed = h
        .clients
        .rds
        .describe_db_snapshots()
        .db_instance_identifier(Names::new(stack).db_instance())
        .snapshot_type("manual")
        .send()
        .await
        .unwrap();
    let mut found: Vec<_> = listed
        .db_snapshots()
        .iter()
        .map(|s| {
            let tags = s
                .tag_list()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            (
                s.db_snapshot_identifier().unwrap_or_default().to_string(),
                s.status().unwrap_or_default().to_string(),
                tags,
            )
        })
        .collect();
    found.sort();
    found
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A manual snapshot made by the test, as if an earlier release (or the operator) took it.
async fn snapshot_by_hand(h: &Harness, stack: &str, id: &str, release: bool) {
    let mut tags = vec![("vikunja:stack", stack.to_string())];
    if release {
        tags.push(("vikunja:snapshot", "before-upgrade".into()));
    }
    h.clients
        .rds
        .create_db_snapshot()
        .db_instance_identifier(Names::new(stack).db_instance())
        .db_snapshot_identifier(id)
        .set_tags(Some(
            tags.into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .unwrap();
}

/// The release execution whose input names `digest`: (status, history of state entries as
/// (state, seconds since the execution started)).
async fn execution(h: &Harness, stack: &str, digest: &str) -> (String, Value, Vec<(String, f64)>) {
    let sfn = &h.clients.sfn;
    let execution = finished_execution(h, stack, digest, Duration::from_secs(60)).await;
    let history = sfn
        .get_execution_history()
        .execution_arn(execution.execution_arn())
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let start = execution.start_date().as_secs_f64();
    let entered = history
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e.r#type(),
                HistoryEventType::TaskStateEntered
                    | HistoryEventType::WaitStateEntered
                    | HistoryEventType::ChoiceStateEntered
                    | HistoryEventType::FailStateEntered
            )
        })
        .filter_map(|e| {
            let name = e.state_entered_event_details()?.name().to_string();
            Some((name, e.timestamp().as_secs_f64() - start))
        })
        .collect();
    let outcome = match execution.status().as_str() {
        "SUCCEEDED" => serde_json::from_str(execution.output().unwrap_or("{}")).unwrap(),
        _ => json!({"error": execution.error(), "cause": execution.cause()}),
    };
    (execution.status().as_str().to_string(), outcome, entered)
}

fn entered_at(history: &[(String, f64)], state: &str) -> Vec<f64> {
    history
        .iter()
        .filter(|(name, _)| name == state)
        .map(|(_, at)| *at)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_from_0_24_snapshots_first_and_a_downgrade_is_refused() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("upg").await;
    h.provision(&stack, json!({"image": "vikunja/vikunja:0.24.6"}))
        .await
        .expect("provision with 0.24.6");
    let production = h.listener_address(&stack, 80).await.unwrap();
    assert_eq!(
        version_at(&production).await,
        Ok((200, "0.24.6".to_string()))
    );
    let attachment = b"the list of things to migrate".to_vec();
    let uploaded = upload(&production, "todo.txt", &attachment).await;

    // Three release snapshots of earlier upgrades, and one the operator took by hand.
    let db = Names::new(&stack).db_instance();
    let older: Vec<String> = (1..=3)
        .map(|i| format!("{db}-release-20200101-00000{i}"))
        .collect();
    for id in &older {
        snapshot_by_hand(&h, &stack, id, true).await;
    }
    let by_hand = format!("{db}-before-my-experiment");
    snapshot_by_hand(&h, &stack, &by_hand, false).await;

    // A broken upgrade: snapshot first, then the hook fails and CodeDeploy rolls back;
    // production serves 0.24.6 throughout and the attachment is still there.
    let (stop, seen, watcher) = watch_production(production.clone());
    let failed =
        release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.0-broken", Output::Json)
            .await
            .unwrap_err();
    stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    let message = format!("{failed:#}");
    assert!(
        message.contains("DeploymentFailed") && message.contains("2.5.0-broken"),
        "{message}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 10, "production was probed throughout");
    assert!(
        seen.iter()
            .all(|answer| answer == &Ok((200, "0.24.6".to_string()))),
        "production only ever served 0.24.6: {seen:?}"
    );
    assert_eq!(
        download(&production, uploaded).await,
        (200, attachment.clone()),
        "the attachment survives the rolled-back upgrade"
    );
    let after_broken = snapshots(&h, &stack).await;
    let broken_snapshot = after_broken
        .iter()
        .find(|(_, _, tags)| tag(tags, "vikunja:to-version") == Some("2.5.0-broken"))
        .unwrap_or_else(|| panic!("no snapshot before the broken upgrade: {after_broken:?}"));
    assert_eq!(broken_snapshot.1, "available");

    // The upgrade: a snapshot, available before the deployment is created; the release
    // succeeds, production reports 2.5.0 as Vikunja 2.x does, the attachment is readable.
    let started = Instant::now();
    let released = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.0", Output::Json)
        .await
        .expect("the upgrade to 2.5.0");
    let took = started.elapsed().as_secs_f64();
    assert_eq!(released["status"], "Succeeded", "{released}");
    assert_eq!(released["liveTag"], "0.24.6", "{released}");
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.0".to_string()))
    );
    assert_eq!(
        download(&production, uploaded).await,
        (200, attachment.clone()),
        "the attachment survives the upgrade"
    );
    let snapshot_id = released["snapshot"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the release took no snapshot: {released}"))
        .to_string();
    assert!(
        snapshot_id.starts_with(&format!("{db}-release-")),
        "{snapshot_id}"
    );
    let found = h
        .clients
        .rds
        .describe_db_snapshots()
        .db_snapshot_identifier(&snapshot_id)
        .send()
        .await
        .unwrap();
    let snapshot = &found.db_snapshots()[0];
    assert_eq!(snapshot.status(), Some("available"));
    assert_eq!(snapshot.db_instance_identifier(), Some(db.as_str()));
    let tags: Vec<(String, String)> = snapshot
        .tag_list()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    assert_eq!(
        tag(&tags, "vikunja:stack"),
        Some(stack.as_str()),
        "{tags:?}"
    );
    assert_eq!(tag(&tags, "vikunja:snapshot"), Some("before-upgrade"));
    assert_eq!(tag(&tags, "vikunja:from-version"), Some("0.24.6"));
    assert_eq!(tag(&tags, "vikunja:to-version"), Some("2.5.0"));
    let deployment_id = released["deploymentId"].as_str().unwrap();
    let deployment = h
        .clients
        .codedeploy
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .unwrap();
    let deployed_at = deployment
        .deployment_info()
        .and_then(|d| d.create_time())
        .unwrap()
        .as_secs_f64();
    let snapshot_at = snapshot.snapshot_create_time().unwrap().as_secs_f64();
    assert!(
        snapshot_at <= deployed_at,
        "the snapshot ({snapshot_at}) comes before the deployment ({deployed_at})"
    );
    // The workflow waited for it: the deployment step starts only after the snapshot's
    // wait loop has seen it available.
    let digest = released["digest"].as_str().unwrap();
    let (status, _, history) = execution(&h, &stack, digest).await;
    assert_eq!(status, "SUCCEEDED");
    let waits = entered_at(&history, "WaitForSnapshot");
    let snapshot_taken = entered_at(&history, "SnapshotDatabase");
    let register = entered_at(&history, "RegisterTaskDefinition");
    let deploy = entered_at(&history, "Deploy");
    assert!(
        !waits.is_empty() && snapshot_taken.len() == 1 && register.len() == 1,
        "{history:?}"
    );
    assert!(
        snapshot_taken[0] < waits[0]
            && waits[waits.len() - 1] < register[0]
            && register[0] < deploy[0],
        "snapshot, its wait, then the deployment: {history:?}"
    );
    println!(
        "upgrade 0.24.6 -> 2.5.0 end to end: {took:.1}s; snapshot wait loop: {} polls, {:.1}s from CreateDBSnapshot to the deployment step; snapshot created {:.1}s before the deployment",
        waits.len(),
        register[0] - snapshot_taken[0],
        deployed_at - snapshot_at
    );

    // The last three release snapshots stay (two from before, the broken upgrade's, this
    // one: the oldest two of the five went); the operator's own snapshot is not touched.
    let now = snapshots(&h, &stack).await;
    let release_ids: Vec<&str> = now
        .iter()
        .filter(|(_, _, tags)| tag(tags, "vikunja:snapshot") == Some("before-upgrade"))
        .map(|(id, _, _)| id.as_str())
        .collect();
    let mut expected = vec![
        older[2].as_str(),
        broken_snapshot.0.as_str(),
        snapshot_id.as_str(),
    ];
    expected.sort();
    assert_eq!(release_ids, expected, "{now:?}");
    assert!(now.iter().any(|(id, _, _)| id == &by_hand), "{now:?}");
    assert_eq!(
        released["snapshot"]["pruned"],
        json!([older[1]]),
        "this release deleted the then oldest one: {released}"
    );

    // A patch release in the same series takes no snapshot.
    let patch = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.1", Output::Json)
        .await
        .expect("a patch release");
    assert_eq!(patch["status"], "Succeeded");
    assert!(patch.get("snapshot").is_none(), "{patch}");
    assert_eq!(
        snapshots(&h, &stack).await,
        now,
        "no snapshot for a patch release"
    );

    // A downgrade through the CLI: refused before the push, nothing changes.
    let before_deployments = deployments(&h, &stack).await;
    let before_snapshots = snapshots(&h, &stack).await;
    let refused = release_backend::release(&h.aws, &stack, "vikunja/vikunja:0.24.7", Output::Json)
        .await
        .unwrap_err();
    let refused = format!("{refused:#}");
    for needle in [
        "downgrade Vikunja from 2.5.1 to 0.24",
        "forward only",
        "Nothing was changed",
        "restore",
    ] {
        assert!(refused.contains(needle), "{needle}: {refused}");
    }
    let tagged = h
        .clients
        .ecr
        .describe_images()
        .repository_name(format!("{stack}/vikunja"))
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("0.24.7")
                .build(),
        )
        .send()
        .await;
    assert!(
        tagged.is_err() || tagged.unwrap().image_details().is_empty(),
        "the refused downgrade was not pushed"
    );

    // A downgrade pushed without the CLI (docker push): the workflow refuses it before
    // anything changes.
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1024,
                   "digest": format!("sha256:{}", "d".repeat(64))},
        "layers": []
    })
    .to_string();
    let pushed = h
        .clients
        .ecr
        .put_image()
        .repository_name(format!("{stack}/vikunja"))
        .image_manifest(&manifest)
        .image_tag("0.24.8")
        .send()
        .await
        .unwrap();
    let digest = pushed
        .image()
        .unwrap()
        .image_id()
        .unwrap()
        .image_digest()
        .unwrap()
        .to_string();
    let (status, outcome, history) = execution(&h, &stack, &digest).await;
    assert_eq!(status, "FAILED", "{outcome}");
    assert_eq!(outcome["error"], "InvalidInput", "{outcome}");
    assert!(
        outcome["cause"]
            .as_str()
            .unwrap_or_default()
            .contains("downgrade Vikunja from 2.5.1 to 0.24"),
        "{outcome}"
    );
    assert!(
        entered_at(&history, "SnapshotDatabase").is_empty()
            && entered_at(&history, "RegisterTaskDefinition").is_empty(),
        "{history:?}"
    );
    assert_eq!(
        deployments(&h, &stack).await,
        before_deployments,
        "no deployment"
    );
    assert_eq!(snapshots(&h, &stack).await, before_snapshots, "no snapshot");
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.1".to_string()))
    );
    assert_eq!(download(&production, uploaded).await, (200, attachment));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_snapshot_before_upgrade_an_upgrade_takes_none() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("nosnap").await;
    h.provision(
        &stack,
        json!({"image": "vikunja/vikunja:0.24.6", "snapshotBeforeUpgrade": false}),
    )
    .await
    .expect("provision");
    let released = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.0", Output::Json)
        .await
        .expect("the upgrade");
    assert_eq!(released["status"], "Succeeded");
    assert!(released.get("snapshot").is_none(), "{released}");
    assert!(snapshots(&h, &stack).await.is_empty());

    // On AWS the CLI tags an image already in the repository; one that is not there (a
    // version never pushed, a typo) is refused before anything is tagged.
    let ecr = aws_sdk_ecr::Client::new(h.config());
    let missing = ImageRef::parse("vikunja/vikunja:2.55.0").unwrap();
    let refused = release_backend::existing_manifest(&ecr, &format!("{stack}/vikunja"), &missing)
        .await
        .unwrap_err();
    let refused = format!("{refused:#}");
    assert!(
        refused.contains("tag 2.55.0")
            && refused.contains("is not in")
            && refused.contains("nothing was released"),
        "{refused}"
    );
}
