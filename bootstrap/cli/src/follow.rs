//! Starting workflows and following them: each step as it ends, with elapsed time.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use serde_json::{json, Value};
use vikunja_core::error::Classify;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, ErrorClass, ProvisionState, Settings};

use crate::deploy::stack_name;
use crate::progress::{self, Waiting};
use crate::target::{Aws, Target};

const LOCAL_POLL_SECONDS: u32 = 2;
use crate::Output;

/// Settings from an optional JSON file, with the stack name from the command line. On the
/// local stack a database is ready in seconds, so polls default to every 2 s there.
pub fn load_settings(stack: &str, file: Option<&Path>, target: Target) -> Result<Settings> {
    let mut value = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read {}", path.display()))?;
            serde_json::from_str::<Value>(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?
        }
        None => json!({}),
    };
    let object = value
        .as_object_mut()
        .context("settings must be a JSON object")?;
    object.insert("stack".into(), Value::String(stack.to_string()));
    if target == Target::Local {
        object
            .entry("pollSeconds")
            .or_insert(json!(LOCAL_POLL_SECONDS));
    }
    let settings: Settings = serde_json::from_value(value).context("invalid settings")?;
    settings.validate()?;
    Ok(settings)
}

pub async fn state_machine_arn(aws: &Aws, stack: &str, output_key: &str) -> Result<String> {
    let name = stack_name(stack);
    let described = crate::deploy::describe_stack(aws, &name)
        .await?
        .with_context(|| format!("stack {name} not found: run `vikunja-aws bootstrap` first"))?;
    described
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some(output_key))
        .and_then(|o| o.output_value())
        .map(str::to_string)
        .with_context(|| {
            format!("stack {name} has no output {output_key}: run `vikunja-aws bootstrap` again")
        })
}

pub async fn provision(
    aws: &Aws,
    settings: &Settings,
    no_wait: bool,
    output: Output,
) -> Result<Value> {
    let arn = state_machine_arn(aws, &settings.stack, "ProvisionStateMachineArn").await?;
    let input = serde_json::to_string(&ProvisionState::new(settings.clone()))?;
    let mut outputs = run_execution(aws, &arn, "provision", &input, no_wait, output).await?;
    let notes = settings.per_task_notes();
    if let (Some(map), false) = (outputs.as_object_mut(), notes.is_empty()) {
        map.insert(PER_TASK.into(), json!(notes));
    }
    Ok(outputs)
}

/// The key of `up`'s outputs that says what is per task (see `Settings::per_task_notes`).
pub const PER_TASK: &str = "perTask";

pub async fn run_execution(
    aws: &Aws,
    state_machine: &str,
    kind: &str,
    input: &str,
    no_wait: bool,
    output: Output,
) -> Result<Value> {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let started = aws
        .sfn()
        .start_execution()
        .state_machine_arn(state_machine)
        .name(format!("{kind}-{millis}"))
        .input(input)
        .send()
        .await
        .with_context(|| format!("start {kind} on {state_machine}"))?;
    let execution = started.execution_arn().to_string();
    if output == Output::Text {
        println!("{kind}: started {execution}");
    }
    if no_wait {
        return Ok(json!({ "executionArn": execution }));
    }
    follow(aws, &execution, output).await
}

/// Polls the execution's history, printing each step as it ends, until the execution ends.
pub async fn follow(aws: &Aws, execution: &str, output: Output) -> Result<Value> {
    let sfn = aws.sfn();
    let clock = Instant::now();
    let mut history = History::default();
    let mut steps = Steps::default();
    let mut waiting = Waiting::new(output);
    loop {
        let new = history.read_new(aws, execution).await?;
        waiting.suspend(|| {
            for event in new {
                if output == Output::Text {
                    steps.report(event, clock.elapsed().as_secs_f64());
                }
            }
        });
        waiting.show(&progress::waits(history.events()));
        let described = watching(aws, "describe execution", || {
            sfn.describe_execution().execution_arn(execution).send()
        })
        .await?;
        match described.status() {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {}
            ExecutionStatus::Succeeded => {
                let output_text = described.output().unwrap_or("{}");
                waiting.finish();
                if output == Output::Text {
                    println!("succeeded in {:.1}s", clock.elapsed().as_secs_f64());
                }
                return serde_json::from_str(output_text)
                    .context("the execution's output is not JSON");
            }
            status => {
                waiting.finish();
                bail!(
                    "{execution} ended {}: {}: {}\nEverything made so far is tagged and kept; run the same command again to continue.",
                    status.as_str(),
                    described.error().unwrap_or("no error name"),
                    described.cause().map(error_message).unwrap_or_else(|| "no cause given".into())
                )
            }
        }
        tokio::time::sleep(aws.poll_interval()).await;
    }
}

