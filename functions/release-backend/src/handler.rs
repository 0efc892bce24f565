use serde::Deserialize;
use vikunja_core::{Error, Names, Result};

use crate::event::{judge, EcrEvent, Verdict};
use crate::steps::{self, Release};

pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
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
            // A malformed event is ignored with its reason, never a crash: it cannot be released.
            let parsed: EcrEvent = match serde_json::from_value(event) {
                Ok(parsed) => parsed,
                Err(e) => {
                    return Ok(Release::ignored(
                        config,
                        &repository,
                        format!("malformed ECR event: {e}"),
                    ))
                }
            };
            match judge(&parsed, &repository, &config.tag_filter) {
                Verdict::Ignore(reason) => Ok(Release::ignored(config, &repository, reason)),
                Verdict::Release { tag, digest } => {
                    steps::prepare(clients, config, tag, digest).await
                }
            }
        }
        Request::Register { release } => steps::register(clients, release).await,
        Request::Deploy { release } => steps::deploy(clients, config, release).await,
        Request::Status { release } => steps::status(clients, release).await,
    }
}
