use lambda_runtime::Error;
use release_frontend::{Clients, Request};
use vikunja_core::aws::{has_endpoint_override, sdk_config};
use vikunja_core::{lambda, telemetry};

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
        sfn: aws_sdk_sfn::Client::new(&config),
    };
    lambda::serve("a frontend release request", |request: Request, _| {
        release_frontend::handle(&clients, request)
    })
    .await
}
