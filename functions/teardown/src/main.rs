use lambda_runtime::Error;
use teardown::{Clients, TeardownEvent};
use vikunja_core::aws::{account_and_region, sdk_config};
use vikunja_core::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let clients = Clients::new(&sdk_config().await);
    lambda::serve("a teardown event", |event: TeardownEvent, context| {
        let (account, region) =
            account_and_region(&context.invoked_function_arn).unwrap_or_default();
        let deadline = teardown::deadline_from_millis(context.deadline);
        let clients = &clients;
        async move { teardown::handle(clients, &account, &region, deadline, event).await }
    })
    .await
}
