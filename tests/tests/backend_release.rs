//! Backend releases on the local stack: an ECR push starts a CodeDeploy blue/green
//! deployment whose hook smoke-tests green through the test listener; a bad green is rolled
//! back before production ever serves it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vikunja_aws::{release_backend, Output};
use vikunja_tests::release::{
    deployments, download, finished_execution, upload, version_at, watch_production,
};
use vikunja_tests::{find, wait, Harness};

async fn task_sets(h: &Harness, stack: &str) -> usize {
    find::backend_service(&h.clients.ecs, stack)
        .await
        .task_sets()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_go_blue_green_and_a_broken_green_never_reaches_production() {
    let h = Harness::new().await;
    let (stack, _) = h.provisioned("rel").await;
    let production = h.listener_address(&stack, 80).await.unwrap();
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.0".to_string())),
        "the provisioned image (the default, Vikunja 2.5.0) serves first, reporting its version as 2.x does"
    );

    // An attachment uploaded through production lives on the stack's EFS file system, not
    // in the task: every release's tasks mount the same access point.
    let attachment = b"minutes of the planning meeting".to_vec();
    let uploaded = upload(&production, "minutes.txt", &attachment).await;

    // A good release: green passes the hook, production moves, blue goes after the wait.
    let started = Instant::now();
    let released = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.1", Output::Json)
        .await
        .expect("good release");
    println!(
        "good release end to end: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(released["status"], "Succeeded");
    assert_eq!(released["tag"], "2.5.1");
    assert!(
        released["image"].as_str().unwrap().contains("@sha256:"),
        "pinned by digest: {released}"
    );
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.1".to_string()))
    );
    assert_eq!(
        download(&production, uploaded).await,
        (200, attachment.clone()),
        "the attachment survives the release (green mounts the same files)"
    );
    wait::until(
        Duration::from_secs(30),
        Duration::from_millis(250),
        "blue's task set is removed after the termination wait",
        async || (task_sets(&h, &stack).await <= 1).then_some(()),
    )
    .await;

    // The same release again (a re-run after a lost answer or an interrupted follow): the
    // tag already names this image, so the release its push started is followed — not
    // refused, not repeated. The same tag for another image is refused with what to do.
    let deployed = deployments(&h, &stack).await.len();
    let again = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.1", Output::Json)
        .await
        .expect("the same release again follows the first");
    assert_eq!(
        (&again["status"], &again["image"]),
        (&released["status"], &released["image"])
    );
    assert_eq!(
        deployments(&h, &stack).await.len(),
        deployed,
        "no second deployment"
    );
    let other = release_backend::release(&h.aws, &stack, "someone/else:2.5.1", Output::Json)
        .await
        .unwrap_err();
    let other = format!("{other:#}");
    assert!(
        other.contains("already names another image") && other.contains("new tag"),
        "{other}"
    );

    // A broken release: the hook fails, CodeDeploy rolls back, production never sees it.
    let (stop, seen, watcher) = watch_production(production.clone());
    let failed =
        release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.2-broken", Output::Json)
            .await
            .unwrap_err();
    stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    let message = format!("{failed:#}");
    assert!(
        message.contains("DeploymentFailed") && message.contains("2.5.2-broken"),
        "{message}"
    );
    assert!(
        message.contains("BeforeAllowTraffic"),
        "names the failed lifecycle event: {message}"
    );
    assert!(
        message.contains("/health answered 500"),
        "carries the hook's reason: {message}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.len() > 10,
        "production was probed throughout ({} probes)",
        seen.len()
    );
    assert!(
        seen.iter()
            .all(|answer| answer == &Ok((200, "v2.5.1".to_string()))),
        "production only ever served 2.5.1: {seen:?}"
    );
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.1".to_string())),
        "blue still serves"
    );
    assert_eq!(
        download(&production, uploaded).await,
        (200, attachment.clone()),
        "the attachment survives a rolled-back release"
    );

    // The same digest again, under another tag: no second deployment.
    let before = deployments(&h, &stack).await;
    let ecr = &h.clients.ecr;
    let repository = format!("{stack}/vikunja");
    let image = ecr
        .batch_get_image()
        .repository_name(&repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("2.5.1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let manifest = image.images()[0].image_manifest().unwrap().to_string();
    ecr.put_image()
        .repository_name(&repository)
        .image_manifest(&manifest)
        .image_tag("2.5.1-again")
        .send()
        .await
        .unwrap();
    let ignored = wait_for_execution_output(&h, &stack, "2.5.1-again").await;
    assert!(
        ignored["ignored"]
            .as_str()
            .unwrap_or_default()
            .contains("already live"),
        "{ignored}"
    );
    assert_eq!(
        deployments(&h, &stack).await,
        before,
        "one deployment per digest"
    );

    // A deleted tag is an image action too; it is ignored with its reason.
    ecr.batch_delete_image()
        .repository_name(&repository)
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("2.5.1-again")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let deleted = wait_for_execution_output(&h, &stack, "DELETE").await;
    assert!(
        deleted["ignored"]
            .as_str()
            .unwrap_or_default()
            .contains("not a push"),
        "{deleted}"
    );
    assert_eq!(deployments(&h, &stack).await, before);
}

/// The output of the release execution whose input mentions `needle`, once it ends.
async fn wait_for_execution_output(h: &Harness, stack: &str, needle: &str) -> Value {
    let described = finished_execution(h, stack, needle, Duration::from_secs(30)).await;
    serde_json::from_str(described.output().unwrap_or("{}")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hook_always_reports_and_says_why() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("hook").await;
    let invoke = |payload: Value| {
        let lambda = h.clients.lambda.clone();
        let name = format!("{stack}-hook");
        async move {
            let out = lambda
                .invoke()
                .function_name(name)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
                .send()
                .await
                .unwrap();
            let body: Value =
                serde_json::from_slice(out.payload().map(|p| p.as_ref()).unwrap_or(b"{}"))
                    .unwrap_or(Value::Null);
            (out.function_error().map(str::to_string), body)
        }
    };
    // An unknown deployment: the verdict is Failed, the hook reports it, and CodeDeploy's
    // answer that there is no such deployment means nothing waits: no function error (which
    // Lambda would retry for nothing), and the answer says what happened.
    let (error, body) =
        invoke(json!({"DeploymentId": "d-UNKNOWN00", "LifecycleEventHookExecutionId": "abc"}))
            .await;
    assert_eq!(error, None, "{body}");
    assert_eq!(body["status"], "Failed", "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot find green for d-UNKNOWN00"),
        "{body}"
    );
    assert_eq!(body["reported"], false, "{body}");
    assert!(
        body["notReported"]
            .as_str()
            .unwrap_or_default()
            .contains("report Failed"),
        "it tried to report: {body}"
    );
    // Not a lifecycle event at all: a clear error, no panic.
    let (error, body) = invoke(json!({"hello": "world"})).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(body["errorType"], "InvalidInput", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("not a CodeDeploy lifecycle event"),
        "{body}"
    );
}

// Two pushes at once, made while another deployment runs (a broken one, which takes the
// hook's whole budget before it rolls back): both wait for their turn, and when it comes
// the earlier push yields to the later one. Production ends on the later push and no
// digest is deployed twice, whichever workflow reaches CodeDeploy first.
#[tokio::test(flavor = "multi_thread")]
async fn two_pushes_at_once_end_on_the_later_one_and_deploy_each_digest_at_most_once() {
    let h = Harness::new().await;
    let (stack, _) = h.provisioned("two").await;
    let production = h.listener_address(&stack, 80).await.unwrap();
    let release = |tag: &'static str| {
        let (aws, stack) = (h.aws.clone(), stack.clone());
        tokio::spawn(async move {
            release_backend::release(
                &aws,
                &stack,
                &format!("vikunja/vikunja:{tag}"),
                Output::Json,
            )
            .await
            .map_err(|e| format!("{e:#}"))
        })
    };
    let running = release("2.5.2-broken");
    wait::until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        "the broken release's deployment",
        async || (!deployments(&h, &stack).await.is_empty()).then_some(()),
    )
    .await;
    let first = release("2.5.3");
    // ECR records push times to the second here: the later push is a second later.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = release("2.5.4");
    let (running, first, second) = (
        running.await.unwrap(),
        first.await.unwrap(),
        second.await.unwrap(),
    );
    assert!(
        running.is_err(),
        "the broken release rolls back: {running:?}"
    );
    let first = first.expect("the earlier push's release ends without error");
    let second = second.expect("the later push's release");
    assert_eq!(second["status"], "Succeeded", "{second}");
    let reason = first["ignored"].as_str().unwrap_or_default();
    assert!(
        reason.contains("superseded") && reason.contains("2.5.4"),
        "the earlier push yields to the later one, saying so: {first}"
    );
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.4".to_string())),
        "production ends on the later push"
    );
    let deployed = deployments(&h, &stack).await;
    assert_eq!(
        deployed.len(),
        2,
        "the broken release and the later push, nothing of the superseded one: {deployed:?}"
    );
}
