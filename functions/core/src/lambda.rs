//! The Lambda boundary every function goes through. The event arrives as JSON and is read
//! into the function's own event type here, so a wrong shape is an `InvalidInput` that says
//! what was wrong — not lambda_runtime's `DeserializeError`, whose `errorType` is a Rust type
//! path — and a panic in a handler is a `Panic` error with its message, not an unnamed crash.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use lambda_runtime::{service_fn, Context, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// The `errorType` of a panic that reached the boundary.
pub const PANIC: &str = "Panic";

/// Runs the function: each event is read as a `T` (`event` names it in words, for the
/// message: "a provision state") and handed to `handler` with the invocation's context.
///
/// `main` builds the clients once and borrows them into `handler`, as with `service_fn`.
pub async fn serve<T, R, F, Fut>(event: &str, handler: F) -> Result<(), lambda_runtime::Error>
where
    T: DeserializeOwned,
    R: Serialize,
    F: Fn(T, Context) -> Fut,
    Fut: Future<Output = Result<R>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |invocation: LambdaEvent<Incoming>| {
        answer(event, handler, invocation)
    }))
    .await
}

/// One invocation: the typed event, or `InvalidInput`; the handler's result, or `Panic`.
async fn answer<T, R, F, Fut>(
    event: &str,
    handler: &F,
    invocation: LambdaEvent<Incoming>,
) -> Result<R, Diagnostic>
where
    T: DeserializeOwned,
    F: Fn(T, Context) -> Fut,
    Fut: Future<Output = Result<R>>,
{
    let payload = parse(event, invocation.payload)?;
    // The call is inside the future, so a panic before the handler's first await is caught too.
    // Boxed: a handler's future nests deep already, and without the box release-frontend's
    // `main` went past rustc's layout recursion limit (128).
    let call = async { Box::pin(handler(payload, invocation.context)).await };
    match AssertUnwindSafe(call).catch_unwind().await {
        Ok(result) => result.map_err(Diagnostic::from),
        Err(panic) => Err(panicked(panic)),
    }
}

/// What the runtime hands over: the event as JSON, or why its body is not JSON at all (the
/// Invoke API refuses such a body on AWS; a local stack may pass it on). Reading it never
/// fails, so lambda_runtime's own deserialization error cannot happen.
#[derive(Debug)]
enum Incoming {
    Json(Value),
    NotJson(String),
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer) {
            Ok(value) => Self::Json(value),
            Err(e) => Self::NotJson(e.to_string()),
        })
    }
}

/// What [`serve`] makes of an invocation's body: the event as a `T`, or `InvalidInput`. The
/// body is read as lambda_runtime reads it (`serde_path_to_error` over `from_slice`, no check
/// for trailing bytes), then goes through the same [`Incoming`] and [`parse`] as `serve`.
pub fn decode<T: DeserializeOwned>(event: &str, body: &[u8]) -> Result<T> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let incoming = serde_path_to_error::deserialize(deserializer)
        .unwrap_or_else(|e| Incoming::NotJson(e.inner().to_string()));
    parse(event, incoming)
}

/// The event as a `T`, or `InvalidInput` with serde's reason and where in the event it
/// applies: "the event is not a provision state: settings.stack: invalid type: …".
fn parse<T: DeserializeOwned>(event: &str, incoming: Incoming) -> Result<T> {
    let value = match incoming {
        Incoming::Json(value) => value,
        Incoming::NotJson(reason) => {
            return Err(Error::invalid(format!("the event is not JSON: {reason}")))
        }
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.inner();
        if path == "." {
            Error::invalid(format!("the event is not {event}: {reason}"))
        } else {
            Error::invalid(format!("the event is not {event}: {path}: {reason}"))
        }
    })
}

