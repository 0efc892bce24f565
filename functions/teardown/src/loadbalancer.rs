//! Load balancer: the library's findings against nothing (`resources_loadbalancer::retire`)
//! — the Network Load Balancer (its listeners go with it), then the blue and green target
//! groups, which stay "in use" until the load balancer is gone.

use resources_loadbalancer::{Found, Op, Spec};
use vikunja_core::tags::Tier;
use vikunja_core::teardown::PlannedTier;
use vikunja_core::{inventory, ErrorClass, LoadBalancerOutputs, Result};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

/// The tier as `up` and `plan` find it, and any target group an older inventory recorded
/// under another name.
pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    let elb = &clients.elb;
    let mut found = resources_loadbalancer::observe(elb, &ctx.names).await?;
    let recorded: Option<LoadBalancerOutputs> =
        inventory::read_if_valid(&clients.ssm, ctx.stack(), Tier::LoadBalancer).await?;
    let standard = [
        ctx.names.target_group("blue"),
        ctx.names.target_group("green"),
    ];
    let others = recorded
        .iter()
        .flat_map(|r| [&r.blue_target_group_name, &r.green_target_group_name])
        .filter(|name| !name.is_empty() && !standard.contains(name));
    for name in others {
        if let Some(group) =
            resources_loadbalancer::find_target_group(elb, ctx.stack(), name).await?
        {
            found.target_groups.insert(name.clone(), group);
        }
    }
    Ok(found)
}

/// Whether teardown deletes the load balancer (it is the stack's).
pub fn deletes_load_balancer(found: &Found) -> bool {
    found.nlb.as_ref().is_some_and(|lb| lb.ours)
}

pub fn plan(found: &Found, ctx: &Ctx) -> PlannedTier {
    resources_loadbalancer::retire(&Spec::new(ctx.names.clone()), found).0
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    let spec = Spec::new(ctx.names.clone());
    let (planned, ops) = resources_loadbalancer::retire(&spec, &found);
    for kept in &planned.keep {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    let lb = ctx.names.load_balancer();
    for op in &ops {
        let deleted = resources_loadbalancer::delete(&clients.elb, op).await;
        match op {
            Op::DeleteLoadBalancer { .. } => {
                if !step.record("load balancer", &lb, deleted) {
                    refuse_target_groups(&ops, &lb, step);
                    return Ok(());
                }
                for port in found.listeners.keys() {
                    step.deleted("listener", format!("{lb}:{port}"));
                }
            }
            Op::DeleteTargetGroup { name, .. } => match deleted {
                // Freed a moment after its load balancer is deleted.
                Err(error) if error.is(ErrorClass::InUse) => {
                    step.wait(format!("target group {name} to be released"))
                }
                other => {
                    step.record("target group", name, other);
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// The target groups stay in use while the load balancer stands.
fn refuse_target_groups(ops: &[Op], lb: &str, step: &mut Step) {
    for op in ops {
        if let Op::DeleteTargetGroup { name, .. } = op {
            step.failed(
                "target group",
                name,
                format!("in use by load balancer {lb}, which could not be deleted"),
                "once the load balancer is deleted, run `vikunja-aws down` again",
            );
        }
    }
}
