//! The one finder of every network resource: what is tagged with the stack and the tier,
//! paginated, read-only (Describe calls only).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{IpPermission, VpcAttributeName};
use aws_sdk_ec2::Client;
use vikunja_core::tags::Tier;
use vikunja_core::{Names, Result, SdkContext};

use super::CLOUDFRONT_ORIGIN_FACING;
use super::{Found, Gateway, Region, RouteTable, Rule, SecurityGroup, Subnet, Vpc};
use crate::ec2::{filter, name_tag, ours};

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

/// A Describe call of the stack's resources (its tags), every page of it.
macro_rules! all_ours {
    ($request:expr, $filters:expr, $what:expr) => {{
        let [by_stack, by_tier] = $filters;
        $request
            .filters(by_stack)
            .filters(by_tier)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context($what)
    }};
}

/// Everything of the stack's network tier.
pub async fn observe(ec2: &Client, names: &Names) -> Result<Found> {
    let stack = names.stack();
    let vpcs = all_ours!(
        ec2.describe_vpcs(),
        ours(stack, Tier::Network),
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
    let subnets = all_ours!(
        ec2.describe_subnets(),
        ours(stack, Tier::Network),
        format!("find subnets of stack {stack}")
    )?;
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
    let gateways = all_ours!(
        ec2.describe_internet_gateways(),
        ours(stack, Tier::Network),
        format!("find internet gateways of stack {stack}")
    )?;
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
    let groups = all_ours!(
        ec2.describe_security_groups(),
        ours(stack, Tier::Network),
        format!("find security groups of stack {stack}")
    )?;
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
    let tables = ec2
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .set_values(Some(vpc_ids))
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list route tables of stack {stack}'s VPC"))?;
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
