use lambda_runtime::Error;
use vikunja_core::{aws::sdk_config, lambda, telemetry, ProvisionState};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    lambda::serve("a provision state", |state: ProvisionState, _| {
        network::handle(&ec2, &ssm, &secrets, state)
    })
    .await
}
