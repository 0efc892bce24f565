use delivery::Clients;
use lambda_runtime::Error;
use vikunja_core::{aws::sdk_config, lambda, telemetry, ProvisionState};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let role = std::env::var("CODEDEPLOY_ROLE_ARN").unwrap_or_default();
    let clients = Clients {
        codedeploy: aws_sdk_codedeploy::Client::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        ssm: aws_sdk_ssm::Client::new(&config),
        lambda: aws_sdk_lambda::Client::new(&config),
    };
    lambda::serve("a provision state", |state: ProvisionState, _| {
        delivery::handle(&clients, &role, state)
    })
    .await
}
