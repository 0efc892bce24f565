use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use teardown::{Clients, TeardownEvent};
use vikunja_core::aws::{account_and_region, sdk_config};
use vikunja_core::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let clients = Clients::new(&sdk_config().await);
    run(service_fn(|event: LambdaEvent<TeardownEvent>| {
        let (account, region) =
            account_and_region(&event.context.invoked_function_arn).unwrap_or_default();
        let deadline = teardown::deadline_from_millis(event.context.deadline);
        let clients = &clients;
        async move { teardown::handle(clients, &account, &region, deadline, event.payload).await }
    }))
    .await
}
