//! `vikunja-aws down`: shows what the stack owns (grouped by tier), asks, runs the teardown
//! workflow with progress, reports what was deleted, kept and refused — and, once nothing is
//! left, deletes the bootstrap stack that held the workflow (unless asked to keep it).
//!
//! The plan comes from the same workflow in dry-run mode, so what is shown is found exactly
//! the way the deleting steps find it: by the stack's tag and inventory.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use vikunja_core::teardown::{Plan, Summary, TeardownOptions};

use crate::deploy::stack_name;
use crate::follow;
use crate::progress::{Reason, Waiting};
use crate::target::{Aws, Target};
use crate::Output;

/// How long the bootstrap stack may take to delete before `down` stops waiting for it.
const BOOTSTRAP_DELETE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    pub keep_data: bool,
    pub delete_data: bool,
    pub skip_final_snapshot: bool,
    pub keep_logs: bool,
    pub keep_bootstrap: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownReport {
    pub stack: String,
    /// Nothing failed; kept resources were asked for.
    pub complete: bool,
    pub plan: Plan,
    pub summary: Option<Summary>,
    pub bootstrap_deleted: bool,
    pub seconds: f64,
}

/// The workflow's options for this stack and target: the local stack polls every 2 s.
pub fn teardown_options(stack: &str, options: &DownOptions, target: Target) -> TeardownOptions {
    let mut workflow = TeardownOptions::new(stack);
    workflow.keep_data = options.keep_data;
    workflow.delete_data = options.delete_data;
    workflow.skip_final_snapshot = options.skip_final_snapshot;
    workflow.keep_logs = options.keep_logs;
    if target == Target::Local {
        workflow.poll_seconds = 2;
    }
    workflow
}

