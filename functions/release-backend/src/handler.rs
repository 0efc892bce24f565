use serde::Deserialize;
use vikunja_core::{Error, Names, Result};

use crate::event::{read, Verdict};
use crate::steps::{self, Release};

pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub rds: aws_sdk_rds::Client,
    pub ssm: aws_sdk_ssm::Client,
}

/// The function's environment, set by the bootstrap stack.
#[derive(Debug, Clone)]
pub struct Config {
    pub stack: String,
    pub hook_function_arn: String,
    /// EventBridge-style wildcard the pushed tag must match (`*` by default).
    pub tag_filter: String,
    pub poll_seconds: u32,
}

impl Config {
    pub fn from_env() -> Result<Self> {
        let read = |name: &str| {
            std::env::var(name).map_err(|_| {
                Error::invalid(format!(
                    "environment variable {name} is not set (bootstrap stack)"
                ))
            })
        };
        let stack = read("VIKUNJA_STACK")?;
        vikunja_core::settings::validate_stack_name(&stack)?;
        Ok(Self {
            stack,
            hook_function_arn: read("HOOK_FUNCTION_ARN")?,
            tag_filter: std::env::var("RELEASE_TAG_FILTER").unwrap_or_else(|_| "*".to_string()),
            poll_seconds: std::env::var("RELEASE_POLL_SECONDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(15),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Request {
    /// `{"action": "prepare", "event": <the ECR event>}`
    Prepare {
        event: serde_json::Value,
    },
    /// Takes the snapshot `prepare` planned (before an upgrade).
    Snapshot {
        release: Release,
    },
    /// The snapshot's status; once it is available, older release snapshots are pruned.
    #[serde(rename = "snapshot-status")]
    SnapshotStatus {
        release: Release,
    },
    Register {
        release: Release,
    },
    Deploy {
        release: Release,
    },
    Status {
        release: Release,
    },
}

pub async fn handle(clients: &Clients, config: &Config, request: Request) -> Result<Release> {
    match request {
        Request::Prepare { event } => {
            let repository = Names::new(&config.stack).repository();
            match read(event, &repository, &config.tag_filter) {
                Verdict::Ignore(reason) => Ok(Release::ignored(config, &repository, reason)),
                Verdict::Release { tag, digest } => {
                    steps::prepare(clients, config, tag, digest).await
                }
            }
        }
        Request::Snapshot { release } => steps::snapshot(clients, release).await,
        Request::SnapshotStatus { release } => steps::snapshot_status(clients, release).await,
        Request::Register { release } => steps::register(clients, release).await,
        Request::Deploy { release } => steps::deploy(clients, config, release).await,
        Request::Status { release } => steps::status(clients, release).await,
    }
}

#[cfg(test)]
mod fuzz {
    //! What the state machine hands each step, as `serve` decodes it: a request or
    //! `InvalidInput`, whatever the body.

    use super::*;
    use serde_json::json;
    use vikunja_core::fuzzing::{assert_invalid_input, nested, Shape};
    use vikunja_core::lambda::decode;

    const EVENT: &str = "a backend release request";

    fn requests() -> Vec<serde_json::Value> {
        let release = serde_json::to_value(Release::ignored(
            &Config {
                stack: "vikunja".into(),
                hook_function_arn: "arn:aws:lambda:us-east-1:1:function:vikunja-hook".into(),
                tag_filter: "*".into(),
                poll_seconds: 15,
            },
            "vikunja/vikunja",
            "an example".into(),
        ))
        .unwrap();
        let event = json!({"source": "aws.ecr", "detail-type": "ECR Image Action",
                           "detail": {"action-type": "PUSH", "result": "SUCCESS", "image-tag": "1"}});
        vec![
            json!({"action": "prepare", "event": event}),
            json!({"action": "snapshot", "release": release}),
            json!({"action": "snapshot-status", "release": release}),
            json!({"action": "register", "release": release}),
            json!({"action": "deploy", "release": release}),
            json!({"action": "status", "release": release}),
        ]
    }

    fn decoded_or_invalid(body: &[u8]) {
        if let Err(error) = decode::<Request>(EVENT, body) {
            assert_invalid_input(&error, &String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn any_body_is_a_request_or_invalid_input() {
        let shape = Shape::of(&requests()).strings(&["nope", "Prepare"]);
        for request in requests() {
            let _: Request = serde_json::from_value(request).unwrap();
        }
        bolero::check!().for_each(|data: &[u8]| decoded_or_invalid(&shape.body(data)));
    }

    #[test]
    fn deep_nesting_is_invalid_input() {
        for kind in 0..3 {
            let error = decode::<Request>(EVENT, &nested(100_000, kind)).unwrap_err();
            assert_invalid_input(&error, &"100 000 brackets");
            let mut inside = br#"{"action": "prepare", "event": "#.to_vec();
            inside.extend(nested(100_000, kind));
            decoded_or_invalid(&inside);
        }
    }
}
