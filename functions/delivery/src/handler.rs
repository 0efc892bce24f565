//! The delivery step of the provision workflow: the tier as `vikunja-aws plan` plans it
//! (`resources_delivery`), applied, then recorded in the inventory.

use resources_delivery::{Inputs, DEPLOYMENT_CONFIG};
use vikunja_core::settings::Engine;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, DeliveryOutputs, Error, Names, ProvisionState, Result};

pub struct Clients {
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub lambda: aws_sdk_lambda::Client,
}

pub async fn handle(
    clients: &Clients,
    codedeploy_role: &str,
    state: ProvisionState,
) -> Result<DeliveryOutputs> {
    let settings = &state.settings;
    settings.validate()?;
    let inputs = Inputs {
        settings,
        role: codedeploy_role,
        lb: ProvisionState::require(&state.loadbalancer, "load balancer")?,
        backend: ProvisionState::require(&state.backend, "backend")?,
        network: ProvisionState::require(&state.network, "network")?,
    };
    if codedeploy_role.is_empty() {
        return Err(Error::invalid(
            "environment variable CODEDEPLOY_ROLE_ARN is not set (bootstrap stack)",
        ));
    }
    let names = Names::new(&settings.stack);
    let library = resources_delivery::Clients {
        codedeploy: &clients.codedeploy,
        cloudwatch: &clients.cloudwatch,
        lambda: &clients.lambda,
    };
    let changes = resources_delivery::ensure(&library, &inputs, &names).await?;
    let by_codedeploy = settings.engine == Engine::Codedeploy;
    let codedeploy_name = |name: String| if by_codedeploy { name } else { String::new() };
    let outputs = DeliveryOutputs {
        engine: settings.engine,
        application: codedeploy_name(names.codedeploy_application()),
        deployment_group: codedeploy_name(names.deployment_group()),
        deployment_config: codedeploy_name(DEPLOYMENT_CONFIG.to_string()),
        alarms: vec![names.alarm("blue"), names.alarm("green")],
        probe_function: Some(names.probe_function()),
        changes,
    };
    inventory::record(&clients.ssm, &settings.stack, Tier::Delivery, &outputs).await?;
    Ok(outputs)
}
