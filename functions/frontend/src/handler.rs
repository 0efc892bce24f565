use tracing::info;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, Error, FrontendOutputs, Names, ProvisionState, Result};

use crate::{buckets, distribution};

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub ssm: aws_sdk_ssm::Client,
}

pub async fn handle(
    clients: &Clients,
    account: &str,
    region: &str,
    state: ProvisionState,
) -> Result<FrontendOutputs> {
    state.settings.validate()?;
    let lb = ProvisionState::require(&state.loadbalancer, "load balancer")?;
    if account.is_empty() || region.is_empty() {
        return Err(Error::invalid(
            "account and region are unknown (no function ARN in the invocation)",
        ));
    }
    let stack = &state.settings.stack;
    let names = Names::new(stack);
    let site = names.site_bucket(account, region);
    let uploads = names.uploads_bucket(account, region);
    buckets::ensure_private_bucket(&clients.s3, stack, account, region, &site).await?;
    buckets::ensure_private_bucket(&clients.s3, stack, account, region, &uploads).await?;
    buckets::send_events_to_eventbridge(&clients.s3, &uploads).await?;

    let oac_id = distribution::ensure_origin_access_control(&clients.cloudfront, &names).await?;
    let function_arn = distribution::ensure_spa_function(&clients.cloudfront, &names).await?;
    let origins = distribution::Origins {
        site_domain: buckets::regional_domain(&site, region),
        api_domain: lb.dns_name.clone(),
        origin_access_control_id: oac_id.clone(),
        spa_function_arn: function_arn.clone(),
    };
    let dist = distribution::ensure_distribution(&clients.cloudfront, &names, &origins).await?;
    buckets::allow_only_distribution(&clients.s3, &site, &dist.arn).await?;

    let outputs = FrontendOutputs {
        site_bucket: site,
        uploads_bucket: uploads,
        url: format!("https://{}", dist.domain_name),
        api_url: format!("https://{}/api/v1", dist.domain_name),
        distribution_id: dist.id,
        distribution_arn: dist.arn,
        domain_name: dist.domain_name,
        origin_access_control_id: oac_id,
        spa_function_arn: function_arn,
    };
    inventory::record(&clients.ssm, stack, Tier::Frontend, &outputs).await?;
    info!(stack, url = outputs.url, "frontend ready");
    Ok(outputs)
}
