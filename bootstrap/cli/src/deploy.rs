//! The bootstrap stack: artifacts bucket, uploads, then a CloudFormation change set —
//! created, shown, executed and followed event by event to the end. The same code runs
//! against the local stack and AWS; only the endpoint differs.

pub mod artifacts;
pub mod changeset;
pub mod events;

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use anyhow::{bail, Context, Result};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, ExecutionStatus, Parameter, Stack, Tag,
};
use serde_json::{json, Value};

use crate::package::Packaged;
use crate::target::{self, Aws};
use crate::Output;
use changeset::{ChangeRow, StackPlan};

/// CloudFormation's limit for an inline template body; larger ones go through S3.
const MAX_TEMPLATE_BODY: usize = 51_200;

pub fn stack_name(stack: &str) -> String {
    format!("{stack}-bootstrap")
}

/// The default artifacts bucket of the account and region.
pub fn artifacts_bucket(aws: &Aws) -> String {
    artifacts::default_bucket(&aws.account, &aws.region)
}

/// How bootstrap runs, beyond the stack and the packaged template.
#[derive(Debug, Clone, Default)]
pub struct BootstrapOptions {
    /// The artifacts bucket (default: the one the stack uses, else
    /// `vikunja-artifacts-<account>-<region>`).
    pub artifacts_bucket: Option<String>,
    /// Create and show the change set, but leave it for review instead of executing it.
    pub no_execute: bool,
    /// A stack in UPDATE_ROLLBACK_FAILED: continue its rollback, then deploy.
    pub continue_rollback: bool,
    /// Resources the continued rollback skips (left as they are, marked rolled back).
    pub skip_resources: Vec<String>,
}

/// Bootstrap with the default options (what `make up` and the tests' harness run).
pub async fn bootstrap(
    aws: &Aws,
    stack: &str,
    packaged: &Packaged,
    output: Output,
) -> Result<Value> {
    deploy(aws, stack, packaged, &BootstrapOptions::default(), output).await
}

