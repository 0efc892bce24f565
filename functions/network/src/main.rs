use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use vikunja_core::{aws::sdk_config, telemetry, ProvisionState};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    run(service_fn(|event: LambdaEvent<ProvisionState>| {
        network::handle(&ec2, &ssm, event.payload)
    }))
    .await
}
