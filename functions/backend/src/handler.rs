use resources_backend::bluegreen::{DeployRoles, EcsBlueGreen};
use resources_backend::task::{Roles, TaskInputs};
use resources_backend::Spec;
use tracing::info;
use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT};
use vikunja_core::settings::Engine;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, BackendOutputs, Names, ProvisionState, Result};

pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub ssm: aws_sdk_ssm::Client,
}

pub async fn handle(
    clients: &Clients,
    roles: &Roles,
    region: &str,
    state: ProvisionState,
) -> Result<BackendOutputs> {
    let settings = &state.settings;
    settings.validate()?;
    let network = ProvisionState::require(&state.network, "network")?;
    let data = ProvisionState::require(&state.data, "data")?;
    let lb = ProvisionState::require(&state.loadbalancer, "load balancer")?;
    let frontend = ProvisionState::require(&state.frontend, "frontend")?;
    let names = Names::new(&settings.stack);

    let log_group = names.log_group();
    let task = TaskInputs::new(settings, data, frontend, roles, &log_group, region)?;
    let blue_green = match settings.engine {
        Engine::Codedeploy => None,
        Engine::Ecs => Some(EcsBlueGreen::for_stack(
            &names,
            settings,
            lb,
            DeployRoles::from_env()?,
        )),
    };
    let spec = Spec::from_outputs(names.clone(), settings, task, network, lb, blue_green);
    let library = resources_backend::Clients {
        ecr: &clients.ecr,
        ecs: &clients.ecs,
        logs: &clients.logs,
        autoscaling: &clients.autoscaling,
    };
    let applied = resources_backend::ensure(&library, &spec).await?;

    let outputs = BackendOutputs {
        repository_name: names.repository(),
        repository_uri: applied.repository_uri,
        log_group,
        cluster: names.cluster(),
        service_arn: applied.service_arn,
        service: names.service(),
        task_definition_arn: applied.task_definition_arn,
        container_name: CONTAINER_NAME.to_string(),
        container_port: CONTAINER_PORT,
        changes: applied.changes,
    };
    inventory::record(&clients.ssm, &settings.stack, Tier::Backend, &outputs).await?;
    info!(
        stack = settings.stack,
        service = outputs.service,
        "backend ready"
    );
    Ok(outputs)
}
