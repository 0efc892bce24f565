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
    let spec = resources_loadbalancer::Spec::new(d.names.clone());
    resources_loadbalancer::diff(&spec, &vpc, &o.loadbalancer).items
}
