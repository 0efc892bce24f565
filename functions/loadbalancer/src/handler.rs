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
    let spec = resources_loadbalancer::Spec::new(names).with_tls(origin_certificate(&state)?);
    let outputs = resources_loadbalancer::ensure(elb, &spec, network).await?;
    inventory::record(ssm, &state.settings.stack, Tier::LoadBalancer, &outputs).await?;
    Ok(outputs)
}

/// With an own domain: the origin certificate, which the domain step has seen issued
/// (a TLS listener refuses a certificate that is not).
fn origin_certificate(state: &ProvisionState) -> Result<Option<String>> {
    let Some(own) = state.settings.own_domain()? else {
        return Ok(None);
    };
    let domain = ProvisionState::require(&state.domain, "domain")?;
    match &domain.origin_certificate_arn {
        Some(arn) if domain.issued => Ok(Some(arn.clone())),
        _ => Err(vikunja_core::Error::invalid(format!(
            "the certificate for {} is not issued yet: the domain step must finish first",
            own.origin_name()
        ))),
    }
}
