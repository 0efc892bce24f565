//! One call of a tier step: what it deleted, kept, could not delete, and is waiting for.

use vikunja_core::teardown::{Failure, Kept, Resource, StepStatus, TierReport};
use vikunja_core::{Error, ErrorClass};

/// Elastic Load Balancing's answer for a load balancer with deletion protection on: the one
/// refusal whose remedy differs from the others of its class.
const DELETION_PROTECTED: &str = "OperationNotPermitted";

/// Deleting what is not there is success.
pub fn is_gone(error: &Error) -> bool {
    error.is(ErrorClass::NotFound)
}

/// What a delete call answers: whether it deleted something now (an answer of `()` did).
pub trait Done {
    fn deleted(&self) -> bool;
}

impl Done for () {
    fn deleted(&self) -> bool {
        true
    }
}

impl Done for resources::found::Outcome {
    fn deleted(&self) -> bool {
        *self == resources::found::Outcome::Deleted
    }
}

/// AWS's own reason: its error code and message.
pub fn reason_of(error: &Error) -> String {
    match error {
        Error::Aws {
            code: Some(code),
            message,
            ..
        } if !message.contains(code.as_str()) => format!("{code}: {message}"),
        Error::Aws { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// What an operator can do about a refusal, by AWS error code.
pub fn hint_for(error: &Error) -> String {
    let again = "then run `vikunja-aws down` again: it continues where this run stopped";
    match error.class() {
        Some(ErrorClass::InUse) => format!(
            "something this stack did not create still depends on it (see the reason); remove or detach that, {again}"
        ),
        Some(ErrorClass::AccessDenied) => format!(
            "AWS denied the call: a policy (a bucket or resource policy, an SCP, a permissions boundary) forbids it; lift that restriction, {again}"
        ),
        _ if error.code() == Some(DELETION_PROTECTED) => format!(
            "the resource is protected against deletion (for example a load balancer's deletion protection); turn that off if you mean it, {again}"
        ),
        Some(ErrorClass::Transient) => format!(
            "AWS answered with a server-side error or throttling after retries; {again}"
        ),
        _ => format!("fix the cause, {again}"),
    }
}

pub struct Step {
    report: TierReport,
    waits: Vec<String>,
}

impl Step {
    /// A new call of `tier`'s step. What earlier calls of the same loop deleted and noted is
    /// carried over; kept and failed are recomputed, as they describe the present.
    pub fn new(tier: &str, previous: Option<&TierReport>) -> Self {
        let mut report = TierReport::pending(tier);
        if let Some(previous) = previous.filter(|p| p.tier == tier) {
            report.deleted = previous.deleted.clone();
            report.memo = previous.memo.clone();
            report.waiting_since = previous.waiting_since;
        }
        Self {
            report,
            waits: Vec::new(),
        }
    }

    pub fn deleted(&mut self, kind: &str, id: impl Into<String>) {
        let resource = Resource {
            kind: kind.to_string(),
            id: id.into(),
        };
        if !self.report.deleted.contains(&resource) {
            tracing::info!(kind = resource.kind, id = resource.id, "deleted");
            self.report.deleted.push(resource);
        }
    }

    pub fn kept(&mut self, kind: &str, id: impl Into<String>, reason: impl Into<String>) {
        self.report.kept.push(Kept {
            kind: kind.to_string(),
            id: id.into(),
            reason: reason.into(),
        });
    }

    pub fn failed(
        &mut self,
        kind: &str,
        id: impl Into<String>,
        reason: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let failure = Failure {
            kind: kind.to_string(),
            id: id.into(),
            reason: reason.into(),
            hint: hint.into(),
        };
        tracing::warn!(
            kind = failure.kind,
            id = failure.id,
            reason = failure.reason,
            "could not delete"
        );
        self.report.failed.push(failure);
    }

    /// AWS refused to delete something: its reason, and a hint by error code.
    pub fn refused(&mut self, kind: &str, id: impl Into<String>, error: &Error) {
        self.failed(kind, id, reason_of(error), hint_for(error));
    }

    /// The outcome of one delete call: done, already gone, or refused.
    pub fn record<T: Done>(
        &mut self,
        kind: &str,
        id: &str,
        result: vikunja_core::Result<T>,
    ) -> bool {
        match result {
            Ok(done) => {
                if done.deleted() {
                    self.deleted(kind, id);
                }
                true
            }
            Err(error) if is_gone(&error) => true,
            // Throttled or a server error past the SDK's retries: not a refusal, the
            // workflow asks again after its wait (within the step's wait budget).
            Err(error) if error.class() == Some(ErrorClass::Transient) => {
                self.wait(format!("{kind} {id} (AWS answered {})", reason_of(&error)));
                false
            }
            Err(error) => {
                self.refused(kind, id, &error);
                false
            }
        }
    }

    /// AWS is still working on something: the state machine comes back after a `Wait`.
    pub fn wait(&mut self, what: impl Into<String>) {
        self.waits.push(what.into());
    }

    pub fn is_waiting(&self) -> bool {
        !self.waits.is_empty()
    }

    pub fn memo(&self, key: &str) -> Option<&str> {
        self.report.memo.get(key).map(String::as_str)
    }

    pub fn remember(&mut self, key: &str, value: impl Into<String>) {
        self.report.memo.insert(key.to_string(), value.into());
    }

    /// The report: `waiting` while something is pending and the wait is within budget;
    /// past the budget the pending things become failures, so no teardown waits forever.
    pub fn finish(mut self, wait_minutes: u32, now: u64) -> TierReport {
        if self.waits.is_empty() {
            self.report.status = StepStatus::Done;
            self.report.waiting_for = None;
            self.report.waiting_since = None;
            return self.report;
        }
        let since = self.report.waiting_since.unwrap_or(now);
        let waited = now.saturating_sub(since);
        if waited > u64::from(wait_minutes) * 60 {
            for what in std::mem::take(&mut self.waits) {
                self.failed(
                    "wait",
                    what,
                    format!("AWS had not finished after {} minutes", waited / 60),
                    "run `vikunja-aws down` again later: it picks up where this run stopped",
                );
            }
            self.report.status = StepStatus::Done;
            self.report.waiting_for = None;
            self.report.waiting_since = None;
        } else {
            self.report.status = StepStatus::Waiting;
            self.report.waiting_for = Some(self.waits.join("; "));
            self.report.waiting_since = Some(since);
        }
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: &str, message: &str) -> Error {
        Error::Aws {
            context: "delete x".into(),
            code: Some(code.into()),
            message: message.into(),
            class: vikunja_core::codes::class_of(Some(code), Some(message))
                .unwrap_or(ErrorClass::Other),
        }
    }

    #[test]
    fn not_found_is_success() {
        let mut step = Step::new("network", None);
        assert!(step.record(
            "vpc",
            "vpc-1",
            Err::<(), _>(aws("InvalidVpcID.NotFound", "gone"))
        ));
        assert!(step.record("vpc", "vpc-2", Ok(())));
        assert!(!step.record(
            "vpc",
            "vpc-3",
            Err::<(), _>(aws("DependencyViolation", "has dependencies"))
        ));
        let report = step.finish(60, 100);
        assert_eq!(report.status, StepStatus::Done);
        assert_eq!(
            report.deleted.len(),
            1,
            "an already-gone resource is not claimed"
        );
        assert_eq!(
            report.failed[0].reason,
            "DependencyViolation: has dependencies"
        );
        assert!(report.failed[0].hint.contains("did not create"));
    }

    #[test]
    fn deletions_accumulate_over_a_waiting_loop() {
        let mut first = Step::new("frontend", None);
        first.deleted("bucket", "b");
        first.wait("distribution E1 to finish disabling");
        first.remember("oac", "E2OAC");
        let first = first.finish(60, 1_000);
        assert_eq!(first.status, StepStatus::Waiting);
        assert_eq!(first.waiting_since, Some(1_000));

        let mut second = Step::new("frontend", Some(&first));
        assert_eq!(second.memo("oac"), Some("E2OAC"));
        second.deleted("distribution", "E1");
        let second = second.finish(60, 1_030);
        assert_eq!(second.status, StepStatus::Done);
        assert_eq!(
            second
                .deleted
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            vec!["b", "E1"]
        );
    }

    #[test]
    fn a_wait_past_its_budget_becomes_a_failure() {
        let mut first = Step::new("data", None);
        first.wait("database v-data-mysql to finish deleting");
        let first = first.finish(1, 1_000);
        let mut again = Step::new("data", Some(&first));
        again.wait("database v-data-mysql to finish deleting");
        let report = again.finish(1, 1_000 + 61);
        assert_eq!(report.status, StepStatus::Done);
        assert_eq!(report.failed.len(), 1);
        assert!(report.failed[0].reason.contains("after 1 minutes"));
    }

    #[test]
    fn transient_errors_say_so() {
        let error = Error::Aws {
            context: "delete application v".into(),
            code: None,
            message: "HTTP 500 with no error code".into(),
            class: vikunja_core::ErrorClass::Transient,
        };
        assert!(hint_for(&error).contains("server-side error"));
        assert_eq!(reason_of(&error), "HTTP 500 with no error code");
    }

    #[test]
    fn a_transient_error_is_a_wait_and_only_past_the_budget_a_failure() {
        let transient = || Error::Aws {
            context: "delete security group sg-1".into(),
            code: Some("InternalError".into()),
            message: "An internal error has occurred.".into(),
            class: vikunja_core::ErrorClass::Transient,
        };
        let mut step = Step::new("network", None);
        assert!(!step.record("security group", "sg-1", Err::<(), _>(transient())));
        let report = step.finish(60, 100);
        assert_eq!(report.status, StepStatus::Waiting, "{report:?}");
        assert!(report.failed.is_empty(), "{report:?}");

        let mut step = Step::new("network", Some(&report));
        assert!(!step.record("security group", "sg-1", Err::<(), _>(transient())));
        let report = step.finish(60, 100 + 61 * 60);
        assert_eq!(report.failed.len(), 1, "{report:?}");
    }
}
