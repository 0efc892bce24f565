use hook::{Budget, Clients};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use vikunja_core::{aws::sdk_config, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let clients = Clients {
        codedeploy: aws_sdk_codedeploy::Client::new(&config),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
        ecs: aws_sdk_ecs::Client::new(&config),
        // No pooled connections: an NLB keeps an open flow on its old target after the listener
        // moves, so a reused connection would test the previous release, not green.
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()?,
    };
    let budget = Budget::from_env();
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        hook::handle(&clients, budget, event.payload)
    }))
    .await
}
