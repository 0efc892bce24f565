//! Stack events: following a stack operation as it runs, and reading its outcome.

use std::collections::HashSet;

use anyhow::{Context, Result};

use crate::progress::{Reason, Waiting};
use crate::target::Aws;
use crate::Output;

/// The stack's own events carry this resource type (and the stack's name as logical id).
const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// One stack event, in the fields the CLI uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    /// UTC, `HH:MM:SS`.
    pub time: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl StackEvent {
    fn from_sdk(event: &aws_sdk_cloudformation::types::StackEvent) -> Self {
        let time = event
            .timestamp()
            .and_then(|t| {
                t.fmt(aws_sdk_cloudformation::primitives::DateTimeFormat::DateTime)
                    .ok()
            })
            .map(|t| t.get(11..19).unwrap_or(&t).to_string())
            .unwrap_or_default();
        Self {
            id: event.event_id().unwrap_or_default().to_string(),
            time,
            logical_id: event.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: event.resource_type().unwrap_or_default().to_string(),
            status: event
                .resource_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: event
                .resource_status_reason()
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        }
    }

    /// An event of the stack itself rather than of one of its resources.
    pub fn is_stack(&self, stack_name: &str) -> bool {
        self.resource_type == STACK_TYPE && self.logical_id == stack_name
    }
}

/// `00:10:24  NetworkFunction           UPDATE_FAILED         reason`.
pub fn format_event(event: &StackEvent) -> String {
    let line = format!(
        "{}  {:<30}  {:<22}  {}",
        event.time,
        event.logical_id,
        event.status,
        event.reason.as_deref().unwrap_or("")
    );
    line.trim_end().to_string()
}

/// Failures that are only a consequence of another's: CloudFormation cancels what was in
/// progress when one resource fails.
pub fn is_consequence(reason: &str) -> bool {
    let reason = reason.trim();
    reason.starts_with("Resource creation cancelled")
        || reason.starts_with("Resource update cancelled")
        || reason.starts_with("Resource deletion cancelled")
        || reason.starts_with("Resource handler returned message: \"Resource creation cancelled")
}

/// The first resource that failed on its own (events oldest first): the cause to show.
/// Falls back to the stack's own failure event when no resource says more.
pub fn first_failure<'a>(events: &'a [StackEvent], stack_name: &str) -> Option<&'a StackEvent> {
    let failed = |e: &&StackEvent| e.status.ends_with("_FAILED");
    events
        .iter()
        .filter(failed)
        .find(|e| !e.is_stack(stack_name) && !e.reason.as_deref().is_some_and(is_consequence))
        .or_else(|| {
            events
                .iter()
                .filter(failed)
                .find(|e| e.is_stack(stack_name))
        })
}

/// The resources the latest rollback could not update (events newest first, as
/// DescribeStackEvents gives them): what `--skip-resource` may name.
pub fn rollback_failures(newest_first: &[StackEvent], stack_name: &str) -> Vec<StackEvent> {
    let mut failures = Vec::new();
    for event in newest_first {
        if event.is_stack(stack_name) && event.status == "UPDATE_ROLLBACK_IN_PROGRESS" {
            break;
        }
        if !event.is_stack(stack_name)
            && event.status == "UPDATE_FAILED"
            && !failures
                .iter()
                .any(|f: &StackEvent| f.logical_id == event.logical_id)
        {
            failures.push(event.clone());
        }
    }
    failures.reverse();
    failures
}

