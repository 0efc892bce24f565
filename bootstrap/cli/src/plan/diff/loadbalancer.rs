//! Load balancer: the NLB, the blue and green target groups, the two listeners.

use super::*;

pub(super) fn loadbalancer(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let seen = &o.loadbalancer;
    let mut items = Vec::new();
    let name = names.load_balancer();
    match &seen.nlb {
        None => items.push(create(
            "load-balancer",
            &name,
            Some("Network Load Balancer, internet-facing, in the public subnets".into()),
        )),
        Some(lb) => {
            let mut check = Check::existing("load-balancer", &name, &lb.arn);
            let fix = format!("up adopts only this stack's Network Load Balancer under the name {name}: rename or remove the one there");
            check.compare(
                "tag vikunja:stack",
                if lb.ours {
                    names.stack()
                } else {
                    "(not this stack's)"
                },
                names.stack(),
                How::UpStops,
                Some(fix.clone()),
            );
            check.compare(
                "type",
                if lb.network { "network" } else { "not network" },
                "network",
                How::UpStops,
                Some(fix),
            );
            items.push(check.done());
        }
    }
    let vpc = o
        .network
        .vpc
        .found()
        .map(|v| v.id.clone())
        .unwrap_or_else(|| new("VPC"));
    for colour in ["blue", "green"] {
        let name = names.target_group(colour);
        match seen.target_groups.get(colour) {
            None => items.push(create(
                "target-group",
                &name,
                Some(format!(
                    "TCP {CONTAINER_PORT}, target type ip, health check HTTP /health"
                )),
            )),
            Some(group) => {
                let mut check = Check::existing("target-group", &name, &group.arn);
                check.compare(
                    "tag vikunja:stack",
                    if group.ours { names.stack() } else { "(not this stack's)" },
                    names.stack(),
                    How::UpStops,
                    Some(format!("target group {name} exists but is not tagged for this stack, and up refuses it: rename or remove it")),
                );
                let fix = Some(format!(
                    "AWS cannot change a target group's port, protocol, target type or VPC, and up adopts {name} as it is: \
                     replacing it means replacing what uses it (listeners, service, deployment group) — in practice \
                     `vikunja-aws down` and `up`"
                ));
                check.compare(
                    "port",
                    group.port.map(|p| p.to_string()).unwrap_or_default(),
                    CONTAINER_PORT,
                    How::UpLeavesIt,
                    fix.clone(),
                );
                check.compare(
                    "protocol",
                    &group.protocol,
                    "TCP",
                    How::UpLeavesIt,
                    fix.clone(),
                );
                check.compare(
                    "targetType",
                    &group.target_type,
                    "ip",
                    How::UpLeavesIt,
                    fix.clone(),
                );
                check.compare("vpc", &group.vpc_id, &vpc, How::UpLeavesIt, fix);
                items.push(check.done());
            }
        }
    }
    for port in [PROD_PORT, TEST_PORT] {
        let name = format!("{}:{port}", names.load_balancer());
        let role = if port == PROD_PORT {
            "production"
        } else {
            "test"
        };
        match seen.listeners.get(&port) {
            Some(arn) if seen.nlb.is_some() => {
                let mut check = Check::existing("listener", &name, arn);
                check.note(format!("the {role} listener's target group (blue or green) is CodeDeploy's to switch: not compared"));
                items.push(check.done());
            }
            _ => items.push(create(
                "listener",
                &name,
                Some(format!("{role}, TCP, forwards to blue")),
            )),
        }
    }
    items
}