/// Uploads what is missing and deploys the template through a change set. The result:
/// the stack's outputs, plus `BootstrapStack`, `Changed` (whether the stack changed),
/// `ChangeSet`, `Executed`, `ArtifactsBucket`, `Uploaded`, `Seconds`, and with JSON output
/// `Changes` (the change set's rows).
pub async fn deploy(
    aws: &Aws,
    stack: &str,
    packaged: &Packaged,
    options: &BootstrapOptions,
    output: Output,
) -> Result<Value> {
    let started = Instant::now();
    let text = output == Output::Text;
    let name = stack_name(stack);
    if !options.skip_resources.is_empty() && !options.continue_rollback {
        bail!("--skip-resource only applies with --continue-rollback");
    }
    if let Some(note) = target::check_region_services(aws).await? {
        if text {
            println!("note: {note}");
        }
    }

    let existing = describe_stack(aws, &name).await?;
    let status = existing
        .as_ref()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string());
    let plan = changeset::plan(&name, status.as_deref());
    match &plan {
        StackPlan::Refuse(message) => bail!("{message}"),
        StackPlan::ContinueRollback if !options.continue_rollback => {
            let id = existing.as_ref().and_then(|s| s.stack_id()).unwrap_or(&name);
            let failures = events::rollback_failures(&events::recent(aws, id, 3).await?, &name);
            bail!("{}", rollback_failed_message(&name, &failures));
        }
        _ if options.continue_rollback && plan != StackPlan::ContinueRollback => bail!(
            "--continue-rollback: {name} is {}, not UPDATE_ROLLBACK_FAILED; run bootstrap without it",
            status.as_deref().unwrap_or("not there")
        ),
        _ => {}
    }

    let deployed_bucket = existing.as_ref().and_then(|s| {
        s.parameters()
            .iter()
            .find(|p| p.parameter_key() == Some("ArtifactsBucket"))
            .and_then(|p| p.parameter_value())
    });
    let bucket = artifacts::choose_bucket(
        options.artifacts_bucket.as_deref(),
        deployed_bucket
            .filter(|_| plan == StackPlan::Update || plan == StackPlan::ContinueRollback),
        artifacts_bucket(aws),
    );
    let described = artifacts::ensure_bucket(aws, &bucket).await?;
    if text {
        println!("artifacts: {described}");
    }
    let uploads = artifacts::upload_functions(aws, &bucket, &packaged.functions).await?;
    if text {
        println!(
            "artifacts: {} of {} function zips uploaded ({} already there, unchanged)",
            uploads.uploaded.len(),
            packaged.functions.len(),
            uploads.present
        );
    }
    let body = serde_json::to_string(&packaged.template)?;
    let template_url = if body.len() > MAX_TEMPLATE_BODY {
        let key = format!(
            "templates/{stack}-{}.json",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()))
        );
        artifacts::upload_if_missing(aws, &bucket, &key, body.as_bytes()).await?;
        Some(format!(
            "https://{bucket}.s3.{}.amazonaws.com/{key}",
            aws.region
        ))
    } else {
        None
    };

    let mut stack_id = existing
        .as_ref()
        .and_then(|s| s.stack_id())
        .map(str::to_string);
    match plan {
        StackPlan::ContinueRollback => {
            let id = stack_id.clone().unwrap_or_else(|| name.clone());
            continue_rollback(aws, &id, &name, &options.skip_resources, output).await?;
        }
        StackPlan::DeleteThenCreate => {
            let id = stack_id.take().unwrap_or_else(|| name.clone());
            if text {
                println!(
                    "{name} is {}: a first create that failed; deleting it to create it again",
                    status.as_deref().unwrap_or_default()
                );
            }
            delete_failed_stack(aws, &id, &name, output).await?;
        }
        _ => {}
    }
    let kind = match plan {
        StackPlan::Create | StackPlan::DeleteThenCreate => ChangeSetType::Create,
        _ => ChangeSetType::Update,
    };

    if let Some(id) = &stack_id {
        let removed = remove_old_change_sets(aws, id).await?;
        if text && !removed.is_empty() {
            println!(
                "removed {} change set(s) an earlier run left: {}",
                removed.len(),
                removed.join(", ")
            );
        }
    }
    let change_set_name = changeset::change_set_name(SystemTime::now());
    let created = aws
        .cloudformation()
        .create_change_set()
        .stack_name(&name)
        .change_set_name(&change_set_name)
        .change_set_type(kind.clone())
        .description(format!(
            "vikunja-aws bootstrap: {} function zips in s3://{bucket}",
            packaged.functions.len()
        ))
        .set_parameters(Some(stack_parameters(aws, stack, &bucket)))
        .capabilities(Capability::CapabilityIam)
        .set_tags(Some(stack_tags(stack)))
        .set_template_url(template_url.clone())
        .set_template_body(template_url.is_none().then(|| body.clone()))
        .send()
        .await;
    let (change_set_id, created_stack_id) = match created {
        Ok(created) => (
            created
                .id()
                .context("CreateChangeSet answered without an id")?
                .to_string(),
            created.stack_id().map(str::to_string),
        ),
        // The name is this run's own: one that exists is this run's, made by an attempt
        // whose answer was lost.
        Err(error) => match change_set_made_anyway(aws, &name, &change_set_name).await {
            Some(made) => made,
            None => {
                return Err(error)
                    .with_context(|| format!("create change set {change_set_name} for {name}"))
            }
        },
    };
    let stack_id = created_stack_id
        .or(stack_id)
        .unwrap_or_else(|| name.clone());
    let (rows, no_changes) = wait_for_change_set(aws, &change_set_id, &change_set_name).await?;

    let mut result: BTreeMap<String, Value> = BTreeMap::new();
    result.insert("BootstrapStack".into(), json!(name));
    result.insert("ArtifactsBucket".into(), json!(bucket));
    result.insert("Uploaded".into(), json!(uploads.uploaded.len()));
    if output == Output::Json {
        result.insert(
            "Changes".into(),
            Value::Array(rows.iter().map(ChangeRow::to_json).collect()),
        );
    }
    let finish = |mut result: BTreeMap<String, Value>, stack: Option<&Stack>| {
        if let Some(stack) = stack {
            for o in stack.outputs() {
                if let (Some(k), Some(v)) = (o.output_key(), o.output_value()) {
                    result.insert(k.to_string(), json!(v));
                }
            }
        }
        result.insert(
            "Seconds".into(),
            json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0),
        );
        Value::Object(result.into_iter().collect())
    };

    if no_changes {
        aws.cloudformation()
            .delete_change_set()
            .change_set_name(&change_set_id)
            .send()
            .await
            .with_context(|| format!("delete the empty change set {change_set_name}"))?;
        if text {
            println!("{name}: no changes (template, parameters and function code as deployed); the empty change set is deleted");
        }
        result.insert("Changed".into(), json!(false));
        result.insert("Executed".into(), json!(false));
        let stack = describe_stack(aws, &stack_id).await?;
        return Ok(finish(result, stack.as_ref()));
    }

    if text {
        println!(
            "change set {change_set_name} ({} {name}): {}",
            kind.as_str(),
            changeset::summarize(&rows)
        );
        for line in changeset::format_changes(&rows) {
            println!("  {line}");
        }
    }
    result.insert("ChangeSet".into(), json!(change_set_name));
    if options.no_execute {
        if text {
            println!(
                "--no-execute: the change set is left for review. Execute it with \
                 `aws cloudformation execute-change-set --change-set-name {change_set_id}`, or run bootstrap \
                 again without --no-execute (which replaces it with a fresh one)"
            );
        }
        result.insert("ChangeSetId".into(), json!(change_set_id));
        result.insert("Changed".into(), json!(false));
        result.insert("Executed".into(), json!(false));
        let stack = describe_stack(aws, &stack_id).await?;
        return Ok(finish(result, stack.as_ref()));
    }

    let seen = events::seen_now(aws, &stack_id).await?;
    let executing = Instant::now();
    if text {
        println!("executing {change_set_name}:");
    }
    let executed = aws
        .cloudformation()
        .execute_change_set()
        .change_set_name(&change_set_id)
        .client_request_token(&change_set_name)
        .send()
        .await;
    if let Err(error) = executed {
        // An answer lost after the execution began (a 5xx, a dropped connection) makes the
        // retry meet a change set already executing: that is this run's execution.
        if !execution_began(aws, &change_set_id).await {
            return Err(error).with_context(|| format!("execute change set {change_set_name}"));
        }
    }
    let (final_status, run_events) = events::follow(aws, &stack_id, &name, seen, output).await?;
    if final_status != "CREATE_COMPLETE" && final_status != "UPDATE_COMPLETE" {
        let cause = events::first_failure(&run_events, &name);
        bail!("{}", events::failure_message(&name, &final_status, cause));
    }
    if text {
        println!(
            "{name}: {final_status} in {:.1}s",
            executing.elapsed().as_secs_f64()
        );
    }
    result.insert("Changed".into(), json!(true));
    result.insert("Executed".into(), json!(true));
    let stack = describe_stack(aws, &stack_id)
        .await?
        .with_context(|| format!("{name} vanished after {final_status}"))?;
    Ok(finish(result, Some(&stack)))
}

