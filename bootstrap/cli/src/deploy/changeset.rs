//! Pure logic of a deploy through change sets: what to do with the stack given its status,
//! how a change set is named and shown, and what its answers mean.

use std::time::SystemTime;

/// Change sets this tool creates are named `vikunja-aws-<UTC time>`; others are left alone.
pub const CHANGE_SET_PREFIX: &str = "vikunja-aws-";

/// What bootstrap does with the stack, decided from its status alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackPlan {
    /// No stack yet, or one in REVIEW_IN_PROGRESS (a CREATE change set never executed):
    /// a CREATE change set.
    Create,
    /// A first create that failed (ROLLBACK_COMPLETE, ROLLBACK_FAILED, CREATE_FAILED): such a
    /// stack can only be deleted; delete it, then a CREATE change set.
    DeleteThenCreate,
    /// An UPDATE change set (also after UPDATE_ROLLBACK_COMPLETE: the stack is as before).
    Update,
    /// UPDATE_ROLLBACK_FAILED: the rollback must be continued before anything else.
    ContinueRollback,
    /// Nothing can be done now; the message says why and what to do.
    Refuse(String),
}

pub fn plan(stack_name: &str, status: Option<&str>) -> StackPlan {
    let Some(status) = status else {
        return StackPlan::Create;
    };
    match status {
        "REVIEW_IN_PROGRESS" | "DELETE_COMPLETE" => StackPlan::Create,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" => StackPlan::DeleteThenCreate,
        "UPDATE_ROLLBACK_FAILED" => StackPlan::ContinueRollback,
        "DELETE_FAILED" => StackPlan::Refuse(format!(
            "{stack_name} is DELETE_FAILED: a delete of it (by `vikunja-aws down` or by hand) did not finish. \
             Finish it first — `vikunja-aws down` again, or `aws cloudformation delete-stack --stack-name {stack_name}` \
             (the stack's events name what could not be deleted) — then run bootstrap again"
        )),
        "IMPORT_ROLLBACK_FAILED" => StackPlan::Refuse(format!(
            "{stack_name} is IMPORT_ROLLBACK_FAILED (a resource import by hand failed): fix it in the CloudFormation \
             console, then run bootstrap again"
        )),
        s if s.ends_with("_IN_PROGRESS") => StackPlan::Refuse(format!(
            "{stack_name} is {s}: another operation on it is running. Wait until it ends \
             (`aws cloudformation describe-stacks --stack-name {stack_name}`), then run bootstrap again"
        )),
        _ => StackPlan::Update,
    }
}

/// A change set's name for a run started at `now`: `vikunja-aws-20261128-001023-123`.
pub fn change_set_name(now: SystemTime) -> String {
    let since_epoch = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let (days, seconds) = (
        since_epoch.as_secs() / 86_400,
        since_epoch.as_secs() % 86_400,
    );
    let (year, month, day) = vikunja_core::time::civil_from_days(days as i64);
    format!(
        "{CHANGE_SET_PREFIX}{year:04}{month:02}{day:02}-{:02}{:02}{:02}-{:03}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        since_epoch.subsec_millis()
    )
}

/// Whether a FAILED change set failed only because nothing changed (AWS says it two ways).
pub fn is_no_changes(status_reason: &str) -> bool {
    status_reason.contains("didn't contain changes")
        || status_reason.contains("No updates are to be performed")
}

/// One resource change of a change set, as DescribeChangeSet gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// Add, Modify, Remove (also Import, Dynamic).
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// For a Modify: True, False or Conditional (whether CloudFormation replaces the resource).
    pub replacement: Option<String>,
}

impl ChangeRow {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "Action": self.action,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "Replacement": self.replacement,
        })
    }
}