fn panicked(panic: Box<dyn Any + Send>) -> Diagnostic {
    let message = panic
        .downcast_ref::<&str>()
        .map(|m| m.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    tracing::error!(message, "the handler panicked");
    Diagnostic {
        error_type: PANIC.to_string(),
        error_message: format!("the function panicked: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProvisionState;

    /// The body as lambda_runtime reads it: `serde_path_to_error` over `from_slice`, no `end()`.
    pub(super) fn arrives(body: &[u8]) -> LambdaEvent<Incoming> {
        let deserializer = &mut serde_json::Deserializer::from_slice(body);
        let incoming = serde_path_to_error::deserialize(deserializer).expect("never fails");
        LambdaEvent::new(incoming, Context::default())
    }

    async fn provision(body: &[u8]) -> Result<String, Diagnostic> {
        let handler = |state: ProvisionState, _| async move { Ok(state.settings.stack) };
        answer("a provision state", &handler, arrives(body)).await
    }

    #[tokio::test]
    async fn a_wrong_shape_is_invalid_input_that_says_what_is_wrong() {
        for (body, why) in [
            (
                &b"{}"[..],
                "the event is not a provision state: missing field `settings`",
            ),
            (
                b"null",
                "the event is not a provision state: invalid type: null",
            ),
            (
                b"\"\"",
                "the event is not a provision state: invalid type: string \"\"",
            ),
            // serde reads a struct from a sequence too: its first field is then wrong.
            (
                b"[1, 2]",
                "the event is not a provision state: [0]: invalid type: integer `1`",
            ),
            (
                br#"{"settings": {"stack": 5}}"#,
                "the event is not a provision state: settings.stack: invalid type: integer `5`",
            ),
            (
                br#"{"settings": {"stack": "s", "colour": "red"}}"#,
                "settings.colour: unknown field `colour`",
            ),
            (b"", "the event is not JSON: EOF while parsing a value"),
            (b"not json", "the event is not JSON: expected ident"),
            (
                b"{\"settings\":",
                "the event is not JSON: EOF while parsing",
            ),
        ] {
            let diagnostic = provision(body).await.unwrap_err();
            assert_eq!(diagnostic.error_type, "InvalidInput", "{diagnostic:?}");
            assert!(
                diagnostic.error_message.starts_with("invalid input: ")
                    && diagnostic.error_message.contains(why),
                "{:?}: {} should contain {why}",
                String::from_utf8_lossy(body),
                diagnostic.error_message
            );
        }
    }

    #[tokio::test]
    async fn a_good_event_reaches_the_handler_with_its_context() {
        let stack = provision(br#"{"settings": {"stack": "demo"}}"#)
            .await
            .unwrap();
        assert_eq!(stack, "demo");
        let handler = |_: Value, context: Context| async move { Ok(context.request_id) };
        let mut invocation = arrives(b"{}");
        invocation.context.request_id = "r-1".to_string();
        assert_eq!(
            answer("anything", &handler, invocation).await.unwrap(),
            "r-1"
        );
    }

    #[tokio::test]
    async fn a_handler_error_keeps_its_name() {
        let handler =
            |_: Value, _| async move { Err::<(), _>(Error::NotReady("db starting".into())) };
        let diagnostic = answer("anything", &handler, arrives(b"{}"))
            .await
            .unwrap_err();
        assert_eq!(diagnostic.error_type, "NotReady");
        assert_eq!(diagnostic.error_message, "not ready: db starting");
    }

    #[tokio::test]
    async fn a_panic_is_a_named_error_with_its_message() {
        // In the future, with a formatted message (a String) …
        let in_future = |event: Value, _| async move {
            if event["explode"] == true {
                panic!("boom at {}", event["where"]);
            }
            Ok(())
        };
        let diagnostic = answer(
            "anything",
            &in_future,
            arrives(br#"{"explode": true, "where": "step 3"}"#),
        )
        .await
        .unwrap_err();
        assert_eq!(diagnostic.error_type, PANIC);
        assert_eq!(
            diagnostic.error_message,
            "the function panicked: boom at \"step 3\""
        );
        // … and in the handler's synchronous part, with a literal message (a &str).
        let before_future = |event: Value, _| {
            assert!(event.is_object(), "not an object");
            async move { Ok(()) }
        };
        let diagnostic = answer("anything", &before_future, arrives(b"7"))
            .await
            .unwrap_err();
        assert_eq!(diagnostic.error_type, PANIC);
        assert_eq!(
            diagnostic.error_message,
            "the function panicked: not an object"
        );
        assert!(answer("anything", &before_future, arrives(b"{}"))
            .await
            .is_ok());
    }
}

#[cfg(test)]
mod fuzz {
    //! Every body an invocation can carry is a typed event or `InvalidInput`: no panic, no
    //! stack overflow, a message that says what was wrong.

    use super::*;
    use crate::fuzzing::{assert_invalid_input, nested, Shape};
    use crate::ProvisionState;
    use serde_json::json;

    const EVENT: &str = "a provision state";

    /// A provision state as the workflow carries it after the last tier.
    fn provision_state() -> Value {
        json!({
            "settings": {
                "stack": "vikunja", "vpcCidr": "10.42.0.0/16", "dbInstanceClass": "db.t4g.micro",
                "dbAllocatedStorage": 20, "dbDeletionProtection": true,
                "image": "vikunja/vikunja:0.24.6", "taskCpu": "256", "taskMemory": "512",
                "minTasks": 1, "maxTasks": 4, "cpuTargetPercent": 60.0,
                "terminationWaitMinutes": 5, "pollSeconds": 15, "dbWaitMinutes": 60
            },
            "network": {
                "vpcId": "vpc-1", "vpcCidr": "10.42.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"],
                "publicSubnetIds": ["subnet-1", "subnet-2"], "isolatedSubnetIds": ["subnet-3", "subnet-4"],
                "internetGatewayId": "igw-1", "publicRouteTableId": "rtb-1", "isolatedRouteTableId": "rtb-2",
                "lbSecurityGroupId": "sg-1", "appSecurityGroupId": "sg-2", "dbSecurityGroupId": "sg-3",
                "probeSecurityGroupId": "sg-4", "changes": ["create vpc"]
            },
            "data": {
                "dbInstanceId": "vikunja-db", "status": "available", "endpoint": "db.local", "port": 5432,
                "dbName": "vikunja", "username": "vikunja", "masterSecretArn": "arn:aws:secretsmanager:::secret:rds!db-1",
                "serviceSecretArn": "arn:aws:secretsmanager:::secret:s", "subnetGroup": "vikunja-db",
                "waitingSince": 1_764_000_000u64
            },
            "loadbalancer": {
                "loadBalancerArn": "arn:lb", "dnsName": "lb.local", "prodListenerArn": "arn:l1",
                "testListenerArn": "arn:l2", "blueTargetGroupArn": "arn:tg1", "greenTargetGroupArn": "arn:tg2",
                "blueTargetGroupName": "vikunja-blue", "greenTargetGroupName": "vikunja-green"
            },
            "frontend": {
                "siteBucket": "site", "uploadsBucket": "uploads", "distributionId": "E1",
                "distributionArn": "arn:cf", "domainName": "d.cloudfront.net", "url": "https://d.cloudfront.net",
                "apiUrl": "https://d.cloudfront.net/api/v1", "originAccessControlId": "oac",
                "spaFunctionArn": "arn:fn"
            },
            "backend": {
                "repositoryName": "vikunja/vikunja", "repositoryUri": "1.dkr.ecr/vikunja", "logGroup": "/ecs/v",
                "cluster": "vikunja", "service": "vikunja-api", "serviceArn": "arn:svc",
                "taskDefinitionArn": "arn:td:1", "containerName": "vikunja", "containerPort": 3456
            },
            "executionName": "the state machine's own bookkeeping"
        })
    }

    fn shape() -> Shape {
        Shape::of(&[provision_state(), json!({"settings": {"stack": "v"}})]).strings(&[
            "Vikunja",
            "10.0.0.0/8",
            "db.",
            "a--b",
            "",
        ])
    }

    fn decoded_or_invalid(body: &[u8]) {
        match decode::<ProvisionState>(EVENT, body) {
            Ok(state) => {
                if let Err(error) = state.settings.validate() {
                    assert_invalid_input(&error, &String::from_utf8_lossy(body));
                }
            }
            Err(error) => {
                assert_invalid_input(&error, &String::from_utf8_lossy(body));
                let message = error.to_string();
                assert!(
                    message.contains("the event is not JSON")
                        || message.contains("the event is not a provision state"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn any_body_is_a_provision_state_or_invalid_input() {
        let shape = shape();
        bolero::check!().for_each(|data: &[u8]| decoded_or_invalid(&shape.body(data)));
    }

    #[test]
    fn deep_nesting_is_invalid_input_not_a_stack_overflow() {
        bolero::check!()
            .with_type::<(u32, u8, bool)>()
            .for_each(|&(depth, kind, closed)| {
                let depth = depth as usize % 200_000;
                let mut body = nested(depth, kind);
                if closed {
                    body.extend(std::iter::repeat_n(b']', depth));
                }
                decoded_or_invalid(&body);
            });
    }

    /// The brief's case, always run: 100 000 `[`, and as many objects, through `serve`'s path.
    #[tokio::test]
    async fn a_hundred_thousand_brackets_are_invalid_input() {
        for kind in 0..3 {
            let body = nested(100_000, kind);
            let error = decode::<ProvisionState>(EVENT, &body).unwrap_err();
            assert!(
                error.to_string().contains("recursion limit exceeded"),
                "{error}"
            );
            let handler = |_: ProvisionState, _| async move { Ok(()) };
            let diagnostic = answer(EVENT, &handler, tests::arrives(&body))
                .await
                .unwrap_err();
            assert_eq!(diagnostic.error_type, "InvalidInput");
        }
    }

    #[test]
    fn decode_answers_as_serve_does() {
        let body = br#"{"settings": {"stack": 5}}"#;
        let error = decode::<ProvisionState>(EVENT, body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid input: the event is not a provision state: settings.stack: invalid type: integer `5`, expected a string"
        );
        let state: ProvisionState =
            decode(EVENT, &serde_json::to_vec(&provision_state()).unwrap()).unwrap();
        state.settings.validate().unwrap();
    }
}
