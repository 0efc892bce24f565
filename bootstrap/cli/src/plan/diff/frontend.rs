//! Frontend: the buckets, the origin access control, the SPA function, the distribution, the
//! site bucket's policy — the library's diff, the same one the provisioning step applies,
//! with the load balancer's name as found (or what it will be).

use super::*;

pub(super) fn frontend(d: &Desired, o: &Observed) -> Vec<Item> {
    let spec = resources_frontend::Spec {
        names: d.names.clone(),
        account: d.account.to_string(),
        region: d.region.to_string(),
        api_domain: match own_domain(d) {
            Some(own) => own.origin_name(),
            None => o
                .loadbalancer
                .nlb
                .as_ref()
                .map(|l| l.dns_name.clone())
                .unwrap_or_else(|| new("load balancer")),
        },
        viewer: own_domain(d).map(|own| resources_frontend::config::Viewer {
            certificate_arn: o
                .domain
                .as_ref()
                .and_then(|f| f.certificate("site"))
                .map(|c| c.arn.clone())
                .unwrap_or_else(|| new("site certificate")),
            domain: own.name,
        }),
    };
    resources_frontend::diff(&spec, &o.frontend).items
}