fn rollback_failed_message(name: &str, failures: &[events::StackEvent]) -> String {
    let mut message = format!(
        "{name} is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback, so CloudFormation will \
         not update the stack until the rollback is finished."
    );
    if failures.is_empty() {
        message.push_str(
            "\n  Continue it: `vikunja-aws bootstrap --continue-rollback` (the stack's events name the resources \
             that could not be rolled back)",
        );
        return message;
    }
    message.push_str("\n  the rollback could not restore:");
    for failure in failures {
        message.push_str(&format!(
            "\n    {} ({}): {}",
            failure.logical_id,
            failure.resource_type,
            failure.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    let skips: Vec<String> = failures
        .iter()
        .map(|f| format!("--skip-resource {}", f.logical_id))
        .collect();
    message.push_str(&format!(
        "\n  Fix the cause and run `vikunja-aws bootstrap --continue-rollback`, or skip them (CloudFormation marks \
         them rolled back and leaves them as they are; this bootstrap then updates them): \
         `vikunja-aws bootstrap --continue-rollback {}`",
        skips.join(" ")
    ));
    message
}

/// Continues an UPDATE_ROLLBACK_FAILED stack's rollback and follows it to the end.
async fn continue_rollback(
    aws: &Aws,
    stack_id: &str,
    name: &str,
    skip: &[String],
    output: Output,
) -> Result<()> {
    if output == Output::Text {
        println!(
            "{name}: continuing the rollback{}",
            if skip.is_empty() {
                String::new()
            } else {
                format!(", skipping {}", skip.join(", "))
            }
        );
    }
    let seen = events::seen_now(aws, stack_id).await?;
    aws.cloudformation()
        .continue_update_rollback()
        .stack_name(stack_id)
        .set_resources_to_skip((!skip.is_empty()).then(|| skip.to_vec()))
        .send()
        .await
        .with_context(|| format!("continue the rollback of {name}"))?;
    let (status, _) = events::follow(aws, stack_id, name, seen, output).await?;
    if status != "UPDATE_ROLLBACK_COMPLETE" {
        let failures = events::rollback_failures(&events::recent(aws, stack_id, 3).await?, name);
        bail!("{}", rollback_failed_message(name, &failures));
    }
    Ok(())
}

/// Deletes a stack whose first create failed and waits until it is gone.
async fn delete_failed_stack(aws: &Aws, stack_id: &str, name: &str, output: Output) -> Result<()> {
    let seen = events::seen_now(aws, stack_id).await?;
    aws.cloudformation()
        .delete_stack()
        .stack_name(stack_id)
        .send()
        .await
        .with_context(|| format!("delete the failed stack {name}"))?;
    let (status, run_events) = events::follow(aws, stack_id, name, seen, output).await?;
    if status != "DELETE_COMPLETE" {
        let cause = events::first_failure(&run_events, name);
        bail!("{}", events::failure_message(name, &status, cause));
    }
    Ok(())
}

/// Deletes the change sets an earlier run of this tool left on the stack and nobody
/// executed (`--no-execute`, an interrupted run); others' change sets are left alone.
async fn remove_old_change_sets(aws: &Aws, stack_id: &str) -> Result<Vec<String>> {
    let cfn = aws.cloudformation();
    let mut removed = Vec::new();
    let mut token: Option<String> = None;
    let mut stale = Vec::new();
    loop {
        let page = cfn
            .list_change_sets()
            .stack_name(stack_id)
            .set_next_token(token.take())
            .send()
            .await
            .with_context(|| format!("list the change sets of {stack_id}"))?;
        for summary in page.summaries() {
            let ours = summary
                .change_set_name()
                .is_some_and(|n| n.starts_with(changeset::CHANGE_SET_PREFIX));
            let unexecuted = matches!(
                summary.execution_status(),
                Some(ExecutionStatus::Available | ExecutionStatus::Unavailable)
            );
            let settled = !matches!(
                summary.status(),
                Some(ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress)
            );
            if ours && unexecuted && settled {
                if let (Some(id), Some(n)) = (summary.change_set_id(), summary.change_set_name()) {
                    stale.push((id.to_string(), n.to_string()));
                }
            }
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    for (id, change_set_name) in stale {
        match cfn.delete_change_set().change_set_name(&id).send().await {
            Ok(_) => removed.push(change_set_name),
            Err(e)
                if vikunja_core::error::Classify::class(&e)
                    == vikunja_core::ErrorClass::NotFound => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("delete the old change set {change_set_name}")))
            }
        }
    }
    Ok(removed)
}

/// Waits until CloudFormation has computed the change set. Returns its rows, and whether
/// it holds no change at all. A change set that fails for another reason is deleted and
/// its reason returned as the error.
/// The change set `name` of `stack`, if an attempt whose answer was lost made it: (its id,
/// its stack's id).
async fn change_set_made_anyway(
    aws: &Aws,
    stack: &str,
    name: &str,
) -> Option<(String, Option<String>)> {
    let described = aws
        .cloudformation()
        .describe_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .ok()?;
    Some((
        described.change_set_id()?.to_string(),
        described.stack_id().map(str::to_string),
    ))
}

/// Whether the change set's execution began (or already ended).
async fn execution_began(aws: &Aws, change_set_id: &str) -> bool {
    use aws_sdk_cloudformation::types::ExecutionStatus;
    let described = aws
        .cloudformation()
        .describe_change_set()
        .change_set_name(change_set_id)
        .send()
        .await;
    matches!(
        described.ok().and_then(|d| d.execution_status().cloned()),
        Some(
            ExecutionStatus::ExecuteInProgress
                | ExecutionStatus::ExecuteComplete
                | ExecutionStatus::ExecuteFailed
        )
    )
}

async fn wait_for_change_set(
    aws: &Aws,
    change_set_id: &str,
    change_set_name: &str,
) -> Result<(Vec<ChangeRow>, bool)> {
    let cfn = aws.cloudformation();
    loop {
        let first = cfn
            .describe_change_set()
            .change_set_name(change_set_id)
            .send()
            .await
            .with_context(|| format!("describe change set {change_set_name}"))?;
        match first.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                let mut rows = change_rows(first.changes());
                let mut token = first.next_token().map(str::to_string);
                while let Some(next) = token.take() {
                    let page = cfn
                        .describe_change_set()
                        .change_set_name(change_set_id)
                        .next_token(next)
                        .send()
                        .await
                        .with_context(|| format!("describe change set {change_set_name}"))?;
                    rows.extend(change_rows(page.changes()));
                    token = page.next_token().map(str::to_string);
                }
                return Ok((rows, false));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = first
                    .status_reason()
                    .unwrap_or("no reason given")
                    .to_string();
                if changeset::is_no_changes(&reason) {
                    return Ok((Vec::new(), true));
                }
                cfn.delete_change_set()
                    .change_set_name(change_set_id)
                    .send()
                    .await
                    .ok();
                bail!("change set {change_set_name} failed: {reason}");
            }
            _ => tokio::time::sleep(aws.poll_interval()).await,
        }
    }
}

