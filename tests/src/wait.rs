//! Polling what the local stack does in the background, with a deadline.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// Asks `check` every `every` until it gives a value and returns it; fails with `what` once
/// `within` has passed without one.
pub async fn until<T>(
    within: Duration,
    every: Duration,
    what: impl Display,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let clock = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(clock.elapsed() < within, "{what}");
        tokio::time::sleep(every).await;
    }
}
