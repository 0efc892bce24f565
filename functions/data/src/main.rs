use data::handler::Clients;
use lambda_runtime::Error;
use vikunja_core::{aws::sdk_config, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = sdk_config().await;
    let clients = Clients {
        rds: aws_sdk_rds::Client::new(&config),
        secrets: aws_sdk_secretsmanager::Client::new(&config),
        efs: aws_sdk_efs::Client::new(&config),
        cache: aws_sdk_elasticache::Client::new(&config),
        ssm: aws_sdk_ssm::Client::new(&config),
    };
    lambda::serve("a data event", |event: data::DataEvent, _| {
        data::handle(&clients, event)
    })
    .await
}
