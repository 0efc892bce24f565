//! Network: in dependency order — network interfaces released, security groups (their
//! cross-references revoked first), subnets, route tables, the internet gateway (detached,
//! then deleted), the VPC. Only resources tagged with the stack are touched. What a
//! database that stays (`--keep-data`, or refused) still lives in is kept with it. The
//! findings, the fates and the deletes are the network library's (`resources_network`);
//! this step records each outcome and decides what waits.

use std::collections::{BTreeMap, BTreeSet};

use resources::found::Outcome;
use resources_network::retire::{self, gateway_fate, vpc_fate, Fate, Tenants};
use resources_network::{Gateway, Interface};
use vikunja_core::teardown::PlannedTier;
use vikunja_core::{ErrorClass, Result};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

#[derive(Debug, Default)]
pub struct Found {
    pub network: resources_network::Found,
    pub interfaces: Vec<Interface>,
    pub tenants: Tenants,
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    let (ec2, names) = (&clients.ec2, &ctx.names);
    let network = resources_network::observe(ec2, names).await?;
    let vpcs: Vec<String> = network.vpcs.iter().map(|v| v.id.clone()).collect();
    let interfaces = resources_network::observe_interfaces(ec2, names, &vpcs).await?;
    // Each tier's own finder: what stands in the network, ours or not, keeps its part of it.
    let database = resources_data::find_db_instance(&clients.rds, names).await?;
    let load_balancer = resources_loadbalancer::find_load_balancer(&clients.elb, names).await?;
    let service = resources_backend::find_service(&clients.ecs, names).await?;
    let tenants = Tenants {
        database: database.map(|_| names.db_instance()),
        load_balancer: load_balancer.map(|_| names.load_balancer()),
        service: service.map(|_| names.service()),
        keep_data: ctx.options.keep_data,
    };
    Ok(Found {
        network,
        interfaces,
        tenants,
    })
}

pub fn plan(found: &Found, ctx: &Ctx) -> PlannedTier {
    retire::retire(
        &ctx.names,
        &found.network,
        &found.interfaces,
        &found.tenants,
    )
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
    let (ec2, names, network) = (&clients.ec2, &ctx.names, &found.network);
    let fate = |name: &str| retire::fate_of(names, &found.tenants, name);
    let mut left = Leftovers::default();
    let our_subnets: BTreeSet<&str> = network.subnets.iter().map(|s| s.id.as_str()).collect();

    // 1. Network interfaces in subnets that go: ours are deleted, AWS's are waited for,
    //    anyone else's block their subnet.
    let mut blocked_subnets: BTreeMap<String, String> = BTreeMap::new();
    for i in &found.interfaces {
        let Some(subnet) = network.subnets.iter().find(|s| s.id == i.subnet_id) else {
            continue;
        };
        if fate(&subnet.name) != Fate::Delete {
            continue;
        }
        if i.ours && i.available {
            let deleted = retire::delete_interface(ec2, &i.id).await;
            if !step.record("network interface", &i.id, deleted) {
                let why = format!("network interface {} could not be deleted", i.id);
                blocked_subnets.insert(subnet.id.clone(), why);
            }
        } else if i.managed {
            let what = format!(
                "AWS to release network interface {} ({})",
                i.id, i.description
            );
            step.wait(what);
            blocked_subnets.insert(subnet.id.clone(), String::new());
        } else {
            let description = match i.description.as_str() {
                "" => "no description",
                d => d,
            };
            let why = format!(
                "network interface {} ({description}) not created by this stack is in it",
                i.id
            );
            blocked_subnets.insert(subnet.id.clone(), why);
        }
    }

    // 2. Security groups: first the rules by which ours refer to each other, then the groups.
    let doomed: BTreeSet<&str> = network
        .groups
        .iter()
        .filter(|g| fate(&g.name) == Fate::Delete)
        .map(|g| g.id.as_str())
        .collect();
    for group in &network.groups {
        if let Err(error) = retire::revoke_references(ec2, group, &doomed).await {
            step.refused("security group rule", &group.id, &error);
        }
    }
    for g in &network.groups {
        let gone = match fate(&g.name) {
            Fate::Delete => {
                let deleted = retire::delete_security_group(ec2, g).await;
                settle(step, "security group", &g.id, deleted, &found)
            }
            other => note(step, "security group", &g.id, other),
        };
        if !gone {
            left.add(&g.vpc_id, &g.id);
        }
    }

    // 3. Subnets.
    for s in &network.subnets {
        let gone = match (fate(&s.name), blocked_subnets.get(&s.id)) {
            (Fate::Delete, Some(reason)) => {
                if !reason.is_empty() {
                    let hint =
                        "delete or move that network interface, then run `vikunja-aws down` again";
                    step.failed("subnet", &s.id, reason.clone(), hint);
                }
                false
            }
            (Fate::Delete, None) => {
                let deleted = retire::delete_subnet(ec2, &s.id, &s.name).await;
                settle(step, "subnet", &s.id, deleted, &found)
            }
            (other, _) => note(step, "subnet", &s.id, other),
        };
        if !gone {
            left.add(&s.vpc_id, &s.id);
        }
    }

    // 4. Route tables: their associations with our subnets first.
    for t in &network.route_tables {
        let gone = match fate(&t.name) {
            Fate::Delete => {
                let deleted = retire::delete_route_table(ec2, t, |s| our_subnets.contains(s));
                settle(step, "route table", &t.id, deleted.await, &found)
            }
            other => note(step, "route table", &t.id, other),
        };
        if !gone {
            left.add(&t.vpc_id, &t.id);
        }
    }

    // 5. Internet gateways: detached from our VPCs, then deleted.
    for g in &network.gateways {
        let gone = match gateway_fate(&found.tenants) {
            Fate::Delete => retire_gateway(ec2, network, g, step).await,
            other => note(step, "internet gateway", &g.id, other),
        };
        if !gone {
            g.attached_to.iter().for_each(|v| left.add(v, &g.id));
        }
    }

    // 6. VPCs, once nothing of ours is left in them.
    for vpc in network.vpcs.iter().map(|v| v.id.as_str()) {
        let leftovers = left.of(vpc);
        if !leftovers.is_empty() {
            if let Fate::Keep(reason) = vpc_fate(names, network, &found.tenants, vpc) {
                step.kept("vpc", vpc, reason);
            } else if !step.is_waiting() {
                let why = format!("{} could not be deleted first", leftovers.join(", "));
                let hint = "see those resources above; then run `vikunja-aws down` again";
                step.failed("vpc", vpc, why, hint);
            }
            continue;
        }
        match retire::delete_vpc(ec2, vpc).await {
            Err(error) if error.is(ErrorClass::InUse) => {
                // Naming them is a courtesy: a failed listing leaves AWS's own hint.
                let strangers = resources_network::strangers_in(ec2, names, vpc).await;
                let hint = match strangers.unwrap_or_default() {
                    s if s.is_empty() => crate::step::hint_for(&error),
                    s => format!(
                        "it holds resources this stack did not create: {}; delete or move them, then run `vikunja-aws down` again",
                        s.join(", ")
                    ),
                };
                step.failed("vpc", vpc, crate::step::reason_of(&error), hint);
            }
            other => {
                step.record("vpc", vpc, other);
            }
        }
    }
    Ok(())
}