/// What CloudFormation is still working on, from the operation's events (oldest first):
/// the resources whose latest event is `_IN_PROGRESS`, else the stack itself.
pub fn in_progress(events: &[StackEvent], stack_name: &str) -> Option<Reason> {
    let mut latest: Vec<&StackEvent> = Vec::new();
    for event in events.iter().filter(|e| !e.is_stack(stack_name)) {
        latest.retain(|e| e.logical_id != event.logical_id);
        latest.push(event);
    }
    let busy: Vec<&str> = latest
        .iter()
        .filter(|e| e.status.ends_with("_IN_PROGRESS"))
        .map(|e| e.logical_id.as_str())
        .collect();
    let stack = events.iter().rev().find(|e| e.is_stack(stack_name))?;
    if !stack.status.ends_with("_IN_PROGRESS") {
        return None;
    }
    let detail = match busy.len() {
        0 => format!("{stack_name} ({})", stack.status),
        n => {
            let named = busy.iter().take(3).copied().collect::<Vec<_>>().join(", ");
            let more = if n > 3 {
                format!(" and {} more", n - 3)
            } else {
                String::new()
            };
            format!("{stack_name} ({}: {named}{more})", stack.status)
        }
    };
    Some(Reason {
        wait: "cloudformation".into(),
        subject: "bootstrap".into(),
        awaited: stack_name.to_string(),
        detail,
    })
}

/// The stack's final status once a stack-level event says the operation is over.
pub fn finished(new_events: &[StackEvent], stack_name: &str) -> Option<String> {
    new_events
        .iter()
        .rev()
        .find(|e| e.is_stack(stack_name))
        .filter(|e| !e.status.ends_with("_IN_PROGRESS"))
        .map(|e| e.status.clone())
}

