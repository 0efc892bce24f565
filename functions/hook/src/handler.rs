use std::time::{Duration, Instant};

use aws_lambda_events::event::codedeploy::CodeDeployLifecycleEvent;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use serde_json::{json, Value};
use tracing::{info, warn};
use vikunja_core::{Error, Result, SdkContext};

use crate::{green, smoke};

#[derive(Clone)]
pub struct Clients {
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub ec2: aws_sdk_ec2::Client,
    /// The test listener admits the VPC only: the probe, attached to it, makes the requests.
    pub probe: smoke::Probe,
}

/// How long green may take to pass, and how often it is asked. The total stays well under
/// the function's timeout so there is always time left to report.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub total: Duration,
    pub interval: Duration,
}

impl Budget {
    pub fn from_env() -> Self {
        let seconds = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Self {
            total: Duration::from_secs(seconds("SMOKE_TEST_BUDGET_SECONDS", 240)),
            interval: Duration::from_secs(seconds("SMOKE_TEST_INTERVAL_SECONDS", 5)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    Failed(String),
}

pub async fn handle(clients: &Clients, budget: Budget, event: Value) -> Result<Value> {
    let ids = lifecycle_ids(&event)?;
    let started = Instant::now();
    let verdict = judge_in_isolation(clients.clone(), budget, ids.deployment_id.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    match &verdict {
        Verdict::Succeeded => info!(deployment_id = ids.deployment_id, seconds, "green passed"),
        Verdict::Failed(reason) => warn!(
            deployment_id = ids.deployment_id,
            seconds, reason, "green failed"
        ),
    }
    report(&clients.codedeploy, &ids, &verdict).await?;
    Ok(json!({
        "deploymentId": ids.deployment_id,
        "status": match &verdict { Verdict::Succeeded => "Succeeded", Verdict::Failed(_) => "Failed" },
        "reason": match &verdict { Verdict::Succeeded => None, Verdict::Failed(r) => Some(r.clone()) },
        "seconds": seconds,
    }))
}

/// The deployment and hook execution to report to, or `InvalidInput` (nothing to report to).
pub fn lifecycle_ids(event: &Value) -> Result<CodeDeployLifecycleEvent> {
    let ids: CodeDeployLifecycleEvent = serde_json::from_value(event.clone()).map_err(|e| {
        Error::invalid(format!(
            "not a CodeDeploy lifecycle event ({e}); there is no deployment to report to: {event}"
        ))
    })?;
    if ids.deployment_id.is_empty() || ids.lifecycle_event_hook_execution_id.is_empty() {
        return Err(Error::invalid(format!(
            "lifecycle event without ids; there is no deployment to report to: {event}"
        )));
    }
    Ok(ids)
}

/// Runs the judgement on its own task: even a panic in it becomes a Failed verdict that is
/// reported, instead of a deployment left waiting.
async fn judge_in_isolation(clients: Clients, budget: Budget, deployment_id: String) -> Verdict {
    match tokio::spawn(async move { judge(&clients, budget, &deployment_id).await }).await {
        Ok(verdict) => verdict,
        Err(e) => Verdict::Failed(format!("the smoke test crashed: {e}")),
    }
}

async fn judge(clients: &Clients, budget: Budget, deployment_id: &str) -> Verdict {
    let green = match green::find(clients, deployment_id).await {
        Ok(green) => green,
        Err(e) => return Verdict::Failed(format!("cannot find green for {deployment_id}: {e}")),
    };
    info!(
        deployment_id,
        addresses = ?green.addresses,
        expected = green.expected_version,
        "smoke-testing green"
    );
    let deadline = Instant::now() + budget.total;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let outcome = match smoke::observe(&clients.probe, &clients.elb, &green).await {
            Ok(observation) => smoke::judge(&observation, &green.expected_version),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(()) => return Verdict::Succeeded,
            Err(reason) if Instant::now() + budget.interval >= deadline => {
                return Verdict::Failed(format!(
                    "green at {} did not pass within {}s ({attempts} attempts): {reason}",
                    green.addresses.join(", "),
                    budget.total.as_secs()
                ));
            }
            Err(reason) => info!(attempts, reason, "green not ready yet"),
        }
        tokio::time::sleep(budget.interval).await;
    }
}

async fn report(
    codedeploy: &aws_sdk_codedeploy::Client,
    ids: &CodeDeployLifecycleEvent,
    verdict: &Verdict,
) -> Result<()> {
    let status = match verdict {
        Verdict::Succeeded => LifecycleEventStatus::Succeeded,
        Verdict::Failed(_) => LifecycleEventStatus::Failed,
    };
    codedeploy
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(&ids.deployment_id)
        .lifecycle_event_hook_execution_id(&ids.lifecycle_event_hook_execution_id)
        .status(status)
        .send()
        .await
        .context(format!(
            "report {verdict:?} to deployment {}",
            ids.deployment_id
        ))?;
    Ok(())
}

#[cfg(test)]
mod fuzz {
    //! CodeDeploy's lifecycle event, however malformed, as `serve` hands it over: the two
    //! ids to report to, or `InvalidInput`.

    use super::*;
    use vikunja_core::fuzzing::{assert_invalid_input, nested, Shape};
    use vikunja_core::lambda::decode;

    const EVENT: &str = "a CodeDeploy lifecycle event";

    fn read(body: &[u8]) {
        let result = decode::<Value>(EVENT, body).and_then(|event| lifecycle_ids(&event));
        match result {
            Ok(ids) => {
                assert!(!ids.deployment_id.is_empty());
                assert!(!ids.lifecycle_event_hook_execution_id.is_empty());
            }
            Err(error) => assert_invalid_input(&error, &String::from_utf8_lossy(body)),
        }
    }

    #[test]
    fn any_body_names_a_deployment_or_is_invalid_input() {
        let shape = Shape::of(&[json!({
            "DeploymentId": "d-ABCDEF123",
            "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoi"
        })]);
        bolero::check!().for_each(|data: &[u8]| read(&shape.body(data)));
    }

    #[test]
    fn deep_nesting_is_invalid_input() {
        for kind in 0..3 {
            read(&nested(100_000, kind));
            let mut inside =
                br#"{"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "#.to_vec();
            inside.extend(nested(100_000, kind));
            read(&inside);
        }
    }
}
