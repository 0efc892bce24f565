use serde::Deserialize;
use tracing::info;
use vikunja_core::settings::OwnDomain;
use vikunja_core::tags::Tier;
use vikunja_core::time::now_seconds as now;
use vikunja_core::{inventory, DomainOutputs, Error, Names, ProvisionState, Result};

use resources_domain::{Spec, Targets};

/// How long the workflow waits for ACM to issue both certificates. DNS validation in a
/// Route 53 zone of the account takes minutes; an hour without it means the zone is not
/// the one the domain's registrar delegates to.
pub const CERTIFICATE_WAIT_MINUTES: u64 = 60;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Check the zone, request (or adopt) the certificates, write their validation records.
    #[default]
    Request,
    /// The certificates' statuses, for the wait loop.
    Status,
    /// The alias records, once the distribution and the load balancer exist.
    Records,
}

#[derive(Debug, Deserialize)]
pub struct DomainEvent {
    #[serde(default)]
    pub action: Action,
    #[serde(flatten)]
    pub state: ProvisionState,
}

pub struct Clients {
    /// ACM in us-east-1, where CloudFront takes certificates from.
    pub site_acm: aws_sdk_acm::Client,
    /// ACM in the stack's region, for the load balancer.
    pub origin_acm: aws_sdk_acm::Client,
    pub route53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    fn library(&self) -> resources_domain::Clients<'_> {
        resources_domain::Clients {
            site_acm: &self.site_acm,
            origin_acm: &self.origin_acm,
            route53: &self.route53,
        }
    }
}

/// Without a domain: nothing to wait for.
fn no_domain() -> DomainOutputs {
    DomainOutputs {
        issued: true,
        ..DomainOutputs::default()
    }
}

pub async fn handle(clients: &Clients, region: &str, event: DomainEvent) -> Result<DomainOutputs> {
    let settings = &event.state.settings;
    settings.validate()?;
    let Some(domain) = settings.own_domain()? else {
        return Ok(no_domain());
    };
    let names = Names::new(&settings.stack);
    let mut spec = Spec {
        names: names.clone(),
        domain: domain.clone(),
        region: region.to_string(),
        targets: None,
    };
    let library = clients.library();
    let outputs = match event.action {
        Action::Request => {
            // `down` finds the certificates through the domain the inventory names: it is
            // recorded before anything is requested (once the plan says the zone serves
            // it), so a run that fails half-way leaves nothing `down` cannot find.
            let found = resources_domain::observe(&library, &spec).await?;
            let plan = resources_domain::diff(&spec, &found);
            let ops = &plan.runnable()?.ops;
            let intent = DomainOutputs {
                domain: Some(domain.name.clone()),
                hosted_zone_id: Some(domain.hosted_zone_id.clone()),
                origin_name: Some(domain.origin_name()),
                ..DomainOutputs::default()
            };
            inventory::record(&clients.ssm, &settings.stack, Tier::Domain, &intent).await?;
            let mut outputs = resources_domain::apply(&library, &spec, found, ops).await?;
            outputs.waiting_since = now();
            outputs
        }
        Action::Status => {
            let previous = ProvisionState::require(&event.state.domain, "domain")?;
            status(&library, &spec, &domain, previous).await?
        }
        Action::Records => {
            let previous = ProvisionState::require(&event.state.domain, "domain")?;
            let frontend = ProvisionState::require(&event.state.frontend, "frontend")?;
            let lb = ProvisionState::require(&event.state.loadbalancer, "load balancer")?;
            let zone = lb.canonical_hosted_zone_id.clone().ok_or_else(|| {
                Error::invalid("the load balancer's outputs have no canonical hosted zone id: run the load balancer step again")
            })?;
            spec.targets = Some(Targets {
                distribution_domain: frontend.domain_name.clone(),
                load_balancer_dns: lb.dns_name.clone(),
                load_balancer_zone: zone,
            });
            let applied = resources_domain::ensure(&library, &spec).await?;
            DomainOutputs {
                records: applied.records,
                changes: [previous.changes.clone(), applied.changes].concat(),
                ..previous.clone()
            }
        }
    };
    inventory::record(&clients.ssm, &settings.stack, Tier::Domain, &outputs).await?;
    info!(
        stack = settings.stack,
        domain = domain.name,
        issued = outputs.issued,
        "domain step done"
    );
    Ok(outputs)
}

async fn status(
    library: &resources_domain::Clients<'_>,
    spec: &Spec,
    domain: &OwnDomain,
    previous: &DomainOutputs,
) -> Result<DomainOutputs> {
    let arn = |role: &str, arn: &Option<String>| {
        arn.clone().ok_or_else(|| {
            Error::invalid(format!(
                "the domain outputs have no {role} certificate: run the domain step again"
            ))
        })
    };
    let arns = vec![
        ("site", arn("site", &previous.site_certificate_arn)?),
        ("origin", arn("origin", &previous.origin_certificate_arn)?),
    ];
    let statuses = resources_domain::statuses(library, spec, &arns).await?;
    for (role, status) in &statuses {
        if [
            "FAILED",
            "VALIDATION_TIMED_OUT",
            "REVOKED",
            "EXPIRED",
            "INACTIVE",
        ]
        .contains(&status.as_str())
        {
            return Err(Error::conflict(format!(
                "the certificate for {} is {status}: check that zone {} is the one the domain's \
                 registrar delegates to (its NS records), delete the certificate and run up again",
                spec.certificate_name(role),
                domain.hosted_zone_id
            )));
        }
    }
    let status_of = |role: &str| {
        statuses
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, s)| s.clone())
    };
    let issued = statuses.iter().all(|(_, s)| s == "ISSUED");
    let waited = now().saturating_sub(previous.waiting_since);
    if !issued && waited > CERTIFICATE_WAIT_MINUTES * 60 {
        return Err(Error::conflict(format!(
            "the certificates for {} are not issued after {CERTIFICATE_WAIT_MINUTES} minutes \
             ({}): check that zone {} is the one the domain's registrar delegates to, then run up again",
            domain.name,
            statuses
                .iter()
                .map(|(r, s)| format!("{r} {s}"))
                .collect::<Vec<_>>()
                .join(", "),
            domain.hosted_zone_id
        )));
    }
    Ok(DomainOutputs {
        site_certificate_status: status_of("site"),
        origin_certificate_status: status_of("origin"),
        issued,
        ..previous.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_domain_there_is_nothing_to_wait_for() {
        let outputs = no_domain();
        assert!(outputs.issued);
        assert_eq!(outputs.domain, None);
        let event: DomainEvent = serde_json::from_value(
            serde_json::json!({"action": "status", "settings": {"stack": "v"}}),
        )
        .unwrap();
        assert_eq!(event.action, Action::Status);
    }
}
