//! The `ecs` engine on the local stack: the service deploys itself blue/green (controller
//! `ECS`, strategy `BLUE_GREEN`), the same smoke-test hook judges green after test traffic
//! moved to it, and a broken green is rolled back before production ever serves it.

use std::sync::atomic::Ordering;

use aws_sdk_ecs::types::{
    DeploymentControllerType, DeploymentLifecycleHookStage, DeploymentStrategy,
    ServiceDeploymentStatus,
};
use serde_json::json;
use vikunja_aws::down::{self, DownOptions};
use vikunja_aws::plan::{self, Action};
use vikunja_aws::target::Target;
use vikunja_aws::{follow, release_backend, status, Output};
use vikunja_core::Names;
use vikunja_tests::release::{version_at, watch_production};
use vikunja_tests::{find, Harness};

async fn service_deployments(h: &Harness, stack: &str) -> Vec<(String, ServiceDeploymentStatus)> {
    resources_backend::find_service_deployments(&h.clients.ecs, &Names::new(stack))
        .await
        .unwrap()
        .iter()
        .map(|d| {
            (
                d.service_deployment_arn().unwrap_or_default().to_string(),
                d.status().cloned().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn under_the_ecs_engine_releases_run_in_ecs_and_a_broken_green_never_reaches_production() {
    let h = Harness::new().await;
    let stack = h.bootstrapped("ecs").await;
    let names = Names::new(&stack);
    h.provision(&stack, json!({"engine": "ecs"}))
        .await
        .expect("provision with engine ecs");

    // The service runs its own blue/green; nothing was made in CodeDeploy.
    let service = find::backend_service(&h.clients.ecs, &stack).await;
    assert_eq!(
        service.deployment_controller().map(|c| c.r#type()),
        Some(&DeploymentControllerType::Ecs)
    );
    let config = service.deployment_configuration().expect("kept");
    assert_eq!(config.strategy(), Some(&DeploymentStrategy::BlueGreen));
    let hook = &config.lifecycle_hooks()[0];
    assert_eq!(
        hook.lifecycle_stages(),
        &[DeploymentLifecycleHookStage::PostTestTrafficShift]
    );
    assert!(
        hook.hook_target_arn()
            .unwrap()
            .ends_with(&format!("{stack}-hook")),
        "{hook:?}"
    );
    let advanced = service.load_balancers()[0]
        .advanced_configuration()
        .expect("the load balancer names green and both listeners");
    assert!(advanced
        .alternate_target_group_arn()
        .unwrap()
        .contains("-green/"));
    assert!(
        h.clients
            .codedeploy
            .get_application()
            .application_name(names.codedeploy_application())
            .send()
            .await
            .is_err(),
        "no CodeDeploy application under the ecs engine"
    );

    let production = h.listener_address(&stack, 80).await.unwrap();
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.0".to_string()))
    );

    // A good release: ECS rolls green out, the hook passes it, production moves.
    let released = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.1", Output::Json)
        .await
        .expect("good release");
    assert_eq!(released["status"], "Succeeded", "{released}");
    assert_eq!(released["engine"], "ecs", "{released}");
    assert!(
        released["deploymentId"]
            .as_str()
            .unwrap_or_default()
            .contains(":service-deployment/"),
        "{released}"
    );
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.1".to_string()))
    );
    let listed = service_deployments(&h, &stack).await;
    assert_eq!(listed.len(), 2, "the first one and the release: {listed:?}");
    assert_eq!(listed[0].1, ServiceDeploymentStatus::Successful);

    // A broken release: the hook answers FAILED, ECS rolls back, production never sees it.
    let (stop, seen, watcher) = watch_production(production.clone());
    let failed =
        release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.2-broken", Output::Json)
            .await
            .unwrap_err();
    stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    let message = format!("{failed:#}");
    assert!(
        message.contains("DeploymentFailed")
            && message.contains("2.5.2-broken")
            && message.contains("ROLLBACK_SUCCESSFUL"),
        "{message}"
    );
    assert!(
        message.contains("POST_TEST_TRAFFIC_SHIFT") && message.contains("/health answered 500"),
        "names the stage and carries the hook's reason: {message}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 10, "probed throughout ({} probes)", seen.len());
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
    let listed = service_deployments(&h, &stack).await;
    assert_eq!(listed[0].1, ServiceDeploymentStatus::RollbackSuccessful);

    // plan: converged under the engine up used, and an engine change is shown before it
    // happens (up stops rather than recreate the service).
    // (The backend's record names the task definition up made; after releases up would
    // write the live one, under either engine.)
    let converged = plan_with(&h, &stack, json!({"engine": "ecs"})).await;
    let changes: Vec<String> = converged
        .items()
        .filter(|(_, i)| i.action != Action::Keep)
        .map(|(t, i)| format!("{t} {} {}", i.kind, i.name))
        .collect();
    assert_eq!(
        changes,
        vec![format!("backend inventory /vikunja/{stack}/backend")],
        "{}",
        plan::render(&converged)
    );
    let back = plan_with(&h, &stack, json!({})).await;
    let service_item = back
        .items()
        .map(|(_, i)| i)
        .find(|i| i.kind == "service")
        .expect("the service is planned");
    let controller = service_item
        .differences
        .iter()
        .find(|d| d.field == "deploymentController")
        .unwrap_or_else(|| panic!("{}", plan::render(&back)));
    assert_eq!(
        (controller.current.as_str(), controller.desired.as_str()),
        ("ECS", "CODE_DEPLOY")
    );

    // status: the backend serves the last good release, delivery names the engine and the
    // rolled-back release (the frontend has no build in this test).
    let report = status::judge(&status::observe(&h.aws, &stack).await.expect("status"));
    let verdict = |tier: &str| {
        report
            .tiers
            .iter()
            .find(|t| t.tier == tier)
            .unwrap_or_else(|| panic!("no {tier} in {}", status::render(&report)))
    };
    assert!(
        verdict("backend").healthy && verdict("backend").summary.contains("2.5.1"),
        "{}",
        status::render(&report)
    );
    let delivery = verdict("delivery");
    assert!(
        delivery.healthy
            && delivery.summary.contains("Amazon ECS blue/green")
            && delivery
                .summary
                .contains("2.5.2-broken failed (rolled back)"),
        "{}",
        status::render(&report)
    );

    // down takes everything, CodeDeploy objects there were none of.
    let options = DownOptions {
        delete_data: true,
        ..DownOptions::default()
    };
    let down = down::down(&h.aws, &stack, &options, Output::Json, &mut |_| Ok(true))
        .await
        .expect("down");
    assert!(down.complete && down.bootstrap_deleted, "{down:#?}");
    let left: Vec<String> = vikunja_tests::census::tagged(&h, &stack)
        .await
        .into_iter()
        .filter(|e| !e.starts_with("db snapshot "))
        .collect();
    assert_eq!(
        left,
        Vec::<String>::new(),
        "nothing tagged with the stack is left"
    );
}

async fn plan_with(h: &Harness, stack: &str, settings: serde_json::Value) -> plan::Plan {
    let path = std::env::temp_dir().join(format!("vikunja-ecs-plan-{stack}.json"));
    std::fs::write(&path, settings.to_string()).unwrap();
    let settings = follow::load_settings(stack, Some(&path), Target::Local).unwrap();
    plan::plan(&h.aws, &settings).await.expect("plan")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_codedeploy_stack_moves_to_the_ecs_engine_with_production_answering_throughout() {
    let h = Harness::new().await;
    let (stack, _) = h.provisioned("mig").await;
    let names = Names::new(&stack);
    let production = h.listener_address(&stack, 80).await.unwrap();

    // plan shows the move before it happens: in place, then the CodeDeploy objects go.
    let before = plan_with(&h, &stack, json!({"engine": "ecs"})).await;
    let service_item = before
        .items()
        .map(|(_, i)| i)
        .find(|i| i.kind == "service")
        .expect("the service is planned");
    assert_eq!(
        service_item.action,
        Action::Change,
        "{}",
        plan::render(&before)
    );
    assert!(
        service_item
            .differences
            .iter()
            .any(|d| d.field == "deploymentController" && d.current == "CODE_DEPLOY"),
        "{}",
        plan::render(&before)
    );
    assert!(
        before
            .items()
            .any(|(_, i)| i.kind == "codedeploy-application" && i.action == Action::Change),
        "{}",
        plan::render(&before)
    );

    let (stop, seen, watcher) = watch_production(production.clone());
    h.provision(&stack, json!({"engine": "ecs"}))
        .await
        .expect("up with engine ecs moves the stack");
    stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 10, "probed throughout ({} probes)", seen.len());
    assert!(
        seen.iter()
            .all(|answer| answer == &Ok((200, "v2.5.0".to_string()))),
        "production answered throughout the move: {seen:?}"
    );

    let service = find::backend_service(&h.clients.ecs, &stack).await;
    assert_eq!(
        service.deployment_controller().map(|c| c.r#type()),
        Some(&DeploymentControllerType::Ecs)
    );
    assert!(service.task_sets().is_empty(), "{service:?}");
    assert!(
        h.clients
            .codedeploy
            .get_application()
            .application_name(names.codedeploy_application())
            .send()
            .await
            .is_err(),
        "the CodeDeploy application went with the engine"
    );
    let after = plan_with(&h, &stack, json!({"engine": "ecs"})).await;
    let changes: Vec<String> = after
        .items()
        .filter(|(_, i)| i.action != Action::Keep)
        .map(|(t, i)| format!("{t} {} {}", i.kind, i.name))
        .collect();
    assert_eq!(changes, Vec::<String>::new(), "{}", plan::render(&after));

    // The first release under the new engine goes through ECS and the same hook.
    let released = release_backend::release(&h.aws, &stack, "vikunja/vikunja:2.5.1", Output::Json)
        .await
        .expect("a release after the move");
    assert_eq!(
        (&released["status"], &released["engine"]),
        (&json!("Succeeded"), &json!("ecs")),
        "{released}"
    );
    assert_eq!(
        version_at(&production).await,
        Ok((200, "v2.5.1".to_string()))
    );
}
