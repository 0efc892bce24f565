//! The same smoke test under Amazon ECS's own blue/green deployments, where the hook is a
//! Lambda lifecycle hook on `POST_TEST_TRAFFIC_SHIFT` (green holds all the test traffic).
//!
//! ECS's contract is not CodeDeploy's: the verdict is the function's return value,
//! `{"hookStatus": SUCCEEDED | FAILED | IN_PROGRESS, "callBackDelay": s, "hookDetails": …}`,
//! and IN_PROGRESS means "invoke me again after callBackDelay". So each invocation looks at
//! green once; the budget is counted across invocations from the `hookDetails` ECS hands
//! back, instead of by sleeping inside one. Whatever goes wrong, the answer is a status:
//! an error or an answer without `hookStatus` would also roll back, but say nothing why.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tracing::{info, warn};

use crate::handler::{check_green, Budget, Clients};

/// Whether an event is ECS's: its payloads carry `executionDetails`, CodeDeploy's
/// `DeploymentId`.
pub fn called_by_ecs(event: &Value) -> bool {
    event.get("executionDetails").is_some()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookEvent {
    pub execution_details: ExecutionDetails,
    /// What the service's hook configuration set, or what this hook returned last time.
    #[serde(default)]
    pub hook_details: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetails {
    pub service_arn: String,
    /// The revision being rolled out: green.
    pub target_service_revision_arn: String,
}

/// What the hook remembers between its invocations, under `hookDetails.smokeTest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Unix seconds of the first look at green: the budget counts from there.
    pub first_checked_at: Option<u64>,
    pub attempts: u32,
    pub last_reason: Option<String>,
}

const PROGRESS_KEY: &str = "smokeTest";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed(String),
    /// Ask again after this long.
    InProgress(Duration),
}

/// The next status from one look at green: pass, or within the budget look again, or fail
/// with every attempt counted.
pub fn next(
    progress: &Progress,
    now: u64,
    outcome: std::result::Result<(), String>,
    budget: Budget,
) -> (Status, Progress) {
    let first = progress.first_checked_at.unwrap_or(now);
    let attempts = progress.attempts + 1;
    let reason = match outcome {
        Ok(()) => {
            let done = Progress {
                first_checked_at: Some(first),
                attempts,
                last_reason: None,
            };
            return (Status::Succeeded, done);
        }
        Err(reason) => reason,
    };
    let progress = Progress {
        first_checked_at: Some(first),
        attempts,
        last_reason: Some(reason.clone()),
    };
    let interval = budget.interval.max(Duration::from_secs(1));
    let deadline = first + budget.total.as_secs();
    if now + interval.as_secs() >= deadline {
        let why = format!(
            "green did not pass within {}s ({attempts} attempts): {reason}",
            budget.total.as_secs()
        );
        (Status::Failed(why), progress)
    } else {
        (Status::InProgress(interval), progress)
    }
}

