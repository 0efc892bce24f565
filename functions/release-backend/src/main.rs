use lambda_runtime::Error;
use release_backend::{Clients, Config, Request};
use vikunja_core::{aws::sdk_config, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let aws = sdk_config().await;
    let clients = Clients {
        ecr: aws_sdk_ecr::Client::new(&aws),
        ecs: aws_sdk_ecs::Client::new(&aws),
        codedeploy: aws_sdk_codedeploy::Client::new(&aws),
        rds: aws_sdk_rds::Client::new(&aws),
        ssm: aws_sdk_ssm::Client::new(&aws),
    };
    lambda::serve("a backend release request", |request: Request, _| {
        release_backend::handle(&clients, &config, request)
    })
    .await
}
