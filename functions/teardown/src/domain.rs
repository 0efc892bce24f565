//! The own domain: the library's findings against nothing (`resources_domain::retire`) —
//! the alias records and the validation records the stack's certificates name, then the
//! certificates. It runs after the frontend and the load balancer are gone; a certificate
//! CloudFront has not let go of yet answers InUse, which is a wait, not a failure.
//!
//! What the domain is comes from the inventory the provision step recorded: without it
//! (no domain, or an `up` that failed before recording it) there is nothing to find.

use resources_domain::{Found, Op, Spec};
use vikunja_core::settings::OwnDomain;
use vikunja_core::tags::Tier;
use vikunja_core::teardown::PlannedTier;
use vikunja_core::{inventory, DomainOutputs, ErrorClass, Result};

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

fn spec(ctx: &Ctx, recorded: &DomainOutputs) -> Option<Spec> {
    Some(Spec {
        names: ctx.names.clone(),
        domain: OwnDomain {
            name: recorded.domain.clone()?,
            hosted_zone_id: recorded.hosted_zone_id.clone()?,
        },
        region: ctx.region.clone(),
        targets: None,
    })
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Option<(Spec, Found)>> {
    let recorded: Option<DomainOutputs> =
        inventory::read_if_valid(&clients.ssm, ctx.stack(), Tier::Domain).await?;
    let Some(spec) = recorded.as_ref().and_then(|r| spec(ctx, r)) else {
        return Ok(None);
    };
    let found = resources_domain::observe(&clients.domain(), &spec).await?;
    Ok(Some((spec, found)))
}

pub fn plan(found: &Option<(Spec, Found)>) -> PlannedTier {
    match found {
        Some((spec, found)) => resources_domain::retire(spec, found).0,
        None => PlannedTier {
            tier: "domain".into(),
            delete: vec![],
            keep: vec![],
            refuse: vec![],
        },
    }
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let Some((spec, found)) = find(clients, ctx).await? else {
        return Ok(());
    };
    let (planned, ops) = resources_domain::retire(&spec, &found);
    for kept in &planned.keep {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    let library = clients.domain();
    for op in &ops {
        let deleted = resources_domain::delete(&library, &spec, op).await;
        match op {
            Op::DeleteRecord { record } => {
                step.record(
                    "record",
                    &format!("{} {}", record.name, record.kind),
                    deleted,
                );
            }
            Op::DeleteCertificate { arn, .. } => match deleted {
                Err(error) if error.is(ErrorClass::InUse) => {
                    step.wait(format!("certificate {arn} to be released"))
                }
                other => {
                    step.record("certificate", arn, other);
                }
            },
            _ => {}
        }
    }
    Ok(())
}
