use lambda_runtime::Error;
use vikunja_core::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // No pooled connections: each request must open a new flow through the listener, which
    // by now may forward to another target group than a minute ago.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    // Any JSON: `probe::parse` checks the request (shape and bounds) before any connection.
    lambda::serve("a probe request", |event: serde_json::Value, _| {
        let http = http.clone();
        async move { probe::handle(&http, event).await }
    })
    .await
}
