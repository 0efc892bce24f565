//! `bootstrap` on the local AWS stack through the code path `--target aws` takes (only the
//! endpoint differs): the artifacts bucket, content-addressed uploads, CloudFormation
//! change sets, events, failures and what the next run makes of them — checked through the
//! AWS APIs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use vikunja_aws::deploy::{self, BootstrapOptions};
use vikunja_aws::package::Packaged;
use vikunja_aws::target::{self, Aws, Target};
use vikunja_aws::Output;
use vikunja_tests::{find, Harness};

async fn deploy(
    aws: &Aws,
    stack: &str,
    packaged: &Packaged,
    options: &BootstrapOptions,
) -> anyhow::Result<Value> {
    deploy::deploy(aws, stack, packaged, options, Output::Json).await
}

/// The packaging of the debug binaries with one function's binary changed (a few bytes
/// appended: still the same program, another zip, another content-addressed key).
fn packaged_with_changed(h: &Harness, function: &str, tag: &str) -> Arc<Packaged> {
    let dir = std::env::temp_dir().join(format!("vikunja-binaries-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&h.binaries).unwrap() {
        let entry = entry.unwrap();
        let link = dir.join(entry.file_name());
        if entry.file_type().unwrap().is_file() && !link.exists() {
            std::os::unix::fs::symlink(entry.path(), &link).unwrap();
        }
    }
    let changed = dir.join(function);
    std::fs::remove_file(&changed).ok();
    let mut bytes = std::fs::read(h.binaries.join(function)).unwrap();
    bytes.extend_from_slice(tag.as_bytes());
    std::fs::write(&changed, bytes).unwrap();
    let packaged = h.packaged(&dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    packaged
}

/// The packaged template with one function's code pointing at a key that is not in the bucket.
fn with_missing_code(packaged: &Packaged, logical_id: &str) -> Packaged {
    let mut broken = packaged.clone();
    broken.template["Resources"][logical_id]["Properties"]["Code"]["S3Key"] =
        json!(format!("functions/{logical_id}/missing.zip"));
    broken
}

fn changes(result: &Value) -> Vec<(String, String, Option<String>)> {
    result["Changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Action"].as_str().unwrap().to_string(),
                c["LogicalResourceId"].as_str().unwrap().to_string(),
                c["Replacement"].as_str().map(str::to_string),
            )
        })
        .collect()
}

async fn stack_status(h: &Harness, stack: &str) -> String {
    h.aws
        .cloudformation()
        .describe_stacks()
        .stack_name(deploy::stack_name(stack))
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .stack_status()
        .unwrap()
        .as_str()
        .to_string()
}

/// (name, status, execution status) of the stack's change sets.
async fn change_sets(h: &Harness, stack: &str) -> Vec<(String, String, String)> {
    h.aws
        .cloudformation()
        .list_change_sets()
        .stack_name(deploy::stack_name(stack))
        .send()
        .await
        .unwrap()
        .summaries()
        .iter()
        .map(|s| {
            (
                s.change_set_name().unwrap().to_string(),
                s.status().unwrap().as_str().to_string(),
                s.execution_status().unwrap().as_str().to_string(),
            )
        })
        .collect()
}

/// Change sets that could still be executed: what a run must not leave behind unless asked.
async fn pending_change_sets(h: &Harness, stack: &str) -> Vec<String> {
    change_sets(h, stack)
        .await
        .into_iter()
        .filter(|(_, _, execution)| execution == "AVAILABLE" || execution == "UNAVAILABLE")
        .map(|(name, _, _)| name)
        .collect()
}

async fn code_sha(h: &Harness, function: &str) -> String {
    h.clients
        .lambda
        .get_function()
        .function_name(function)
        .send()
        .await
        .unwrap()
        .configuration()
        .unwrap()
        .code_sha256()
        .unwrap()
        .to_string()
}

async fn functions_of(h: &Harness, stack: &str) -> Vec<String> {
    let lambda = &h.clients.lambda;
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = lambda
            .list_functions()
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        names.extend(
            page.functions()
                .iter()
                .filter_map(|f| f.function_name())
                .filter(|n| n.starts_with(&format!("{stack}-")))
                .map(str::to_string),
        );
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            return names;
        }
    }
}

