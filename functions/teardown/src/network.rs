//! Network: in dependency order — network interfaces released, security groups (their
//! cross-references revoked first), subnets, route tables, the internet gateway (detached,
//! then deleted), the VPC. Only resources tagged with the stack are touched. What a
//! database that stays (`--keep-data`, or refused) still lives in is kept with it.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, IpPermission, UserIdGroupPair};
use vikunja_core::tags::Tier;
use vikunja_core::teardown::{Failure, Kept, PlannedTier, Resource};
use vikunja_core::{Error, ErrorClass, Result, SdkContext};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

#[derive(Debug, Default)]
pub struct Found {
    pub vpcs: Vec<String>,
    /// The network tier's own findings (`resources_network::observe`), every match.
    pub subnets: Vec<Subnet>,
    pub groups: Vec<SecurityGroup>,
    pub route_tables: Vec<RouteTable>,
    pub gateways: Vec<Gateway>,
    pub interfaces: Vec<Interface>,
    /// What still lives in the network, found through the other tiers' APIs.
    pub database: Option<String>,
    pub load_balancer: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Interface {
    pub id: String,
    pub subnet_id: String,
    pub description: String,
    pub ours: bool,
    pub available: bool,
    /// Made and released by an AWS service (a load balancer, a task, a database).
    pub managed: bool,
}

/// What happens to one network resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    Delete,
    Keep(String),
    /// Cannot go while something outside this tier stands: (reason, hint).
    Blocked(String, String),
}

use resources_network::ec2::tag_pairs as ec2_tags;
use resources_network::{Gateway, RouteTable, SecurityGroup, Subnet};

fn in_vpcs(vpcs: &[String]) -> Filter {
    Filter::builder()
        .name("vpc-id")
        .set_values(Some(vpcs.to_vec()))
        .build()
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    let ec2 = &clients.ec2;
    let stack = ctx.stack();
    // The network tier's own finder: what `up` made and `plan` shows, every match of it.
    let network = resources_network::observe(ec2, &ctx.names).await?;
    let mut found = Found {
        vpcs: network.vpcs.into_iter().map(|v| v.id).collect(),
        subnets: network.subnets,
        groups: network.groups,
        route_tables: network.route_tables,
        gateways: network.gateways,
        ..Found::default()
    };
    if !found.vpcs.is_empty() {
        let interfaces = ec2
            .describe_network_interfaces()
            .filters(in_vpcs(&found.vpcs))
            .send()
            .await
            .context(format!(
                "list network interfaces in the VPCs of stack {stack}"
            ))?;
        found.interfaces = interfaces
            .network_interfaces()
            .iter()
            .filter_map(|i| {
                let description = i.description().unwrap_or_default().to_string();
                Some(Interface {
                    id: i.network_interface_id()?.to_string(),
                    subnet_id: i.subnet_id().unwrap_or_default().to_string(),
                    ours: ctx.owns(ec2_tags(i.tag_set())),
                    available: i.status().map(|s| s.as_str()) == Some("available"),
                    managed: i.requester_managed() == Some(true)
                        || is_service_interface(&description),
                    description,
                })
            })
            .collect();
    }
    find_tenants(clients, ctx, &mut found).await?;
    Ok(found)
}

