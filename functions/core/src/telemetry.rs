//! Logs are JSON lines with fields (CloudWatch-friendly). `RUST_LOG` tunes the level.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    // `try_init` so a second call (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .finish()
        .with(filter(std::env::var("RUST_LOG").ok().as_deref()))
        .try_init();
}

/// `RUST_LOG`'s levels per target (`info`, `warn,aws_smithy_runtime=debug`), `info` when it
/// is unset, empty or unreadable. A `Targets` filter rather than an `EnvFilter`: the span and
/// field filters only `EnvFilter` reads would bring its regex engine into every function.
fn filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| directives.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::filter;
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_per_target_and_info_is_the_default() {
        for unset in [None, Some(""), Some(" "), Some("aws=[nonsense")] {
            let f = filter(unset);
            assert!(f.would_enable("anything", &Level::INFO), "{unset:?}");
            assert!(!f.would_enable("anything", &Level::DEBUG), "{unset:?}");
        }
        let f = filter(Some("warn,aws_smithy_runtime=debug"));
        assert!(f.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!f.would_enable("network", &Level::INFO));
        assert!(f.would_enable("network", &Level::WARN));
    }
}
