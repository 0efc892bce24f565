//! The CLI's wait display replayed over a real execution's history, at the times the
//! history records: what `vikunja-aws up` printed (plain lines) had it followed the run.

use std::time::Duration;

use vikunja_aws::follow;
use vikunja_aws::progress::{self, Lines, PLAIN_EVERY};

use crate::Harness;

/// The plain progress lines of the oldest execution of the stack's state machine
/// (`output_key`: the bootstrap stack's output naming it), one per poll as `follow` polls.
pub async fn replayed(h: &Harness, stack: &str, output_key: &str) -> Vec<String> {
    let machine = follow::state_machine_arn(&h.aws, stack, output_key)
        .await
        .expect("state machine");
    let listed = h
        .aws
        .sfn()
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("list executions");
    let first = listed
        .executions()
        .iter()
        .min_by(|a, b| {
            a.start_date()
                .as_secs_f64()
                .total_cmp(&b.start_date().as_secs_f64())
        })
        .expect("an execution");
    let mut history = follow::History::default();
    let events = history
        .read_new(&h.aws, first.execution_arn())
        .await
        .expect("history");
    let start = events[0].timestamp().as_secs_f64();
    let at = |n: usize| Duration::from_secs_f64(events[n - 1].timestamp().as_secs_f64() - start);
    let mut lines = Lines::new(PLAIN_EVERY);
    let mut shown = Vec::new();
    for n in 1..=events.len() {
        shown.extend(lines.update(at(n), &progress::waits(&events[..n])));
    }
    shown.extend(lines.update(at(events.len()), &[]));
    shown
}