/// Interfaces AWS services create and delete themselves: waited for, never deleted.
fn is_service_interface(description: &str) -> bool {
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

/// The database, load balancer and service that live in the network, if they still exist.
async fn find_tenants(clients: &Clients, ctx: &Ctx, found: &mut Found) -> Result<()> {
    // Each tier's own finder: what stands in the network, ours or not, keeps its part of it.
    if resources_data::find_db_instance(&clients.rds, &ctx.names)
        .await?
        .is_some()
    {
        found.database = Some(ctx.names.db_instance());
    }
    if resources_loadbalancer::find_load_balancer(&clients.elb, &ctx.names)
        .await?
        .is_some()
    {
        found.load_balancer = Some(ctx.names.load_balancer());
    }
    if resources_backend::find_service(&clients.ecs, &ctx.names)
        .await?
        .is_some()
    {
        found.service = Some(ctx.names.service());
    }
    Ok(())
}

/// What the database needs, by the names the network tier gives: isolated subnets, their
/// route table and the `db` security group.
fn serves_database(ctx: &Ctx, name: &str) -> bool {
    let isolated = ctx.names.of(Tier::Network, "isolated");
    name == isolated
        || name.starts_with(&format!("{isolated}-"))
        || name == ctx.names.security_group("db")
}

fn serves_load_balancer(ctx: &Ctx, name: &str) -> bool {
    name.starts_with(&ctx.names.of(Tier::Network, "public-"))
        || name == ctx.names.security_group("lb")
}

fn serves_service(ctx: &Ctx, name: &str) -> bool {
    name.starts_with(&ctx.names.of(Tier::Network, "public-"))
        || name == ctx.names.security_group("app")
}

/// The fate of a subnet, security group or route table, from what still lives in it.
pub fn fate_of(found: &Found, ctx: &Ctx, name: &str) -> Fate {
    if let Some(db) = found
        .database
        .as_ref()
        .filter(|_| serves_database(ctx, name))
    {
        return Fate::Keep(if ctx.options.keep_data {
            format!("the kept database {db} lives in it (--keep-data)")
        } else {
            format!("database {db} stays (see the data tier), and lives in it")
        });
    }
    if let Some(lb) = found
        .load_balancer
        .as_ref()
        .filter(|_| serves_load_balancer(ctx, name))
    {
        return Fate::Blocked(
            format!("load balancer {lb} still uses it"),
            "once the load balancer is deleted (see the loadbalancer tier), run `vikunja-aws down` again".into(),
        );
    }
    if let Some(service) = found.service.as_ref().filter(|_| serves_service(ctx, name)) {
        return Fate::Blocked(
            format!("ECS service {service} still runs in it"),
            "once the service is deleted (see the backend tier), run `vikunja-aws down` again"
                .into(),
        );
    }
    Fate::Delete
}

fn gateway_fate(found: &Found) -> Fate {
    match &found.load_balancer {
        Some(lb) => Fate::Blocked(
            format!("internet-facing load balancer {lb} still uses it"),
            "once the load balancer is deleted, run `vikunja-aws down` again".into(),
        ),
        None => Fate::Delete,
    }
}

/// A VPC goes only when nothing of ours stays in it; what stays says why.
fn vpc_fate(found: &Found, ctx: &Ctx, vpc: &str) -> Fate {
    let subnets = found.subnets.iter().map(|s| (&s.id, &s.name, &s.vpc_id));
    let groups = found.groups.iter().map(|g| (&g.id, &g.name, &g.vpc_id));
    let tables = found
        .route_tables
        .iter()
        .map(|t| (&t.id, &t.name, &t.vpc_id));
    let staying: Vec<(String, Fate)> = subnets
        .chain(groups)
        .chain(tables)
        .filter(|(_, _, in_vpc)| in_vpc.as_str() == vpc)
        .map(|(id, name, _)| (id.clone(), fate_of(found, ctx, name)))
        .filter(|(_, fate)| *fate != Fate::Delete)
        .collect();
    if staying.is_empty() {
        return Fate::Delete;
    }
    let ids: Vec<&str> = staying.iter().map(|(id, _)| id.as_str()).collect();
    if staying.iter().all(|(_, f)| matches!(f, Fate::Keep(_))) {
        let why = match &staying[0].1 {
            Fate::Keep(why) => why.clone(),
            _ => String::new(),
        };
        return Fate::Keep(format!("{} stay in it: {why}", ids.join(", ")));
    }
    Fate::Blocked(
        format!("{} must go first", ids.join(", ")),
        "run `vikunja-aws down` again once they are gone".into(),
    )
}

fn resource(kind: &str, id: &str, name: &str) -> Resource {
    Resource {
        kind: kind.into(),
        id: if name.is_empty() {
            id.to_string()
        } else {
            format!("{id} ({name})")
        },
    }
}

pub fn plan(found: &Found, ctx: &Ctx) -> PlannedTier {
    let mut tier = PlannedTier {
        tier: "network".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut place = |kind: &str, id: &str, name: &str, fate: Fate| match fate {
        Fate::Delete => tier.delete.push(resource(kind, id, name)),
        Fate::Keep(reason) => tier.keep.push(Kept {
            kind: kind.into(),
            id: id.into(),
            reason,
        }),
        Fate::Blocked(reason, hint) => tier.refuse.push(Failure {
            kind: kind.into(),
            id: id.into(),
            reason,
            hint,
        }),
    };
    for i in found.interfaces.iter().filter(|i| i.ours && i.available) {
        place("network interface", &i.id, "", Fate::Delete);
    }
    for g in &found.groups {
        place(
            "security group",
            &g.id,
            &g.name,
            fate_of(found, ctx, &g.name),
        );
    }
    for s in &found.subnets {
        place("subnet", &s.id, &s.name, fate_of(found, ctx, &s.name));
    }
    for t in &found.route_tables {
        place("route table", &t.id, &t.name, fate_of(found, ctx, &t.name));
    }
    for g in &found.gateways {
        place("internet gateway", &g.id, "", gateway_fate(found));
    }
    for v in &found.vpcs {
        place("vpc", v, "", vpc_fate(found, ctx, v));
    }
    tier
}

/// What this call could not finish in each VPC, so the VPC itself is not attempted.
#[derive(Default)]
struct Leftovers {
    by_vpc: BTreeMap<String, BTreeSet<String>>,
}

impl Leftovers {
    fn add(&mut self, vpc: &str, id: &str) {
        self.by_vpc
            .entry(vpc.to_string())
            .or_default()
            .insert(id.to_string());
    }
    fn of(&self, vpc: &str) -> Vec<String> {
        self.by_vpc
            .get(vpc)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    let mut left = Leftovers::default();
    let subnet_vpc: BTreeMap<&str, &str> = found
        .subnets
        .iter()
        .map(|s| (s.id.as_str(), s.vpc_id.as_str()))
        .collect();

    // 1. Network interfaces in subnets that go: ours are deleted, AWS's are waited for,
    //    anyone else's block their subnet.
    let mut blocked_subnets: BTreeMap<String, String> = BTreeMap::new();
    for i in &found.interfaces {
        let Some(subnet) = found.subnets.iter().find(|s| s.id == i.subnet_id) else {
            continue;
        };
        if fate_of(&found, ctx, &subnet.name) != Fate::Delete {
            continue;
        }
        if i.ours && i.available {
            let deleted = clients
                .ec2
                .delete_network_interface()
                .network_interface_id(&i.id)
                .send()
                .await
                .context(format!("delete network interface {}", i.id));
            if !step.record("network interface", &i.id, deleted.map(|_| ())) {
                blocked_subnets.insert(
                    subnet.id.clone(),
                    format!("network interface {} could not be deleted", i.id),
                );
            }
        } else if i.managed {
            step.wait(format!(
                "AWS to release network interface {} ({})",
                i.id, i.description
            ));
            blocked_subnets.insert(subnet.id.clone(), String::new());
        } else {
            blocked_subnets.insert(
                subnet.id.clone(),
                format!(
                    "network interface {} ({}) not created by this stack is in it",
                    i.id,
                    if i.description.is_empty() {
                        "no description"
                    } else {
                        &i.description
                    }
                ),
            );
        }
    }

    // 2. Security groups: first the rules by which ours refer to each other, then the groups.
    let doomed: BTreeSet<&str> = found
        .groups
        .iter()
        .filter(|g| fate_of(&found, ctx, &g.name) == Fate::Delete)
        .map(|g| g.id.as_str())
        .collect();
    for group in &found.groups {
        revoke_references(clients, group, &doomed, step).await;
    }
    for group in &found.groups {
        let p = group;
        match fate_of(&found, ctx, &p.name) {
            Fate::Delete => {
                let deleted = clients
                    .ec2
                    .delete_security_group()
                    .group_id(&p.id)
                    .send()
                    .await
                    .context(format!("delete security group {}", p.name));
                if !settle(step, "security group", &p.id, deleted.map(|_| ()), &found) {
                    left.add(&p.vpc_id, &p.id);
                }
            }
            fate => {
                note(step, "security group", &p.id, fate);
                left.add(&p.vpc_id, &p.id);
            }
        }
    }

    // 3. Subnets.
    for s in &found.subnets {
        match (fate_of(&found, ctx, &s.name), blocked_subnets.get(&s.id)) {
            (Fate::Delete, Some(reason)) => {
                if !reason.is_empty() {
                    step.failed(
                        "subnet",
                        &s.id,
                        reason.clone(),
                        "delete or move that network interface, then run `vikunja-aws down` again",
                    );
                }
                left.add(&s.vpc_id, &s.id);
            }
            (Fate::Delete, None) => {
                let deleted = clients
                    .ec2
                    .delete_subnet()
                    .subnet_id(&s.id)
                    .send()
                    .await
                    .context(format!("delete subnet {}", s.name));
                if !settle(step, "subnet", &s.id, deleted.map(|_| ()), &found) {
                    left.add(&s.vpc_id, &s.id);
                }
            }
            (fate, _) => {
                note(step, "subnet", &s.id, fate);
                left.add(&s.vpc_id, &s.id);
            }
        }
    }

    // 4. Route tables: their associations with our subnets first.
    for t in &found.route_tables {
        let p = t;
        let fate = fate_of(&found, ctx, &p.name);
        if fate != Fate::Delete {
            note(step, "route table", &p.id, fate);
            left.add(&p.vpc_id, &p.id);
            continue;
        }
        for (association, subnet) in &t.associations {
            if !subnet_vpc.contains_key(subnet.as_str()) {
                continue; // someone else's subnet: the delete below says so
            }
            let _ = clients
                .ec2
                .disassociate_route_table()
                .association_id(association)
                .send()
                .await;
        }
        let deleted = clients
            .ec2
            .delete_route_table()
            .route_table_id(&p.id)
            .send()
            .await
            .context(format!("delete route table {}", p.name));
        if !settle(step, "route table", &p.id, deleted.map(|_| ()), &found) {
            left.add(&p.vpc_id, &p.id);
        }
    }

    // 5. Internet gateways: detached from our VPCs, then deleted.
    for g in &found.gateways {
        if let fate @ (Fate::Keep(_) | Fate::Blocked(..)) = gateway_fate(&found) {
            note(step, "internet gateway", &g.id, fate);
            g.attached_to.iter().for_each(|v| left.add(v, &g.id));
            continue;
        }
        if retire_gateway(clients, &found, g, step).await.is_err() {
            g.attached_to.iter().for_each(|v| left.add(v, &g.id));
        }
    }

    // 6. VPCs, once nothing of ours is left in them.
    for vpc in &found.vpcs {
        let leftovers = left.of(vpc);
        if !leftovers.is_empty() {
            if let Fate::Keep(reason) = vpc_fate(&found, ctx, vpc) {
                step.kept("vpc", vpc, reason);
            } else if !step.is_waiting() {
                step.failed(
                    "vpc",
                    vpc,
                    format!("{} could not be deleted first", leftovers.join(", ")),
                    "see those resources above; then run `vikunja-aws down` again",
                );
            }
            continue;
        }
        let deleted = clients
            .ec2
            .delete_vpc()
            .vpc_id(vpc)
            .send()
            .await
            .context(format!("delete VPC {vpc}"));
        match deleted {
            Err(error) if error.is(ErrorClass::InUse) => {
                let strangers = strangers_in(clients, ctx, vpc).await;
                step.failed(
                    "vpc",
                    vpc,
                    crate::step::reason_of(&error),
                    if strangers.is_empty() {
                        crate::step::hint_for(&error)
                    } else {
                        format!(
                            "it holds resources this stack did not create: {}; delete or move them, then run `vikunja-aws down` again",
                            strangers.join(", ")
                        )
                    },
                );
            }
            other => {
                step.record("vpc", vpc, other.map(|_| ()));
            }
        }
    }
    Ok(())
}

/// Records a kept or blocked resource.
fn note(step: &mut Step, kind: &str, id: &str, fate: Fate) {
    match fate {
        Fate::Keep(reason) => step.kept(kind, id, reason),
        Fate::Blocked(reason, hint) => step.failed(kind, id, reason, hint),
        Fate::Delete => {}
    }
}

/// A delete's outcome; a dependency violation while AWS still holds interfaces in the
/// network is a wait, not a failure. True when the resource is gone.
fn settle(step: &mut Step, kind: &str, id: &str, result: Result<()>, found: &Found) -> bool {
    match result {
        Err(error) if error.is(ErrorClass::InUse) && found.interfaces.iter().any(|i| i.managed) => {
            step.wait(format!("{kind} {id} to be released by AWS"));
            false
        }
        other => step.record(kind, id, other),
    }
}

/// Revokes the ingress rules of `group` that name a group about to be deleted (AWS refuses
/// to delete a group another one refers to).
async fn revoke_references(
    clients: &Clients,
    group: &SecurityGroup,
    doomed: &BTreeSet<&str>,
    step: &mut Step,
) {
    let mut revoke = Vec::new();
    for permission in &group.ingress_permissions {
        let pairs: Vec<UserIdGroupPair> = permission
            .user_id_group_pairs()
            .iter()
            .filter(|p| p.group_id().is_some_and(|id| doomed.contains(id)))
            .map(|p| {
                UserIdGroupPair::builder()
                    .set_group_id(p.group_id().map(str::to_string))
                    .build()
            })
            .collect();
        if pairs.is_empty() {
            continue;
        }
        revoke.push(
            IpPermission::builder()
                .set_ip_protocol(permission.ip_protocol().map(str::to_string))
                .set_from_port(permission.from_port())
                .set_to_port(permission.to_port())
                .set_user_id_group_pairs(Some(pairs))
                .build(),
        );
    }
    if revoke.is_empty() {
        return;
    }
    let revoked = clients
        .ec2
        .revoke_security_group_ingress()
        .group_id(&group.id)
        .set_ip_permissions(Some(revoke))
        .send()
        .await
        .context(format!(
            "revoke references in security group {}",
            group.name
        ));
    if let Err(error) = revoked {
        if !error.is(ErrorClass::NotFound) {
            step.refused("security group rule", &group.id, &error);
        }
    }
}

async fn retire_gateway(
    clients: &Clients,
    found: &Found,
    g: &Gateway,
    step: &mut Step,
) -> Result<()> {
    for vpc in &g.attached_to {
        if !found.vpcs.contains(vpc) {
            step.failed(
                "internet gateway",
                &g.id,
                format!("attached to {vpc}, which this stack did not create"),
                "detach it yourself if it should go, then run `vikunja-aws down` again",
            );
            return Err(Error::conflict("foreign attachment"));
        }
        let detached = clients
            .ec2
            .detach_internet_gateway()
            .internet_gateway_id(&g.id)
            .vpc_id(vpc)
            .send()
            .await
            .context(format!("detach internet gateway {} from {vpc}", g.id));
        match detached {
            Ok(_) => {}
            Err(error) if error.is(ErrorClass::NotFound) => {}
            // Public addresses (a load balancer's, a task's) are still mapped in the VPC.
            Err(error) if error.is(ErrorClass::InUse) => {
                step.wait(format!(
                    "internet gateway {} to be detachable (public addresses still mapped)",
                    g.id
                ));
                return Err(error);
            }
            Err(error) => {
                step.refused("internet gateway", &g.id, &error);
                return Err(error);
            }
        }
    }
    let deleted = clients
        .ec2
        .delete_internet_gateway()
        .internet_gateway_id(&g.id)
        .send()
        .await
        .context(format!("delete internet gateway {}", g.id));
    if step.record("internet gateway", &g.id, deleted.map(|_| ())) {
        Ok(())
    } else {
        Err(Error::conflict("gateway not deleted"))
    }
}

/// What in the VPC was not made by this stack, to name it when AWS refuses the VPC.
async fn strangers_in(clients: &Clients, ctx: &Ctx, vpc: &str) -> Vec<String> {
    let filter = || in_vpcs(&[vpc.to_string()]);
    let ec2 = &clients.ec2;
    let mut strangers = Vec::new();
    if let Ok(out) = ec2.describe_subnets().filters(filter()).send().await {
        strangers.extend(
            out.subnets()
                .iter()
                .filter(|s| !ctx.owns(ec2_tags(s.tags())))
                .filter_map(|s| s.subnet_id().map(|id| format!("subnet {id}"))),
        );
    }
    if let Ok(out) = ec2
        .describe_security_groups()
        .filters(filter())
        .send()
        .await
    {
        strangers.extend(
            out.security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default") && !ctx.owns(ec2_tags(g.tags())))
                .filter_map(|g| g.group_id().map(|id| format!("security group {id}"))),
        );
    }
    if let Ok(out) = ec2.describe_route_tables().filters(filter()).send().await {
        strangers.extend(
            out.route_tables()
                .iter()
                .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
                .filter(|t| !ctx.owns(ec2_tags(t.tags())))
                .filter_map(|t| t.route_table_id().map(|id| format!("route table {id}"))),
        );
    }
    if let Ok(out) = ec2
        .describe_network_interfaces()
        .filters(filter())
        .send()
        .await
    {
        strangers.extend(
            out.network_interfaces()
                .iter()
                .filter(|i| !ctx.owns(ec2_tags(i.tag_set())))
                .filter_map(|i| {
                    i.network_interface_id()
                        .map(|id| format!("network interface {id}"))
                }),
        );
    }
    let attached = Filter::builder()
        .name("attachment.vpc-id")
        .values(vpc)
        .build();
    if let Ok(out) = ec2
        .describe_internet_gateways()
        .filters(attached)
        .send()
        .await
    {
        strangers.extend(
            out.internet_gateways()
                .iter()
                .filter(|g| !ctx.owns(ec2_tags(g.tags())))
                .filter_map(|g| {
                    g.internet_gateway_id()
                        .map(|id| format!("internet gateway {id}"))
                }),
        );
    }
    strangers
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use vikunja_core::teardown::TeardownOptions;

    use super::*;

    fn stack() -> Found {
        let vpc_id = || "vpc-1".to_string();
        let subnet = |id: &str, name: &str| Subnet {
            id: id.into(),
            name: name.into(),
            vpc_id: vpc_id(),
            ..Subnet::default()
        };
        let table = |id: &str, name: &str| RouteTable {
            id: id.into(),
            name: name.into(),
            vpc_id: vpc_id(),
            ..RouteTable::default()
        };
        Found {
            vpcs: vec![vpc_id()],
            subnets: vec![
                subnet("subnet-p", "v-network-public-a"),
                subnet("subnet-i", "v-network-isolated-a"),
            ],
            groups: ["lb", "app", "db"]
                .iter()
                .map(|r| SecurityGroup {
                    id: format!("sg-{r}"),
                    name: format!("v-network-{r}"),
                    vpc_id: vpc_id(),
                    ..SecurityGroup::default()
                })
                .collect(),
            route_tables: vec![
                table("rtb-p", "v-network-public"),
                table("rtb-i", "v-network-isolated"),
            ],
            gateways: vec![Gateway {
                id: "igw-1".into(),
                attached_to: vec![vpc_id()],
                ..Gateway::default()
            }],
            ..Found::default()
        }
    }

    fn ctx(keep_data: bool) -> Ctx {
        let mut options = TeardownOptions::new("v");
        options.keep_data = keep_data;
        Ctx::new(options, "1", "us-east-1", Instant::now())
    }

    fn ids(resources: &[Resource]) -> Vec<String> {
        resources
            .iter()
            .map(|r| r.id.split(' ').next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn an_empty_network_goes_entirely() {
        let plan = plan(&stack(), &ctx(false));
        assert_eq!(
            ids(&plan.delete),
            vec![
                "sg-lb", "sg-app", "sg-db", "subnet-p", "subnet-i", "rtb-p", "rtb-i", "igw-1",
                "vpc-1"
            ]
        );
        assert!(plan.keep.is_empty() && plan.refuse.is_empty());
    }

    #[test]
    fn a_kept_database_keeps_what_it_lives_in() {
        let mut found = stack();
        found.database = Some("v-data-mysql".into());
        let plan = plan(&found, &ctx(true));
        assert_eq!(
            ids(&plan.delete),
            vec!["sg-lb", "sg-app", "subnet-p", "rtb-p", "igw-1"]
        );
        let kept: Vec<&str> = plan.keep.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(kept, vec!["sg-db", "subnet-i", "rtb-i", "vpc-1"]);
        assert!(
            plan.keep[3].reason.contains("--keep-data"),
            "{}",
            plan.keep[3].reason
        );
    }

    #[test]
    fn a_load_balancer_left_standing_blocks_its_side_of_the_network() {
        let mut found = stack();
        found.load_balancer = Some("v-nlb".into());
        let plan = plan(&found, &ctx(false));
        let refused: Vec<&str> = plan.refuse.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(refused, vec!["sg-lb", "subnet-p", "igw-1", "vpc-1"]);
        assert!(ids(&plan.delete).contains(&"subnet-i".to_string()));
    }

    #[test]
    fn service_interfaces_are_recognised() {
        assert!(is_service_interface("ELB net/v-nlb/50dc6c495c0c9188"));
        assert!(is_service_interface("RDSNetworkInterface"));
        assert!(!is_service_interface("my own interface"));
    }
}
