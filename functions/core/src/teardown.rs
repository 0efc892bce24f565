//! Teardown's vocabulary: the options an operator gives, what each tier step reports, the
//! plan shown before anything is deleted and the summary at the end. Shared by the teardown
//! function, which produces them, and the CLI, which shows them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::settings::validate_stack_name;

/// The order tiers are torn down in: each one only after everything that depends on it.
pub const ORDER: [&str; 8] = [
    "delivery",
    "backend",
    "frontend",
    "data",
    "loadbalancer",
    "domain",
    "network",
    "inventory",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeardownOptions {
    pub stack: String,
    /// Keep the database (and what it needs to exist) and the site bucket.
    #[serde(default)]
    pub keep_data: bool,
    /// Lift the database's deletion protection; without it a protected database is refused.
    #[serde(default)]
    pub delete_data: bool,
    /// Delete the database without a final snapshot.
    #[serde(default)]
    pub skip_final_snapshot: bool,
    /// Keep the backend's log group.
    #[serde(default)]
    pub keep_logs: bool,
    /// Only find and list; delete nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Seconds between two looks at something AWS is still deleting.
    #[serde(default = "defaults::poll_seconds")]
    pub poll_seconds: u32,
    /// Give up waiting for one resource after this many minutes (reported, never silent).
    #[serde(default = "defaults::wait_minutes")]
    pub wait_minutes: u32,
}

mod defaults {
    pub fn poll_seconds() -> u32 {
        15
    }
    pub fn wait_minutes() -> u32 {
        60
    }
}

impl TeardownOptions {
    pub fn new(stack: &str) -> Self {
        Self {
            stack: stack.to_string(),
            keep_data: false,
            delete_data: false,
            skip_final_snapshot: false,
            keep_logs: false,
            dry_run: false,
            poll_seconds: defaults::poll_seconds(),
            wait_minutes: defaults::wait_minutes(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        validate_stack_name(&self.stack)?;
        if self.keep_data && (self.delete_data || self.skip_final_snapshot) {
            return Err(Error::invalid(
                "keepData cannot be combined with deleteData or skipFinalSnapshot: the first keeps the database, the others delete it",
            ));
        }
        if self.poll_seconds == 0 || self.poll_seconds > 300 {
            return Err(Error::invalid(format!(
                "pollSeconds {}: must be between 1 and 300",
                self.poll_seconds
            )));
        }
        if self.wait_minutes == 0 || self.wait_minutes > 24 * 60 {
            return Err(Error::invalid(format!(
                "waitMinutes {}: must be between 1 and 1440",
                self.wait_minutes
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Not run yet.
    Pending,
    /// Nothing more to do in this tier (what could not be deleted is in `failed`).
    Done,
    /// AWS is still working on something; the state machine waits and calls again.
    Waiting,
}

/// One resource, as a person would look it up: its kind and its id, name or ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Resource {
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub kind: String,
    pub id: String,
    pub reason: String,
}

/// Something that could not be deleted: AWS's reason, and what the operator can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: String,
    pub id: String,
    pub reason: String,
    pub hint: String,
}

/// What one tier step did. A waiting step is called again with its last report as
/// `previous`, so `deleted` accumulates over the loop; `kept` and `failed` are the latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierReport {
    pub tier: String,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// Unix seconds when this tier started waiting, to bound the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<u64>,
    #[serde(default)]
    pub deleted: Vec<Resource>,
    #[serde(default)]
    pub kept: Vec<Kept>,
    #[serde(default)]
    pub failed: Vec<Failure>,
    /// Facts a later call of the same step needs once the resource that told them is gone
    /// (a distribution's Origin Access Control, a final snapshot's name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub memo: BTreeMap<String, String>,
}

impl TierReport {
    pub fn pending(tier: &str) -> Self {
        Self {
            tier: tier.to_string(),
            status: StepStatus::Pending,
            waiting_for: None,
            waiting_since: None,
            deleted: Vec::new(),
            kept: Vec::new(),
            failed: Vec::new(),
            memo: BTreeMap::new(),
        }
    }
}

/// What teardown would do in one tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTier {
    pub tier: String,
    pub delete: Vec<Resource>,
    pub keep: Vec<Kept>,
    /// What teardown will refuse to delete (a protected database without `deleteData`).
    pub refuse: Vec<Failure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub stack: String,
    pub tiers: Vec<PlannedTier>,
    /// The inventory parameters under `/vikunja/<stack>/`.
    pub inventory: Vec<String>,
}

impl Plan {
    /// Nothing tagged for the stack and no inventory: an unknown (or already removed) stack.
    pub fn is_empty(&self) -> bool {
        self.inventory.is_empty()
            && self
                .tiers
                .iter()
                .all(|t| t.delete.is_empty() && t.keep.is_empty() && t.refuse.is_empty())
    }

    pub fn deletions(&self) -> usize {
        self.tiers.iter().map(|t| t.delete.len()).sum::<usize>() + self.inventory.len()
    }
}

/// The end of a teardown: every tier's report in teardown order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub stack: String,
    /// Nothing failed (kept resources were asked for).
    pub complete: bool,
    pub tiers: Vec<TierReport>,
}

impl Summary {
    pub fn new(stack: &str, tiers: Vec<TierReport>) -> Self {
        let complete = tiers
            .iter()
            .all(|t| t.failed.is_empty() && t.status == StepStatus::Done);
        Self {
            stack: stack.to_string(),
            complete,
            tiers,
        }
    }

    pub fn deleted(&self) -> impl Iterator<Item = (&str, &Resource)> {
        self.tiers
            .iter()
            .flat_map(|t| t.deleted.iter().map(move |r| (t.tier.as_str(), r)))
    }

    pub fn kept(&self) -> impl Iterator<Item = (&str, &Kept)> {
        self.tiers
            .iter()
            .flat_map(|t| t.kept.iter().map(move |k| (t.tier.as_str(), k)))
    }

    pub fn failed(&self) -> impl Iterator<Item = (&str, &Failure)> {
        self.tiers
            .iter()
            .flat_map(|t| t.failed.iter().map(move |f| (t.tier.as_str(), f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_and_conflicts_are_refused() {
        let options: TeardownOptions =
            serde_json::from_value(serde_json::json!({"stack": "vikunja"})).unwrap();
        assert_eq!(options, TeardownOptions::new("vikunja"));
        options.validate().unwrap();
        let mut both = options.clone();
        both.keep_data = true;
        both.delete_data = true;
        assert_eq!(both.validate().unwrap_err().name(), "InvalidInput");
        let mut bad = options;
        bad.stack = "Not A Name".into();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_summary_is_complete_only_without_failures() {
        let mut done = TierReport::pending("network");
        done.status = StepStatus::Done;
        done.kept.push(Kept {
            kind: "vpc".into(),
            id: "vpc-1".into(),
            reason: "--keep-data".into(),
        });
        assert!(Summary::new("v", vec![done.clone()]).complete);
        let mut failed = done.clone();
        failed.failed.push(Failure {
            kind: "subnet".into(),
            id: "subnet-1".into(),
            reason: "DependencyViolation".into(),
            hint: String::new(),
        });
        let summary = Summary::new("v", vec![done, failed]);
        assert!(!summary.complete);
        assert_eq!(summary.failed().count(), 1);
        assert_eq!(summary.kept().count(), 2);
    }

    #[test]
    fn an_empty_plan_means_an_unknown_stack() {
        let plan = Plan {
            stack: "v".into(),
            tiers: vec![PlannedTier {
                tier: "network".into(),
                delete: vec![],
                keep: vec![],
                refuse: vec![],
            }],
            inventory: vec![],
        };
        assert!(plan.is_empty());
        assert_eq!(plan.deletions(), 0);
    }
}

#[cfg(test)]
mod fuzz {
    //! Teardown's input: the options, and a tier's last report the workflow hands back.

    use super::*;
    use crate::fuzzing::{assert_invalid_input, Shape};
    use crate::lambda::decode;
    use serde_json::{json, Value};

    fn options() -> Value {
        json!({"stack": "vikunja", "keepData": false, "deleteData": true, "skipFinalSnapshot": false,
               "keepLogs": true, "dryRun": false, "pollSeconds": 15, "waitMinutes": 60})
    }

    /// A step's report as the state machine carries it between two calls.
    fn report() -> Value {
        json!({"tier": "data", "status": "waiting", "waitingFor": "db deleting", "waitingSince": 1_764_000_000u64,
               "deleted": [{"kind": "db-instance", "id": "vikunja-db"}],
               "kept": [{"kind": "bucket", "id": "site", "reason": "--keep-data"}],
               "failed": [{"kind": "subnet", "id": "subnet-1", "reason": "DependencyViolation", "hint": "wait"}],
               "memo": {"snapshot": "vikunja-final"}})
    }

    #[test]
    fn teardown_options_are_valid_or_invalid_input() {
        let shape = Shape::of(&[options(), json!({"stack": "v"})]).strings(&["Not A Name", "a--b"]);
        bolero::check!().for_each(|data: &[u8]| {
            let body = shape.body(data);
            match decode::<TeardownOptions>("teardown options", &body) {
                Ok(options) => match options.validate() {
                    Ok(()) => {
                        validate_stack_name(&options.stack).unwrap();
                        assert!(!(options.keep_data && options.delete_data));
                        assert!(!(options.keep_data && options.skip_final_snapshot));
                        assert!((1..=300).contains(&options.poll_seconds));
                        assert!((1..=1440).contains(&options.wait_minutes));
                    }
                    Err(error) => assert_invalid_input(&error, &options),
                },
                Err(error) => assert_invalid_input(&error, &String::from_utf8_lossy(&body)),
            }
        });
    }

    /// A report read back is either refused or usable: `Summary` of any reports works.
    #[test]
    fn tier_reports_read_back_or_are_refused() {
        let shape = Shape::of(&[report()]).strings(&["pending", "done", "waiting"]);
        bolero::check!().for_each(|data: &[u8]| {
            let Ok(report) = serde_json::from_value::<TierReport>(shape.value(data)) else {
                return;
            };
            let again: TierReport =
                serde_json::from_value(serde_json::to_value(&report).unwrap()).unwrap();
            assert_eq!(again, report);
            let summary = Summary::new("vikunja", vec![report.clone(), again]);
            assert_eq!(summary.deleted().count(), 2 * report.deleted.len());
            assert_eq!(
                summary.complete,
                report.failed.is_empty() && report.status == StepStatus::Done
            );
        });
    }
}