/// Plans, asks `confirm`, tears down, and deletes the bootstrap stack once nothing is left.
/// `Ok` with `complete: false` when something could not be deleted (the report says what).
pub async fn down(
    aws: &Aws,
    stack: &str,
    options: &DownOptions,
    output: Output,
    confirm: &mut dyn FnMut(&Plan) -> Result<bool>,
) -> Result<DownReport> {
    let clock = Instant::now();
    let workflow = teardown_options(stack, options, aws.target);
    workflow.validate()?;
    let Some(state_machine) = teardown_state_machine(aws, stack).await? else {
        if output == Output::Text {
            println!(
                "stack {stack} is already torn down: its bootstrap stack {} was deleted and it has no inventory; nothing to do",
                stack_name(stack)
            );
        }
        return Ok(DownReport {
            stack: stack.to_string(),
            complete: true,
            plan: Plan {
                stack: stack.to_string(),
                tiers: vec![],
                inventory: vec![],
            },
            summary: None,
            bootstrap_deleted: false,
            seconds: (clock.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        });
    };

    let plan = plan(aws, &state_machine, &workflow).await?;
    if output == Output::Text {
        print_plan(&plan);
    }
    if !confirm(&plan)? {
        bail!("cancelled: nothing was deleted");
    }
    let summary = run(aws, &state_machine, &workflow, output).await?;
    if output == Output::Text {
        print_summary(&summary);
    }
    let bootstrap_deleted = if summary.complete && !options.keep_bootstrap {
        delete_bootstrap(aws, stack, output).await?;
        true
    } else {
        false
    };
    Ok(DownReport {
        stack: stack.to_string(),
        complete: summary.complete,
        plan,
        summary: Some(summary),
        bootstrap_deleted,
        seconds: (clock.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    })
}

/// The teardown state machine of the stack's bootstrap stack; `None` for a stack already
/// torn down (CloudFormation remembers its deleted bootstrap stack). An unknown stack — no
/// bootstrap stack, ever, and no inventory — is an error, and nothing is deleted.
pub async fn teardown_state_machine(aws: &Aws, stack: &str) -> Result<Option<String>> {
    let name = stack_name(stack);
    let Some(described) = crate::deploy::describe_stack(aws, &name).await? else {
        if has_inventory(aws, stack).await? {
            bail!(
                    "stack {stack} has an inventory but no bootstrap stack {name}, which runs teardown: run `vikunja-aws bootstrap --stack {stack}`, then `down` again"
                );
        }
        if was_deleted(aws, &name).await? {
            return Ok(None);
        }
        bail!(
                "unknown stack {stack}: there is no bootstrap stack {name} and no inventory under /vikunja/{stack}; nothing was deleted"
            );
    };
    described
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("TeardownStateMachineArn"))
        .and_then(|o| o.output_value())
        .map(|arn| Some(arn.to_string()))
        .with_context(|| {
            format!("stack {name} predates teardown (no TeardownStateMachineArn output): run `vikunja-aws bootstrap --stack {stack}` again")
        })
}

/// Whether CloudFormation remembers a deleted stack of that name (it does for 90 days).
async fn was_deleted(aws: &Aws, name: &str) -> Result<bool> {
    let mut token = None;
    loop {
        let page = aws
            .cloudformation()
            .list_stacks()
            .stack_status_filter(aws_sdk_cloudformation::types::StackStatus::DeleteComplete)
            .set_next_token(token)
            .send()
            .await
            .context("list deleted stacks")?;
        if page
            .stack_summaries()
            .iter()
            .any(|s| s.stack_name() == Some(name))
        {
            return Ok(true);
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(false);
        }
    }
}

async fn has_inventory(aws: &Aws, stack: &str) -> Result<bool> {
    let path = vikunja_core::Names::new(stack).inventory_path();
    let found = aws
        .ssm()
        .get_parameters_by_path()
        .path(&path)
        .recursive(true)
        .max_results(1)
        .send()
        .await
        .with_context(|| format!("read inventory under {path}"))?;
    Ok(found
        .parameters()
        .iter()
        .any(|p| p.name().is_some_and(|n| n.starts_with(&format!("{path}/")))))
}

/// The workflow in dry-run mode: what would be deleted, kept and refused.
pub async fn plan(aws: &Aws, state_machine: &str, workflow: &TeardownOptions) -> Result<Plan> {
    let mut dry = workflow.clone();
    dry.dry_run = true;
    let input = serde_json::to_string(&dry)?;
    let answer = follow::run_execution(
        aws,
        state_machine,
        "teardown-plan",
        &input,
        false,
        Output::Json,
    )
    .await
    .context("plan the teardown")?;
    serde_json::from_value(answer).context("the teardown plan is not a plan")
}

/// Runs the teardown with progress; the summary whether or not everything went.
async fn run(
    aws: &Aws,
    state_machine: &str,
    workflow: &TeardownOptions,
    output: Output,
) -> Result<Summary> {
    let input = serde_json::to_string(workflow)?;
    let started =
        follow::run_execution(aws, state_machine, "teardown", &input, true, output).await?;
    let execution = started["executionArn"]
        .as_str()
        .context("no execution ARN")?
        .to_string();
    match follow::follow(aws, &execution, output).await {
        Ok(answer) => {
            serde_json::from_value(answer).context("the teardown summary is not a summary")
        }
        Err(error) => incomplete_summary(aws, &execution).await?.ok_or(error),
    }
}

/// The report an incomplete teardown ends with (its `Fail` state's cause).
async fn incomplete_summary(aws: &Aws, execution: &str) -> Result<Option<Summary>> {
    let sfn = aws.sfn();
    let described = crate::follow::watching(aws, "describe the teardown execution", || {
        sfn.describe_execution().execution_arn(execution).send()
    })
    .await?;
    if described.error() != Some("TeardownIncomplete") {
        return Ok(None);
    }
    Ok(described
        .cause()
        .and_then(|cause| serde_json::from_str(cause).ok()))
}

/// Deletes `<stack>-bootstrap` and waits until CloudFormation has removed it.
pub async fn delete_bootstrap(aws: &Aws, stack: &str, output: Output) -> Result<()> {
    let name = stack_name(stack);
    let cfn = aws.cloudformation();
    cfn.delete_stack()
        .stack_name(&name)
        .send()
        .await
        .with_context(|| format!("delete stack {name}"))?;
    let clock = Instant::now();
    let mut waiting = Waiting::new(output);
    loop {
        let status = crate::deploy::describe_stack(aws, &name)
            .await?
            .and_then(|s| s.stack_status().map(|s| s.as_str().to_string()))
            .unwrap_or_else(|| "DELETE_COMPLETE".into());
        match status.as_str() {
            "DELETE_COMPLETE" => {
                waiting.finish();
                if output == Output::Text {
                    println!(
                        "bootstrap stack {name} deleted in {:.1}s",
                        clock.elapsed().as_secs_f64()
                    );
                }
                return Ok(());
            }
            "DELETE_FAILED" => bail!(
                "the stack's resources are gone, but CloudFormation could not delete {name}: see its events (aws cloudformation describe-stack-events --stack-name {name}), fix the cause, then run `vikunja-aws down --stack {stack}` again"
            ),
            _ if clock.elapsed() > BOOTSTRAP_DELETE_TIMEOUT => bail!(
                "{name} is still {status} after {} minutes; look at its events",
                BOOTSTRAP_DELETE_TIMEOUT.as_secs() / 60
            ),
            _ => {
                waiting.show(&[bootstrap_deletion(&name, &status)]);
                tokio::time::sleep(aws.poll_interval()).await
            }
        }
    }
}

fn bootstrap_deletion(name: &str, status: &str) -> Reason {
    Reason {
        wait: "bootstrap-delete".into(),
        subject: "bootstrap".into(),
        awaited: format!("{name} to be deleted"),
        detail: format!("{name} to be deleted ({status})"),
    }
}

pub fn print_plan(plan: &Plan) {
    if plan.is_empty() {
        println!(
            "Nothing of stack {} is left: no resource carries vikunja:stack={} and there is no inventory.",
            plan.stack, plan.stack
        );
        return;
    }
    println!("Teardown plan for stack {}:", plan.stack);
    let width = plan
        .tiers
        .iter()
        .flat_map(|t| {
            t.delete
                .iter()
                .map(|r| r.kind.len())
                .chain(t.keep.iter().map(|k| k.kind.len()))
                .chain(t.refuse.iter().map(|f| f.kind.len()))
        })
        .max()
        .unwrap_or(0)
        .max("inventory parameter".len());
    for tier in &plan.tiers {
        if tier.delete.is_empty() && tier.keep.is_empty() && tier.refuse.is_empty() {
            continue;
        }
        println!("  {}", tier.tier);
        for r in &tier.delete {
            println!("    delete  {:width$}  {}", r.kind, r.id);
        }
        for k in &tier.keep {
            println!("    keep    {:width$}  {}  ({})", k.kind, k.id, k.reason);
        }
        for f in &tier.refuse {
            println!("    REFUSE  {:width$}  {}  ({})", f.kind, f.id, f.reason);
            println!("            {:width$}  → {}", "", f.hint);
        }
    }
    if !plan.inventory.is_empty() {
        println!("  inventory");
        for name in &plan.inventory {
            println!("    delete  {:width$}  {name}", "inventory parameter");
        }
    }
    let kept: usize = plan.tiers.iter().map(|t| t.keep.len()).sum();
    let refused: usize = plan.tiers.iter().map(|t| t.refuse.len()).sum();
    println!(
        "{} to delete, {kept} to keep, {refused} refused.",
        plan.deletions()
    );
}

pub fn print_summary(summary: &Summary) {
    let deleted: Vec<_> = summary.deleted().collect();
    let kept: Vec<_> = summary.kept().collect();
    let failed: Vec<_> = summary.failed().collect();
    let w = deleted
        .iter()
        .map(|(_, r)| r.kind.len())
        .chain(kept.iter().map(|(_, k)| k.kind.len()))
        .chain(failed.iter().map(|(_, f)| f.kind.len()))
        .max()
        .unwrap_or(0);
    let t = "loadbalancer".len();
    println!("deleted ({}):", deleted.len());
    for (tier, r) in &deleted {
        println!("  {tier:<t$}  {:<w$}  {}", r.kind, r.id);
    }
    if !kept.is_empty() {
        println!("kept ({}):", kept.len());
        for (tier, k) in &kept {
            println!("  {tier:<t$}  {:<w$}  {}  ({})", k.kind, k.id, k.reason);
        }
    }
    if !failed.is_empty() {
        println!("could not delete ({}):", failed.len());
        for (tier, f) in &failed {
            println!("  {tier:<t$}  {:<w$}  {}", f.kind, f.id);
            println!("  {:<t$}  {:<w$}  why: {}", "", "", f.reason);
            println!("  {:<t$}  {:<w$}  what to do: {}", "", "", f.hint);
        }
    }
    if summary.complete {
        println!("stack {}: teardown complete.", summary.stack);
    } else {
        println!(
            "stack {}: teardown incomplete — everything that did not depend on the above was deleted; the bootstrap stack is kept so `vikunja-aws down` can run again.",
            summary.stack
        );
    }
}

/// The JSON of a report, for `--output json`.
pub fn to_json(report: &DownReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_stack_polls_fast_and_options_pass_through() {
        let options = DownOptions {
            keep_data: true,
            keep_logs: true,
            ..DownOptions::default()
        };
        let local = teardown_options("v", &options, Target::Local);
        assert_eq!(local.poll_seconds, 2);
        assert!(local.keep_data && local.keep_logs && !local.dry_run);
        assert_eq!(
            teardown_options("v", &options, Target::Aws).poll_seconds,
            15
        );
    }

    #[test]
    fn conflicting_options_are_refused_before_anything_runs() {
        let options = DownOptions {
            keep_data: true,
            delete_data: true,
            ..DownOptions::default()
        };
        assert!(teardown_options("v", &options, Target::Local)
            .validate()
            .is_err());
    }
}
