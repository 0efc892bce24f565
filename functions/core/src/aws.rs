//! The one place SDK configuration is built: standard retries with backoff, explicit
//! timeouts, the HTTPS client, and the endpoint override (`AWS_ENDPOINT_URL`) that the local
//! stack uses.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
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

/// The SDK's default HTTPS client (hyper 1, rustls, native roots, `HTTPS_PROXY`/`NO_PROXY`
/// from the environment, one connection pool per connector setting), built as
/// aws-smithy-runtime's `default_https_client` builds it, but with ring as rustls's crypto
/// provider: the SDK's own default, aws-lc-rs, weighs about a megabyte in every binary and
/// is a long C build. The SDK crates are built without `default-https-client`, so every
/// config that talks to AWS must be given this client.
pub fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, runtime_components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
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

    /// Without `default-https-client` the SDK has no client of its own: a request through
    /// `https_client` must reach the network (here: a refused connection), not fail for want
    /// of a client or a TLS configuration.
    #[tokio::test]
    async fn the_https_client_carries_requests_to_the_network() {
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(https_client())
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .retry_config(RetryConfig::disabled())
            .endpoint_url("https://127.0.0.1:9")
            .build();
        let error = aws_sdk_ssm::Client::from_conf(config)
            .get_parameter()
            .name("x")
            .send()
            .await
            .expect_err("nothing listens on port 9");
        match error {
            aws_sdk_ssm::error::SdkError::DispatchFailure(failure) => {
                assert!(failure.is_io(), "{failure:?}")
            }
            other => panic!("not a dispatch failure: {other:?}"),
        }
    }

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
