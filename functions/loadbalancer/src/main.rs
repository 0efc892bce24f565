use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use vikunja_core::{aws::sdk_config, telemetry, ProvisionState};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    run(service_fn(|event: LambdaEvent<ProvisionState>| {
        loadbalancer::handle(&elb, &ssm, event.payload)
    }))
    .await
}