/// ECS's answer: the status, the delay on IN_PROGRESS, and `hookDetails` — what the service
/// configured, with the progress beside it (and the reason, on FAILED, for whoever reads
/// the deployment's hook history).
pub fn response(status: &Status, progress: &Progress, configured: Option<&Value>) -> Value {
    let mut details = match configured {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    details.insert(PROGRESS_KEY.into(), json!(progress));
    match status {
        Status::Succeeded => json!({"hookStatus": "SUCCEEDED", "hookDetails": details}),
        Status::Failed(reason) => {
            details.insert("reason".into(), json!(reason));
            json!({"hookStatus": "FAILED", "hookDetails": details})
        }
        Status::InProgress(delay) => json!({
            "hookStatus": "IN_PROGRESS",
            "callBackDelay": delay.as_secs(),
            "hookDetails": details,
        }),
    }
}

fn progress_of(hook_details: Option<&Value>) -> Progress {
    hook_details
        .and_then(|d| d.get(PROGRESS_KEY))
        .and_then(|p| serde_json::from_value(p.clone()).ok())
        .unwrap_or_default()
}

/// One invocation by ECS: one look at green, one status. Never an error.
pub async fn answer(clients: &Clients, budget: Budget, event: &Value, now: u64) -> Value {
    let hook: HookEvent = match serde_json::from_value(event.clone()) {
        Ok(hook) => hook,
        Err(e) => {
            let reason = format!("not an ECS lifecycle hook payload ({e}): {event}");
            warn!(reason, "failing the deployment");
            return response(&Status::Failed(reason), &Progress::default(), None);
        }
    };
    let revision = hook.execution_details.target_service_revision_arn.clone();
    let progress = progress_of(hook.hook_details.as_ref());
    let outcome = look_in_isolation(clients.clone(), revision.clone()).await;
    let (status, progress) = next(&progress, now, outcome, budget);
    match &status {
        Status::Succeeded => info!(revision, attempts = progress.attempts, "green passed"),
        Status::Failed(reason) => warn!(revision, reason, "green failed"),
        Status::InProgress(delay) => info!(
            revision,
            attempts = progress.attempts,
            reason = progress.last_reason,
            delay_seconds = delay.as_secs(),
            "green not ready yet"
        ),
    }
    response(&status, &progress, hook.hook_details.as_ref())
}

/// Finds green and smoke-tests it once, on its own task: a panic is a failed look.
async fn look_in_isolation(clients: Clients, revision: String) -> std::result::Result<(), String> {
    let looked = tokio::spawn(async move {
        let green = crate::green::find_for_revision(&clients, &revision)
            .await
            .map_err(|e| format!("cannot find green for {revision}: {e}"))?;
        check_green(&clients, &green).await
    })
    .await;
    looked.unwrap_or_else(|e| Err(format!("the smoke test crashed: {e}")))
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Budget = Budget {
        total: Duration::from_secs(240),
        interval: Duration::from_secs(15),
    };

    /// A payload as ECS sends it to a POST_TEST_TRAFFIC_SHIFT hook (AWS's "Lifecycle
    /// payloads" for ECS service deployments), with the hookDetails this hook returned.
    fn payload(hook_details: Value) -> Value {
        json!({
            "executionDetails": {
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/vikunja/vikunja-backend",
                "targetServiceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/vikunja/vikunja-backend/4980306466373577095",
                "testTrafficWeights": {
                    "arn:aws:ecs:us-east-1:123456789012:service-revision/vikunja/vikunja-backend/4980306466373577095": 100,
                    "arn:aws:ecs:us-east-1:123456789012:service-revision/vikunja/vikunja-backend/2915473425671213853": 0
                },
                "productionTrafficWeights": {
                    "arn:aws:ecs:us-east-1:123456789012:service-revision/vikunja/vikunja-backend/4980306466373577095": 0,
                    "arn:aws:ecs:us-east-1:123456789012:service-revision/vikunja/vikunja-backend/2915473425671213853": 100
                }
            },
            "hookDetails": hook_details
        })
    }

    #[test]
    fn ecs_payloads_are_told_from_codedeploy_events() {
        assert!(called_by_ecs(&payload(Value::Null)));
        assert!(!called_by_ecs(&json!({
            "DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e"
        })));
    }

    #[test]
    fn the_payload_names_green_and_carries_the_progress_back() {
        let sent = payload(
            json!({"team": "web", "smokeTest": {"firstCheckedAt": 1000, "attempts": 2, "lastReason": "x"}}),
        );
        let hook: HookEvent = serde_json::from_value(sent).unwrap();
        assert!(hook
            .execution_details
            .target_service_revision_arn
            .ends_with("/4980306466373577095"));
        assert_eq!(
            progress_of(hook.hook_details.as_ref()),
            Progress {
                first_checked_at: Some(1000),
                attempts: 2,
                last_reason: Some("x".into())
            }
        );
        assert_eq!(progress_of(None), Progress::default());
        assert_eq!(
            progress_of(Some(&json!({"smokeTest": "garbage"}))),
            Progress::default()
        );
    }

    #[test]
    fn a_green_that_passes_succeeds_at_once() {
        let (status, progress) = next(&Progress::default(), 1000, Ok(()), BUDGET);
        assert_eq!(status, Status::Succeeded);
        assert_eq!(progress.attempts, 1);
        assert_eq!(
            response(&status, &progress, None)["hookStatus"],
            "SUCCEEDED"
        );
    }

    #[test]
    fn a_green_warming_up_is_asked_again_after_the_interval() {
        let (status, progress) = next(
            &Progress::default(),
            1000,
            Err("/health: refused".into()),
            BUDGET,
        );
        assert_eq!(status, Status::InProgress(Duration::from_secs(15)));
        let answer = response(&status, &progress, Some(&json!({"team": "web"})));
        assert_eq!(answer["hookStatus"], "IN_PROGRESS");
        assert_eq!(answer["callBackDelay"], 15);
        // What the service configured stays; the progress rides beside it.
        assert_eq!(answer["hookDetails"]["team"], "web");
        assert_eq!(answer["hookDetails"]["smokeTest"]["firstCheckedAt"], 1000);
        assert_eq!(answer["hookDetails"]["smokeTest"]["attempts"], 1);
    }

    #[test]
    fn the_budget_counts_from_the_first_look_across_invocations() {
        let mut progress = Progress::default();
        let mut now = 1000;
        let mut statuses = vec![];
        loop {
            let (status, next_progress) =
                next(&progress, now, Err("/health answered 502".into()), BUDGET);
            progress = next_progress;
            statuses.push(status.clone());
            match status {
                Status::InProgress(delay) => now += delay.as_secs(),
                _ => break,
            }
        }
        // 240 s at 15 s: looks at 0, 15, …, 225 s; the one at 225 s has no time for another.
        assert_eq!(progress.attempts, 16);
        assert_eq!(progress.first_checked_at, Some(1000));
        let Status::Failed(reason) = statuses.last().unwrap() else {
            panic!("{statuses:?}")
        };
        assert!(
            reason.contains("within 240s (16 attempts): /health answered 502"),
            "{reason}"
        );
        let answer = response(statuses.last().unwrap(), &progress, None);
        assert_eq!(answer["hookStatus"], "FAILED");
        assert!(answer["hookDetails"]["reason"]
            .as_str()
            .unwrap()
            .contains("502"));
        assert!(answer.get("callBackDelay").is_none());
    }

    #[test]
    fn a_late_pass_still_succeeds() {
        let progress = Progress {
            first_checked_at: Some(1000),
            attempts: 10,
            last_reason: Some("warming".into()),
        };
        let (status, progress) = next(&progress, 1230, Ok(()), BUDGET);
        assert_eq!(status, Status::Succeeded);
        assert_eq!(progress.attempts, 11);
        assert_eq!(progress.last_reason, None);
    }
}

#[cfg(test)]
mod replayed {
    //! One invocation by ECS end to end, against replayed ECS, ELB, EC2 and Lambda answers
    //! in AWS's wire formats: the calls green's finding and smoke test make, in order, and
    //! the status ECS gets back.

    use super::*;
    use crate::smoke::Probe;
    use resources::replay::{json_error, ok, query_ok, Answer, Replay};

    resources::replayed_client!(codedeploy, aws_sdk_codedeploy);
    resources::replayed_client!(elb, aws_sdk_elasticloadbalancingv2);
    resources::replayed_client!(ecs, aws_sdk_ecs);
    resources::replayed_client!(ec2, aws_sdk_ec2);
    resources::replayed_client!(lambda, aws_sdk_lambda);

    const REVISION: &str =
        "arn:aws:ecs:us-east-1:123456789012:service-revision/vikunja/vikunja-backend/4980306466373577095";
    const INVOKE: &str = "POST /2015-03-31/functions/vikunja-probe/invocations";
    const BUDGET: Budget = Budget {
        total: Duration::from_secs(240),
        interval: Duration::from_secs(15),
    };

    fn clients(replay: &Replay) -> Clients {
        Clients {
            codedeploy: codedeploy(replay),
            elb: elb(replay),
            ecs: ecs(replay),
            ec2: ec2(replay),
            probe: Probe {
                lambda: lambda(replay),
                function: "vikunja-probe".into(),
            },
        }
    }

    fn event(hook_details: Value) -> Value {
        json!({
            "executionDetails": {
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/vikunja/vikunja-backend",
                "targetServiceRevisionArn": REVISION,
                "testTrafficWeights": {REVISION: 100},
                "productionTrafficWeights": {REVISION: 0}
            },
            "hookDetails": hook_details
        })
    }

    /// Up to the probe: the revision, the test listener (forwarding to green), its load
    /// balancer and interfaces, the task definition being rolled out.
    fn finding_green() -> Vec<Answer> {
        let revision = json!({"serviceRevisions": [{
            "serviceRevisionArn": REVISION,
            "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/vikunja-backend:7",
            "loadBalancers": [{
                "targetGroupArn": "arn:tg-blue", "containerName": "vikunja", "containerPort": 3456,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": "arn:tg-green",
                    "productionListenerRule": "arn:l80",
                    "testListenerRule": "arn:l8080",
                    "roleArn": "arn:aws:iam::123456789012:role/vikunja-ecs-lb"
                }
            }]
        }], "failures": []});
        vec![
            ok("DescribeServiceRevisions", revision.to_string()),
            query_ok("DescribeListeners", "<Listeners><member><ListenerArn>arn:l8080</ListenerArn><Port>8080</Port><LoadBalancerArn>arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/vikunja-nlb/50dc6c495c0c9188</LoadBalancerArn><DefaultActions><member><Type>forward</Type><ForwardConfig><TargetGroups><member><TargetGroupArn>arn:tg-blue</TargetGroupArn><Weight>0</Weight></member><member><TargetGroupArn>arn:tg-green</TargetGroupArn><Weight>100</Weight></member></TargetGroups></ForwardConfig></member></DefaultActions></member></Listeners>"),
            query_ok("DescribeLoadBalancers", "<LoadBalancers><member><LoadBalancerArn>arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/vikunja-nlb/50dc6c495c0c9188</LoadBalancerArn><DNSName>vikunja-nlb.elb.amazonaws.com</DNSName><Type>network</Type></member></LoadBalancers>"),
            ok("DescribeNetworkInterfaces", "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId><privateIpAddress>10.0.1.9</privateIpAddress></item></networkInterfaceSet></DescribeNetworkInterfacesResponse>"),
            ok("DescribeTaskDefinition", json!({"taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/vikunja-backend:7",
                "containerDefinitions": [{"name": "vikunja", "image": "vikunja/vikunja:0.24.6"}]
            }, "tags": []}).to_string()),
        ]
    }

    fn probed(health: u16, version: &str) -> Answer {
        ok(INVOKE, json!({"answers": [
            {"url": "http://10.0.1.9:8080/health", "status": health, "body": "OK"},
            {"url": "http://10.0.1.9:8080/api/v1/info", "status": 200, "body": json!({"version": version}).to_string()}
        ]}).to_string())
    }

    fn green_targets(state: &str) -> Answer {
        query_ok("DescribeTargetHealth", &format!("<TargetHealthDescriptions><member><Target><Id>10.0.1.20</Id><Port>3456</Port></Target><TargetHealth><State>{state}</State></TargetHealth></member></TargetHealthDescriptions>"))
    }

    #[tokio::test]
    async fn a_green_that_passes_through_the_test_listener_succeeds() {
        let mut script = finding_green();
        script.extend([probed(200, "v0.24.6"), green_targets("healthy")]);
        let replay = Replay::new(script);
        let answer = answer(&clients(&replay), BUDGET, &event(Value::Null), 1000).await;
        replay.assert_done();
        assert_eq!(answer["hookStatus"], "SUCCEEDED", "{answer}");
        // Green's group is the one the weighted test listener sends its traffic to.
        assert!(replay.bodies("DescribeTargetHealth")[0].contains("arn%3Atg-green"));
        // The probe asked green's private address on the test listener's port.
        assert!(replay.bodies(INVOKE)[0].contains("http://10.0.1.9:8080/health"));
    }

    #[tokio::test]
    async fn a_failing_green_is_asked_again_then_failed_once_the_budget_is_spent() {
        let mut script = finding_green();
        script.extend([probed(502, "v0.24.6"), green_targets("healthy")]);
        script.extend(finding_green());
        script.extend([probed(502, "v0.24.6"), green_targets("healthy")]);
        let replay = Replay::new(script);
        let clients = clients(&replay);

        let first = answer(&clients, BUDGET, &event(json!({"team": "web"})), 1000).await;
        assert_eq!(first["hookStatus"], "IN_PROGRESS", "{first}");
        assert_eq!(first["callBackDelay"], 15);
        // ECS hands the returned hookDetails back on the next invocation.
        let last = answer(&clients, BUDGET, &event(first["hookDetails"].clone()), 1230).await;
        replay.assert_done();
        assert_eq!(last["hookStatus"], "FAILED", "{last}");
        let reason = last["hookDetails"]["reason"].as_str().unwrap();
        assert!(
            reason.contains("(2 attempts): /health answered 502"),
            "{reason}"
        );
        assert_eq!(last["hookDetails"]["team"], "web");
    }

    #[tokio::test]
    async fn green_of_another_version_is_not_ready() {
        let mut script = finding_green();
        script.extend([probed(200, "v0.24.5"), green_targets("healthy")]);
        let replay = Replay::new(script);
        let answer = answer(&clients(&replay), BUDGET, &event(Value::Null), 1000).await;
        replay.assert_done();
        assert_eq!(answer["hookStatus"], "IN_PROGRESS", "{answer}");
        let reason = answer["hookDetails"]["smokeTest"]["lastReason"]
            .as_str()
            .unwrap();
        assert!(
            reason.contains("green reports version v0.24.5, expected 0.24.6"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn when_green_cannot_be_found_ecs_still_gets_a_status() {
        let missing =
            json!({"serviceRevisions": [], "failures": [{"arn": REVISION, "reason": "MISSING"}]});
        let replay = Replay::new(vec![
            ok("DescribeServiceRevisions", missing.to_string()),
            json_error("DescribeServiceRevisions", 400, "AccessDeniedException"),
        ]);
        let clients = clients(&replay);
        let first = answer(&clients, BUDGET, &event(Value::Null), 1000).await;
        assert_eq!(first["hookStatus"], "IN_PROGRESS", "{first}");
        let reason = first["hookDetails"]["smokeTest"]["lastReason"]
            .as_str()
            .unwrap();
        assert!(reason.contains("does not exist"), "{reason}");
        let spent = json!({"smokeTest": {"firstCheckedAt": 700, "attempts": 20}});
        let last = answer(&clients, BUDGET, &event(spent), 1000).await;
        replay.assert_done();
        assert_eq!(last["hookStatus"], "FAILED", "{last}");
        assert!(last["hookDetails"]["reason"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"));
    }

    #[tokio::test]
    async fn a_malformed_ecs_payload_fails_without_asking_aws() {
        let replay = Replay::new(vec![]);
        let answer = answer(
            &clients(&replay),
            BUDGET,
            &json!({"executionDetails": {"serviceArn": 7}}),
            1000,
        )
        .await;
        replay.assert_done();
        assert_eq!(answer["hookStatus"], "FAILED", "{answer}");
        assert!(answer["hookDetails"]["reason"]
            .as_str()
            .unwrap()
            .contains("not an ECS lifecycle hook payload"));
    }
}
