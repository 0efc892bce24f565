use backend::{Clients, Roles};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use vikunja_core::aws::{account_and_region, sdk_config};
use vikunja_core::{telemetry, ProvisionState};

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
    run(service_fn(|event: LambdaEvent<ProvisionState>| {
        let (_, region) =
            account_and_region(&event.context.invoked_function_arn).unwrap_or_default();
        let (clients, roles) = (&clients, &roles);
        async move { backend::handle(clients, roles, &region, event.payload).await }
    }))
    .await
}
