//! One frontend release at a time, in the order their executions started: two uploads close
//! together (or one event EventBridge delivers twice) would otherwise sync, invalidate and
//! publish at once, and whichever wrote `index.html` last — not the later upload — would be
//! served. An execution goes once every execution that started before it has published (or
//! ended); until then the state machine waits and asks again. Publishing, not ending, frees
//! the turn: an execution stays running through the keep-previous wait before it prunes.

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde::Serialize;
use vikunja_core::{Error, Result, SdkContext};

/// The state after which an execution no longer holds the turn.
pub const PUBLISH_STATE: &str = "Publish";
/// How long a release waits for its turn before it gives up and names what holds it (an
/// earlier release stuck before publishing: an invalidation waits at most an hour).
pub const TURN_BUDGET_MS: i64 = 2 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    pub go: bool,
    /// The executions to wait for, by name.
    pub ahead: Vec<String>,
}

/// `arn:…:execution:<machine>:<name>` → `arn:…:stateMachine:<machine>`.
pub fn state_machine_of(execution_arn: &str) -> Result<String> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "states", region, account, "execution", machine, _name] => Ok(format!(
            "arn:{partition}:states:{region}:{account}:stateMachine:{machine}"
        )),
        _ => Err(Error::invalid(format!(
            "not a Step Functions execution ARN: {execution_arn:?}"
        ))),
    }
}

/// The running executions that started before `mine` (ties broken by ARN, so that two
/// executions never wait for each other), oldest first.
pub fn started_before<'a>(mine: &str, running: &'a [(String, i64)]) -> Vec<&'a str> {
    let Some(own) = running.iter().find(|(arn, _)| arn == mine) else {
        return Vec::new();
    };
    let mut earlier: Vec<&(String, i64)> = running
        .iter()
        .filter(|(arn, started)| (*started, arn.as_str()) < (own.1, own.0.as_str()))
        .collect();
    earlier.sort_by_key(|(arn, started)| (*started, arn.clone()));
    earlier.into_iter().map(|(arn, _)| arn.as_str()).collect()
}

pub async fn take(sfn: &aws_sdk_sfn::Client, execution: &str) -> Result<Turn> {
    let machine = state_machine_of(execution)?;
    let running: Vec<(String, i64)> = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Running)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list the running releases of {machine}"))?
        .iter()
        .map(|e| {
            let started = e.start_date().to_millis().unwrap_or_default();
            (e.execution_arn().to_string(), started)
        })
        .collect();
    let mut ahead = Vec::new();
    for arn in started_before(execution, &running) {
        if !has_published(sfn, arn).await? {
            ahead.push(arn.rsplit(':').next().unwrap_or(arn).to_string());
        }
    }
    let started = running
        .iter()
        .find(|(arn, _)| arn == execution)
        .map(|(_, s)| *s);
    if let Some(error) = overdue(started, crate::handler::now_ms() as i64, &ahead) {
        return Err(error);
    }
    Ok(Turn {
        go: ahead.is_empty(),
        ahead,
    })
}

/// A release that has waited past [`TURN_BUDGET_MS`] for `ahead` gives up, naming them.
pub fn overdue(started_ms: Option<i64>, now_ms: i64, ahead: &[String]) -> Option<Error> {
    let waited = now_ms - started_ms?;
    (!ahead.is_empty() && waited > TURN_BUDGET_MS).then(|| {
        Error::conflict(format!(
            "waited {} minutes for earlier releases to publish ({}); look at them in the Step Functions console, stop the stuck one, then upload this build again",
            waited / 60_000,
            ahead.join(", ")
        ))
    })
}

/// Reads the history newest first and stops at `Publish`'s exit: an execution holding the
/// turn has its newest events at the top, so this is one page, not the whole history.
async fn has_published(sfn: &aws_sdk_sfn::Client, execution: &str) -> Result<bool> {
    let mut events = sfn
        .get_execution_history()
        .execution_arn(execution)
        .reverse_order(true)
        .into_paginator()
        .items()
        .send();
    loop {
        let next = events
            .try_next()
            .await
            .context(format!("read the history of {execution}"));
        match next {
            Ok(Some(event)) if is_publish_exit(&event) => return Ok(true),
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(false),
            // Ended (and gone) since it was listed: it holds nothing.
            Err(e) if e.is(vikunja_core::ErrorClass::NotFound) => return Ok(true),
            Err(e) => return Err(e),
        }
    }
}

fn is_publish_exit(event: &aws_sdk_sfn::types::HistoryEvent) -> bool {
    event.r#type() == &HistoryEventType::TaskStateExited
        && event
            .state_exited_event_details()
            .is_some_and(|d| d.name() == PUBLISH_STATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:v-release-frontend";

    fn execution(name: &str) -> String {
        format!("arn:aws:states:us-east-1:123456789012:execution:v-release-frontend:{name}")
    }

    #[test]
    fn a_release_stuck_behind_another_past_the_budget_gives_up_and_names_it() {
        let ahead = vec!["e-stuck".to_string()];
        let start = 1_000_000;
        assert!(overdue(Some(start), start + TURN_BUDGET_MS, &ahead).is_none());
        let error = overdue(Some(start), start + TURN_BUDGET_MS + 60_000, &ahead).unwrap();
        assert!(
            error.to_string().contains("e-stuck") && error.to_string().contains("121 minutes"),
            "{error}"
        );
        assert!(
            overdue(Some(start), start + 10 * TURN_BUDGET_MS, &[]).is_none(),
            "nothing ahead: go"
        );
        assert!(overdue(None, start, &ahead).is_none());
    }

    #[test]
    fn the_state_machine_is_read_from_the_execution_arn() {
        assert_eq!(state_machine_of(&execution("e1")).unwrap(), MACHINE);
        let error = state_machine_of(MACHINE).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("not a Step Functions execution ARN"),
            "{error}"
        );
    }

    #[test]
    fn only_executions_started_earlier_go_first_and_ties_are_broken_once() {
        let running = vec![
            (execution("late"), 300),
            (execution("b"), 100),
            (execution("a"), 100),
            (execution("first"), 50),
        ];
        assert_eq!(
            started_before(&execution("late"), &running),
            [execution("first"), execution("a"), execution("b")]
        );
        // Of two started in the same millisecond exactly one waits for the other.
        assert_eq!(
            started_before(&execution("b"), &running),
            [execution("first"), execution("a")]
        );
        assert_eq!(
            started_before(&execution("a"), &running),
            [execution("first")]
        );
        assert!(started_before(&execution("first"), &running).is_empty());
        assert!(started_before(&execution("unknown"), &running).is_empty());
    }
}
