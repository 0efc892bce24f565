//! Every deployed function answers an event it cannot use — empty, malformed, wrongly shaped,
//! not JSON at all — with `errorType` `InvalidInput` and a message that says what was wrong,
//! never with a Rust type path (lambda_runtime's `DeserializeError`). Invoked through the
//! Lambda Invoke API on the local AWS stack, as a misbehaving caller would.

use aws_sdk_lambda::primitives::Blob;
use serde_json::{json, Value};
use tokio::task::JoinSet;
use vikunja_tests::Harness;

/// Each function, and the words its message uses for the event it expects.
const FUNCTIONS: &[(&str, &str)] = &[
    ("network", "a provision state"),
    ("data", "a data event"),
    ("loadbalancer", "a provision state"),
    ("frontend", "a provision state"),
    ("backend", "a provision state"),
    ("delivery", "a provision state"),
    ("release-backend", "a backend release request"),
    ("release-frontend", "a frontend release request"),
    ("teardown", "a teardown event"),
    // These two read the event themselves, in their own words.
    ("hook", "lifecycle event"),
    ("probe", "probe request"),
];

/// Bad for every function: empty, the wrong JSON type, and not JSON.
fn common() -> Vec<(&'static str, Vec<u8>)> {
    let json = |value: Value| value.to_string().into_bytes();
    vec![
        ("no payload", Vec::new()),
        ("{}", json(json!({}))),
        ("null", json(json!(null))),
        ("\"\"", json(json!(""))),
        ("a number", json(json!(42))),
        ("an array", json(json!([1, 2]))),
        ("not JSON", b"settings: yes".to_vec()),
        ("cut-off JSON", b"{\"settings\": {\"stack\":".to_vec()),
    ]
}

/// Bad for one function: the right kind of object with a wrong part.
fn wrongly_shaped(function: &str) -> Vec<Value> {
    match function {
        "network" | "loadbalancer" | "frontend" | "backend" | "delivery" => vec![
            json!({"settings": "demo"}),
            json!({"settings": {"stack": 5}}),
            json!({"settings": {"stack": "demo", "colour": "red"}}),
            json!({"settings": {"stack": "demo"}, "network": {"vpcId": 7}}),
        ],
        "data" => vec![
            json!({"settings": {"stack": 5}}),
            json!({"action": "explode", "settings": {"stack": "demo"}}),
        ],
        "release-backend" => vec![
            json!({"action": "launch"}),
            json!({"action": "register"}),
            json!({"action": 3, "release": {}}),
        ],
        "release-frontend" => vec![json!({"action": "sync"}), json!({"action": "launch"})],
        "teardown" => vec![
            json!({"action": "nope", "options": {}}),
            json!({"options": {}}),
            json!({"action": "plan", "options": "all"}),
        ],
        "hook" => vec![
            json!({"DeploymentId": 5, "LifecycleEventHookExecutionId": "abc"}),
            json!({"DeploymentId": "", "LifecycleEventHookExecutionId": ""}),
        ],
        "probe" => vec![
            json!({"urls": "http://10.0.1.5:8080/health"}),
            json!({"urls": []}),
            json!({"urls": ["http://10.0.1.5/"], "method": "POST"}),
        ],
        other => panic!("no wrongly shaped events for {other}"),
    }
}

/// A Rust type path in a diagnostic: `&lambda_runtime::deserializer::DeserializeError`.
fn looks_like_a_type_path(text: &str) -> bool {
    text.contains("::") || text.starts_with('&')
}

/// What is wrong with one answer, if anything.
fn judge(words: &str, name: &str, function_error: Option<&str>, body: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error_type = answer["errorType"].as_str().unwrap_or_default();
    let message = answer["errorMessage"].as_str().unwrap_or_default();
    let expected = if name.contains("JSON") {
        "not JSON"
    } else {
        words
    };
    let fine = function_error.is_some()
        && error_type == "InvalidInput"
        && message.starts_with("invalid input: ")
        && message.contains(expected)
        && !looks_like_a_type_path(error_type)
        && !looks_like_a_type_path(message);
    (!fine).then(|| {
        format!(
            "{name}: function error {function_error:?}, answer {}",
            String::from_utf8_lossy(body)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_answers_a_bad_event_with_invalid_input_that_says_why() {
    let h = Harness::new().await;
    let stack = Harness::unique_stack("bad-ev");
    h.bootstrap(&stack).await.expect("bootstrap");
    let lambda = aws_sdk_lambda::Client::new(h.config());

    // One task per function; each sends its events in turn (the first one starts it).
    let mut tasks = JoinSet::new();
    for &(function, words) in FUNCTIONS {
        let (lambda, name) = (lambda.clone(), format!("{stack}-{function}"));
        let mut events = common();
        events.extend(
            wrongly_shaped(function)
                .into_iter()
                .map(|event| ("wrongly shaped", event.to_string().into_bytes())),
        );
        tasks.spawn(async move {
            let mut problems = Vec::new();
            for (what, payload) in events {
                let shown = String::from_utf8_lossy(&payload).into_owned();
                let mut invoke = lambda.invoke().function_name(&name);
                if !payload.is_empty() {
                    invoke = invoke.payload(Blob::new(payload));
                }
                let label = format!("{function} with {what} ({shown})");
                match invoke.send().await {
                    Ok(out) => {
                        let body = out.payload().map(|p| p.as_ref()).unwrap_or_default();
                        problems.extend(judge(words, &label, out.function_error(), body));
                    }
                    Err(e) => problems.push(format!("{label}: invoke failed: {e:?}")),
                }
            }
            problems
        });
    }
    let mut problems = Vec::new();
    while let Some(done) = tasks.join_next().await {
        problems.extend(done.expect("an invoking task panicked"));
    }
    assert!(
        problems.is_empty(),
        "{} bad answers:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_judge_refuses_what_lambda_runtime_answered_before() {
    let before = br#"{"errorType":"&lambda_runtime::deserializer::DeserializeError","errorMessage":"failed to deserialize the incoming data into the function's payload type: missing field `settings` at line 1 column 2\n"}"#;
    assert!(judge("a provision state", "{}", Some("Unhandled"), before).is_some());
    let now = br#"{"errorType":"InvalidInput","errorMessage":"invalid input: the event is not a provision state: missing field `settings`"}"#;
    assert_eq!(
        judge("a provision state", "{}", Some("Unhandled"), now),
        None
    );
    let panic = br#"{"errorType":"&alloc::boxed::Box<dyn core::any::Any + core::marker::Send>","errorMessage":"Lambda panicked: boom"}"#;
    assert!(judge("a provision state", "{}", Some("Unhandled"), panic).is_some());
}
