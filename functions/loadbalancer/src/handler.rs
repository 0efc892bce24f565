//! The load-balancer step of the provision workflow: the tier as `vikunja-aws plan` plans
//! it (`resources_loadbalancer`), applied, then recorded in the inventory.

use aws_sdk_elasticloadbalancingv2::Client;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, LoadBalancerOutputs, Names, ProvisionState, Result};

pub async fn handle(
    elb: &Client,
    ssm: &aws_sdk_ssm::Client,
    state: ProvisionState,
) -> Result<LoadBalancerOutputs> {
    state.settings.validate()?;
    let network = ProvisionState::require(&state.network, "network")?;
    let names = Names::new(&state.settings.stack);
    let spec = resources_loadbalancer::Spec::new(names);
    let outputs = resources_loadbalancer::ensure(elb, &spec, network).await?;
    inventory::record(ssm, &state.settings.stack, Tier::LoadBalancer, &outputs).await?;
    Ok(outputs)
}