/// Consecutive transient failures a watching read survives.
const WATCH_FAILURES_TOLERATED: u32 = 8;

/// A read while watching an execution: one that the SDK's own retries could not get through
/// (throttling, a 5xx, a dropped connection) is asked again a little later — the execution
/// goes on meanwhile, and a watcher giving up would report a failure that is not one.
pub async fn watching<T, E, Call, Answer>(aws: &Aws, what: &str, mut call: Call) -> Result<T>
where
    Call: FnMut() -> Answer,
    Answer: std::future::Future<
        Output = std::result::Result<T, SdkError<E, aws_sdk_sfn::config::http::HttpResponse>>,
    >,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut failures = 0;
    loop {
        match call().await {
            Ok(answer) => return Ok(answer),
            Err(error)
                if error.class() == ErrorClass::Transient
                    && failures < WATCH_FAILURES_TOLERATED =>
            {
                failures += 1;
                tokio::time::sleep(aws.poll_interval() * failures).await;
            }
            Err(error) => {
                return vikunja_core::SdkContext::context(Err(error), what).map_err(Into::into)
            }
        }
    }
}

/// Events a watcher asks for per page. A poll that finds nothing new costs one page of this
/// size, however long the history has grown.
const WATCH_PAGE: i32 = 20;

/// An execution's history as a watcher holds it: each read asks only for the events after
/// the last one held — newest first, a page at a time, until it reaches that one — instead
/// of the whole history on every poll (hundreds of events once a database wait has looped).
#[derive(Default)]
pub struct History {
    events: Vec<HistoryEvent>,
}