/// The change set as a table, one line per resource, widths from the rows.
pub fn format_changes(rows: &[ChangeRow]) -> Vec<String> {
    let id_width = rows.iter().map(|r| r.logical_id.len()).max().unwrap_or(0);
    let type_width = rows
        .iter()
        .map(|r| r.resource_type.len())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|r| {
            let replacement = match (r.action.as_str(), r.replacement.as_deref()) {
                ("Modify", Some("True")) => "  replaced".to_string(),
                ("Modify", Some("Conditional")) => "  may be replaced".to_string(),
                ("Modify", Some("False")) => "  in place".to_string(),
                ("Modify", Some(other)) => format!("  replacement: {other}"),
                ("Modify", None) => "  replacement: not said".to_string(),
                _ => String::new(),
            };
            format!(
                "{:<6}  {:<id_width$}  {:<type_width$}{replacement}",
                r.action, r.logical_id, r.resource_type
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

/// "1 to add, 2 to modify (1 replaced), 0 to remove".
pub fn summarize(rows: &[ChangeRow]) -> String {
    let count = |action: &str| rows.iter().filter(|r| r.action == action).count();
    let replaced = rows
        .iter()
        .filter(|r| r.action == "Modify" && r.replacement.as_deref() == Some("True"))
        .count();
    let maybe = rows
        .iter()
        .filter(|r| r.action == "Modify" && r.replacement.as_deref() == Some("Conditional"))
        .count();
    let mut modify = format!("{} to modify", count("Modify"));
    let notes: Vec<String> = [(replaced, "replaced"), (maybe, "may be replaced")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if !notes.is_empty() {
        modify = format!("{modify} ({})", notes.join(", "));
    }
    let mut parts = vec![
        format!("{} to add", count("Add")),
        modify,
        format!("{} to remove", count("Remove")),
    ];
    let other = rows.len() - count("Add") - count("Modify") - count("Remove");
    if other > 0 {
        parts.push(format!("{other} other"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(action: &str, id: &str, replacement: Option<&str>) -> ChangeRow {
        ChangeRow {
            action: action.into(),
            logical_id: id.into(),
            resource_type: "AWS::Lambda::Function".into(),
            replacement: replacement.map(Into::into),
        }
    }

    #[test]
    fn the_stack_status_decides_create_update_or_refusal() {
        let name = "vikunja-bootstrap";
        assert_eq!(plan(name, None), StackPlan::Create);
        assert_eq!(plan(name, Some("REVIEW_IN_PROGRESS")), StackPlan::Create);
        for status in ["ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"] {
            assert_eq!(
                plan(name, Some(status)),
                StackPlan::DeleteThenCreate,
                "{status}"
            );
        }
        for status in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "IMPORT_COMPLETE",
            "UPDATE_FAILED",
        ] {
            assert_eq!(plan(name, Some(status)), StackPlan::Update, "{status}");
        }
        assert_eq!(
            plan(name, Some("UPDATE_ROLLBACK_FAILED")),
            StackPlan::ContinueRollback
        );
        for status in [
            "CREATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
        ] {
            let StackPlan::Refuse(message) = plan(name, Some(status)) else {
                panic!("{status} must be refused");
            };
            assert!(message.contains(status), "{message}");
            assert!(message.contains("Wait until it ends"), "{message}");
        }
        let StackPlan::Refuse(message) = plan(name, Some("DELETE_FAILED")) else {
            panic!("DELETE_FAILED must be refused");
        };
        assert!(message.contains("vikunja-aws down"), "{message}");
    }

    #[test]
    fn change_set_names_are_valid_and_sort_by_time() {
        let at = |secs: u64, millis: u64| {
            change_set_name(
                SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis),
            )
        };
        // 2026-11-28T00:10:23.045Z
        assert_eq!(at(1_795_824_623, 45), "vikunja-aws-20261128-001023-045");
        assert_eq!(at(951_782_400, 0), "vikunja-aws-20000229-000000-000");
        assert_eq!(at(0, 999), "vikunja-aws-19700101-000000-999");
        assert!(at(1_795_824_623, 45) < at(1_795_824_623, 46));
        let name = at(1_795_824_623, 45);
        assert!(name.len() <= 128);
        assert!(name.chars().next().unwrap().is_ascii_alphabetic());
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn no_changes_is_told_apart_from_a_real_failure() {
        assert!(is_no_changes("The submitted information didn't contain changes. Submit different information to create a change set."));
        assert!(is_no_changes("No updates are to be performed."));
        assert!(!is_no_changes(
            "Template format error: Unresolved resource dependencies [X] in the Resources block of the template"
        ));
    }

    #[test]
    fn changes_show_action_resource_and_replacement() {
        let rows = vec![
            row("Add", "ProbeFunction", None),
            row("Modify", "NetworkFunction", Some("False")),
            row("Modify", "Renamed", Some("True")),
            row("Modify", "Maybe", Some("Conditional")),
            row("Remove", "OldFunction", None),
        ];
        let lines = format_changes(&rows);
        assert_eq!(lines[0], "Add     ProbeFunction    AWS::Lambda::Function");
        assert_eq!(
            lines[1],
            "Modify  NetworkFunction  AWS::Lambda::Function  in place"
        );
        assert!(lines[2].ends_with("replaced") && !lines[2].ends_with("may be replaced"));
        assert!(lines[3].ends_with("may be replaced"));
        assert_eq!(lines[4], "Remove  OldFunction      AWS::Lambda::Function");
        assert_eq!(
            summarize(&rows),
            "1 to add, 3 to modify (1 replaced, 1 may be replaced), 1 to remove"
        );
        assert_eq!(
            summarize(&[row("Modify", "A", Some("False"))]),
            "0 to add, 1 to modify, 0 to remove"
        );
        assert_eq!(
            format_changes(&[row("Modify", "A", None)])[0],
            "Modify  A  AWS::Lambda::Function  replacement: not said"
        );
    }
}
