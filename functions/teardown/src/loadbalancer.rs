//! Load balancer: the Network Load Balancer (its listeners go with it), then the blue and
//! green target groups, which stay "in use" until the load balancer is gone.

use aws_sdk_elasticloadbalancingv2::Client;
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

async fn is_ours(elb: &Client, ctx: &Ctx, arn: &str) -> Result<bool> {
    let described = elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .context(format!("read tags of {arn}"))?;
    Ok(ctx.owns(
        described
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .filter_map(|t| Some((t.key()?, t.value()?))),
    ))
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
    match elb.describe_load_balancers().names(&name).send().await {
        Ok(out) => {
            if let Some(arn) = out
                .load_balancers()
                .first()
                .and_then(|l| l.load_balancer_arn())
            {
                if is_ours(elb, ctx, arn).await? {
                    let listeners = elb
                        .describe_listeners()
                        .load_balancer_arn(arn)
                        .send()
                        .await
                        .context(format!("list listeners of {name}"))?;
                    found.load_balancer = Some(LoadBalancer {
                        name: name.clone(),
                        arn: arn.to_string(),
                        listeners: listeners
                            .listeners()
                            .iter()
                            .filter_map(|l| l.port().map(|p| format!("{name}:{p}")))
                            .collect(),
                    });
                } else {
                    found.not_ours.push(not_ours("load balancer", &name, ctx));
                }
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_load_balancer_not_found_exception()) => {}
        Err(e) => return Err(e).context(format!("find load balancer {name}")),
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
        // One name per call: a call naming a missing group fails as a whole.
        match elb.describe_target_groups().names(&group).send().await {
            Ok(out) => {
                if let Some(arn) = out
                    .target_groups()
                    .first()
                    .and_then(|g| g.target_group_arn())
                {
                    if is_ours(elb, ctx, arn).await? {
                        found.target_groups.push((group, arn.to_string()));
                    } else {
                        found.not_ours.push(not_ours("target group", &group, ctx));
                    }
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_target_group_not_found_exception()) => {}
            Err(e) => return Err(e).context(format!("find target group {group}")),
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
