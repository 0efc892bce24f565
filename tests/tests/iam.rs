//! IAM enforced on the local stack (`VIKUNJA_LOCAL_IAM=enforce`, what `tests/with-local-stack`
//! starts): every function's call is checked against its execution role's policies, so the
//! template's grants are exercised, not only reviewed. Removing one grant a step needs makes
//! that step fail with AWS's AccessDenied, naming the action; putting it back, `up` converges.

use serde_json::{json, Value};
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

/// The policy without one action, wherever a statement lists it.
fn without(mut policy: Value, action: &str) -> Value {
    let mut removed = 0;
    for statement in policy["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = statement["Action"].as_array_mut() {
            let before = actions.len();
            actions.retain(|a| a != action);
            removed += before - actions.len();
        }
    }
    assert_eq!(removed, 1, "{action} is granted once in {policy}");
    policy
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
    let mode: Value = reqwest::get(iam_control())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        mode["mode"], "enforce",
        "this test needs the local stack to enforce IAM (tests/with-local-stack does): {mode}"
    );
    let h = Harness::new().await;
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
    let log: Value = reqwest::get(iam_control())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
