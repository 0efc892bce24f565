//! Vikunja's files on EFS, part of the data tier: the library's findings against nothing
//! (`resources_files::retire`) — the mount targets always (so the network can go), the
//! access point and the file system unless `--keep-data` keeps the files.

use resources_files::{Deleted, Found, Op};
use vikunja_core::teardown::PlannedTier;
use vikunja_core::Result;

use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    resources_files::observe(&clients.efs, &ctx.names).await
}

pub fn plan(found: &Found, ctx: &Ctx) -> PlannedTier {
    resources_files::retire(&ctx.names, found, ctx.options.keep_data).0
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    let (planned, ops) = resources_files::retire(&ctx.names, &found, ctx.options.keep_data);
    for kept in &planned.keep {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    for op in &ops {
        let (kind, id) = match op {
            Op::DeleteMountTarget { id, .. } => ("efs mount target", id),
            Op::DeleteAccessPoint { id } => ("efs access point", id),
            Op::DeleteFileSystem { id } => ("efs file system", id),
            _ => continue,
        };
        match resources_files::delete(&clients.efs, op).await {
            Ok(Deleted::Gone) => {
                step.deleted(kind, id.as_str());
            }
            Ok(Deleted::Waiting(what)) => step.wait(what),
            Err(error) => step.refused(kind, id.as_str(), &error),
        }
    }
    Ok(())
}
