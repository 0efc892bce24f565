//! IAM enforced on the local stack (`VIKUNJA_LOCAL_IAM=enforce`, what `tests/with-local-stack`
//! starts): every function's call is checked against its execution role's policies, and every
//! call signed with an IAM user's access key against that user's, so the template's grants and
//! the operator policy (`docs/operator-policy.json`) are exercised, not only reviewed. Removing
//! one grant a step (or the CLI) needs makes it fail with AWS's AccessDenied, naming the
//! action; putting it back, the command converges.

use std::time::Instant;

use serde_json::{json, Value};
use vikunja_aws::down::{self, DownOptions};
use vikunja_aws::{release_backend, Output};
use vikunja_tests::Harness;

const STEP_POLICY: &str = "loadbalancer";
const NEEDED: &str = "elasticloadbalancing:CreateTargetGroup";

fn iam_control() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    format!("{endpoint}/_vikunja_local/iam")
}

/// The role a deployed function runs as, by name.
async fn role_of(h: &Harness, function: &str) -> String {
    let config = h
        .clients
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("the function");
    let arn = config.role().expect("a role").to_string();
    arn.rsplit('/').next().unwrap().to_string()
}

/// IAM answers policy documents URL-encoded (RFC 3986); plain JSON reads as itself.
fn decoded(document: &str) -> Value {
    let text = percent_encoding::percent_decode_str(document)
        .decode_utf8()
        .expect("UTF-8");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The policy without one action, wherever a statement lists it (a statement left with no
/// action goes).
fn without(mut policy: Value, action: &str) -> Value {
    let mut removed = 0;
    let statements = policy["Statement"].as_array_mut().unwrap();
    for statement in statements.iter_mut() {
        match &mut statement["Action"] {
            Value::Array(actions) => {
                let before = actions.len();
                actions.retain(|a| a != action);
                removed += before - actions.len();
            }
            Value::String(only) if only == action => {
                statement["Action"] = json!([]);
                removed += 1;
            }
            _ => {}
        }
    }
    statements.retain(|s| s["Action"] != json!([]));
    assert_eq!(removed, 1, "{action} is granted once in {policy}");
    policy
}

async fn iam_report() -> Value {
    reqwest::get(iam_control())
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn assert_enforced() {
    let mode = iam_report().await;
    assert_eq!(
        mode["mode"], "enforce",
        "this test needs the local stack to enforce IAM (tests/with-local-stack does): {mode}"
    );
}

async fn put_policy(iam: &aws_sdk_iam::Client, role: &str, policy: &Value) {
    iam.put_role_policy()
        .role_name(role)
        .policy_name(STEP_POLICY)
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("put the role's policy");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_without_a_grant_it_needs_fails_with_access_denied_and_converges_once_it_is_back() {
    assert_enforced().await;
    // Bootstraps take turns with the other test's: moto's CloudFormation is not thread-safe.
    let h = Harness::new().await.one_bootstrap_at_a_time();
    let iam = aws_sdk_iam::Client::new(&h.aws.config);
    let stack = Harness::unique_stack("iam");
    h.bootstrap(&stack).await.expect("bootstrap");
    let role = role_of(&h, &format!("{stack}-loadbalancer")).await;
    let granted = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name(STEP_POLICY)
        .send()
        .await
        .expect("the step's policy");
    let policy = decoded(granted.policy_document());

    put_policy(&iam, &role, &without(policy.clone(), NEEDED)).await;
    let error = h
        .provision(&stack, json!({}))
        .await
        .expect_err("up cannot create a target group without the grant");
    let message = format!("{error:#}");
    assert!(
        message.contains("AccessDenied")
            && message.contains(&format!("is not authorized to perform: {NEEDED}")),
        "{message}"
    );
    let log = iam_report().await;
    let denied = log.to_string();
    assert!(
        denied.contains(&format!("{stack}-loadbalancer")) && denied.contains(NEEDED),
        "the denial is in the local stack's log: {log}"
    );

    put_policy(&iam, &role, &policy).await;
    h.provision(&stack, json!({}))
        .await
        .expect("with the grant back, up converges");
}

// -- the operator CLI as an IAM user ----------------------------------------------------------

/// AWS's quota for a managed policy: 6,144 characters, whitespace not counted (IAM User Guide,
/// "IAM and AWS STS quotas"). The operator policy is larger, so it is created as two managed
/// policies (docs/aws.md): the statements up to this one, and the rest.
const MANAGED_POLICY_MAX_CHARS: usize = 6144;
const FIRST_PART_ENDS_WITH: &str = "WhichServicesTheRegionOffers";
/// A grant `up` needs from the operator (the CLI starts the provision workflow).
const OPERATOR_NEEDS: &str = "states:StartExecution";

/// The next patch release of the image `up` deploys (a release must not downgrade Vikunja).
fn next_patch_release() -> String {
    let image = vikunja_core::settings::DEFAULT_IMAGE;
    let (repository, tag) = image.rsplit_once(':').expect("a tagged image");
    let (minor, patch) = tag.rsplit_once('.').expect("a semver tag");
    let patch: u32 = patch.parse().expect("a numeric patch version");
    format!("{repository}:{minor}.{}", patch + 1)
}

/// docs/operator-policy.json with its placeholders replaced, as the two managed policies
/// docs/aws.md creates from it: (bootstrap, run).
fn operator_policies(h: &Harness, account: &str, region: &str, stack: &str) -> [Value; 2] {
    let path = h.root.join("docs/operator-policy.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let text = text
        .replace("ACCOUNT_ID", account)
        .replace("REGION", region)
        .replace("STACK", stack);
    let document: Value = serde_json::from_str(&text).expect("the operator policy is JSON");
    let statements = document["Statement"].as_array().unwrap();
    let split = statements
        .iter()
        .position(|s| s["Sid"] == FIRST_PART_ENDS_WITH)
        .unwrap_or_else(|| {
            panic!("no statement {FIRST_PART_ENDS_WITH}: docs/aws.md splits the policy there")
        })
        + 1;
    let part =
        |statements: &[Value]| json!({"Version": document["Version"], "Statement": statements});
    [part(&statements[..split]), part(&statements[split..])]
}

/// A policy's size as IAM counts it against its quotas: characters, whitespace not counted.
fn iam_size(policy: &Value) -> usize {
    policy
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_policy_fits_in_two_managed_policies_for_the_longest_names() {
    let h = Harness::new().await;
    // The longest a stack name (20 characters) and a region name (ap-southeast-7) can be.
    let parts = operator_policies(&h, "123456789012", "ap-southeast-7", "vikunja-staging-2026");
    for (name, part) in ["bootstrap", "run"].iter().zip(&parts) {
        let size = iam_size(part);
        println!("operator policy, {name} part: {size} characters");
        assert!(
            size <= MANAGED_POLICY_MAX_CHARS,
            "the {name} part of docs/operator-policy.json is {size} characters: AWS refuses a managed policy over {MANAGED_POLICY_MAX_CHARS} (split it again, docs/aws.md)"
        );
    }
}

/// The IAM user's entries of the local stack's report: (calls checked, denials by action).
fn user_figures(report: &Value, user_arn: &str) -> (u64, Value) {
    (
        report["checked"][user_arn].as_u64().unwrap_or(0),
        report["denied"][user_arn].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_runs_as_an_iam_user_holding_the_operator_policy_and_fails_without_a_grant_it_needs(
) {
    assert_enforced().await;
    let h = Harness::new().await.one_bootstrap_at_a_time();
    let iam = aws_sdk_iam::Client::new(&h.aws.config);
    let stack = Harness::unique_stack("iamop");
    let user = format!("{stack}-operator");
    let user_arn = format!("arn:aws:iam::{}:user/{user}", h.aws.account);
    iam.create_user()
        .user_name(&user)
        .send()
        .await
        .expect("create the user");
    let parts = operator_policies(&h, &h.aws.account, &h.aws.region, &stack);
    let mut arns = Vec::new();
    for (name, part) in ["bootstrap", "run"].iter().zip(&parts) {
        let created = iam
            .create_policy()
            .policy_name(format!("{stack}-operator-{name}"))
            .policy_document(part.to_string())
            .send()
            .await
            .expect("create the managed policy");
        let arn = created.policy().unwrap().arn().unwrap().to_string();
        iam.attach_user_policy()
            .user_name(&user)
            .policy_arn(&arn)
            .send()
            .await
            .expect("attach it");
        arns.push(arn);
    }
    let key = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .expect("an access key");
    let key = key.access_key().unwrap();
    let operator = h
        .signed_as(key.access_key_id(), key.secret_access_key())
        .one_bootstrap_at_a_time();

    // With the operator policy: bootstrap, up and a backend release, no call denied.
    let clock = Instant::now();
    operator
        .bootstrap(&stack)
        .await
        .expect("bootstrap as the operator");
    let bootstrapped = clock.elapsed().as_secs_f64();
    operator
        .provision(&stack, json!({}))
        .await
        .expect("up as the operator");
    let provisioned = clock.elapsed().as_secs_f64();
    let released =
        release_backend::release(&operator.aws, &stack, &next_patch_release(), Output::Json)
            .await
            .expect("release backend as the operator");
    assert_eq!(released["status"], "Succeeded", "{released}");
    // `status` reads every tier, both target groups' health and the release workflows.
    let observed = vikunja_aws::status::observe(&operator.aws, &stack)
        .await
        .expect("status as the operator");
    let seen = vikunja_aws::status::judge(&observed);
    assert!(
        seen.live_colour.is_some() && !seen.releases.is_empty(),
        "{seen:#?}"
    );
    let (checked, denied) = user_figures(&iam_report().await, &user_arn);
    println!(
        "as {user_arn}: bootstrap {bootstrapped:.1}s, up {:.1}s, release {:.1}s; {checked} calls checked, denied: {denied}",
        provisioned - bootstrapped,
        clock.elapsed().as_secs_f64() - provisioned
    );
    assert!(
        checked >= 20,
        "the CLI's calls were signed as the user and checked: {checked}"
    );
    assert_eq!(denied, Value::Null, "no call of the operator's is denied");

    // Without one grant `up` needs: AWS's AccessDenied, naming the action and the user.
    let run = &arns[1];
    iam.create_policy_version()
        .policy_arn(run)
        .policy_document(without(parts[1].clone(), OPERATOR_NEEDS).to_string())
        .set_as_default(true)
        .send()
        .await
        .expect("the run policy without the grant");
    let error = operator
        .provision(&stack, json!({}))
        .await
        .expect_err("up cannot start the provision workflow without the grant");
    let message = format!("{error:#}");
    assert!(
        message.contains("AccessDenied")
            && message.contains(&format!(
                "User: {user_arn} is not authorized to perform: {OPERATOR_NEEDS}"
            )),
        "{message}"
    );
    let (_, denied) = user_figures(&iam_report().await, &user_arn);
    assert_eq!(
        denied,
        json!({OPERATOR_NEEDS: 1}),
        "the denial is in the local stack's log"
    );

    // The grant back (the policy's first version): up converges and down removes everything.
    iam.set_default_policy_version()
        .policy_arn(run)
        .version_id("v1")
        .send()
        .await
        .expect("the operator policy back");
    operator
        .provision(&stack, json!({}))
        .await
        .expect("with the grant back, up converges");
    let options = DownOptions {
        delete_data: true,
        skip_final_snapshot: true,
        ..DownOptions::default()
    };
    let report = down::down(&operator.aws, &stack, &options, Output::Json, &mut |_| {
        Ok(true)
    })
    .await
    .expect("down as the operator");
    assert!(
        report.complete,
        "down left something: {:?}",
        vikunja_tests::failures(&report)
    );
    let report = iam_report().await;
    let (after, denied) = user_figures(&report, &user_arn);
    println!(
        "as {user_arn}, all of it: {:.1}s; {after} calls checked, denied: {denied}; allowed only by what is not evaluated (conditions, unknown resources): {}",
        clock.elapsed().as_secs_f64(),
        report["uncertain"][&user_arn]
    );
    assert_eq!(denied, json!({OPERATOR_NEEDS: 1}), "nothing else denied");
    assert!(after > checked, "up and down were checked too");
}
