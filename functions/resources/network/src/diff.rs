//! Spec + findings → the plan: one item per resource (what `vikunja-aws plan` prints) and
//! the operations `up` carries out, produced together so that the plan is what `up` does.
//! Pure: unit-tested with made-up findings.

use std::collections::BTreeMap;

use vikunja_core::tags;
use vikunja_core::Names;

use super::{Network, Peer, Region, Rule, RuleSpec, SecurityGroup, Spec, CLOUDFRONT_ORIGIN_FACING};
use resources::found::Seen;
use resources::plan::{ambiguous, create, new, Action, Check, Difference, How, Operation};

/// One change `up` makes to the network. Resources are named by role; ids are resolved
/// when the operation runs (a subnet's VPC may be one an earlier operation created).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateVpc {
        name: String,
        cidr: String,
    },
    EnableDns {
        hostnames: bool,
    },
    CreateSubnet {
        name: String,
        cidr: String,
        zone: String,
    },
    CreateGateway {
        name: String,
    },
    AttachGateway,
    CreateRouteTable {
        role: &'static str,
        name: String,
    },
    /// `0.0.0.0/0` of the public table to the internet gateway.
    AddDefaultRoute,
    Associate {
        table: &'static str,
        subnet: String,
    },
    CreateGroup {
        role: &'static str,
        name: String,
        description: &'static str,
    },
    AllowIn {
        group: &'static str,
        rule: RuleSpec,
    },
    AllowOut {
        group: &'static str,
        rule: RuleSpec,
    },
    RevokeOut {
        group: &'static str,
        rule: Rule,
    },
}

impl Operation for Op {
    type Context = Names;

    /// How `plan` lists it and `up` reports it.
    fn describe(&self, names: &Names) -> String {
        let group = |role: &str| names.security_group(role);
        match self {
            Op::CreateVpc { name, cidr } => format!("create VPC {name} ({cidr})"),
            Op::EnableDns { hostnames: false } => format!("enable DNS support on {}", names.vpc()),
            Op::EnableDns { hostnames: true } => {
                format!("enable DNS hostnames on {}", names.vpc())
            }
            Op::CreateSubnet { name, cidr, zone } => {
                format!("create subnet {name} ({cidr} in {zone})")
            }
            Op::CreateGateway { name } => format!("create internet gateway {name}"),
            Op::AttachGateway => format!(
                "attach internet gateway {} to {}",
                names.of(tags::Tier::Network, "igw"),
                names.vpc()
            ),
            Op::CreateRouteTable { name, .. } => format!("create route table {name}"),
            Op::AddDefaultRoute => format!(
                "route 0.0.0.0/0 of {} to the internet gateway",
                names.of(tags::Tier::Network, "public")
            ),
            Op::Associate { table, subnet } => format!(
                "associate {subnet} with route table {}",
                names.of(tags::Tier::Network, table)
            ),
            Op::CreateGroup { name, .. } => format!("create security group {name}"),
            Op::AllowIn { group: g, rule } => format!(
                "allow tcp/{} into {} from {}",
                rule.port,
                group(g),
                peer_name(names, &rule.peer)
            ),
            Op::AllowOut { group: g, rule } => format!(
                "allow tcp/{} out of {} to {}",
                rule.port,
                group(g),
                peer_name(names, &rule.peer)
            ),
            Op::RevokeOut { group: g, rule } => {
                format!("revoke egress {} of {}", rule.show(), group(g))
            }
        }
    }
}

fn peer_name(names: &Names, peer: &Peer) -> String {
    match peer {
        Peer::Cidr(cidr) => cidr.clone(),
        Peer::CloudFront => CLOUDFRONT_ORIGIN_FACING.to_string(),
        Peer::Group(role) => names.security_group(role),
    }
}

/// The tier's plan.
pub type Plan = resources::plan::Plan<Op>;

fn vpc_cidr_fix(current: &str) -> String {
    format!(
        "AWS cannot change a VPC's range, and up stops at the network tier. Keep vpcCidr at {current}; \
         a new range means a new network: provision another stack (--stack) and move the data, or tear \
         this one down (`vikunja-aws down --delete-data`, after a snapshot) and run up again"
    )
}

fn ids<T: resources::found::Identified>(seen: &[T]) -> Vec<&str> {
    seen.iter().map(|t| t.id()).collect()
}

