//! The one finder of every network resource: what is tagged with the stack and the tier,
//! paginated, read-only (Describe calls only).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{self, Filter, IpPermission, VpcAttributeName};
use aws_sdk_ec2::Client;
use vikunja_core::tags::Tier;
use vikunja_core::{Names, Result, SdkContext};

use super::CLOUDFRONT_ORIGIN_FACING;
use super::{Found, Gateway, Interface, Region, RouteTable, Rule, SecurityGroup, Subnet, Vpc};
use crate::ec2::{filter, name_tag, ours, tag_pairs};

/// The region's available zones (sorted) and CloudFront's origin-facing prefix list.
pub async fn zones_and_prefix_list(ec2: &Client) -> Result<Region> {
    let out = ec2
        .describe_availability_zones()
        .filters(filter("state", "available"))
        .filters(filter("zone-type", "availability-zone"))
        .send()
        .await
        .context("describe availability zones")?;
    let mut zones: Vec<String> = out
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name().map(str::to_string))
        .collect();
    zones.sort();
    let lists = ec2
        .describe_managed_prefix_lists()
        .filters(filter("prefix-list-name", CLOUDFRONT_ORIGIN_FACING))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context("find CloudFront's origin-facing prefix list")?;
    Ok(Region {
        zones,
        cloudfront_prefix_list: lists
            .first()
            .and_then(|p| p.prefix_list_id())
            .map(str::to_string),
    })
}

