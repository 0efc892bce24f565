//! Delivery: the unhealthy-host alarms, the CodeDeploy application and deployment group, and
//! the smoke-test probe's place in the VPC — the library's diff, the same one the
//! provisioning step applies, with the other tiers' ids as found (or what they will be).

use super::*;
use resources_delivery::{dimension_or_new, load_balancer_dimension, target_group_dimension};

pub(super) fn delivery(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let lb = &o.loadbalancer;
    let nlb = lb.nlb.as_ref().map(|l| l.arn.as_str());
    let dimensions = |colour: &'static str| {
        let group = lb.target_groups.get(colour).map(|g| g.arn.as_str());
        let lb = dimension_or_new(nlb, load_balancer_dimension, "load balancer");
        (
            colour,
            (
                lb,
                dimension_or_new(group, target_group_dimension, "target group"),
            ),
        )
    };
    let listener = |port: i32| {
        let found = lb.listeners.get(&port).filter(|_| nlb.is_some()).cloned();
        found.unwrap_or_else(|| new("listener"))
    };
    let mut probe_subnets =
        found_subnets(d, o, "public").unwrap_or_else(|| vec![new("public subnets")]);
    probe_subnets.sort();
    let role = o
        .bootstrap
        .as_ref()
        .and_then(|b| b.outputs.get("CodeDeployRoleArn"));
    let spec = resources_delivery::Spec {
        names: names.clone(),
        engine: d.settings.engine,
        termination_wait_minutes: d.settings.termination_wait_minutes,
        alarm_dimensions: [dimensions("blue"), dimensions("green")].into(),
        prod_listener: listener(prod_port(own_domain(d).is_some())),
        test_listener: listener(TEST_PORT),
        service_role: role.cloned(),
        probe_subnets,
        probe_group: found_group(o, "probe").unwrap_or_else(|| new("probe group")),
    };
    resources_delivery::diff(&spec, &o.delivery).items
}
