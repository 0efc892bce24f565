use backend::{Clients, Roles};
use lambda_runtime::Error;
use vikunja_core::aws::{account_and_region, sdk_config};
use vikunja_core::{lambda, telemetry, ProvisionState};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let roles = Roles::from_env()?;
    let clients = Clients {
        ecr: aws_sdk_ecr::Client::new(&config),
        ecs: aws_sdk_ecs::Client::new(&config),
        logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        autoscaling: aws_sdk_applicationautoscaling::Client::new(&config),
        ssm: aws_sdk_ssm::Client::new(&config),
    };
    lambda::serve("a provision state", |state: ProvisionState, context| {
        let (_, region) = account_and_region(&context.invoked_function_arn).unwrap_or_default();
        let (clients, roles) = (&clients, &roles);
        async move { backend::handle(clients, roles, &region, state).await }
    })
    .await
}