/// Records a kept or blocked resource: it is not gone.
fn note(step: &mut Step, kind: &str, id: &str, fate: Fate) -> bool {
    match fate {
        Fate::Keep(reason) => step.kept(kind, id, reason),
        Fate::Blocked(reason, hint) => step.failed(kind, id, reason, hint),
        Fate::Delete => {}
    }
    false
}

/// A delete's outcome; a dependency violation while AWS still holds interfaces in the
/// network is a wait, not a failure. True when the resource is gone.
fn settle(step: &mut Step, kind: &str, id: &str, result: Result<Outcome>, found: &Found) -> bool {
    match result {
        Err(error) if error.is(ErrorClass::InUse) && found.interfaces.iter().any(|i| i.managed) => {
            step.wait(format!("{kind} {id} to be released by AWS"));
            false
        }
        other => step.record(kind, id, other),
    }
}

/// Detached from the stack's VPCs, then deleted; true when it is gone.
async fn retire_gateway(
    ec2: &aws_sdk_ec2::Client,
    network: &resources_network::Found,
    g: &Gateway,
    step: &mut Step,
) -> bool {
    for vpc in &g.attached_to {
        if !network.vpcs.iter().any(|v| &v.id == vpc) {
            step.failed(
                "internet gateway",
                &g.id,
                format!("attached to {vpc}, which this stack did not create"),
                "detach it yourself if it should go, then run `vikunja-aws down` again",
            );
            return false;
        }
        match retire::detach_gateway(ec2, &g.id, vpc).await {
            Ok(_) => {}
            // Public addresses (a load balancer's, a task's) are still mapped in the VPC.
            Err(error) if error.is(ErrorClass::InUse) => {
                step.wait(format!(
                    "internet gateway {} to be detachable (public addresses still mapped)",
                    g.id
                ));
                return false;
            }
            Err(error) => {
                step.refused("internet gateway", &g.id, &error);
                return false;
            }
        }
    }
    let deleted = retire::delete_gateway(ec2, &g.id).await;
    step.record("internet gateway", &g.id, deleted)
}
