//! Teardown end to end on the local AWS stack: `down` removes everything a stack made and
//! nothing else, runs twice, finishes what an interrupted `up` or `down` left, keeps data
//! when asked, and reports what AWS refuses — checked through the AWS APIs, service by
//! service, the way a user would check.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use vikunja_aws::down::{self, DownOptions, DownReport};
use vikunja_aws::follow;
use vikunja_aws::target::Target;
use vikunja_aws::Output;
use vikunja_tests::census::tagged;
use vikunja_tests::failures;
use vikunja_tests::find;
use vikunja_tests::{wait, Harness};

/// A harness whose bootstraps take turns (see [`Harness::one_bootstrap_at_a_time`]).
async fn harness() -> Harness {
    Harness::new().await.one_bootstrap_at_a_time()
}

async fn down(h: &Harness, stack: &str, options: &DownOptions) -> anyhow::Result<DownReport> {
    down::down(&h.aws, stack, options, Output::Json, &mut |_| Ok(true)).await
}

fn delete_data() -> DownOptions {
    DownOptions {
        delete_data: true,
        ..DownOptions::default()
    }
}

/// The census lists every resource of a kind and then asks each for its tags; a teardown
/// running beside it deletes resources in between. These tests run one at a time.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// The teardown is complete, with no failure, and the bootstrap stack is gone.
fn assert_finished(report: &DownReport) {
    let failed = failures(report);
    assert!(report.complete, "teardown incomplete: {failed:#?}");
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(report.bootstrap_deleted, "the bootstrap stack goes last");
}

/// A page in the site bucket (whose policy stays as provision wrote it).
async fn put_site_object(h: &Harness, bucket: &str) {
    h.clients
        .s3
        .put_object()
        .bucket(bucket)
        .key("index.html")
        .body(b"<html>".to_vec().into())
        .send()
        .await
        .unwrap();
}