impl History {
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// Reads the events added since the last read; returns them, oldest first.
    pub async fn read_new(&mut self, aws: &Aws, execution: &str) -> Result<&[HistoryEvent]> {
        let held = self.events.last().map(HistoryEvent::id).unwrap_or(0);
        let mut newer = Vec::new();
        let mut token = None;
        loop {
            let page = watching(aws, "read execution history", || {
                aws.sfn()
                    .get_execution_history()
                    .execution_arn(execution)
                    .reverse_order(true)
                    .max_results(WATCH_PAGE)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
            let (reached, unseen) = events_after(page.events(), held);
            newer.extend(unseen.iter().cloned());
            token = page.next_token().map(str::to_string);
            if reached || token.is_none() {
                break;
            }
        }
        let first_new = self.events.len();
        self.events.extend(newer.into_iter().rev());
        Ok(&self.events[first_new..])
    }
}

/// Of a newest-first page, the events after event `held`, and whether the page reached it.
fn events_after(page: &[HistoryEvent], held: i64) -> (bool, &[HistoryEvent]) {
    match page.iter().position(|event| event.id() <= held) {
        Some(at) => (true, &page[..at]),
        None => (false, page),
    }
}

/// What the progress display remembers between events.
#[derive(Default)]
struct Steps {
    entered: HashMap<String, f64>,
    /// The error of the step that is about to exit, if its function failed.
    failure: Option<String>,
    /// The last Wait state shown: a polling loop is shown once, not once per poll.
    last_wait: Option<String>,
}

impl Steps {
    fn report(&mut self, event: &HistoryEvent, now: f64) {
        use HistoryEventType as T;
        match event.r#type() {
            T::TaskStateEntered => {
                if let Some(name) = event.state_entered_event_details().map(|d| d.name()) {
                    self.entered.insert(name.to_string(), now);
                }
            }
            T::TaskStateExited => {
                if let Some(name) = event.state_exited_event_details().map(|d| d.name()) {
                    let took = self.entered.get(name).map(|t| now - t).unwrap_or(0.0);
                    match self.failure.take() {
                        Some(error) => println!("  {now:7.1}s  ✗ {name:<24} {took:.1}s  {error}"),
                        // Polls of a status are shown by the Wait before them, not one line each.
                        None if name.ends_with("Status") => {}
                        None => println!("  {now:7.1}s  ✓ {name:<24} {took:.1}s"),
                    }
                }
            }
            T::WaitStateEntered => {
                if let Some(name) = event.state_entered_event_details().map(|d| d.name()) {
                    if self.last_wait.as_deref() != Some(name) {
                        println!("  {now:7.1}s  … {name}");
                        self.last_wait = Some(name.to_string());
                    }
                }
            }
            T::LambdaFunctionFailed | T::LambdaFunctionTimedOut => {
                let details = event.lambda_function_failed_event_details();
                let error = details.and_then(|d| d.error()).unwrap_or("error");
                let cause = details
                    .and_then(|d| d.cause())
                    .map(error_message)
                    .unwrap_or_default();
                // A retried failure is shown when it happens; the exit shows the last one.
                println!("  {now:7.1}s    {error}: {cause}");
                self.failure = Some(error.to_string());
            }
            T::LambdaFunctionSucceeded => self.failure = None,
            _ => {}
        }
    }
}

/// A Lambda failure's cause is the runtime's JSON; its message is what a person reads.
pub fn error_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

pub async fn status(aws: &Aws, stack: &str) -> Result<Value> {
    let ssm = aws.ssm();
    let mut tiers = serde_json::Map::new();
    for tier in Tier::ALL {
        let recorded: Option<Value> = inventory::read(&ssm, stack, tier).await?;
        tiers.insert(tier.as_str().to_string(), recorded.unwrap_or(Value::Null));
    }
    if tiers.values().all(Value::is_null) {
        bail!("stack {stack} has no inventory: nothing was provisioned (run `vikunja-aws up --stack {stack}`)");
    }
    Ok(Value::Object(tiers))
}

/// The first execution of `state_machine` whose input (the event that started it) matches
/// and that started at `since` or later, waiting up to `within` for the event to arrive;
/// `None` when none appeared. The first, not the newest: a call the SDK retried after it
/// had taken effect (an upload, a push) can start a second execution of the same event
/// content, and the command follows the release it started, not the echo.
pub async fn execution_started_by(
    aws: &Aws,
    state_machine: &str,
    within: std::time::Duration,
    since: Option<std::time::SystemTime>,
    matches: impl Fn(&Value) -> bool,
) -> Result<Option<String>> {
    let sfn = aws.sfn();
    // Step Functions' clock, not ours, stamps the start: allow for some skew.
    let since = since.map(|t| {
        aws_sdk_sfn::primitives::DateTime::from(
            t - std::time::Duration::from_secs(CLOCK_SKEW_SECONDS),
        )
    });
    let started = Instant::now();
    while started.elapsed() < within {
        let listed = watching(aws, "list executions", || {
            sfn.list_executions()
                .state_machine_arn(state_machine)
                .max_results(20)
                .send()
        })
        .await?;
        let mut first: Option<(aws_sdk_sfn::primitives::DateTime, String)> = None;
        for execution in listed.executions() {
            let start = *execution.start_date();
            if since.is_some_and(|since| start.as_secs_f64() < since.as_secs_f64()) {
                continue;
            }
            let described = watching(aws, "describe an execution", || {
                sfn.describe_execution()
                    .execution_arn(execution.execution_arn())
                    .send()
            })
            .await?;
            let input: Value =
                serde_json::from_str(described.input().unwrap_or("{}")).unwrap_or(Value::Null);
            let earlier = first
                .as_ref()
                .is_none_or(|(seen, _)| start.as_secs_f64() < seen.as_secs_f64());
            if matches(&input) && earlier {
                first = Some((start, execution.execution_arn().to_string()));
            }
        }
        if let Some((_, arn)) = first {
            return Ok(Some(arn));
        }
        tokio::time::sleep(aws.poll_interval()).await;
    }
    Ok(None)
}

const CLOCK_SKEW_SECONDS: u64 = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sfn::primitives::DateTime;

    fn event(id: i64) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .timestamp(DateTime::from_secs(id))
            .r#type(HistoryEventType::TaskStateEntered)
            .build()
            .unwrap()
    }

    fn ids(events: &[HistoryEvent]) -> Vec<i64> {
        events.iter().map(HistoryEvent::id).collect()
    }

    #[test]
    fn a_newest_first_page_gives_the_events_after_the_held_one() {
        let page: Vec<_> = [9, 8, 7, 6].into_iter().map(event).collect();
        let (reached, unseen) = events_after(&page, 7);
        assert!(reached);
        assert_eq!(ids(unseen), [9, 8]);
    }

    #[test]
    fn a_page_of_only_new_events_asks_for_the_next_one() {
        let page: Vec<_> = [30, 29, 28].into_iter().map(event).collect();
        let (reached, unseen) = events_after(&page, 7);
        assert!(!reached);
        assert_eq!(ids(unseen), [30, 29, 28]);
    }

    #[test]
    fn nothing_new_is_an_empty_read() {
        let page: Vec<_> = [7, 6].into_iter().map(event).collect();
        let (reached, unseen) = events_after(&page, 7);
        assert!(reached);
        assert!(unseen.is_empty());
    }
}
