//! The one place SDK configuration is built: standard retries with backoff, explicit
//! timeouts, and the endpoint override (`AWS_ENDPOINT_URL`) that the local stack uses.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
        .load()
        .await
}

/// Whether clients talk to an endpoint other than AWS's own (the local stack): S3 then
/// needs path-style addressing.
pub fn has_endpoint_override(config: &SdkConfig) -> bool {
    config.endpoint_url().is_some()
}

/// Account and region of a Lambda function, read from the ARN it was invoked by
/// (`arn:aws:lambda:<region>:<account>:function:<name>`), so no STS call is needed.
pub fn account_and_region(function_arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = function_arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _partition, "lambda", region, account, ..]
            if !region.is_empty() && !account.is_empty() =>
        {
            Some((account.to_string(), region.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_and_region_come_from_the_function_arn() {
        assert_eq!(
            account_and_region("arn:aws:lambda:eu-west-1:123456789012:function:vikunja-network"),
            Some(("123456789012".into(), "eu-west-1".into()))
        );
        assert_eq!(account_and_region("not-an-arn"), None);
        assert_eq!(account_and_region("arn:aws:lambda:::function:x"), None);
    }
}