/// Every page of one Describe call with the given filters: the one call site of each
/// kind's Describe, used for the stack's own (its tags) and for all that is in a VPC.
macro_rules! every_page {
    ($request:expr, $filters:expr, $what:expr) => {{
        $request
            .set_filters(Some($filters.to_vec()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context($what)
    }};
}

async fn subnets(ec2: &Client, filters: &[Filter], what: String) -> Result<Vec<types::Subnet>> {
    every_page!(ec2.describe_subnets(), filters, what)
}

async fn security_groups(
    ec2: &Client,
    filters: &[Filter],
    what: String,
) -> Result<Vec<types::SecurityGroup>> {
    every_page!(ec2.describe_security_groups(), filters, what)
}

async fn route_tables(
    ec2: &Client,
    filters: &[Filter],
    what: String,
) -> Result<Vec<types::RouteTable>> {
    every_page!(ec2.describe_route_tables(), filters, what)
}

async fn internet_gateways(
    ec2: &Client,
    filters: &[Filter],
    what: String,
) -> Result<Vec<types::InternetGateway>> {
    every_page!(ec2.describe_internet_gateways(), filters, what)
}

async fn network_interfaces(
    ec2: &Client,
    filters: &[Filter],
    what: String,
) -> Result<Vec<types::NetworkInterface>> {
    every_page!(ec2.describe_network_interfaces(), filters, what)
}

fn in_vpcs(vpcs: &[String]) -> Filter {
    Filter::builder()
        .name("vpc-id")
        .set_values(Some(vpcs.to_vec()))
        .build()
}

/// Everything of the stack's network tier.
pub async fn observe(ec2: &Client, names: &Names) -> Result<Found> {
    let stack = names.stack();
    let tier = ours(stack, Tier::Network);
    let vpcs: Vec<types::Vpc> = every_page!(
        ec2.describe_vpcs(),
        tier,
        format!("find VPCs of stack {stack}")
    )?;
    let mut found = Found::default();
    for vpc in &vpcs {
        let id = vpc.vpc_id().unwrap_or_default().to_string();
        let (dns_support, dns_hostnames) = dns_of(ec2, &id).await?;
        found.vpcs.push(Vpc {
            cidr: vpc.cidr_block().unwrap_or_default().to_string(),
            id,
            dns_support,
            dns_hostnames,
        });
    }
    let subnets = subnets(ec2, &tier, format!("find subnets of stack {stack}")).await?;
    found.subnets = subnets
        .iter()
        .map(|s| Subnet {
            id: s.subnet_id().unwrap_or_default().to_string(),
            cidr: s.cidr_block().unwrap_or_default().to_string(),
            zone: s.availability_zone().unwrap_or_default().to_string(),
            name: name_tag(s.tags()),
            vpc_id: s.vpc_id().unwrap_or_default().to_string(),
        })
        .collect();
    let what = format!("find internet gateways of stack {stack}");
    let gateways = internet_gateways(ec2, &tier, what).await?;
    found.gateways = gateways
        .iter()
        .map(|g| Gateway {
            id: g.internet_gateway_id().unwrap_or_default().to_string(),
            attached: false,
            attached_to: g
                .attachments()
                .iter()
                .filter_map(|a| a.vpc_id().map(str::to_string))
                .collect(),
        })
        .collect();
    let what = format!("find security groups of stack {stack}");
    let groups = security_groups(ec2, &tier, what).await?;
    found.groups = groups
        .iter()
        .map(|g| SecurityGroup {
            id: g.group_id().unwrap_or_default().to_string(),
            ingress: rules(g.ip_permissions()),
            egress: rules(g.ip_permissions_egress()),
            name: g.group_name().unwrap_or_default().to_string(),
            vpc_id: g.vpc_id().unwrap_or_default().to_string(),
            ingress_permissions: g.ip_permissions().to_vec(),
        })
        .collect();
    if found.vpcs.is_empty() {
        return Ok(found);
    }
    // Every table of the stack's VPCs: which one each subnet uses is a fact of the VPC,
    // whoever owns the table; the stack's own tables are those with its tags.
    let vpc_ids: Vec<String> = found.vpcs.iter().map(|v| v.id.clone()).collect();
    let what = format!("list route tables of stack {stack}'s VPC");
    let tables = route_tables(ec2, &[in_vpcs(&vpc_ids)], what).await?;
    let mut subnet_route_tables = BTreeMap::new();
    for table in &tables {
        let id = table.route_table_id().unwrap_or_default();
        for association in table.associations() {
            if let Some(subnet) = association.subnet_id() {
                subnet_route_tables.insert(subnet.to_string(), id.to_string());
            }
        }
        if !crate::ec2::tag_pairs(table.tags())
            .any(|(k, v)| k == vikunja_core::tags::STACK && v == stack)
            || !crate::ec2::tag_pairs(table.tags())
                .any(|(k, v)| k == vikunja_core::tags::TIER && v == Tier::Network.as_str())
        {
            continue;
        }
        found.route_tables.push(RouteTable {
            id: id.to_string(),
            default_route: table
                .routes()
                .iter()
                .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .map(|r| {
                    r.gateway_id()
                        .or(r.nat_gateway_id())
                        .or(r.transit_gateway_id())
                        .or(r.network_interface_id())
                        .unwrap_or("another target")
                        .to_string()
                }),
            name: name_tag(table.tags()),
            vpc_id: table.vpc_id().unwrap_or_default().to_string(),
            associations: table
                .associations()
                .iter()
                .filter(|a| a.main() != Some(true))
                .filter_map(|a| {
                    Some((
                        a.route_table_association_id()?.to_string(),
                        a.subnet_id()?.to_string(),
                    ))
                })
                .collect(),
        });
    }
    found.subnet_route_tables = subnet_route_tables;
    Ok(found)
}

/// Every network interface in the stack's VPCs, whoever made it: what still holds a subnet.
pub async fn observe_interfaces(
    ec2: &Client,
    names: &Names,
    vpcs: &[String],
) -> Result<Vec<Interface>> {
    if vpcs.is_empty() {
        return Ok(Vec::new());
    }
    let stack = names.stack();
    let what = format!("list network interfaces in the VPCs of stack {stack}");
    let interfaces = network_interfaces(ec2, &[in_vpcs(vpcs)], what).await?;
    Ok(interfaces
        .iter()
        .filter_map(|i| {
            let description = i.description().unwrap_or_default().to_string();
            Some(Interface {
                id: i.network_interface_id()?.to_string(),
                subnet_id: i.subnet_id().unwrap_or_default().to_string(),
                ours: vikunja_core::tags::belongs_to(tag_pairs(i.tag_set()), stack),
                available: i.status().map(|s| s.as_str()) == Some("available"),
                managed: i.requester_managed() == Some(true) || is_service_interface(&description),
                description,
            })
        })
        .collect())
}

/// Interfaces AWS services create and delete themselves: waited for, never deleted.
pub fn is_service_interface(description: &str) -> bool {
    [
        "ELB ",
        "RDSNetworkInterface",
        "arn:aws:ecs:",
        "AWS Lambda VPC ENI",
        "Interface for NAT Gateway",
    ]
    .iter()
    .any(|p| description.starts_with(p))
}

/// What in `vpc` the stack did not make (its default security group and main route table
/// aside), to name it when AWS refuses to delete the VPC.
pub async fn strangers_in(ec2: &Client, names: &Names, vpc: &str) -> Result<Vec<String>> {
    let stack = names.stack();
    let theirs = |tags: &[types::Tag]| !vikunja_core::tags::belongs_to(tag_pairs(tags), stack);
    let in_vpc = [in_vpcs(&[vpc.to_string()])];
    let what = |kind: &str| format!("list the {kind} in {vpc}");
    let mut strangers = Vec::new();
    for s in subnets(ec2, &in_vpc, what("subnets")).await? {
        if theirs(s.tags()) {
            strangers.extend(s.subnet_id().map(|id| format!("subnet {id}")));
        }
    }
    for g in security_groups(ec2, &in_vpc, what("security groups")).await? {
        if g.group_name() != Some("default") && theirs(g.tags()) {
            strangers.extend(g.group_id().map(|id| format!("security group {id}")));
        }
    }
    for t in route_tables(ec2, &in_vpc, what("route tables")).await? {
        let main = t.associations().iter().any(|a| a.main() == Some(true));
        if !main && theirs(t.tags()) {
            strangers.extend(t.route_table_id().map(|id| format!("route table {id}")));
        }
    }
    for i in network_interfaces(ec2, &in_vpc, what("network interfaces")).await? {
        if theirs(i.tag_set()) {
            strangers.extend(
                i.network_interface_id()
                    .map(|id| format!("network interface {id}")),
            );
        }
    }
    let attached = [filter("attachment.vpc-id", vpc)];
    for g in internet_gateways(ec2, &attached, what("internet gateways")).await? {
        if theirs(g.tags()) {
            strangers.extend(
                g.internet_gateway_id()
                    .map(|id| format!("internet gateway {id}")),
            );
        }
    }
    Ok(strangers)
}

async fn dns_of(ec2: &Client, vpc_id: &str) -> Result<(bool, bool)> {
    let mut dns = [false; 2];
    for (slot, attribute) in [
        VpcAttributeName::EnableDnsSupport,
        VpcAttributeName::EnableDnsHostnames,
    ]
    .into_iter()
    .enumerate()
    {
        let answer = ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attribute)
            .send()
            .await
            .context(format!("read DNS attributes of {vpc_id}"))?;
        dns[slot] = if slot == 0 {
            answer.enable_dns_support().and_then(|a| a.value())
        } else {
            answer.enable_dns_hostnames().and_then(|a| a.value())
        }
        .unwrap_or(false);
    }
    Ok((dns[0], dns[1]))
}

/// One rule per peer, as AWS counts duplicates.
pub fn rules(permissions: &[IpPermission]) -> Vec<Rule> {
    let mut rules = Vec::new();
    for p in permissions {
        let rule = |source: &str| Rule {
            protocol: p.ip_protocol().unwrap_or_default().to_string(),
            from: p.from_port().unwrap_or(-1),
            to: p.to_port().unwrap_or(-1),
            source: source.to_string(),
        };
        rules.extend(p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(rule));
        rules.extend(
            p.prefix_list_ids()
                .iter()
                .filter_map(|l| l.prefix_list_id())
                .map(rule),
        );
        rules.extend(
            p.user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id())
                .map(rule),
        );
    }
    rules.sort();
    rules
}
