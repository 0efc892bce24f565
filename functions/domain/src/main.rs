use domain::Clients;
use lambda_runtime::Error;
use vikunja_core::aws::{account_and_region, sdk_config};
use vikunja_core::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    // CloudFront takes its certificate from ACM in us-east-1, whatever the stack's region.
    let site_config = aws_sdk_acm::config::Builder::from(&config)
        .region(aws_config::Region::new(resources_domain::CLOUDFRONT_REGION))
        .build();
    let clients = Clients {
        site_acm: aws_sdk_acm::Client::from_conf(site_config),
        origin_acm: aws_sdk_acm::Client::new(&config),
        route53: aws_sdk_route53::Client::new(&config),
        ssm: aws_sdk_ssm::Client::new(&config),
    };
    lambda::serve("a domain event", |event: domain::DomainEvent, context| {
        let (_, region) = account_and_region(&context.invoked_function_arn).unwrap_or_default();
        let clients = &clients;
        async move { domain::handle(clients, &region, event).await }
    })
    .await
}
