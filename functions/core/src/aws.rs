//! The one place SDK configuration is built: standard retries with backoff, explicit
//! timeouts, the HTTPS client, and the endpoint override (`AWS_ENDPOINT_URL`) that the local
//! stack uses.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext};
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
    https_client_trusting(TlsContext::default())
}

/// `https_client` with its trust store given: the native roots in production, a test's own
/// certificate authority in the TLS round-trip test.
fn https_client_trusting(tls: TlsContext) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, runtime_components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls.clone());
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
    use aws_smithy_http_client::tls::TrustStore;

    /// Without `default-https-client` the SDK has no client of its own: a request through
    /// `https_client` must reach the network (here: a refused connection), not fail for want
    /// of a client or a TLS configuration.
    #[tokio::test]
    async fn the_https_client_carries_requests_to_the_network() {
        let error = ssm_through(https_client(), "https://127.0.0.1:9")
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

    /// The whole way over TLS with ring as the crypto provider: handshake, the server's
    /// certificate checked against the trust store, request and answer. A server on loopback
    /// with a certificate authority made for the test stands in for AWS (CI has no network).
    #[tokio::test]
    async fn the_https_client_speaks_tls_with_ring() {
        let (authority_pem, server) = tls_server_answering_one_parameter().await;
        let trust = TrustStore::empty().with_pem_certificate(authority_pem.into_bytes());
        let tls = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .unwrap();
        let answer = ssm_through(https_client_trusting(tls), &server.endpoint())
            .get_parameter()
            .name("over-tls")
            .send()
            .await
            .expect("an answer over TLS");
        let value = answer.parameter().and_then(|p| p.value());
        assert_eq!(value, Some("spoken with ring"));
        let request = server.request.await.unwrap();
        assert!(request.contains("AmazonSSM.GetParameter"), "{request}");
    }

    /// A certificate that no trust store holds is refused: the check is really made.
    #[tokio::test]
    async fn the_https_client_refuses_a_server_it_does_not_trust() {
        let (_, server) = tls_server_answering_one_parameter().await;
        let error = ssm_through(
            https_client_trusting(TlsContext::default()),
            &server.endpoint(),
        )
        .get_parameter()
        .name("over-tls")
        .send()
        .await
        .expect_err("a certificate of an unknown authority");
        let chain = aws_smithy_types::error::display::DisplayErrorContext(&error).to_string();
        assert!(chain.contains("UnknownIssuer"), "{chain}");
    }

    /// An SSM client that sends through `http` to `endpoint`, once (no retries).
    fn ssm_through(http: SharedHttpClient, endpoint: &str) -> aws_sdk_ssm::Client {
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .retry_config(RetryConfig::disabled())
            .endpoint_url(endpoint)
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }

    struct TlsServer {
        port: u16,
        /// The first request the server read, as text.
        request: tokio::task::JoinHandle<String>,
    }

    impl TlsServer {
        fn endpoint(&self) -> String {
            format!("https://localhost:{}", self.port)
        }
    }

    /// A one-connection HTTPS server on loopback: a certificate authority of its own signs
    /// a certificate for `localhost`; it answers one `GetParameter`.
    async fn tls_server_answering_one_parameter() -> (String, TlsServer) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let authority_key = KeyPair::generate().unwrap();
        let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
        authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let authority = authority.self_signed(&authority_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&server_key, &authority, &authority_key)
            .unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![server_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let request = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return String::new();
            };
            let mut read = vec![0u8; 16 * 1024];
            let n = tls.read(&mut read).await.unwrap();
            let body = r#"{"Parameter":{"Name":"over-tls","Type":"String","Value":"spoken with ring","Version":1}}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            tls.write_all(answer.as_bytes()).await.unwrap();
            tls.shutdown().await.ok();
            String::from_utf8_lossy(&read[..n]).into_owned()
        });
        (authority.pem(), TlsServer { port, request })
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
