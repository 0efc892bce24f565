//! Frontend: the buckets, the origin access control, the SPA function, the distribution, the
//! site bucket's policy — the library's diff, the same one the provisioning step applies,
//! with the load balancer's name as found (or what it will be).

use super::*;

pub(super) fn frontend(d: &Desired, o: &Observed) -> Vec<Item> {
    let spec = resources_frontend::Spec {
        names: d.names.clone(),
        account: d.account.to_string(),
        region: d.region.to_string(),
        api_domain: o
            .loadbalancer
            .nlb
            .as_ref()
            .map(|l| l.dns_name.clone())
            .unwrap_or_else(|| new("load balancer")),
    };
    resources_frontend::diff(&spec, &o.frontend).items
}
