//! Load balancer: the NLB, the blue and green target groups, the two listeners — the
//! library's diff, the same one the provisioning step applies.

use super::*;

pub(super) fn loadbalancer(d: &Desired, o: &Observed) -> Vec<Item> {
    let vpc = o
        .network
        .vpc
        .found()
        .map(|v| v.id.clone())
        .unwrap_or_else(|| new("VPC"));
    let certificate = own_domain(d).map(|_| {
        o.domain
            .as_ref()
            .and_then(|f| f.certificate("origin"))
            .map(|c| c.arn.clone())
            .unwrap_or_else(|| new("origin certificate"))
    });
    let spec = resources_loadbalancer::Spec::new(d.names.clone()).with_tls(certificate);
    resources_loadbalancer::diff(&spec, &vpc, &o.loadbalancer).items
}