fn change_rows(changes: &[aws_sdk_cloudformation::types::Change]) -> Vec<ChangeRow> {
    changes
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|r| ChangeRow {
            action: r
                .action()
                .map(|a| a.as_str().to_string())
                .unwrap_or_default(),
            logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: r.resource_type().unwrap_or_default().to_string(),
            replacement: r.replacement().map(|x| x.as_str().to_string()),
        })
        .collect()
}

fn stack_tags(stack: &str) -> Vec<Tag> {
    vec![
        Tag::builder()
            .key(vikunja_core::tags::STACK)
            .value(stack)
            .build(),
        Tag::builder()
            .key(vikunja_core::tags::TIER)
            .value("bootstrap")
            .build(),
    ]
}

/// The template's parameters. On the local stack deployments take seconds, not minutes,
/// so polls and the hook's patience are scaled down; on AWS the template's defaults hold.
fn stack_parameters(aws: &Aws, stack: &str, bucket: &str) -> Vec<Parameter> {
    let mut values = vec![
        ("VikunjaStack", stack.to_string()),
        ("ArtifactsBucket", bucket.to_string()),
    ];
    if aws.target == crate::target::Target::Local {
        values.extend([
            ("ReleasePollSeconds", "1".to_string()),
            ("SmokeTestBudgetSeconds", "12".to_string()),
            ("SmokeTestIntervalSeconds", "2".to_string()),
        ]);
    }
    values
        .into_iter()
        .map(|(key, value)| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        })
        .collect()
}

/// The stack by name or id, or None when there is none (a deleted stack by id is returned
/// with DELETE_COMPLETE).
pub async fn describe_stack(aws: &Aws, name_or_id: &str) -> Result<Option<Stack>> {
    match aws
        .cloudformation()
        .describe_stacks()
        .stack_name(name_or_id)
        .send()
        .await
    {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(e)
            if vikunja_core::error::Classify::class(&e) == vikunja_core::ErrorClass::NotFound =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("describe stack {name_or_id}"))),
    }
}
