use tracing::{info, warn};
use vikunja_core::names::{CONTAINER_NAME, CONTAINER_PORT};
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, BackendOutputs, Error, Names, ProvisionState, Result};

use crate::task::TaskInputs;
use crate::{autoscaling, registry, service, task};

pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub ssm: aws_sdk_ssm::Client,
}

/// IAM roles made by the bootstrap stack, handed to the function in its environment.
#[derive(Debug, Clone)]
pub struct Roles {
    pub task_execution: String,
    pub task: String,
}

impl Roles {
    pub fn from_env() -> Result<Self> {
        let read = |name: &str| {
            std::env::var(name).map_err(|_| {
                Error::invalid(format!(
                    "environment variable {name} is not set (bootstrap stack)"
                ))
            })
        };
        Ok(Self {
            task_execution: read("TASK_EXECUTION_ROLE_ARN")?,
            task: read("TASK_ROLE_ARN")?,
        })
    }
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

    let repository = registry::ensure_repository(&clients.ecr, &names).await?;
    let log_group = names.log_group();
    registry::ensure_log_group(&clients.logs, &names, &log_group).await?;
    let cluster = service::ensure_cluster(&clients.ecs, &names).await?;

    let inputs = TaskInputs::new(settings, data, frontend, roles, &log_group, region)?;
    let existing_service = resources_backend::find_service(&clients.ecs, &names).await?;
    let (service, task_definition_arn) = match existing_service {
        Some(found) if !resources_backend::is_ours(&found, &settings.stack) => {
            return Err(Error::conflict(format!(
                "service {} exists in cluster {cluster} but is not tagged {}={}: not this stack's; delete or rename it",
                names.service(),
                vikunja_core::tags::STACK,
                settings.stack
            )))
        }
        Some(found) if !resources_backend::is_active(&found) => {
            return Err(Error::NotReady(format!(
                "service {} is {} (being deleted): run up again once it is gone",
                names.service(),
                found.status().unwrap_or("?")
            )))
        }
        Some(live) => {
            let live_task = live.task_definition().unwrap_or_default().to_string();
            let drift =
                task::differences(&task::describe(&clients.ecs, &live_task).await?, &inputs);
            if !drift.is_empty() {
                warn!(?drift, "settings differ from the live task definition; up leaves it (CodeDeploy owns it) and releases copy it: deploy a new revision through CodeDeploy to apply them");
            }
            (live, live_task)
        }
        None => {
            let task_definition_arn =
                task::ensure_task_definition(&clients.ecs, &names, &inputs).await?;
            let created = service::create_service(
                &clients.ecs,
                &names,
                &cluster,
                &task_definition_arn,
                network,
                lb,
                settings.min_tasks,
            )
            .await?;
            (created, task_definition_arn)
        }
    };
    service::check_code_deploy(&service)?;
    let service_name = service.service_name().unwrap_or_default().to_string();
    autoscaling::ensure_scaling(
        &clients.autoscaling,
        &names,
        &cluster,
        &service_name,
        settings,
    )
    .await?;

    let outputs = BackendOutputs {
        repository_name: repository.name,
        repository_uri: repository.uri,
        log_group,
        cluster,
        service_arn: service.service_arn().unwrap_or_default().to_string(),
        service: service_name,
        task_definition_arn,
        container_name: CONTAINER_NAME.to_string(),
        container_port: CONTAINER_PORT,
    };
    inventory::record(&clients.ssm, &settings.stack, Tier::Backend, &outputs).await?;
    info!(
        stack = settings.stack,
        service = outputs.service,
        "backend ready"
    );
    Ok(outputs)
}
