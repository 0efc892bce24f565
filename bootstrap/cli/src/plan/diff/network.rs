//! Network: the VPC, its subnets, gateway, route tables and security groups.

use super::*;

fn vpc_cidr_fix(current: &str) -> String {
    format!(
        "AWS cannot change a VPC's range, and up stops at the network tier. Keep vpcCidr at {current}; \
         a new range means a new network: provision another stack (--stack) and move the data, or tear \
         this one down (`vikunja-aws down --delete-data`, after a snapshot) and run up again"
    )
}

pub(super) fn network(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let cidr = &d.settings.vpc_cidr;
    let seen = &o.network;
    let mut items = Vec::new();
    if o.zones.len() < 2 {
        let mut check = Check::existing("availability-zones", d.region, "");
        check.differ(
            "available zones",
            o.zones.len(),
            2,
            How::UpStops,
            Some(format!(
                "the network tier needs two available zones and {} offers {}: use another region",
                d.region,
                o.zones.len()
            )),
        );
        items.push(check.done());
    }

    let vpc = match &seen.vpc {
        Seen::Absent => {
            items.push(create("vpc", names.vpc(), Some(cidr.clone())));
            None
        }
        Seen::Many(n) => {
            items.push(ambiguous(
                "vpc",
                names.vpc(),
                *n,
                &format!("VPCs tagged {}={}", tags::STACK, names.stack()),
            ));
            None
        }
        Seen::Found(vpc) => {
            let mut check = Check::existing("vpc", names.vpc(), &vpc.id);
            check.compare(
                "cidr (vpcCidr)",
                &vpc.cidr,
                cidr,
                How::UpStops,
                Some(vpc_cidr_fix(&vpc.cidr)),
            );
            check.compare(
                "enableDnsSupport",
                vpc.dns_support,
                true,
                How::InPlace,
                None,
            );
            check.compare(
                "enableDnsHostnames",
                vpc.dns_hostnames,
                true,
                How::InPlace,
                None,
            );
            items.push(check.done());
            Some(vpc)
        }
    };

    // Subnets: two public, two isolated, one of each per zone.
    let mut subnet_ids: BTreeMap<&str, Vec<Option<String>>> = BTreeMap::new();
    for (role, blocks) in [
        ("public", ::network::handler::PUBLIC_BLOCKS),
        ("isolated", ::network::handler::ISOLATED_BLOCKS),
    ] {
        for (index, block) in blocks.iter().enumerate() {
            let name = names.subnet(role, index);
            let want_cidr = subnet_cidr(cidr, *block).unwrap_or_else(|e| e.to_string());
            let want_zone = o.zones.get(index).cloned().unwrap_or_else(|| "?".into());
            let found = if vpc.is_some() {
                seen.subnets.get(&name).cloned().unwrap_or_default()
            } else {
                Seen::Absent
            };
            let id = match found {
                Seen::Absent => {
                    items.push(create(
                        "subnet",
                        &name,
                        Some(format!("{want_cidr} in {want_zone}")),
                    ));
                    None
                }
                Seen::Many(n) => {
                    items.push(ambiguous(
                        "subnet",
                        &name,
                        n,
                        &format!("subnets named {name}"),
                    ));
                    None
                }
                Seen::Found(subnet) => {
                    let mut check = Check::existing("subnet", &name, &subnet.id);
                    let fix = format!(
                        "AWS cannot change a subnet's range or zone, and up stops at the network tier: \
                         keep the settings that made {} ({} in {}), or delete it (and what runs in it) and run up",
                        subnet.id, subnet.cidr, subnet.zone
                    );
                    check.compare(
                        "cidr",
                        &subnet.cidr,
                        &want_cidr,
                        How::UpStops,
                        Some(fix.clone()),
                    );
                    check.compare("zone", &subnet.zone, &want_zone, How::UpStops, Some(fix));
                    items.push(check.done());
                    Some(subnet.id.clone())
                }
            };
            subnet_ids.entry(role).or_default().push(id);
        }
    }

    let gateway_name = names.of(Tier::Network, "igw");
    let gateway = match (vpc, &seen.internet_gateway) {
        (None, _) | (_, Seen::Absent) => {
            items.push(create("internet-gateway", &gateway_name, None));
            None
        }
        (_, Seen::Many(n)) => {
            items.push(ambiguous(
                "internet-gateway",
                &gateway_name,
                *n,
                &format!("internet gateways named {gateway_name}"),
            ));
            None
        }
        (Some(vpc), Seen::Found(gateway)) => {
            let mut check = Check::existing("internet-gateway", &gateway_name, &gateway.id);
            let attached = |yes: bool| {
                if yes {
                    format!("attached to {}", vpc.id)
                } else {
                    "detached".to_string()
                }
            };
            check.compare(
                "attachment",
                attached(gateway.attached),
                attached(true),
                How::InPlace,
                None,
            );
            items.push(check.done());
            Some(gateway.id.clone())
        }
    };

    for role in ["public", "isolated"] {
        let name = names.of(Tier::Network, role);
        let table = if vpc.is_some() {
            seen.route_tables.get(role).cloned().unwrap_or_default()
        } else {
            Seen::Absent
        };
        match table {
            Seen::Absent => items.push(create(
                "route-table",
                &name,
                Some(if role == "public" {
                    "0.0.0.0/0 → the internet gateway; the public subnets".into()
                } else {
                    "no route to the internet; the isolated subnets".into()
                }),
            )),
            Seen::Many(n) => items.push(ambiguous(
                "route-table",
                &name,
                n,
                &format!("route tables named {name}"),
            )),
            Seen::Found(table) => {
                let mut check = Check::existing("route-table", &name, &table.id);
                let current = table.default_route.clone().unwrap_or_else(|| "none".into());
                if role == "public" {
                    let want = gateway.clone().unwrap_or_else(|| new("internet gateway"));
                    let how = if table.default_route.is_none() {
                        How::InPlace
                    } else {
                        How::UpLeavesIt
                    };
                    check.compare(
                        "route 0.0.0.0/0",
                        &current,
                        &want,
                        how,
                        Some(format!(
                            "up adds the route only when there is none: aws ec2 replace-route --route-table-id {} \
                             --destination-cidr-block 0.0.0.0/0 --gateway-id {want}",
                            table.id
                        )),
                    );
                } else {
                    check.compare(
                        "route 0.0.0.0/0",
                        &current,
                        "none",
                        How::UpLeavesIt,
                        Some(format!(
                            "the database's subnets must not reach the internet, and up never removes a route: \
                             aws ec2 delete-route --route-table-id {} --destination-cidr-block 0.0.0.0/0",
                            table.id
                        )),
                    );
                }
                for (index, subnet) in subnet_ids.get(role).into_iter().flatten().enumerate() {
                    let subnet_name = names.subnet(role, index);
                    let field = "association";
                    check.compared(field);
                    match subnet.as_ref().map(|id| (id, seen.subnet_route_tables.get(id))) {
                        None => check.differ(
                            format!("association {subnet_name}"),
                            "none",
                            new("subnet"),
                            How::InPlace,
                            None,
                        ),
                        Some((_, Some(current))) if *current == table.id => {}
                        Some((_, None)) => check.differ(
                            format!("association {subnet_name}"),
                            "the VPC's main table",
                            &table.id,
                            How::InPlace,
                            None,
                        ),
                        Some((id, Some(other))) => check.differ(
                            format!("association {subnet_name}"),
                            other,
                            &table.id,
                            How::UpLeavesIt,
                            Some(format!(
                                "a subnet has one route table and up does not move it: \
                                 aws ec2 replace-route-table-association (the association of {id} with {other})"
                            )),
                        ),
                    }
                }
                items.push(check.done());
            }
        }
    }

    let group_id = |role: &str| match seen.security_groups.get(role) {
        Some(Seen::Found(group)) if vpc.is_some() => Some(group.id.clone()),
        _ => None,
    };
    let (lb_group, app_group) = (group_id("lb"), group_id("app"));
    // Past the VPC, its range is the setting's: a different one stops up before the rules.
    let vpc_range = vpc.map(|v| v.cidr.clone()).unwrap_or_else(|| cidr.clone());
    // The probe's group admits nothing and may only reach the test listener.
    let probe_egress = vec![Rule {
        protocol: "tcp".into(),
        from: TEST_PORT,
        to: TEST_PORT,
        source: vpc_range.clone(),
    }];
    for role in ["lb", "app", "db", "probe"] {
        let name = names.security_group(role);
        let wanted: Vec<(i32, Option<String>, String)> = match role {
            "probe" => vec![],
            "lb" => vec![
                (
                    PROD_PORT,
                    o.cloudfront_prefix_list.clone(),
                    "CloudFront's origin-facing prefix list".into(),
                ),
                (TEST_PORT, Some(vpc_range.clone()), vpc_range.clone()),
            ],
            "app" => vec![(
                CONTAINER_PORT,
                Some(lb_group.clone().unwrap_or_else(|| new("lb group"))),
                "the lb group".into(),
            )],
            _ => vec![(
                DB_PORT,
                Some(app_group.clone().unwrap_or_else(|| new("app group"))),
                "the app group".into(),
            )],
        };
        let found = if vpc.is_some() {
            seen.security_groups.get(role).cloned().unwrap_or_default()
        } else {
            Seen::Absent
        };
        match found {
            Seen::Absent => {
                let mut rules: Vec<String> = wanted
                    .iter()
                    .map(|(port, _, from)| format!("tcp/{port} from {from}"))
                    .collect();
                if role == "probe" {
                    rules.push(format!(
                        "nothing in; out only tcp/{TEST_PORT} to {vpc_range}"
                    ));
                }
                let mut item = create("security-group", &name, Some(rules.join("; ")));
                if wanted.iter().any(|(_, source, _)| source.is_none()) {
                    item.action = Action::CannotChangeInPlace;
                    item.differences.push(no_prefix_list(d.region));
                }
                items.push(item);
            }
            Seen::Many(n) => items.push(ambiguous(
                "security-group",
                &name,
                n,
                &format!("security groups named {name}"),
            )),
            Seen::Found(group) => {
                let mut check = Check::existing("security-group", &name, &group.id);
                check.compared("ingress");
                if role == "probe" {
                    check.compared("egress");
                    if group.egress != probe_egress {
                        let shown = |rules: &[Rule]| {
                            rules
                                .iter()
                                .map(|r| {
                                    format!("{} {}-{} to {}", r.protocol, r.from, r.to, r.source)
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        };
                        check.differ(
                            "egress",
                            shown(&group.egress),
                            shown(&probe_egress),
                            How::InPlace,
                            None,
                        );
                    }
                }
                for (port, source, _) in &wanted {
                    let Some(source) = source else {
                        let missing = no_prefix_list(d.region);
                        check.item.differences.push(missing);
                        continue;
                    };
                    let rule = Rule {
                        protocol: "tcp".into(),
                        from: *port,
                        to: *port,
                        source: source.clone(),
                    };
                    if !group.ingress.contains(&rule) {
                        check.differ(
                            format!("ingress tcp/{port}"),
                            "absent",
                            format!("from {source}"),
                            How::InPlace,
                            None,
                        );
                    }
                }
                items.push(check.done());
            }
        }
    }
    items
}

fn no_prefix_list(region: &str) -> Difference {
    Difference {
        field: "ingress tcp/80".into(),
        current: "absent".into(),
        desired: format!("from {}", ::network::handler::CLOUDFRONT_ORIGIN_FACING),
        how: How::UpStops,
        fix: Some(format!(
            "{region} has no managed prefix list {}: the production listener could not be limited to CloudFront; use another region",
            ::network::handler::CLOUDFRONT_ORIGIN_FACING
        )),
    }
}

pub(super) fn found_subnets(d: &Desired, o: &Observed, role: &str) -> Option<Vec<String>> {
    o.network.vpc.found()?;
    (0..2)
        .map(|i| {
            o.network
                .subnets
                .get(&d.names.subnet(role, i))
                .and_then(|s| s.found())
                .map(|s| s.id.clone())
        })
        .collect()
}

pub(super) fn found_group(o: &Observed, role: &str) -> Option<String> {
    o.network.vpc.found()?;
    o.network
        .security_groups
        .get(role)?
        .found()
        .map(|g| g.id.clone())
}
