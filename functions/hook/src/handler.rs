use std::time::{Duration, Instant};

use aws_lambda_events::event::codedeploy::CodeDeployLifecycleEvent;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use serde_json::{json, Value};
use tracing::{info, warn};
use vikunja_core::{Error, ErrorClass, Result, SdkContext};

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

/// A CodeDeploy `BeforeAllowTraffic` invocation: smoke-tests green within the budget, then
/// reports the verdict to CodeDeploy.
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
    let reported = report(&clients.codedeploy, &ids, &verdict, Patience::REPORT).await?;
    if let Reported::Ended(why) = &reported {
        warn!(
            deployment_id = ids.deployment_id,
            why, "nothing waits for the verdict"
        );
    }
    Ok(json!({
        "deploymentId": ids.deployment_id,
        "status": match &verdict { Verdict::Succeeded => "Succeeded", Verdict::Failed(_) => "Failed" },
        "reason": match &verdict { Verdict::Succeeded => None, Verdict::Failed(r) => Some(r.clone()) },
        "reported": matches!(reported, Reported::Told),
        "notReported": match &reported { Reported::Told => None, Reported::Ended(why) => Some(why.clone()) },
        "seconds": seconds,
    }))
}

/// How the verdict reached CodeDeploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    Told,
    /// The deployment or its lifecycle event ended meanwhile (stopped, timed out, deleted):
    /// nothing waits for a verdict any more.
    Ended(String),
}

/// How persistently the verdict is reported, beyond the SDK's own retries: CodeDeploy waits
/// up to an hour for it, so a throttled or failing answer is worth asking again while the
/// invocation has time (the smoke test's budget leaves a minute of the function's timeout).
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Patience {
    pub const REPORT: Patience = Patience {
        attempts: 5,
        first_delay: Duration::from_secs(2),
    };
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
        match check_green(clients, &green).await {
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

/// One smoke test of green: `Ok` when it is fit for production traffic, else why not.
pub async fn check_green(
    clients: &Clients,
    green: &green::Green,
) -> std::result::Result<(), String> {
    match smoke::observe(&clients.probe, &clients.elb, green).await {
        Ok(observation) => smoke::judge(&observation, &green.expected_version),
        Err(e) => Err(e.to_string()),
    }
}

pub async fn report(
    codedeploy: &aws_sdk_codedeploy::Client,
    ids: &CodeDeployLifecycleEvent,
    verdict: &Verdict,
    patience: Patience,
) -> Result<Reported> {
    let status = match verdict {
        Verdict::Succeeded => LifecycleEventStatus::Succeeded,
        Verdict::Failed(_) => LifecycleEventStatus::Failed,
    };
    let mut delay = patience.first_delay;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answered = codedeploy
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(&ids.deployment_id)
            .lifecycle_event_hook_execution_id(&ids.lifecycle_event_hook_execution_id)
            .status(status.clone())
            .send()
            .await
            .context(format!(
                "report {verdict:?} to deployment {}",
                ids.deployment_id
            ));
        match answered {
            Ok(_) => return Ok(Reported::Told),
            Err(e) if e.is(ErrorClass::NotFound) => return Ok(Reported::Ended(e.to_string())),
            Err(e) if e.is(ErrorClass::Transient) && attempt < patience.attempts => {
                warn!(attempt, error = %e, "reporting again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod reporting {
    //! The verdict's report against replayed CodeDeploy answers: what the local stack
    //! cannot be made to answer on cue.

    use super::*;
    use resources::replay::{json_error, ok, Replay};

    resources::replayed_client!(codedeploy, aws_sdk_codedeploy);

    const PUT: &str = "PutLifecycleEventHookExecutionStatus";

    fn ids() -> CodeDeployLifecycleEvent {
        serde_json::from_value(json!({
            "DeploymentId": "d-ABC", "LifecycleEventHookExecutionId": "exec-1"
        }))
        .unwrap()
    }

    fn quick(attempts: u32) -> Patience {
        Patience {
            attempts,
            first_delay: Duration::from_millis(1),
        }
    }

    fn throttled(times: usize) -> Vec<resources::replay::Answer> {
        vec![json_error(PUT, 400, "ThrottlingException"); times]
    }

    #[tokio::test]
    async fn a_throttled_report_is_asked_again_beyond_the_sdks_retries() {
        // The client's own retries give up after five answers; the hook asks again.
        let mut script = throttled(5);
        script.push(ok(PUT, r#"{"lifecycleEventHookExecutionId": "exec-1"}"#));
        let replay = Replay::new(script);
        let reported = report(&codedeploy(&replay), &ids(), &Verdict::Succeeded, quick(2))
            .await
            .unwrap();
        replay.assert_done();
        assert_eq!(reported, Reported::Told);
        assert!(
            replay.bodies(PUT)[5].contains("Succeeded"),
            "{:?}",
            replay.bodies(PUT)
        );
    }

    #[tokio::test]
    async fn a_deployment_that_ended_meanwhile_waits_for_nothing() {
        for code in [
            "LifecycleEventAlreadyCompletedException",
            "DeploymentAlreadyCompletedException",
            "DeploymentDoesNotExistException",
        ] {
            let replay = Replay::new(vec![json_error(PUT, 400, code)]);
            let verdict = Verdict::Failed("green answered 500".into());
            let reported = report(&codedeploy(&replay), &ids(), &verdict, quick(3))
                .await
                .unwrap();
            replay.assert_done();
            assert!(
                matches!(&reported, Reported::Ended(why) if why.contains(code)),
                "{reported:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_codedeploy_that_keeps_refusing_is_an_error_once_patience_is_spent() {
        let replay = Replay::new(throttled(10));
        let error = report(&codedeploy(&replay), &ids(), &Verdict::Succeeded, quick(2))
            .await
            .unwrap_err();
        replay.assert_done();
        assert!(error.is(ErrorClass::Transient), "{error}");
        assert!(
            error
                .to_string()
                .contains("report Succeeded to deployment d-ABC"),
            "{error}"
        );
    }
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
