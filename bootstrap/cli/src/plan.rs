//! `vikunja-aws plan`: what `up` would do, without doing it. The desired state comes from
//! the same settings and names `up` uses; what the account has is looked up the way each
//! provisioning function looks it up (tags, deterministic names, the inventory). Every
//! resource of every tier comes out as `create`, `change` (with the fields, current →
//! desired), `keep`, or `cannot-change-in-place` (with what the operator must do).
//!
//! [`observe`] makes only Describe/List/Get/Head calls; [`diff`] is pure and unit-tested.

pub mod diff;
pub mod observe;

use anyhow::Result;
use serde::Serialize;
use vikunja_core::tags::Tier;
use vikunja_core::{Names, Settings};

use crate::deploy::stack_name;
use crate::target::Aws;

pub use observe::Observed;

pub use resources::plan::{Action, Difference, How, Item};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierPlan {
    pub tier: String,
    pub items: Vec<Item>,
}

impl TierPlan {
    fn new(tier: Tier, items: Vec<Item>) -> Self {
        Self {
            tier: tier.as_str().to_string(),
            items,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrap {
    pub stack: String,
    pub deployed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub create: usize,
    pub change: usize,
    pub cannot_change_in_place: usize,
    pub keep: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub stack: String,
    pub account: String,
    pub region: String,
    pub bootstrap: Bootstrap,
    pub tiers: Vec<TierPlan>,
    /// The first resource (in the workflow's order) where `up` would stop with an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_stops_at: Option<String>,
    /// What runs once per task rather than once per stack (`Settings::per_task_notes`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_task: Vec<String>,
    pub summary: Summary,
}

impl Plan {
    /// Whether `up` has anything to do, or cannot run: what `--detailed-exitcode` reports.
    pub fn has_changes(&self) -> bool {
        let s = self.summary;
        !self.bootstrap.deployed || s.create + s.change + s.cannot_change_in_place > 0
    }

    pub fn items(&self) -> impl Iterator<Item = (&str, &Item)> {
        self.tiers
            .iter()
            .flat_map(|t| t.items.iter().map(move |i| (t.tier.as_str(), i)))
    }
}

/// Looks at the account and compares: the whole of `vikunja-aws plan`.
pub async fn plan(aws: &Aws, settings: &Settings) -> Result<Plan> {
    let own = settings.own_domain()?;
    let observed = observe::observe(aws, &settings.stack, own.as_ref()).await?;
    Ok(compare(settings, &aws.account, &aws.region, &observed))
}

/// The pure comparison of the desired tiers with what was observed.
pub fn compare(settings: &Settings, account: &str, region: &str, observed: &Observed) -> Plan {
    let desired = diff::Desired {
        settings,
        names: Names::new(&settings.stack),
        account,
        region,
    };
    let tiers = diff::tiers(&desired, observed);
    let mut summary = Summary::default();
    let mut up_stops_at = None;
    for tier in &tiers {
        for item in &tier.items {
            match item.action {
                Action::Create => summary.create += 1,
                Action::Change => summary.change += 1,
                Action::CannotChangeInPlace => summary.cannot_change_in_place += 1,
                Action::Keep => summary.keep += 1,
            }
            if up_stops_at.is_none() && item.differences.iter().any(|d| d.how == How::UpStops) {
                up_stops_at = Some(format!("{} {} {}", tier.tier, item.kind, item.name));
            }
        }
    }
    Plan {
        stack: settings.stack.clone(),
        account: account.to_string(),
        region: region.to_string(),
        bootstrap: Bootstrap {
            stack: stack_name(&settings.stack),
            deployed: observed.bootstrap.is_some(),
            status: observed.bootstrap.as_ref().map(|b| b.status.clone()),
        },
        tiers,
        up_stops_at,
        per_task: settings.per_task_notes(),
        summary,
    }
}

/// The summary line: `plan: 12 to create, 1 to change, 0 cannot change in place, 3 unchanged`.
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary;
    format!(
        "plan: {} to create, {} to change, {} cannot change in place, {} unchanged",
        s.create, s.change, s.cannot_change_in_place, s.keep
    )
}

/// The plan as a person reads it, grouped by tier.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(
        &mut out,
        format!(
            "plan for stack {} (account {}, {})",
            plan.stack, plan.account, plan.region
        ),
    );
    line(
        &mut out,
        match &plan.bootstrap {
            Bootstrap {
                deployed: true,
                status,
                stack,
            } => format!(
                "bootstrap stack {stack}: deployed ({})",
                status.as_deref().unwrap_or("?")
            ),
            Bootstrap { stack, .. } => format!(
                "bootstrap stack {stack}: not deployed — run `vikunja-aws bootstrap` before `up`"
            ),
        },
    );
    let action_width = plan
        .items()
        .map(|(_, i)| i.action.as_str().len())
        .max()
        .unwrap_or(0);
    let kind_width = plan.items().map(|(_, i)| i.kind.len()).max().unwrap_or(0);
    for tier in &plan.tiers {
        line(&mut out, String::new());
        line(&mut out, tier.tier.clone());
        for item in &tier.items {
            let mut head = format!(
                "  {} {:action_width$}  {:kind_width$}  {}",
                item.action.sign(),
                item.action.as_str(),
                item.kind,
                item.name
            );
            if let Some(id) = item.id.as_ref().filter(|id| **id != item.name) {
                head.push_str(&format!(" ({id})"));
            }
            if let Some(detail) = &item.detail {
                head.push_str(&format!(": {detail}"));
            }
            line(&mut out, head);
            let mut last_fix = None;
            for difference in &item.differences {
                let how = match difference.how {
                    How::InPlace => "",
                    How::UpLeavesIt => " [up leaves it]",
                    How::UpStops => " [up stops here]",
                };
                line(
                    &mut out,
                    format!(
                        "        {}: {} → {}{how}",
                        difference.field, difference.current, difference.desired
                    ),
                );
                // Fields that share a remedy (cpu and memory, say) show it once.
                if let Some(fix) = difference.fix.as_ref().filter(|f| last_fix != Some(*f)) {
                    line(&mut out, format!("          {fix}"));
                }
                last_fix = difference.fix.as_ref();
            }
            for note in &item.notes {
                line(&mut out, format!("        note: {note}"));
            }
        }
    }
    line(&mut out, String::new());
    for note in &plan.per_task {
        line(&mut out, format!("per task: {note}"));
    }
    if let Some(at) = &plan.up_stops_at {
        line(
            &mut out,
            format!("up would stop at {at}: the steps after it would not run"),
        );
    }
    line(&mut out, summary_line(plan));
    out
}

#[cfg(test)]
mod tests;
