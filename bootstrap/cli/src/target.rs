//! Local stack or AWS: the one place the CLI's clients are configured.

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use clap::ValueEnum;

pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:4566";
pub const LOCAL_REGION: &str = "us-east-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Local,
    Aws,
}

pub struct Aws {
    pub target: Target,
    pub config: SdkConfig,
    pub account: String,
    pub region: String,
}

impl Aws {
    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }
    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.config)
    }
    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config)
    }
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.config.endpoint_url().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
    /// Seconds between two polls: the local stack answers at once, AWS is billed per call.
    pub fn poll_interval(&self) -> std::time::Duration {
        match self.target {
            Target::Local => std::time::Duration::from_millis(250),
            Target::Aws => std::time::Duration::from_secs(5),
        }
    }
}

pub async fn connect(target: Target, region: Option<&str>, profile: Option<&str>) -> Result<Aws> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5));
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if target == Target::Local {
        let endpoint =
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| LOCAL_ENDPOINT.to_string());
        loader = loader
            .endpoint_url(endpoint)
            .region(Region::new(region.unwrap_or(LOCAL_REGION).to_string()))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "local-stack",
            ));
    } else if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    let config = loader.load().await;
    let region = config
        .region()
        .map(|r| r.to_string())
        .context("no AWS region: pass --region or set AWS_REGION")?;
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| match target {
            Target::Local => anyhow::anyhow!(
                "the local AWS stack does not answer at {}: start it with `make local-up` ({})",
                config.endpoint_url().unwrap_or(LOCAL_ENDPOINT),
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ),
            Target::Aws => anyhow::anyhow!(
                "no usable AWS credentials (env, profile or SSO): {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ),
        })?;
    let account = identity
        .account()
        .context("STS answered without an account")?
        .to_string();
    Ok(Aws {
        target,
        config,
        account,
        region,
    })
}
