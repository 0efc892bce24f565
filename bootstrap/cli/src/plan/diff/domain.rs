//! The own domain: the zone, the two certificates and their validation records, the alias
//! records — the library's diff, the same one the domain step applies, with the
//! distribution and the load balancer as found (or what they will be).

use super::*;
use vikunja_core::settings::OwnDomain;

/// The settings' own domain, when they name one (validated settings always parse).
pub(crate) fn own_domain(d: &Desired) -> Option<OwnDomain> {
    d.settings.own_domain().ok().flatten()
}

/// The name viewers use: the own domain, else the distribution's.
pub(crate) fn public_domain(d: &Desired, distribution_domain: &str) -> String {
    own_domain(d)
        .map(|own| own.name)
        .unwrap_or_else(|| distribution_domain.to_string())
}

pub(super) fn domain(d: &Desired, o: &Observed) -> Vec<Item> {
    let Some(own) = own_domain(d) else {
        return Vec::new();
    };
    let nlb = o.loadbalancer.nlb.as_ref();
    let spec = resources_domain::Spec {
        names: d.names.clone(),
        domain: own,
        region: d.region.to_string(),
        targets: Some(resources_domain::Targets {
            distribution_domain: o
                .frontend
                .distribution
                .as_ref()
                .map(|x| x.domain_name.clone())
                .unwrap_or_else(|| new("distribution")),
            load_balancer_dns: nlb
                .map(|l| l.dns_name.clone())
                .unwrap_or_else(|| new("load balancer")),
            load_balancer_zone: nlb
                .map(|l| l.zone_id.clone())
                .unwrap_or_else(|| new("load balancer's zone")),
        }),
    };
    let found = o.domain.clone().unwrap_or_default();
    resources_domain::diff(&spec, &found).items
}
