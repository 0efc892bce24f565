//! What a workflow run costs on AWS, from what it used: state transitions (Step Functions
//! Standard) and Lambda requests and GB-seconds.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{json, Value};
use vikunja_aws::cost::{Prices, DOCS_REGION};

/// us-east-1 list prices from the CLI's price table (the one `vikunja-aws cost` and
/// docs/aws.md use), without the free tier.
fn prices() -> Prices {
    Prices::for_region(DOCS_REGION).expect("the price table has us-east-1")
}

pub fn prices_note() -> String {
    prices()
        .workflow_prices_note()
        .expect("the price table has the workflow prices")
}

/// One invocation's REPORT figures, as the local Lambda host serves them.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    pub request_id: String,
    pub function: String,
    pub billed_ms: u64,
    pub memory_size_mb: u64,
    pub max_memory_mb: u64,
}

impl Report {
    pub fn gb_seconds(&self) -> f64 {
        self.billed_ms as f64 / 1000.0 * self.memory_size_mb as f64 / 1024.0
    }
}

/// Every REPORT the local Lambda host keeps, of the stack's functions.
pub async fn reports(stack: &str) -> anyhow::Result<Vec<Report>> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")?;
    let answer: Value = reqwest::get(format!("{endpoint}/_vikunja_local/lambda/reports"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut out = Vec::new();
    let functions = answer["functions"].as_object().cloned().unwrap_or_default();
    for (name, reports) in functions {
        if !name.starts_with(&format!("{stack}-")) {
            continue;
        }
        out.extend(serde_json::from_value::<Vec<Report>>(reports)?);
    }
    Ok(out)
}

/// What one run used, and what that costs.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub executions: usize,
    pub transitions: u64,
    pub invocations: usize,
    pub gb_seconds: f64,
    /// Peak `Max Memory Used` per function in this run.
    pub peak_memory_mb: BTreeMap<String, u64>,
}

impl Usage {
    pub fn add_reports(&mut self, reports: &[Report]) {
        for report in reports {
            self.invocations += 1;
            self.gb_seconds += report.gb_seconds();
            let peak = self
                .peak_memory_mb
                .entry(report.function.clone())
                .or_default();
            *peak = (*peak).max(report.max_memory_mb);
        }
    }

    pub fn dollars(&self) -> f64 {
        prices()
            .workflow_usd(
                self.transitions as f64,
                self.invocations as f64,
                self.gb_seconds,
            )
            .expect("the price table has the workflow prices")
    }

    pub fn json(&self) -> Value {
        json!({
            "executions": self.executions,
            "stateTransitions": self.transitions,
            "lambdaInvocations": self.invocations,
            "lambdaGbSeconds": round(self.gb_seconds, 3),
            "dollars": round(self.dollars(), 6),
            "peakMemoryMb": self.peak_memory_mb,
        })
    }
}

/// The reports that are new since `before` (by request id).
pub fn new_since(before: &[Report], now: Vec<Report>) -> Vec<Report> {
    let seen: BTreeSet<&str> = before.iter().map(|r| r.request_id.as_str()).collect();
    now.into_iter()
        .filter(|r| !seen.contains(r.request_id.as_str()))
        .collect()
}

/// Step Functions bills a transition for every state entered and for every retry of a task.
pub fn transitions<'a>(event_types: impl IntoIterator<Item = &'a str>) -> u64 {
    let (mut entered, mut tasks_entered, mut scheduled) = (0u64, 0u64, 0u64);
    for kind in event_types {
        if kind.ends_with("StateEntered") {
            entered += 1;
            if kind == "TaskStateEntered" {
                tasks_entered += 1;
            }
        } else if kind == "LambdaFunctionScheduled" || kind == "TaskScheduled" {
            scheduled += 1;
        }
    }
    entered + scheduled.saturating_sub(tasks_entered)
}

pub fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_task_is_one_more_transition() {
        let history = [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionFailed",
            "LambdaFunctionScheduled",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "ExecutionSucceeded",
        ];
        assert_eq!(transitions(history), 4);
    }

    #[test]
    fn cost_adds_transitions_gigabyte_seconds_and_requests() {
        let usage = Usage {
            transitions: 1000,
            invocations: 1_000_000,
            gb_seconds: 1.0,
            ..Usage::default()
        };
        assert!((usage.dollars() - (0.025 + 0.000_016_666_7 + 0.20)).abs() < 1e-9);
    }
}
