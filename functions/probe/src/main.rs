use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use vikunja_core::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // No pooled connections: each request must open a new flow through the listener, which
    // by now may forward to another target group than a minute ago.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let http = http.clone();
        async move { probe::handle(&http, event.payload).await }
    }))
    .await
}
