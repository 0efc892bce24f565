//! The network step of the provision workflow: the network tier as `vikunja-aws plan`
//! plans it (`resources_network`), applied, then recorded in the inventory.

use aws_sdk_ec2::Client;
use resources_network::{Patience, Spec};
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, Names, NetworkOutputs, ProvisionState, Result};

pub async fn handle(
    ec2: &Client,
    ssm: &aws_sdk_ssm::Client,
    secrets: &aws_sdk_secretsmanager::Client,
    state: ProvisionState,
) -> Result<NetworkOutputs> {
    state.settings.validate()?;
    let region = ec2
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    crate::mail::check_mail_secret(secrets, &region, &state.settings).await?;
    let tls = state.settings.own_domain()?.is_some();
    let outputs = ensure_network(ec2, &state.settings.stack, &state.settings.vpc_cidr, tls).await?;
    inventory::record(ssm, &state.settings.stack, Tier::Network, &outputs).await?;
    Ok(outputs)
}

/// `tls_listener`: the stack has its own domain, and CloudFront reaches the load balancer
/// on 443 (TLS) instead of 80.
pub async fn ensure_network(
    ec2: &Client,
    stack: &str,
    cidr: &str,
    tls_listener: bool,
) -> Result<NetworkOutputs> {
    let region = ec2
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let spec = Spec::new(Names::new(stack), cidr, &region).with_tls_listener(tls_listener);
    Ok(resources_network::ensure(ec2, &spec, Patience::default())
        .await?
        .outputs)
}