pub fn diff(spec: &Spec, region: &Region, seen: &Network) -> Plan {
    let names = &spec.names;
    let cidr = &spec.cidr;
    let mut plan = Plan::default();
    if region.zones.len() < 2 {
        let mut check = Check::existing("availability-zones", &spec.region, "");
        check.differ(
            "available zones",
            region.zones.len(),
            2,
            How::UpStops,
            Some(format!(
                "the network tier needs two available zones and {} offers {}: use another region",
                spec.region,
                region.zones.len()
            )),
        );
        plan.push(check.done(), vec![], names);
    }

    let vpc = match &seen.vpc {
        Seen::Absent => {
            let ops = vec![
                Op::CreateVpc {
                    name: names.vpc(),
                    cidr: cidr.clone(),
                },
                Op::EnableDns { hostnames: false },
                Op::EnableDns { hostnames: true },
            ];
            plan.push(create("vpc", names.vpc(), Some(cidr.clone())), ops, names);
            None
        }
        Seen::Many(vpcs) => {
            let what = format!("VPCs tagged {}={}", tags::STACK, names.stack());
            plan.push(
                ambiguous("vpc", names.vpc(), &ids(vpcs), &what),
                vec![],
                names,
            );
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
            let mut ops = Vec::new();
            if !vpc.dns_support {
                ops.push(Op::EnableDns { hostnames: false });
            }
            if !vpc.dns_hostnames {
                ops.push(Op::EnableDns { hostnames: true });
            }
            plan.push(check.done(), ops, names);
            Some(vpc)
        }
    };

    // Subnets: two public, two isolated, one of each per zone.
    let mut subnet_ids: BTreeMap<&str, Vec<Option<String>>> = BTreeMap::new();
    let subnets = match spec.subnets() {
        Ok(subnets) => subnets,
        Err(e) => {
            let mut check = Check::existing("subnet", names.subnet("public", 0), "");
            check.differ("cidr", "?", e.to_string(), How::UpStops, None);
            plan.push(check.done(), vec![], names);
            Vec::new()
        }
    };
    for want in subnets {
        let want_zone = region
            .zones
            .get(want.index)
            .cloned()
            .unwrap_or_else(|| "?".into());
        let found = if vpc.is_some() {
            seen.subnets.get(&want.name).cloned().unwrap_or_default()
        } else {
            Seen::Absent
        };
        let id = match found {
            Seen::Absent => {
                let detail = format!("{} in {want_zone}", want.cidr);
                let op = Op::CreateSubnet {
                    name: want.name.clone(),
                    cidr: want.cidr.clone(),
                    zone: want_zone,
                };
                plan.push(create("subnet", &want.name, Some(detail)), vec![op], names);
                None
            }
            Seen::Many(subnets) => {
                let what = format!("subnets named {}", want.name);
                plan.push(
                    ambiguous("subnet", &want.name, &ids(&subnets), &what),
                    vec![],
                    names,
                );
                None
            }
            Seen::Found(subnet) => {
                let mut check = Check::existing("subnet", &want.name, &subnet.id);
                let fix = format!(
                    "AWS cannot change a subnet's range or zone, and up stops at the network tier: \
                     keep the settings that made {} ({} in {}), or delete it (and what runs in it) and run up",
                    subnet.id, subnet.cidr, subnet.zone
                );
                check.compare(
                    "cidr",
                    &subnet.cidr,
                    &want.cidr,
                    How::UpStops,
                    Some(fix.clone()),
                );
                check.compare("zone", &subnet.zone, &want_zone, How::UpStops, Some(fix));
                plan.push(check.done(), vec![], names);
                Some(subnet.id.clone())
            }
        };
        subnet_ids.entry(want.role).or_default().push(id);
    }

    let gateway_name = spec.gateway_name();
    let gateway = match (vpc, &seen.internet_gateway) {
        (None, _) | (_, Seen::Absent) => {
            let ops = vec![
                Op::CreateGateway {
                    name: gateway_name.clone(),
                },
                Op::AttachGateway,
            ];
            plan.push(create("internet-gateway", &gateway_name, None), ops, names);
            None
        }
        (_, Seen::Many(gateways)) => {
            let what = format!("internet gateways named {gateway_name}");
            plan.push(
                ambiguous("internet-gateway", &gateway_name, &ids(gateways), &what),
                vec![],
                names,
            );
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
            let ops = if gateway.attached {
                vec![]
            } else {
                vec![Op::AttachGateway]
            };
            plan.push(check.done(), ops, names);
            Some(gateway.id.clone())
        }
    };

    for role in super::SUBNET_ROLES {
        let name = spec.route_table_name(role);
        let table = if vpc.is_some() {
            seen.route_tables.get(role).cloned().unwrap_or_default()
        } else {
            Seen::Absent
        };
        let subnets_of_role = subnet_ids.get(role).cloned().unwrap_or_default();
        let subnet_names: Vec<String> = (0..subnets_of_role.len())
            .map(|i| names.subnet(role, i))
            .collect();
        match table {
            Seen::Absent => {
                let mut ops = vec![Op::CreateRouteTable {
                    role,
                    name: name.clone(),
                }];
                if role == "public" {
                    ops.push(Op::AddDefaultRoute);
                }
                ops.extend(subnet_names.iter().map(|s| Op::Associate {
                    table: role,
                    subnet: s.clone(),
                }));
                let detail = if role == "public" {
                    "0.0.0.0/0 → the internet gateway; the public subnets"
                } else {
                    "no route to the internet; the isolated subnets"
                };
                plan.push(
                    create("route-table", &name, Some(detail.into())),
                    ops,
                    names,
                );
            }
            Seen::Many(tables) => {
                let what = format!("route tables named {name}");
                plan.push(
                    ambiguous("route-table", &name, &ids(&tables), &what),
                    vec![],
                    names,
                );
            }
            Seen::Found(table) => {
                let mut check = Check::existing("route-table", &name, &table.id);
                let mut ops = Vec::new();
                let current = table.default_route.clone().unwrap_or_else(|| "none".into());
                if role == "public" {
                    let want = gateway.clone().unwrap_or_else(|| new("internet gateway"));
                    let how = if table.default_route.is_none() {
                        ops.push(Op::AddDefaultRoute);
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
                for (subnet, subnet_name) in subnets_of_role.iter().zip(&subnet_names) {
                    check.compared("association");
                    let associate = Op::Associate {
                        table: role,
                        subnet: subnet_name.clone(),
                    };
                    match subnet.as_ref().map(|id| (id, seen.subnet_route_tables.get(id))) {
                        None => {
                            check.differ(format!("association {subnet_name}"), "none", new("subnet"), How::InPlace, None);
                            ops.push(associate);
                        }
                        Some((_, Some(current))) if *current == table.id => {}
                        Some((_, None)) => {
                            check.differ(
                                format!("association {subnet_name}"),
                                "the VPC's main table",
                                &table.id,
                                How::InPlace,
                                None,
                            );
                            ops.push(associate);
                        }
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
                plan.push(check.done(), ops, names);
            }
        }
    }

    // Past the VPC, its range is the setting's: a different one stops up before the rules.
    let vpc_range = vpc.map(|v| v.cidr.clone()).unwrap_or_else(|| cidr.clone());
    let group_id = |role: &str| match seen.security_groups.get(role) {
        Some(Seen::Found(group)) if vpc.is_some() => Some(group.id.clone()),
        _ => None,
    };
    for want in spec.groups() {
        let found = if vpc.is_some() {
            seen.security_groups
                .get(want.role)
                .cloned()
                .unwrap_or_default()
        } else {
            Seen::Absent
        };
        // The rules as AWS will hold them: the VPC's range, the prefix list's id, group ids.
        let resolve = |rule: &RuleSpec| -> Option<String> {
            match &rule.peer {
                Peer::Cidr(_) => Some(vpc_range.clone()),
                Peer::CloudFront => region.cloudfront_prefix_list.clone(),
                Peer::Group(role) => {
                    Some(group_id(role).unwrap_or_else(|| new(&format!("{role} group"))))
                }
            }
        };
        let unresolvable = want.ingress.iter().any(|r| resolve(r).is_none());
        match found {
            Seen::Absent => {
                let mut shown: Vec<String> = want
                    .ingress
                    .iter()
                    .map(|r| format!("tcp/{} from {}", r.port, shown_peer(&r.peer, &vpc_range)))
                    .collect();
                let mut ops = vec![Op::CreateGroup {
                    role: want.role,
                    name: want.name.clone(),
                    description: want.description,
                }];
                ops.extend(want.ingress.iter().map(|r| Op::AllowIn {
                    group: want.role,
                    rule: r.clone(),
                }));
                if let Some(egress) = &want.egress {
                    shown.push(format!(
                        "nothing in; out only {}",
                        egress
                            .iter()
                            .map(|r| format!(
                                "tcp/{} to {}",
                                r.port,
                                shown_peer(&r.peer, &vpc_range)
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    ops.extend(egress.iter().map(|r| Op::AllowOut {
                        group: want.role,
                        rule: r.clone(),
                    }));
                    ops.push(Op::RevokeOut {
                        group: want.role,
                        rule: allow_all(),
                    });
                }
                let mut item = create("security-group", &want.name, Some(shown.join("; ")));
                if unresolvable {
                    item.action = Action::CannotChangeInPlace;
                    item.differences.push(no_prefix_list(&spec.region));
                }
                plan.push(item, ops, names);
            }
            Seen::Many(groups) => {
                let what = format!("security groups named {}", want.name);
                plan.push(
                    ambiguous("security-group", &want.name, &ids(&groups), &what),
                    vec![],
                    names,
                );
            }
            Seen::Found(group) => {
                let mut check = Check::existing("security-group", &want.name, &group.id);
                let mut ops = Vec::new();
                check.compared("ingress");
                if let Some(egress) = &want.egress {
                    check.compared("egress");
                    let wanted: Vec<Rule> = egress
                        .iter()
                        .map(|r| Rule::tcp(r.port, &vpc_range))
                        .collect();
                    let mut sorted = wanted.clone();
                    sorted.sort();
                    if group.egress != sorted {
                        let shown = |rules: &[Rule]| {
                            rules.iter().map(Rule::show).collect::<Vec<_>>().join(", ")
                        };
                        check.differ(
                            "egress",
                            shown(&group.egress),
                            shown(&sorted),
                            How::InPlace,
                            None,
                        );
                        for (rule, spec_rule) in wanted.iter().zip(egress) {
                            if !group.egress.contains(rule) {
                                ops.push(Op::AllowOut {
                                    group: want.role,
                                    rule: spec_rule.clone(),
                                });
                            }
                        }
                        for extra in group.egress.iter().filter(|r| !wanted.contains(r)) {
                            ops.push(Op::RevokeOut {
                                group: want.role,
                                rule: extra.clone(),
                            });
                        }
                    }
                }
                for rule in &want.ingress {
                    let Some(source) = resolve(rule) else {
                        check.item.differences.push(no_prefix_list(&spec.region));
                        continue;
                    };
                    if !has_ingress(&group, rule.port, &source) {
                        check.differ(
                            format!("ingress tcp/{}", rule.port),
                            "absent",
                            format!("from {source}"),
                            How::InPlace,
                            None,
                        );
                        ops.push(Op::AllowIn {
                            group: want.role,
                            rule: rule.clone(),
                        });
                    }
                }
                plan.push(check.done(), ops, names);
            }
        }
    }
    plan
}

fn has_ingress(group: &SecurityGroup, port: i32, source: &str) -> bool {
    group.ingress.contains(&Rule::tcp(port, source))
}

fn shown_peer(peer: &Peer, vpc_range: &str) -> String {
    match peer {
        Peer::Cidr(_) => vpc_range.to_string(),
        Peer::CloudFront => "CloudFront's origin-facing prefix list".into(),
        Peer::Group(role) => format!("the {role} group"),
    }
}

/// AWS's default egress rule of a new group: everything, everywhere.
pub fn allow_all() -> Rule {
    Rule {
        protocol: "-1".into(),
        from: -1,
        to: -1,
        source: "0.0.0.0/0".into(),
    }
}

fn no_prefix_list(region: &str) -> Difference {
    Difference {
        field: "ingress tcp/80".into(),
        current: "absent".into(),
        desired: format!("from {CLOUDFRONT_ORIGIN_FACING}"),
        how: How::UpStops,
        fix: Some(format!(
            "{region} has no managed prefix list {CLOUDFRONT_ORIGIN_FACING}: the production listener could not be limited to CloudFront; use another region"
        )),
    }
}
