//! What every tier step knows: the operator's options, the stack's names, where it runs, and
//! how long this invocation may keep working.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vikunja_core::teardown::TeardownOptions;
use vikunja_core::{tags, Names};

/// Work that can be cut into pieces (emptying a bucket) stops this long before the Lambda
/// deadline, and never runs longer than `MAX_SLICE` in one call.
const DEADLINE_MARGIN: Duration = Duration::from_secs(20);
const MAX_SLICE: Duration = Duration::from_secs(60);

pub struct Ctx {
    pub options: TeardownOptions,
    pub names: Names,
    pub account: String,
    pub region: String,
    /// When sliceable work must stop and report `waiting`.
    pub stop_by: Instant,
}

impl Ctx {
    pub fn new(options: TeardownOptions, account: &str, region: &str, deadline: Instant) -> Self {
        let by_deadline = deadline
            .checked_sub(DEADLINE_MARGIN)
            .unwrap_or_else(Instant::now);
        Self {
            names: Names::new(&options.stack),
            options,
            account: account.to_string(),
            region: region.to_string(),
            stop_by: by_deadline.min(Instant::now() + MAX_SLICE),
        }
    }

    pub fn stack(&self) -> &str {
        &self.options.stack
    }

    pub fn out_of_time(&self) -> bool {
        Instant::now() >= self.stop_by
    }

    /// An ARN in this stack's account and region.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            partition(&self.region),
            self.region,
            self.account
        )
    }

    /// Whether a tag list says the resource belongs to this stack: the one test every
    /// resource passes before teardown touches it.
    pub fn owns<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        tags::belongs_to(tags, self.stack())
    }
}

/// The partition a region belongs to, for ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The Lambda deadline (milliseconds since the epoch) as an `Instant`.
pub fn deadline_from_millis(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

pub use vikunja_core::time::now_seconds;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_carry_the_partition() {
        let ctx = Ctx::new(
            TeardownOptions::new("v"),
            "123456789012",
            "cn-north-1",
            Instant::now() + Duration::from_secs(300),
        );
        assert_eq!(
            ctx.arn("codedeploy", "application:v"),
            "arn:aws-cn:codedeploy:cn-north-1:123456789012:application:v"
        );
        assert_eq!(partition("eu-west-1"), "aws");
    }

    #[test]
    fn slices_end_before_the_deadline() {
        let soon = Instant::now() + Duration::from_secs(10);
        let ctx = Ctx::new(TeardownOptions::new("v"), "1", "r", soon);
        assert!(ctx.out_of_time(), "less than the margin left: stop at once");
        let later = Instant::now() + Duration::from_secs(900);
        let ctx = Ctx::new(TeardownOptions::new("v"), "1", "r", later);
        assert!(ctx.stop_by <= Instant::now() + MAX_SLICE);
    }

    #[test]
    fn ownership_needs_this_stack_exactly() {
        let ctx = Ctx::new(TeardownOptions::new("vikunja"), "1", "r", Instant::now());
        assert!(ctx.owns([("vikunja:stack", "vikunja")]));
        assert!(!ctx.owns([("vikunja:stack", "vikunja-staging")]));
        assert!(!ctx.owns([("Name", "vikunja-network-vpc")]));
    }
}
