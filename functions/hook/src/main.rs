use hook::{Budget, Clients};
use lambda_runtime::Error;
use vikunja_core::{aws::sdk_config, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let clients = Clients {
        codedeploy: aws_sdk_codedeploy::Client::new(&config),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
        ecs: aws_sdk_ecs::Client::new(&config),
        ec2: aws_sdk_ec2::Client::new(&config),
        probe: hook::smoke::Probe {
            lambda: aws_sdk_lambda::Client::new(&config),
            function: std::env::var("PROBE_FUNCTION")
                .map_err(|_| "PROBE_FUNCTION is not set: the bootstrap template sets it")?,
        },
    };
    let budget = Budget::from_env();
    // Any JSON: the handler reads the lifecycle event itself and reports whatever it can.
    lambda::serve(
        "a CodeDeploy lifecycle event or an ECS lifecycle hook payload",
        |event: serde_json::Value, _| hook::handle(&clients, budget, event),
    )
    .await
}
