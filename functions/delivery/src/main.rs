use delivery::Clients;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use vikunja_core::{aws::sdk_config, telemetry, ProvisionState};

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
    run(service_fn(|event: LambdaEvent<ProvisionState>| {
        delivery::handle(&clients, &role, event.payload)
    }))
    .await
}