/// The bootstrap stack's template as CloudFormation holds it.
async fn template(h: &Harness, stack: &str) -> String {
    h.aws
        .cloudformation()
        .get_template()
        .stack_name(deploy::stack_name(stack))
        .send()
        .await
        .unwrap()
        .template_body()
        .unwrap()
        .to_string()
}

fn resource_count(packaged: &Packaged) -> usize {
    packaged.template["Resources"].as_object().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_bootstrap_creates_through_a_change_set_and_the_second_changes_nothing() {
    let h = Harness::new().await;
    let (stack, options, packaged) = h.unbootstrapped("cs");
    let bucket = options.artifacts_bucket.clone().unwrap();

    let started = Instant::now();
    let first = deploy(&h.aws, &stack, &packaged, &options)
        .await
        .expect("first bootstrap");
    let first_seconds = started.elapsed().as_secs_f64();

    assert_eq!(first["Changed"], true);
    assert_eq!(first["Executed"], true);
    assert_eq!(first["Uploaded"], packaged.functions.len());
    let rows = changes(&first);
    assert_eq!(
        rows.len(),
        resource_count(&packaged),
        "one Add per resource"
    );
    assert!(
        rows.iter().all(|(action, _, _)| action == "Add"),
        "{rows:?}"
    );
    assert!(
        first["ProvisionStateMachineArn"].is_string(),
        "the stack's outputs: {first}"
    );
    assert_eq!(stack_status(&h, &stack).await, "CREATE_COMPLETE");
    let cfn = h.aws.cloudformation();
    let described = cfn
        .describe_stacks()
        .stack_name(deploy::stack_name(&stack))
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = described.stacks()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().into(), t.value().unwrap().into()))
        .collect();
    assert!(
        tags.contains(&("vikunja:stack".into(), stack.clone())),
        "{tags:?}"
    );
    let events = cfn
        .describe_stack_events()
        .stack_name(deploy::stack_name(&stack))
        .send()
        .await
        .unwrap();
    assert!(
        events
            .stack_events()
            .iter()
            .any(|e| e.logical_resource_id() == Some("NetworkFunction")
                && e.resource_status().map(|s| s.as_str()) == Some("CREATE_COMPLETE")),
        "the stack's events name each resource"
    );
    assert!(pending_change_sets(&h, &stack).await.is_empty());

    // The bucket: private, encrypted, versioned, TLS only.
    let s3 = &h.clients.s3;
    assert_eq!(
        find::public_access_block(s3, &bucket).await,
        (Some(true), Some(true), Some(true), Some(true))
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("aws:SecureTransport"));

    let template_before = template(&h, &stack).await;
    let network_before = code_sha(&h, &format!("{stack}-network")).await;

    let started = Instant::now();
    let second = deploy(&h.aws, &stack, &packaged, &options)
        .await
        .expect("second bootstrap");
    let second_seconds = started.elapsed().as_secs_f64();

    assert_eq!(second["Changed"], false, "{second}");
    assert_eq!(second["Executed"], false);
    assert_eq!(
        second["Uploaded"], 0,
        "content-addressed: nothing uploaded again"
    );
    assert!(
        second.get("ChangeSet").is_none(),
        "the empty change set is gone: {second}"
    );
    assert_eq!(
        second["ProvisionStateMachineArn"],
        first["ProvisionStateMachineArn"]
    );
    assert!(
        pending_change_sets(&h, &stack).await.is_empty(),
        "{:?}",
        change_sets(&h, &stack).await
    );
    assert_eq!(stack_status(&h, &stack).await, "CREATE_COMPLETE");
    let template_after = template(&h, &stack).await;
    assert_eq!(
        template_after, template_before,
        "the functions' Code did not change"
    );
    assert_eq!(
        code_sha(&h, &format!("{stack}-network")).await,
        network_before
    );
    println!("bootstrap (packaged once, own bucket): first {first_seconds:.1} s, second {second_seconds:.1} s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_function_is_the_only_change_and_no_execute_leaves_it_for_review() {
    let h = Harness::new().await;
    let (stack, options, _) = h.bootstrapped_with_own_bucket("cs").await;
    let network = code_sha(&h, &format!("{stack}-network")).await;
    let data = code_sha(&h, &format!("{stack}-data")).await;

    let changed = packaged_with_changed(&h, "network", &format!("{stack}-a"));
    let review = BootstrapOptions {
        no_execute: true,
        ..options.clone()
    };
    let proposed = deploy(&h.aws, &stack, &changed, &review)
        .await
        .expect("--no-execute");

    assert_eq!(proposed["Executed"], false);
    assert_eq!(
        proposed["Uploaded"], 1,
        "only the changed function's zip is new"
    );
    assert_eq!(
        changes(&proposed),
        [(
            "Modify".to_string(),
            "NetworkFunction".to_string(),
            Some("False".to_string())
        )]
    );
    let left = proposed["ChangeSet"].as_str().unwrap().to_string();
    assert_eq!(
        pending_change_sets(&h, &stack).await,
        std::slice::from_ref(&left),
        "left for review"
    );
    assert_eq!(
        stack_status(&h, &stack).await,
        "CREATE_COMPLETE",
        "the stack is untouched"
    );
    assert_eq!(code_sha(&h, &format!("{stack}-network")).await, network);

    // Reviewing again replaces the change set: one is left for review, never a pile.
    let again = deploy(&h.aws, &stack, &changed, &review)
        .await
        .expect("--no-execute again");
    let newer = again["ChangeSet"].as_str().unwrap().to_string();
    assert_ne!(newer, left);
    assert_eq!(
        pending_change_sets(&h, &stack).await,
        std::slice::from_ref(&newer),
        "the earlier one is removed"
    );

    let applied = deploy(&h.aws, &stack, &changed, &options)
        .await
        .expect("bootstrap");

    assert_eq!(applied["Executed"], true);
    assert_eq!(
        applied["Uploaded"], 0,
        "the zip went up with the reviewed change set"
    );
    assert_eq!(changes(&applied), changes(&proposed));
    assert_ne!(
        applied["ChangeSet"], newer,
        "a fresh change set is executed"
    );
    assert!(pending_change_sets(&h, &stack).await.is_empty());
    assert_eq!(stack_status(&h, &stack).await, "UPDATE_COMPLETE");
    assert_ne!(
        code_sha(&h, &format!("{stack}-network")).await,
        network,
        "network redeployed"
    );
    assert_eq!(
        code_sha(&h, &format!("{stack}-data")).await,
        data,
        "data untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_run_left_for_review_is_created_by_the_next() {
    let h = Harness::new().await;
    let (stack, options, packaged) = h.unbootstrapped("cs");
    let review = BootstrapOptions {
        no_execute: true,
        ..options.clone()
    };

    let proposed = deploy(&h.aws, &stack, &packaged, &review)
        .await
        .expect("--no-execute");
    assert_eq!(stack_status(&h, &stack).await, "REVIEW_IN_PROGRESS");
    assert_eq!(changes(&proposed).len(), resource_count(&packaged));
    assert!(
        functions_of(&h, &stack).await.is_empty(),
        "nothing made yet"
    );

    let created = deploy(&h.aws, &stack, &packaged, &options)
        .await
        .expect("bootstrap");

    assert_eq!(created["Changed"], true);
    assert_eq!(stack_status(&h, &stack).await, "CREATE_COMPLETE");
    assert_eq!(
        functions_of(&h, &stack).await.len(),
        packaged.functions.len()
    );
    assert!(pending_change_sets(&h, &stack).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_first_create_names_the_resource_and_the_next_run_creates_it_anew() {
    let h = Harness::new().await;
    let (stack, options, packaged) = h.unbootstrapped("cs");

    let error = deploy(
        &h.aws,
        &stack,
        &with_missing_code(&packaged, "DataFunction"),
        &options,
    )
    .await
    .expect_err("a function whose code is missing fails the create");
    let message = format!("{error:#}");

    assert!(message.contains("is ROLLBACK_COMPLETE"), "{message}");
    assert!(
        message.contains("cause: DataFunction (AWS::Lambda::Function) CREATE_FAILED"),
        "{message}"
    );
    assert!(message.contains("NoSuchKey"), "{message}");
    assert!(message.contains("run bootstrap again"), "{message}");
    assert_eq!(stack_status(&h, &stack).await, "ROLLBACK_COMPLETE");
    assert!(
        functions_of(&h, &stack).await.is_empty(),
        "the rollback left nothing half-made"
    );

    let created = deploy(&h.aws, &stack, &packaged, &options)
        .await
        .expect("the next good run");

    assert_eq!(created["Changed"], true);
    assert_eq!(stack_status(&h, &stack).await, "CREATE_COMPLETE");
    assert_eq!(
        functions_of(&h, &stack).await.len(),
        packaged.functions.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_update_names_the_resource_rolls_back_and_the_next_run_goes_on() {
    let h = Harness::new().await;
    let (stack, options, _) = h.bootstrapped_with_own_bucket("cs").await;
    let network = code_sha(&h, &format!("{stack}-network")).await;
    let changed = packaged_with_changed(&h, "network", &format!("{stack}-b"));

    let error = deploy(
        &h.aws,
        &stack,
        &with_missing_code(&changed, "HookFunction"),
        &options,
    )
    .await
    .expect_err("the hook's code is missing");
    let message = format!("{error:#}");

    assert!(message.contains("is UPDATE_ROLLBACK_COMPLETE"), "{message}");
    assert!(message.contains("as it was before"), "{message}");
    assert!(
        message.contains("cause: HookFunction (AWS::Lambda::Function) UPDATE_FAILED"),
        "{message}"
    );
    assert!(message.contains("NoSuchKey"), "{message}");
    assert_eq!(stack_status(&h, &stack).await, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(
        code_sha(&h, &format!("{stack}-network")).await,
        network,
        "network rolled back too"
    );

    let applied = deploy(&h.aws, &stack, &changed, &options)
        .await
        .expect("the next good run");

    assert_eq!(applied["Executed"], true);
    assert_eq!(
        changes(&applied),
        [(
            "Modify".to_string(),
            "NetworkFunction".to_string(),
            Some("False".to_string())
        )]
    );
    assert_eq!(stack_status(&h, &stack).await, "UPDATE_COMPLETE");
    assert_ne!(code_sha(&h, &format!("{stack}-network")).await, network);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_that_fails_is_refused_then_continued_with_a_skip() {
    let h = Harness::new().await;
    let (stack, options, packaged) = h.bootstrapped_with_own_bucket("cs").await;
    let bucket = options.artifacts_bucket.clone().unwrap();
    // The deployed network zip disappears (a lifecycle rule, a hand clean-up): a rollback
    // to it cannot work, on AWS as here.
    let network_key = &packaged
        .functions
        .iter()
        .find(|f| f.name == "network")
        .unwrap()
        .key;
    let s3 = &h.clients.s3;
    s3.delete_object()
        .bucket(&bucket)
        .key(network_key)
        .send()
        .await
        .unwrap();
    let changed = packaged_with_changed(&h, "network", &format!("{stack}-c"));

    let error = deploy(
        &h.aws,
        &stack,
        &with_missing_code(&changed, "DataFunction"),
        &options,
    )
    .await
    .expect_err("data's code is missing, and network's old code too");
    let message = format!("{error:#}");
    assert!(message.contains("is UPDATE_ROLLBACK_FAILED"), "{message}");
    assert!(message.contains("--continue-rollback"), "{message}");
    assert_eq!(stack_status(&h, &stack).await, "UPDATE_ROLLBACK_FAILED");

    let refused = deploy(&h.aws, &stack, &changed, &options)
        .await
        .expect_err("refused until continued");
    let message = format!("{refused:#}");
    assert!(
        message.contains("the rollback could not restore"),
        "{message}"
    );
    assert!(
        message.contains("NetworkFunction (AWS::Lambda::Function)"),
        "{message}"
    );
    assert!(
        message.contains("--continue-rollback --skip-resource NetworkFunction"),
        "{message}"
    );
    assert!(
        !message.contains("DataFunction"),
        "data was rolled back: {message}"
    );

    let without_skip = BootstrapOptions {
        continue_rollback: true,
        ..options.clone()
    };
    let still = deploy(&h.aws, &stack, &changed, &without_skip)
        .await
        .expect_err("network's old code is still gone");
    assert!(
        format!("{still:#}").contains("--skip-resource NetworkFunction"),
        "{still:#}"
    );
    assert_eq!(stack_status(&h, &stack).await, "UPDATE_ROLLBACK_FAILED");

    let skipping = BootstrapOptions {
        continue_rollback: true,
        skip_resources: vec!["NetworkFunction".into()],
        ..options.clone()
    };
    let recovered = deploy(&h.aws, &stack, &changed, &skipping)
        .await
        .expect("continue, skip, update");

    assert_eq!(recovered["Executed"], true);
    assert_eq!(stack_status(&h, &stack).await, "UPDATE_COMPLETE");
    let again = deploy(&h.aws, &stack, &changed, &skipping)
        .await
        .expect_err("nothing to continue now");
    assert!(
        format!("{again:#}").contains("not UPDATE_ROLLBACK_FAILED"),
        "{again:#}"
    );
    let settled = deploy(&h.aws, &stack, &changed, &options)
        .await
        .expect("a plain run");
    assert_eq!(settled["Changed"], false, "{settled}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_fails_half_way_is_finished_by_the_next_run() {
    let h = Harness::new().await;
    let (stack, options, packaged) = h.unbootstrapped("cs");
    let bucket = options.artifacts_bucket.clone().unwrap();
    let fourth = packaged.functions[3].name.clone();
    // The bucket refuses the fourth function's zip: the upload stops there.
    let s3 = &h.clients.s3;
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(
            json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "RefuseOne", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                "Resource": format!("arn:aws:s3:::{bucket}/functions/{fourth}/*")
            }]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();

    let error = deploy(&h.aws, &stack, &packaged, &options)
        .await
        .expect_err("the fourth upload is refused");
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!(
            "upload function {fourth} (4 of {}",
            packaged.functions.len()
        )),
        "{message}"
    );
    assert!(message.contains("3 uploaded before it"), "{message}");
    assert!(
        message.contains("uploads only what is missing"),
        "{message}"
    );
    let exists = h
        .aws
        .cloudformation()
        .describe_stacks()
        .stack_name(deploy::stack_name(&stack))
        .send()
        .await;
    assert!(exists.is_err(), "no stack before every zip is there");

    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    let mut document: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    document["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != "RefuseOne");
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(document.to_string())
        .send()
        .await
        .unwrap();

    let finished = deploy(&h.aws, &stack, &packaged, &options)
        .await
        .expect("the next run");

    assert_eq!(
        finished["Uploaded"],
        packaged.functions.len() - 3,
        "the three zips already there are not uploaded again"
    );
    assert_eq!(finished["Changed"], true);
    assert_eq!(stack_status(&h, &stack).await, "CREATE_COMPLETE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_name_taken_by_another_account_is_refused_with_what_to_do() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("cs");
    // Another region, so the default bucket name is not the one the other tests share.
    let aws = target::connect(Target::Local, Some("eu-west-3"), None)
        .await
        .unwrap();
    let default = deploy::artifacts_bucket(&aws);
    assert_eq!(default, "vikunja-artifacts-123456789012-eu-west-3");
    let squatter = aws.s3();
    let created = squatter
        .create_bucket()
        .bucket(&default)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest3)
                .build(),
        )
        .customize()
        .mutate_request(|request| {
            request
                .headers_mut()
                .insert("x-moto-account-id", "111111111111");
        })
        .send()
        .await;
    if let Err(e) = created {
        assert!(format!("{e:?}").contains("BucketAlreadyExists"), "{e:?}");
    }
    let packaged = h.packaged(&h.binaries).unwrap();

    let error = deploy(&aws, &stack, &packaged, &BootstrapOptions::default())
        .await
        .expect_err("the default name belongs to another account");
    let message = format!("{error:#}");
    assert!(
        message.contains("taken by another AWS account"),
        "{message}"
    );
    assert!(message.contains("--artifacts-bucket NAME"), "{message}");

    // A bucket in another region than the stack cannot serve Lambda either.
    let elsewhere = format!("artifacts-{stack}-us");
    h.clients
        .s3
        .create_bucket()
        .bucket(&elsewhere)
        .send()
        .await
        .unwrap();
    let wrong_region = BootstrapOptions {
        artifacts_bucket: Some(elsewhere),
        ..BootstrapOptions::default()
    };
    let error = deploy(&aws, &stack, &packaged, &wrong_region)
        .await
        .expect_err("a us-east-1 bucket for an eu-west-3 stack");
    assert!(
        format!("{error:#}").contains("is in us-east-1, the stack in eu-west-3"),
        "{error:#}"
    );

    let chosen = BootstrapOptions {
        artifacts_bucket: Some(format!("artifacts-{stack}-eu")),
        ..BootstrapOptions::default()
    };
    let created = deploy(&aws, &stack, &packaged, &chosen)
        .await
        .expect("another name works");
    assert_eq!(created["ArtifactsBucket"], format!("artifacts-{stack}-eu"));
    // The stack remembers its bucket: a run without the option keeps it.
    let again = deploy(&aws, &stack, &packaged, &BootstrapOptions::default())
        .await
        .expect("a run without --artifacts-bucket");
    assert_eq!(again["ArtifactsBucket"], format!("artifacts-{stack}-eu"));
    assert_eq!(again["Changed"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_without_a_needed_service_is_refused_before_anything_is_made() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("cs");
    let aws = target::connect(Target::Local, Some("us-gov-west-1"), None)
        .await
        .unwrap();
    let packaged = h.packaged(&h.binaries).unwrap();

    let error = deploy(&aws, &stack, &packaged, &BootstrapOptions::default())
        .await
        .expect_err("GovCloud has no CloudFront");
    let message = format!("{error:#}");

    assert!(
        message.contains("region us-gov-west-1 lacks services this stack needs"),
        "{message}"
    );
    assert!(
        message.contains("cloudfront (the frontend's distribution)"),
        "{message}"
    );
    let s3 = aws.s3();
    assert!(
        s3.head_bucket()
            .bucket(deploy::artifacts_bucket(&aws))
            .send()
            .await
            .is_err(),
        "no bucket made"
    );
}

/// The CLI itself, as an operator runs it with `--target aws` and nothing configured: each
/// bad input fails before any AWS call, with what to do (no network needed).
#[test]
fn bad_input_on_aws_says_what_to_do() {
    let binaries = PathBuf::from(std::env::var("VIKUNJA_BINARIES").expect("VIKUNJA_BINARIES"));
    let home = std::env::temp_dir().join(format!("vikunja-empty-home-{}", std::process::id()));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/config"),
        "[profile dev]\nregion = eu-west-1\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(binaries.join("vikunja-aws"))
            .args(["bootstrap", "--target", "aws", "--binaries"])
            .arg(&binaries)
            .args(args)
            .env_clear()
            .env("HOME", &home)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env(
                "VIKUNJA_ROOT",
                Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
            )
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} must fail");
        String::from_utf8_lossy(&output.stderr).to_string()
    };

    let no_credentials = run(&["--region", "eu-west-1"]);
    assert!(
        no_credentials.contains("no AWS credentials found"),
        "{no_credentials}"
    );
    assert!(no_credentials.contains("aws configure"), "{no_credentials}");
    let with_profile = run(&["--profile", "dev"]);
    assert!(
        with_profile.contains("no AWS credentials found for profile `dev`"),
        "{with_profile}"
    );
    assert!(
        with_profile.contains("aws sso login --profile dev"),
        "{with_profile}"
    );
    let unknown = run(&["--profile", "nosuch", "--region", "eu-west-1"]);
    assert!(
        unknown.contains("AWS profile `nosuch` is not defined"),
        "{unknown}"
    );
    assert!(
        unknown.contains("aws configure --profile nosuch"),
        "{unknown}"
    );
    let no_region = run(&[]);
    assert!(
        no_region.contains("no AWS region: pass --region"),
        "{no_region}"
    );
    let zone = run(&["--region", "eu-west-1a"]);
    assert!(
        zone.contains("not an AWS region name") && zone.contains("Availability Zone"),
        "{zone}"
    );
    let skip_alone = run(&[
        "--region",
        "eu-west-1",
        "--skip-resource",
        "NetworkFunction",
    ]);
    assert!(skip_alone.contains("--continue-rollback"), "{skip_alone}");
    std::fs::remove_dir_all(&home).ok();
}
