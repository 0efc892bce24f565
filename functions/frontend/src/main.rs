use frontend::Clients;
use lambda_runtime::Error;
use vikunja_core::aws::{account_and_region, has_endpoint_override, sdk_config};
use vikunja_core::{lambda, telemetry, ProvisionState};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(has_endpoint_override(&config))
        .build();
    let clients = Clients {
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        cloudfront: aws_sdk_cloudfront::Client::new(&config),
        ssm: aws_sdk_ssm::Client::new(&config),
    };
    lambda::serve("a provision state", |state: ProvisionState, context| {
        let (account, region) =
            account_and_region(&context.invoked_function_arn).unwrap_or_default();
        let clients = &clients;
        async move { frontend::handle(clients, &account, &region, state).await }
    })
    .await
}