/// Two versions and a delete marker in a versioned bucket: teardown must remove them all.
async fn put_versions(h: &Harness, bucket: &str) {
    let s3 = &h.clients.s3;
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for body in ["one", "two"] {
        s3.put_object()
            .bucket(bucket)
            .key("releases/a b ü.zip")
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    s3.delete_object()
        .bucket(bucket)
        .key("releases/a b ü.zip")
        .send()
        .await
        .unwrap();
}

/// What is left once kept snapshots (reported as kept) and, after an incomplete teardown,
/// the CodeDeploy application, the delivery tier's inventory record and the bootstrap
/// stack it keeps are set aside.
fn left_over(all: &BTreeSet<String>, report: &DownReport) -> BTreeSet<String> {
    let kept: BTreeSet<String> = report
        .summary
        .iter()
        .flat_map(|s| {
            s.kept()
                .map(|(_, k)| format!("{} {}", k.kind, k.id))
                .collect::<Vec<_>>()
        })
        .collect();
    let delivery_record = format!("ssm parameter /vikunja/{}/delivery", report.stack);
    all.iter()
        .filter(|entry| !(entry.starts_with("db snapshot ") && kept.contains(*entry)))
        .filter(|entry| {
            report.complete
                || !(entry.starts_with("bootstrap ")
                    || entry.starts_with("codedeploy application ")
                    || **entry == delivery_record)
        })
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn down_removes_everything_resumes_after_a_crash_and_runs_twice() {
    let h = harness().await;
    let _serial = one_at_a_time().await;
    let (stack, outputs) = h.provisioned("td").await;
    put_site_object(&h, outputs["siteBucket"].as_str().unwrap()).await;
    put_versions(&h, outputs["uploadsBucket"].as_str().unwrap()).await;
    let before = tagged(&h, &stack).await;
    for kind in [
        "vpc",
        "database",
        "distribution",
        "s3 bucket",
        "ecs cluster",
        "ecr repository",
        "alarm",
        "secret",
        "ssm parameter",
        "bootstrap stack",
    ] {
        assert!(
            before.iter().any(|e| e.starts_with(&format!("{kind} "))),
            "provision made a {kind}: {before:#?}"
        );
    }

    // A teardown that stops half-way: while it waits for CloudFront to finish disabling.
    let state_machine = down::teardown_state_machine(&h.aws, &stack)
        .await
        .unwrap()
        .unwrap();
    let input = serde_json::to_string(&down::teardown_options(
        &stack,
        &delete_data(),
        Target::Local,
    ))
    .unwrap();
    let started = follow::run_execution(
        &h.aws,
        &state_machine,
        "teardown",
        &input,
        true,
        Output::Json,
    )
    .await
    .unwrap();
    let execution = started["executionArn"].as_str().unwrap().to_string();
    stop_when_waiting(&h, &execution, "WaitForFrontend").await;
    let half = tagged(&h, &stack).await;
    assert!(
        half.iter().any(|e| e.starts_with("distribution ")),
        "stopped before the distribution went"
    );
    assert!(
        !half.iter().any(|e| e.starts_with("ecs cluster ")),
        "the backend went before the stop"
    );

    // `down` finishes the job.
    let clock = Instant::now();
    let report = down(&h, &stack, &delete_data()).await.expect("down");
    println!(
        "teardown wall time (plan + workflow + bootstrap stack): {:.1}s",
        clock.elapsed().as_secs_f64()
    );
    assert_finished(&report);
    let after = tagged(&h, &stack).await;
    assert_eq!(
        left_over(&after, &report),
        BTreeSet::new(),
        "nothing tagged with the stack is left"
    );
    let snapshots: Vec<&String> = after
        .iter()
        .filter(|e| e.starts_with("db snapshot "))
        .collect();
    assert_eq!(snapshots.len(), 1, "one final snapshot, kept: {after:#?}");

    // A second `down` is fine.
    let again = down(&h, &stack, &delete_data()).await.expect("second down");
    assert!(again.complete && again.plan.is_empty(), "already torn down");
}

/// Stops the execution as soon as it enters the named `Wait` state.
async fn stop_when_waiting(h: &Harness, execution: &str, state: &str) {
    let sfn = &h.clients.sfn;
    let within = Duration::from_secs(120);
    let what = format!("the execution never reached {state}");
    wait::until(within, Duration::from_millis(50), what, async || {
        let history = sfn
            .get_execution_history()
            .execution_arn(execution)
            .max_results(1000)
            .send()
            .await
            .unwrap();
        history
            .events()
            .iter()
            .any(|e| {
                e.r#type() == &aws_sdk_sfn::types::HistoryEventType::WaitStateEntered
                    && e.state_entered_event_details()
                        .is_some_and(|d| d.name() == state)
            })
            .then_some(())
    })
    .await;
    sfn.stop_execution()
        .execution_arn(execution)
        .cause("test: a crash half-way")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn down_finishes_an_interrupted_up_and_leaves_the_look_alike_that_stopped_it() {
    let h = harness().await;
    let _serial = one_at_a_time().await;
    let stack = h.bootstrapped("tdi").await;
    // Someone else's target group has the name the stack needs: provision stops after the
    // network and the database.
    let other_vpc = h.squat_target_group(&stack, "10.77.0.0/16").await.vpc_id;
    h.provision(&stack, json!({}))
        .await
        .expect_err("provision stops at the load balancer");
    let half = tagged(&h, &stack).await;
    assert!(
        half.iter().any(|e| e.starts_with("vpc "))
            && half.iter().any(|e| e.starts_with("db subnet group ")),
        "{half:#?}"
    );

    let report = down(&h, &stack, &delete_data()).await.expect("down");
    assert!(report.complete, "{:#?}", failures(&report));
    assert!(report.bootstrap_deleted);
    let kept: Vec<String> = report
        .summary
        .as_ref()
        .unwrap()
        .kept()
        .map(|(_, k)| format!("{} {}: {}", k.kind, k.id, k.reason))
        .collect();
    assert!(
        kept.iter()
            .any(|k| k.starts_with(&format!("target group {stack}-green: not tagged"))),
        "the look-alike is reported, not touched: {kept:#?}"
    );
    assert_eq!(
        left_over(&tagged(&h, &stack).await, &report),
        BTreeSet::new()
    );
    let squatter = h
        .clients
        .elb
        .describe_target_groups()
        .names(format!("{stack}-green"))
        .send()
        .await;
    assert!(squatter.is_ok(), "the untagged look-alike survives");
    assert!(
        h.clients
            .ec2
            .describe_vpcs()
            .vpc_ids(&other_vpc)
            .send()
            .await
            .is_ok(),
        "so does its VPC"
    );

    let again = down(&h, &stack, &delete_data()).await.expect("down again");
    assert!(
        again.complete && again.plan.is_empty() && again.summary.is_none(),
        "already torn down: nothing to do"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_neighbour_stack_and_untagged_look_alikes_survive() {
    let h = harness().await;
    let _serial = one_at_a_time().await;
    let stack = h.bootstrapped("tdn").await;
    let neighbour = format!("{stack}-st"); // like vikunja and vikunja-staging: one is a prefix of the other
    h.bootstrap(&neighbour).await.expect("bootstrap");
    let (a, b) = tokio::join!(
        h.provision(&stack, json!({})),
        h.provision(&neighbour, json!({"vpcCidr": "10.43.0.0/16"}))
    );
    a.expect("provision");
    b.expect("provision neighbour");

    // Look-alikes: names teardown's look-ups match by prefix, comment or path, without the tag.
    let ecs = &h.clients.ecs;
    let family = format!("{stack}-backend-api-old");
    ecs.register_task_definition()
        .family(&family)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("x")
                .image("x")
                .memory(64)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cloudwatch = &h.clients.cloudwatch;
    let alarm = format!("{stack}-delivery-extra");
    cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm)
        .namespace("Custom")
        .metric_name("m")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    let ssm = &h.clients.ssm;
    let note = format!("/vikunja/{stack}/notes");
    ssm.put_parameter()
        .name(&note)
        .value("mine")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let logs = &h.clients.logs;
    let archive = format!("/vikunja/{stack}/backend-archive");
    logs.create_log_group()
        .log_group_name(&archive)
        .send()
        .await
        .unwrap();
    let cloudfront = &h.clients.cloudfront;
    let look_alike = untagged_distribution(cloudfront, &stack).await;

    let neighbour_before = tagged(&h, &neighbour).await;
    let report = down(&h, &stack, &delete_data()).await.expect("down");
    assert_finished(&report);
    assert_eq!(
        left_over(&tagged(&h, &stack).await, &report),
        BTreeSet::new()
    );

    assert_eq!(
        tagged(&h, &neighbour).await,
        neighbour_before,
        "the neighbour stack is intact"
    );
    let families = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .send()
        .await
        .unwrap();
    assert_eq!(
        families.task_definition_arns().len(),
        1,
        "look-alike task definition kept"
    );
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_names(&alarm)
        .send()
        .await
        .unwrap();
    assert_eq!(alarms.metric_alarms().len(), 1, "look-alike alarm kept");
    assert!(
        ssm.get_parameter().name(&note).send().await.is_ok(),
        "untagged parameter under the stack's path kept"
    );
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&archive)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups().len(), 1, "look-alike log group kept");
    assert!(
        cloudfront
            .get_distribution()
            .id(&look_alike)
            .send()
            .await
            .is_ok(),
        "a distribution with the stack's comment but not its tag is kept"
    );
    let kept: Vec<String> = report
        .summary
        .as_ref()
        .unwrap()
        .kept()
        .map(|(_, k)| format!("{} {}", k.kind, k.id))
        .collect();
    assert!(kept.contains(&format!("ssm parameter {note}")), "{kept:#?}");
    assert!(
        kept.contains(&format!("cloudfront distribution {look_alike}")),
        "{kept:#?}"
    );
}

async fn untagged_distribution(cloudfront: &aws_sdk_cloudfront::Client, stack: &str) -> String {
    use aws_sdk_cloudfront::types::{
        DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
        ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("o")
        .domain_name("example.s3.us-east-1.amazonaws.com")
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference(format!("{stack}-look-alike"))
        .comment(format!("vikunja-aws stack {stack}"))
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("o")
                .viewer_protocol_policy(ViewerProtocolPolicy::AllowAll)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let created = cloudfront
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    created.distribution().unwrap().id().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_data_keeps_exactly_the_database_its_secret_and_the_site_bucket() {
    let h = harness().await;
    let _serial = one_at_a_time().await;
    let (stack, outputs) = h.provisioned("tdk").await;
    let site = outputs["siteBucket"].as_str().unwrap().to_string();
    put_site_object(&h, &site).await;
    let db_id = format!("{stack}-data-mysql");
    let master_secret = find::database(&h.clients.rds, &stack)
        .await
        .master_user_secret()
        .unwrap()
        .secret_arn()
        .unwrap()
        .to_string();

    let options = DownOptions {
        keep_data: true,
        ..DownOptions::default()
    };
    let report = down(&h, &stack, &options).await.expect("down --keep-data");
    assert_finished(&report);
    // RDS's automated backups belong to the kept database (and go with it).
    let left: BTreeSet<String> = left_over(&tagged(&h, &stack).await, &report)
        .into_iter()
        .filter(|e| !e.starts_with("db snapshot rds:"))
        .collect();
    let kinds: Vec<&str> = left.iter().map(|e| e.rsplit_once(' ').unwrap().0).collect();
    assert_eq!(
        kinds,
        vec!["database", "db subnet group", "route table", "s3 bucket", "security group", "subnet", "subnet", "vpc"],
        "the database, the network it lives in (isolated subnets, their route table, its security group, the VPC) and the site bucket: {left:#?}"
    );
    assert!(
        left.contains(&format!("database {db_id}")) && left.contains(&format!("s3 bucket {site}"))
    );
    assert!(
        left.contains(&format!("security group {stack}-network-db")),
        "{left:#?}"
    );
    let object = h
        .clients
        .s3
        .get_object()
        .bucket(&site)
        .key("index.html")
        .send()
        .await;
    assert!(object.is_ok(), "the site bucket keeps its content");
    let secrets = &h.clients.secrets;
    let master = secrets
        .describe_secret()
        .secret_id(&master_secret)
        .send()
        .await
        .expect("the database's secret is kept");
    assert!(master.deleted_date().is_none());
    let service = find::service_secret(secrets, &stack).await;
    assert!(
        service.deleted_date().is_some(),
        "the service secret is scheduled for deletion (recoverable)"
    );

    // What was kept can go later: bootstrap again, then down with --delete-data.
    h.bootstrap(&stack).await.expect("bootstrap");
    let report = down(&h, &stack, &delete_data())
        .await
        .expect("down --delete-data");
    assert_finished(&report);
    assert_eq!(
        left_over(&tagged(&h, &stack).await, &report),
        BTreeSet::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_reported_with_aws_reason_and_the_rest_still_goes() {
    let h = harness().await;
    let _serial = one_at_a_time().await;
    let (stack, _) = h.provisioned("tdr").await;
    // A subnet this stack did not create, inside its VPC.
    let ec2 = &h.clients.ec2;
    let vpc = find::vpc_id(ec2, &stack).await;
    let stranger = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.42.200.0/24")
        .send()
        .await
        .unwrap();
    let stranger = stranger.subnet().unwrap().subnet_id().unwrap().to_string();

    // Deletion protection is honoured: without --delete-data the database stays, and with
    // it what it lives in.
    let first = down(&h, &stack, &DownOptions::default())
        .await
        .expect("down");
    assert!(!first.complete && !first.bootstrap_deleted);
    let failed = failures(&first);
    assert!(
        failed
            .iter()
            .any(|f| f == &format!("data database {stack}-data-mysql: deletion protection is on")),
        "{failed:#?}"
    );
    assert!(
        h.clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(format!("{stack}-data-mysql"))
            .send()
            .await
            .is_ok(),
        "the database stays"
    );
    let refusal = first
        .plan
        .tiers
        .iter()
        .flat_map(|t| &t.refuse)
        .find(|f| f.kind == "database")
        .expect("the plan said so");
    assert!(refusal.hint.contains("--delete-data"));

    // With --delete-data the database goes; the VPC cannot (AWS: the stranger is in it).
    let second = down(&h, &stack, &delete_data())
        .await
        .expect("down --delete-data");
    assert!(!second.complete && !second.bootstrap_deleted);
    let vpc_failure = second
        .summary
        .as_ref()
        .unwrap()
        .failed()
        .find(|(_, f)| f.kind == "vpc")
        .map(|(_, f)| f.clone())
        .expect("the VPC is reported");
    assert_eq!(vpc_failure.id, vpc);
    assert!(
        vpc_failure.reason.starts_with("DependencyViolation"),
        "AWS's reason: {}",
        vpc_failure.reason
    );
    assert!(
        vpc_failure.hint.contains(&format!("subnet {stranger}")),
        "names the stranger: {}",
        vpc_failure.hint
    );
    let left = left_over(&tagged(&h, &stack).await, &second);
    let expected: BTreeSet<String> = [format!("vpc {vpc}")].into();
    assert_eq!(
        left.iter()
            .filter(|e| !e.starts_with("ssm parameter "))
            .cloned()
            .collect::<BTreeSet<_>>(),
        expected,
        "everything else is gone"
    );
    assert!(
        ec2.describe_subnets()
            .subnet_ids(&stranger)
            .send()
            .await
            .is_ok(),
        "the stranger is never touched"
    );

    // Once the stranger is gone, `down` finishes.
    ec2.delete_subnet()
        .subnet_id(&stranger)
        .send()
        .await
        .unwrap();
    let third = down(&h, &stack, &delete_data()).await.expect("down again");
    assert_finished(&third);
    assert_eq!(
        left_over(&tagged(&h, &stack).await, &third),
        BTreeSet::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_stack_is_said_so_and_nothing_is_deleted() {
    let h = harness().await;
    let _serial = one_at_a_time().await;
    let stack = Harness::unique_stack("nosuch");
    let error = down(&h, &stack, &delete_data()).await.unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!("unknown stack {stack}"))
            && message.contains("nothing was deleted"),
        "{message}"
    );
}
