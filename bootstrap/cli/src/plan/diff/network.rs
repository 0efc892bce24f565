//! Network: the VPC, its subnets, gateway, route tables and security groups — the network
//! tier's own diff (`resources_network`), the one `up` applies.

use resources_network::{Region, Spec};

use super::*;

pub(super) fn network(d: &Desired, o: &Observed) -> Vec<Item> {
    let tls = matches!(d.settings.own_domain(), Ok(Some(_)));
    let spec = Spec::new(d.names.clone(), &d.settings.vpc_cidr, d.region).with_tls_listener(tls);
    let region = Region {
        zones: o.zones.clone(),
        cloudfront_prefix_list: o.cloudfront_prefix_list.clone(),
    };
    resources_network::diff(&spec, &region, &o.network).items
}

pub(super) fn found_subnets(d: &Desired, o: &Observed, role: &str) -> Option<Vec<String>> {
    o.network.subnet_ids(&d.names, role)
}

pub(super) fn found_group(o: &Observed, role: &str) -> Option<String> {
    o.network.group_id(role)
}
