//! Load balancer: the Network Load Balancer (its listeners go with it), then the blue and
//! green target groups, which stay "in use" until the load balancer is gone.

use vikunja_core::tags::Tier;
use vikunja_core::teardown::{Kept, PlannedTier, Resource};
use vikunja_core::{inventory, ErrorClass, LoadBalancerOutputs, Result, SdkContext};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

#[derive(Debug, Default)]
pub struct Found {
    pub load_balancer: Option<LoadBalancer>,
    pub target_groups: Vec<(String, String)>,
    pub not_ours: Vec<Kept>,
}

#[derive(Debug)]
pub struct LoadBalancer {
    pub name: String,
    pub arn: String,
    pub listeners: Vec<String>,
}

fn not_ours(kind: &str, id: &str, ctx: &Ctx) -> Kept {
    Kept {
        kind: kind.into(),
        id: id.into(),
        reason: format!(
            "not tagged {}={}: not this stack's, never touched",
            vikunja_core::tags::STACK,
            ctx.stack()
        ),
    }
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    let elb = &clients.elb;
    let mut found = Found::default();
    let recorded: Option<LoadBalancerOutputs> =
        inventory::read_if_valid(&clients.ssm, ctx.stack(), Tier::LoadBalancer).await?;
    let name = ctx.names.load_balancer();
    // The tier's own finders (`resources_loadbalancer`), as `up` and `plan` use them.
    match resources_loadbalancer::find_load_balancer(elb, &ctx.names).await? {
        Some(nlb) if nlb.ours => {
            let listeners = resources_loadbalancer::find_listeners(elb, &nlb.arn).await?;
            found.load_balancer = Some(LoadBalancer {
                name: name.clone(),
                arn: nlb.arn,
                listeners: listeners.keys().map(|p| format!("{name}:{p}")).collect(),
            });
        }
        Some(_) => found.not_ours.push(not_ours("load balancer", &name, ctx)),
        None => {}
    }
    let mut names = vec![
        ctx.names.target_group("blue"),
        ctx.names.target_group("green"),
    ];
    if let Some(r) = &recorded {
        names.push(r.blue_target_group_name.clone());
        names.push(r.green_target_group_name.clone());
    }
    names.sort();
    names.dedup();
    for group in names.into_iter().filter(|n| !n.is_empty()) {
        match resources_loadbalancer::find_target_group(elb, ctx.stack(), &group).await? {
            Some(found_group) if found_group.ours => {
                found.target_groups.push((group, found_group.arn));
            }
            Some(_) => found.not_ours.push(not_ours("target group", &group, ctx)),
            None => {}
        }
    }
    Ok(found)
}

pub fn plan(found: &Found) -> PlannedTier {
    let mut delete = Vec::new();
    if let Some(lb) = &found.load_balancer {
        delete.push(Resource {
            kind: "load balancer".into(),
            id: lb.name.clone(),
        });
        delete.extend(lb.listeners.iter().map(|l| Resource {
            kind: "listener".into(),
            id: l.clone(),
        }));
    }
    delete.extend(found.target_groups.iter().map(|(name, _)| Resource {
        kind: "target group".into(),
        id: name.clone(),
    }));
    PlannedTier {
        tier: "loadbalancer".into(),
        delete,
        keep: found.not_ours.clone(),
        refuse: vec![],
    }
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    for kept in &found.not_ours {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    if let Some(lb) = &found.load_balancer {
        let deleted = clients
            .elb
            .delete_load_balancer()
            .load_balancer_arn(&lb.arn)
            .send()
            .await
            .context(format!("delete load balancer {}", lb.name));
        if step.record("load balancer", &lb.name, deleted.map(|_| ())) {
            for listener in &lb.listeners {
                step.deleted("listener", listener);
            }
        } else {
            // The target groups stay in use while the load balancer stands.
            for (name, _) in &found.target_groups {
                step.failed(
                    "target group",
                    name,
                    format!(
                        "in use by load balancer {}, which could not be deleted",
                        lb.name
                    ),
                    "once the load balancer is deleted, run `vikunja-aws down` again",
                );
            }
            return Ok(());
        }
    }
    for (name, arn) in &found.target_groups {
        let deleted = clients
            .elb
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
            .context(format!("delete target group {name}"));
        match deleted {
            // Freed a moment after its load balancer is deleted.
            Err(error) if error.is(ErrorClass::InUse) => {
                step.wait(format!("target group {name} to be released"))
            }
            other => {
                step.record("target group", name, other.map(|_| ()));
            }
        }
    }
    Ok(())
}
