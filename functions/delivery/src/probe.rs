//! The smoke-test probe joins the stack's VPC here. The bootstrap stack creates the function
//! before any VPC exists; provision attaches it once the network is there, to the public
//! subnets and the `probe` security group (out to the test listener only). Converges: an
//! attachment that already matches is left alone, one a bootstrap update reset is redone.

use aws_sdk_lambda::types::VpcConfig;
use tracing::info;
use vikunja_core::{Error, Names, NetworkOutputs, Result, SdkContext};

pub async fn attach_to_vpc(
    lambda: &aws_sdk_lambda::Client,
    names: &Names,
    network: &NetworkOutputs,
) -> Result<()> {
    let function = &names.probe_function();
    let group = network.probe_security_group_id.as_deref().ok_or_else(|| {
        Error::invalid(
            "the network tier's outputs have no probe security group: run the network step again",
        )
    })?;
    let wanted = (sorted(&network.public_subnet_ids), vec![group.to_string()]);
    let attached = resources_delivery::find_probe_attachment(lambda, names)
        .await?
        .ok_or_else(|| {
            Error::invalid(format!(
                "the probe {function} does not exist: run `vikunja-aws bootstrap` first"
            ))
        })?
        .map(|a| (a.subnets, a.security_groups));
    if attached.as_ref() == Some(&wanted) {
        return Ok(());
    }
    lambda
        .update_function_configuration()
        .function_name(function)
        .vpc_config(
            VpcConfig::builder()
                .set_subnet_ids(Some(wanted.0.clone()))
                .set_security_group_ids(Some(wanted.1.clone()))
                .build(),
        )
        .send()
        .await
        .context(format!("attach the probe {function} to {}", network.vpc_id))?;
    info!(
        function,
        vpc = network.vpc_id,
        "attached the probe to the VPC"
    );
    Ok(())
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}
