//! The end of a teardown: every tier's report, and what the state machine needs to end
//! `Succeeded` or `Failed` with the report as its cause.

use serde_json::{json, Map, Value};
use vikunja_core::teardown::{Failure, StepStatus, Summary, TierReport, ORDER};
use vikunja_core::{Error, Result};

/// Step Functions' limit for a `Fail` state's cause is 32 768 characters.
const MAX_CAUSE: usize = 30_000;

pub fn summarize(stack: &str, tiers: Map<String, Value>) -> Summary {
    let reports = ORDER
        .iter()
        .map(|tier| match tiers.get(*tier) {
            Some(value) => serde_json::from_value::<TierReport>(value.clone())
                .unwrap_or_else(|_| step_error(tier, value)),
            None => step_error(tier, &Value::Null),
        })
        .collect();
    Summary::new(stack, reports)
}

/// A tier whose step failed as a whole: the state machine's `Catch` put `{Error, Cause}`
/// where its report would be.
fn step_error(tier: &str, caught: &Value) -> TierReport {
    let error = caught
        .get("Error")
        .and_then(Value::as_str)
        .unwrap_or("the step did not run");
    let cause = caught
        .get("Cause")
        .and_then(Value::as_str)
        .map(|c| {
            serde_json::from_str::<Value>(c)
                .ok()
                .and_then(|v| {
                    v.get("errorMessage")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| c.to_string())
        })
        .unwrap_or_default();
    let mut report = TierReport::pending(tier);
    report.status = StepStatus::Done;
    report.failed.push(Failure {
        kind: "teardown step".into(),
        id: tier.into(),
        reason: if cause.is_empty() {
            error.to_string()
        } else {
            format!("{error}: {cause}")
        },
        hint: "the later tiers ran anyway; fix the cause, then run `vikunja-aws down` again".into(),
    });
    report
}

pub fn for_state_machine(summary: &Summary) -> Result<Value> {
    let mut cause = to_string(summary)?;
    if cause.len() > MAX_CAUSE {
        // What failed and what was kept matter most; the deletions are counted instead.
        let mut short = summary.clone();
        for tier in &mut short.tiers {
            let count = tier.deleted.len();
            tier.deleted.clear();
            tier.memo.insert("deletedCount".into(), count.to_string());
        }
        cause = to_string(&short)?;
    }
    Ok(json!({
        "complete": summary.complete,
        "error": "TeardownIncomplete",
        "cause": cause,
        "summary": summary,
    }))
}

fn to_string(summary: &Summary) -> Result<String> {
    serde_json::to_string(summary)
        .map_err(|e| Error::invalid(format!("serialize the summary: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_step_error_is_a_failure_of_its_tier() {
        let tiers: Map<String, Value> = serde_json::from_value(json!({
            "delivery": {"tier": "delivery", "status": "done", "deleted": [{"kind": "cloudwatch alarm", "id": "a"}]},
            "backend": {"Error": "AwsError", "Cause": "{\"errorType\":\"AwsError\",\"errorMessage\":\"list services: denied\"}"},
            "frontend": {"tier": "frontend", "status": "done"},
            "data": {"tier": "data", "status": "done"},
            "loadbalancer": {"tier": "loadbalancer", "status": "done"},
            "network": {"tier": "network", "status": "done"},
            "inventory": {"tier": "inventory", "status": "done"}
        }))
        .unwrap();
        let summary = summarize("v", tiers);
        assert!(!summary.complete);
        let (tier, failure) = summary.failed().next().unwrap();
        assert_eq!(tier, "backend");
        assert_eq!(failure.reason, "AwsError: list services: denied");
        let out = for_state_machine(&summary).unwrap();
        assert_eq!(out["complete"], false);
        let cause: Summary = serde_json::from_str(out["cause"].as_str().unwrap()).unwrap();
        assert_eq!(cause, summary);
    }

    #[test]
    fn a_tier_that_never_ran_leaves_the_teardown_incomplete() {
        let summary = summarize("v", Map::new());
        assert!(!summary.complete);
        assert_eq!(summary.failed().count(), ORDER.len());
    }
}
