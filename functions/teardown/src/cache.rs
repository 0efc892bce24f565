//! The shared cache (ElastiCache Valkey), part of the data tier: the library's findings
//! against nothing (`resources_cache::retire`). Always all of it, `--keep-data` or not: it
//! holds sessions, counters and caches, nothing Vikunja cannot rebuild.

use resources_cache::{Deleted, Found, Op};
use vikunja_core::teardown::PlannedTier;
use vikunja_core::Result;

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    resources_cache::observe(&clients.cache, &ctx.names).await
}

pub fn plan(found: &Found) -> PlannedTier {
    resources_cache::retire(found).0
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    let (_, ops) = resources_cache::retire(&found);
    for op in &ops {
        let (kind, id) = match op {
            Op::DeleteReplicationGroup { id } => ("elasticache replication group", id),
            Op::DeleteSubnetGroup { name } => ("elasticache subnet group", name),
            _ => continue,
        };
        match resources_cache::delete(&clients.cache, op).await {
            Ok(Deleted::Gone) => {
                step.deleted(kind, id.as_str());
            }
            Ok(Deleted::Waiting(what)) => step.wait(what),
            Err(error) => step.refused(kind, id.as_str(), &error),
        }
    }
    Ok(())
}
