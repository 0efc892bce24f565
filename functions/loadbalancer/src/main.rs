use lambda_runtime::Error;
use vikunja_core::{aws::sdk_config, lambda, telemetry, ProvisionState};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    lambda::serve("a provision state", |state: ProvisionState, _| {
        loadbalancer::handle(&elb, &ssm, state)
    })
    .await
}
