//! Fault injection on the local stack (`/_vikunja_local/faults`, see local/README.md): one
//! spec at a time for the whole stack, so the tests that use it take turns.

use anyhow::{Context, Result};
use serde_json::Value;

use crate::Harness;

/// The access key the faulted CLI signs with: the spec names it, and nothing else uses it.
pub const FAULTED_CLI_KEY: &str = "AKIAFAULTEDCLI000001";

fn url() -> Result<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").context("AWS_ENDPOINT_URL is not set")?;
    Ok(format!("{endpoint}/_vikunja_local/faults"))
}

async fn answer(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(
        status.is_success(),
        "fault control answered {status}: {body}"
    );
    Ok(body)
}

/// Replaces the spec (and resets the counts); the stack's report.
pub async fn inject(spec: &Value) -> Result<Value> {
    answer(
        reqwest::Client::new()
            .post(url()?)
            .json(spec)
            .send()
            .await?,
    )
    .await
}

/// What was injected so far.
pub async fn report() -> Result<Value> {
    answer(reqwest::get(url()?).await?).await
}

/// Turns injection off; the final report.
pub async fn stop() -> Result<Value> {
    answer(reqwest::Client::new().delete(url()?).send().await?).await
}

/// One turn at the stack's single fault spec.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

impl Harness {
    /// The same harness, its CLI signing with `access_key` (its `clients` unchanged: what
    /// a test checks with is never faulted).
    pub fn signing_as(self, access_key: &str) -> Self {
        use aws_sdk_ssm::config::{Credentials, SharedCredentialsProvider};
        let credentials = Credentials::new(access_key, "faulted", None, None, "vikunja-tests");
        let config = self
            .aws
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Self {
            aws: vikunja_aws::target::Aws { config, ..self.aws },
            ..self
        }
    }
}
