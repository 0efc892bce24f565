use tracing::info;
use vikunja_core::tags::Tier;
use vikunja_core::{inventory, Error, FrontendOutputs, Names, ProvisionState, Result};

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
    let own = own_domain(&state)?;
    let spec = resources_frontend::Spec {
        names: names.clone(),
        account: account.to_string(),
        region: region.to_string(),
        api_domain: own
            .as_ref()
            .map(|(_, origin)| origin.clone())
            .unwrap_or_else(|| lb.dns_name.clone()),
        viewer: own.as_ref().map(|(viewer, _)| viewer.clone()),
    };
    let library = resources_frontend::Clients {
        s3: &clients.s3,
        cloudfront: &clients.cloudfront,
    };
    let applied = resources_frontend::ensure(&library, &spec).await?;

    // Vikunja's public URL and the app's API URL follow: the own domain when there is one.
    let domain = own
        .as_ref()
        .map(|(viewer, _)| &viewer.domain)
        .unwrap_or(&applied.domain_name);
    let outputs = FrontendOutputs {
        site_bucket: spec.bucket("site"),
        uploads_bucket: spec.bucket("uploads"),
        url: format!("https://{domain}"),
        api_url: format!("https://{domain}/api/v1"),
        distribution_id: applied.distribution_id,
        distribution_arn: applied.distribution_arn,
        domain_name: applied.domain_name,
        origin_access_control_id: applied.origin_access_control_id,
        spa_function_arn: applied.spa_function_arn,
        changes: applied.changes,
    };
    inventory::record(&clients.ssm, stack, Tier::Frontend, &outputs).await?;
    info!(stack, url = outputs.url, "frontend ready");
    Ok(outputs)
}

/// With an own domain: the name CloudFront serves with its certificate, and the origin
/// name the API origin is reached by. The domain step's outputs must carry the site
/// certificate, issued.
fn own_domain(
    state: &ProvisionState,
) -> Result<Option<(resources_frontend::config::Viewer, String)>> {
    let Some(own) = state.settings.own_domain()? else {
        return Ok(None);
    };
    let domain = ProvisionState::require(&state.domain, "domain")?;
    let certificate_arn = domain
        .site_certificate_arn
        .clone()
        .filter(|_| domain.issued)
        .ok_or_else(|| {
            Error::invalid(format!(
                "the certificate for {} is not issued yet: the domain step must finish first",
                own.name
            ))
        })?;
    let origin = own.origin_name();
    Ok(Some((
        resources_frontend::config::Viewer {
            domain: own.name,
            certificate_arn,
        },
        origin,
    )))
}
