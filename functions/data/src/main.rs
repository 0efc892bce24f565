use data::handler::Clients;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use vikunja_core::{aws::sdk_config, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let clients = Clients {
        rds: aws_sdk_rds::Client::new(&config),
        secrets: aws_sdk_secretsmanager::Client::new(&config),
        ssm: aws_sdk_ssm::Client::new(&config),
    };
    run(service_fn(|event: LambdaEvent<data::DataEvent>| {
        data::handle(&clients, event.payload)
    }))
    .await
}
