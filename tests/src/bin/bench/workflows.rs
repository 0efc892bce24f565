//! One workflow run measured: wall time, and from what the run left behind, the executions
//! it started (their state transitions) and the Lambda invocations it made (their REPORTs).

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::Result;
use aws_sdk_sfn::types::HistoryEvent;
use serde_json::{json, Value};

use crate::cost::{self, Report, Usage};
use vikunja_tests::Harness;

/// What is there before a run, to tell the run's own executions and invocations apart.
pub struct Before {
    executions: BTreeSet<String>,
    reports: Vec<Report>,
    started: Instant,
}

pub struct Run {
    pub label: &'static str,
    pub seconds: f64,
    pub usage: Usage,
    /// The executions the run started (ARNs).
    pub executions: Vec<String>,
}

impl Run {
    pub fn json(&self) -> Value {
        let mut row = self.usage.json();
        row["workflow"] = json!(self.label);
        row["seconds"] = json!(cost::round(self.seconds, 2));
        row
    }
}

async fn state_machines(h: &Harness, stack: &str) -> Result<Vec<String>> {
    let machines: Vec<_> = h
        .clients
        .sfn
        .list_state_machines()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await?;
    Ok(machines
        .iter()
        .filter(|m| m.name().starts_with(&format!("{stack}-")))
        .map(|m| m.state_machine_arn().to_string())
        .collect())
}

async fn executions(h: &Harness, stack: &str) -> Result<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for machine in state_machines(h, stack).await? {
        let runs: Vec<_> = h
            .clients
            .sfn
            .list_executions()
            .state_machine_arn(machine)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await?;
        all.extend(runs.iter().map(|r| r.execution_arn().to_string()));
    }
    Ok(all)
}

/// Every event of one execution, however many pages.
async fn history(h: &Harness, execution: &str) -> Result<Vec<HistoryEvent>> {
    Ok(h.clients
        .sfn
        .get_execution_history()
        .execution_arn(execution)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await?)
}

async fn transitions_of(h: &Harness, execution: &str) -> Result<u64> {
    let events = history(h, execution).await?;
    Ok(cost::transitions(
        events.iter().map(|e| e.r#type().as_str()),
    ))
}

pub async fn before(h: &Harness, stack: &str) -> Result<Before> {
    Ok(Before {
        executions: executions(h, stack).await?,
        reports: cost::reports(stack).await?,
        started: Instant::now(),
    })
}

/// Ends the measurement of a run that began at `before`. The executions still running
/// (a release's keep-previous wait) are counted as far as they got.
pub async fn after(h: &Harness, stack: &str, label: &'static str, before: Before) -> Result<Run> {
    let seconds = before.started.elapsed().as_secs_f64();
    let mut usage = Usage::default();
    let mut started = Vec::new();
    for execution in executions(h, stack).await?.difference(&before.executions) {
        usage.executions += 1;
        usage.transitions += transitions_of(h, execution).await?;
        started.push(execution.clone());
    }
    let reports = cost::new_since(&before.reports, cost::reports(stack).await?);
    usage.add_reports(&reports);
    Ok(Run {
        label,
        seconds,
        usage,
        executions: started,
    })
}

/// Seconds spent in each state of one execution, in the order entered (a state entered
/// twice, as a wait loop does, is summed), and the execution's own start-to-stop time.
pub async fn state_seconds(h: &Harness, execution: &str) -> Result<(Vec<(String, f64)>, f64)> {
    let events = history(h, execution).await?;
    let seconds = |e: &HistoryEvent| e.timestamp().as_secs_f64();
    let mut states: Vec<(String, f64)> = Vec::new();
    let mut entered: Vec<(String, f64)> = Vec::new();
    for event in &events {
        if let Some(details) = event.state_entered_event_details() {
            entered.push((details.name().to_string(), seconds(event)));
        } else if let Some(details) = event.state_exited_event_details() {
            let Some(at) = entered.iter().rposition(|(n, _)| n == details.name()) else {
                continue;
            };
            let (name, start) = entered.remove(at);
            let spent = seconds(event) - start;
            match states.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += spent,
                None => states.push((name, spent)),
            }
        }
    }
    let whole = match (events.first(), events.last()) {
        (Some(first), Some(last)) => seconds(last) - seconds(first),
        _ => 0.0,
    };
    Ok((states, whole))
}