/// What went wrong and what to do, for a stack operation that ended in `status`.
pub fn failure_message(stack_name: &str, status: &str, cause: Option<&StackEvent>) -> String {
    let what = match status {
        "ROLLBACK_COMPLETE" => "the first create failed and was rolled back: everything it made is deleted. \
             Fix the cause below and run bootstrap again — it deletes the empty stack and creates it anew"
            .to_string(),
        "ROLLBACK_FAILED" => "the first create failed and so did deleting what it made. \
             Run bootstrap again: it deletes the stack (the events name what still stands) and creates it anew"
            .to_string(),
        "UPDATE_ROLLBACK_COMPLETE" => "the update failed and was rolled back: the stack is as it was before. \
             Fix the cause below and run bootstrap again"
            .to_string(),
        "UPDATE_ROLLBACK_FAILED" => format!(
            "the update failed and so did its rollback: the stack cannot be updated until the rollback is finished. \
             Fix what the rollback could not undo, or skip it, and continue: \
             `vikunja-aws bootstrap --continue-rollback [--skip-resource <logical id>]` \
             (or `aws cloudformation continue-update-rollback --stack-name {stack_name}`)"
        ),
        "DELETE_FAILED" => "deleting it failed. The events name what could not be deleted; \
             delete that by hand and run bootstrap again"
            .to_string(),
        other => format!("it ended {other}"),
    };
    let cause = cause
        .map(|e| {
            format!(
                "\n  cause: {} ({}) {}: {}",
                e.logical_id,
                e.resource_type,
                e.status,
                e.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .unwrap_or_default();
    format!("{stack_name} is {status}: {what}{cause}")
}

/// The ids of the events the stack has now (first page: the newest), so a follower shows
/// only what comes after.
pub async fn seen_now(aws: &Aws, stack_id: &str) -> Result<HashSet<String>> {
    let page = aws
        .cloudformation()
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .with_context(|| format!("describe the events of {stack_id}"))?;
    Ok(page
        .stack_events()
        .iter()
        .filter_map(|e| e.event_id().map(str::to_string))
        .collect())
}

/// Events newer than any in `seen` (oldest first); adds them to `seen`.
async fn new_events(
    aws: &Aws,
    stack_id: &str,
    seen: &mut HashSet<String>,
) -> Result<Vec<StackEvent>> {
    let mut fresh = newest_first(aws, stack_id, 50, |event| !seen.contains(&event.id)).await?;
    fresh.reverse();
    for event in &fresh {
        seen.insert(event.id.clone());
    }
    Ok(fresh)
}

/// The stack's events, newest first, page by page, up to the first one `wanted` refuses.
async fn newest_first(
    aws: &Aws,
    stack_id: &str,
    pages: usize,
    wanted: impl Fn(&StackEvent) -> bool,
) -> Result<Vec<StackEvent>> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..pages {
        let page = aws
            .cloudformation()
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(token.take())
            .send()
            .await
            .with_context(|| format!("describe the events of {stack_id}"))?;
        for event in page.stack_events().iter().map(StackEvent::from_sdk) {
            if !wanted(&event) {
                return Ok(events);
            }
            events.push(event);
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    Ok(events)
}

/// Follows the stack's events until a stack-level event ends the operation; prints each
/// new event (text output). Returns the final status and the operation's events, oldest first.
pub async fn follow(
    aws: &Aws,
    stack_id: &str,
    stack_name: &str,
    mut seen: HashSet<String>,
    output: Output,
) -> Result<(String, Vec<StackEvent>)> {
    let mut events = Vec::new();
    let mut waiting = Waiting::new(output);
    loop {
        let fresh = new_events(aws, stack_id, &mut seen).await?;
        if output == Output::Text {
            waiting.suspend(|| {
                for event in &fresh {
                    println!("  {}", format_event(event));
                }
            });
        }
        events.extend(fresh);
        if let Some(status) = finished(&events, stack_name) {
            waiting.finish();
            return Ok((status, events));
        }
        waiting.show(Vec::from_iter(in_progress(&events, stack_name)).as_slice());
        tokio::time::sleep(aws.poll_interval()).await;
    }
}

/// The latest events of the stack, newest first (a few pages at most).
pub async fn recent(aws: &Aws, stack_id: &str, pages: usize) -> Result<Vec<StackEvent>> {
    newest_first(aws, stack_id, pages, |_| true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "vikunja-bootstrap";

    fn event(id: &str, logical_id: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            id: id.into(),
            time: "00:10:24".into(),
            logical_id: logical_id.into(),
            resource_type: if logical_id == STACK {
                STACK_TYPE.into()
            } else {
                "AWS::Lambda::Function".into()
            },
            status: status.into(),
            reason: reason.map(Into::into),
        }
    }

    #[test]
    fn the_wait_names_the_resources_still_in_progress_until_the_stack_ends() {
        let mut events = vec![
            event("1", STACK, "UPDATE_IN_PROGRESS", None),
            event("2", "NetworkFunction", "UPDATE_IN_PROGRESS", None),
            event("3", "DataFunction", "UPDATE_IN_PROGRESS", None),
            event("4", "NetworkFunction", "UPDATE_COMPLETE", None),
        ];
        let open = in_progress(&events, STACK).unwrap();
        assert_eq!(
            open.waiting(),
            "bootstrap: waiting for vikunja-bootstrap (UPDATE_IN_PROGRESS: DataFunction)"
        );
        events.push(event("5", "DataFunction", "UPDATE_COMPLETE", None));
        events.push(event(
            "6",
            STACK,
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            None,
        ));
        assert_eq!(
            in_progress(&events, STACK).unwrap().detail,
            "vikunja-bootstrap (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS)"
        );
        events.push(event("7", STACK, "UPDATE_COMPLETE", None));
        assert_eq!(in_progress(&events, STACK), None);
    }

    #[test]
    fn an_event_prints_time_resource_status_and_reason() {
        assert_eq!(
            format_event(&event(
                "1",
                "NetworkFunction",
                "UPDATE_FAILED",
                Some("S3 Error Code: NoSuchKey")
            )),
            format!(
                "00:10:24  {:<30}  {:<22}  S3 Error Code: NoSuchKey",
                "NetworkFunction", "UPDATE_FAILED"
            )
        );
        assert_eq!(
            format_event(&event("1", "NetworkFunction", "UPDATE_COMPLETE", None)),
            format!("00:10:24  {:<30}  UPDATE_COMPLETE", "NetworkFunction")
        );
    }

    #[test]
    fn the_first_real_failure_is_the_cause_not_the_cancellations() {
        let events = [
            event("1", STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
            event("2", "RoleA", "CREATE_FAILED", Some("Resource creation cancelled")),
            event("3", "DataFunction", "CREATE_FAILED", Some("Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: NoSuchKey.\"")),
            event("4", "HookFunction", "CREATE_FAILED", Some("Resource handler returned message: \"Error occurred while GetObject.\"")),
            event("5", STACK, "ROLLBACK_IN_PROGRESS", Some("The following resource(s) failed to create: [DataFunction, HookFunction].")),
            event("6", STACK, "ROLLBACK_COMPLETE", None),
        ];
        assert_eq!(
            first_failure(&events, STACK).unwrap().logical_id,
            "DataFunction"
        );
        assert_eq!(
            finished(&events, STACK).as_deref(),
            Some("ROLLBACK_COMPLETE")
        );

        let only_stack = [
            event("1", STACK, "UPDATE_IN_PROGRESS", None),
            event(
                "2",
                STACK,
                "UPDATE_ROLLBACK_FAILED",
                Some("Stack role is gone"),
            ),
        ];
        assert_eq!(
            first_failure(&only_stack, STACK).unwrap().reason.as_deref(),
            Some("Stack role is gone")
        );
        assert!(first_failure(&[event("1", STACK, "UPDATE_COMPLETE", None)], STACK).is_none());
    }

    #[test]
    fn an_operation_is_over_only_on_a_final_stack_event() {
        let running = [
            event("1", STACK, "UPDATE_IN_PROGRESS", None),
            event("2", "NetworkFunction", "UPDATE_COMPLETE", None),
            event("3", STACK, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None),
        ];
        assert_eq!(finished(&running, STACK), None);
        let mut done = running.to_vec();
        done.push(event("4", STACK, "UPDATE_COMPLETE", None));
        assert_eq!(finished(&done, STACK).as_deref(), Some("UPDATE_COMPLETE"));
        // A resource's COMPLETE does not end the stack's operation.
        assert_eq!(finished(&running[..2], STACK), None);
    }

    #[test]
    fn rollback_failures_are_those_of_the_latest_rollback() {
        let newest_first = [
            event(
                "9",
                STACK,
                "UPDATE_ROLLBACK_FAILED",
                Some("The following resource(s) failed to update: [NetworkFunction]."),
            ),
            event("8", "NetworkFunction", "UPDATE_FAILED", Some("NoSuchKey")),
            event("7", "NetworkFunction", "UPDATE_IN_PROGRESS", None),
            event(
                "6",
                STACK,
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to update: [DataFunction]."),
            ),
            event("5", "DataFunction", "UPDATE_FAILED", Some("NoSuchKey")),
            event("4", STACK, "UPDATE_IN_PROGRESS", None),
        ];
        let failures = rollback_failures(&newest_first, STACK);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].logical_id, "NetworkFunction");
    }

    #[test]
    fn failure_messages_say_what_state_it_is_in_and_what_to_do() {
        let cause = event("3", "DataFunction", "CREATE_FAILED", Some("NoSuchKey"));
        let message = failure_message(STACK, "ROLLBACK_COMPLETE", Some(&cause));
        assert!(message.contains("run bootstrap again"), "{message}");
        assert!(
            message
                .contains("cause: DataFunction (AWS::Lambda::Function) CREATE_FAILED: NoSuchKey"),
            "{message}"
        );
        assert!(
            failure_message(STACK, "UPDATE_ROLLBACK_COMPLETE", None).contains("as it was before")
        );
        assert!(
            failure_message(STACK, "UPDATE_ROLLBACK_FAILED", None).contains("--continue-rollback")
        );
        assert!(is_consequence("Resource update cancelled"));
        assert!(!is_consequence(
            "Resource handler returned message: \"Access Denied\""
        ));
    }
}
