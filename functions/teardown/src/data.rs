//! Data: the library's findings against nothing (`resources_data::retire`) — the database
//! (deleted with a final snapshot unless told otherwise; deletion protection is honoured —
//! refused unless the operator said `--delete-data`), its subnet group once the database is
//! gone, and the generated service secret, scheduled for deletion (recoverable for 30
//! days). Snapshots are never deleted by teardown.

use resources_data::{final_snapshot_name, Deleted, Found, Op, Remains};
use vikunja_core::teardown::PlannedTier;
use vikunja_core::{ErrorClass, Result};

use crate::context::now_seconds;
use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

/// The final snapshot's name, chosen once per teardown: kept across the waiting loop.
const MEMO_SNAPSHOT: &str = "finalSnapshot";

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<(Found, Remains)> {
    let (rds, secrets, names) = (&clients.rds, &clients.secrets, &ctx.names);
    let found = resources_data::observe(rds, secrets, names).await?;
    let remains = resources_data::observe_remains(rds, secrets, names).await?;
    Ok((found, remains))
}

fn retire((found, remains): &(Found, Remains), ctx: &Ctx) -> (PlannedTier, Vec<Op>) {
    resources_data::retire(&ctx.names, found, remains, &ctx.options)
}

/// Whether this teardown will delete the database (the plan of the tiers after it
/// depends on that).
pub fn deletes_database(found: &(Found, Remains), ctx: &Ctx) -> bool {
    let ops = retire(found, ctx).1;
    ops.iter().any(|op| matches!(op, Op::DeleteDatabase { .. }))
}

pub fn plan(found: &(Found, Remains), ctx: &Ctx) -> PlannedTier {
    retire(found, ctx).0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Gone,
    Deleting,
    /// Refused by AWS: its subnet group stays too.
    Stays,
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let (found, mut remains) = find(clients, ctx).await?;
    // The final snapshot an earlier call made is kept too, listed yet or not.
    let memo = step.memo(MEMO_SNAPSHOT).map(str::to_string);
    remains.snapshots.extend(memo);
    let (planned, ops) = retire(&(found, remains), ctx);
    for kept in &planned.keep {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    for refused in &planned.refuse {
        step.failed(&refused.kind, &refused.id, &refused.reason, &refused.hint);
    }
    // The ids the plan lists the secrets under.
    let listed = |kind: &str| planned.delete.iter().find(|r| r.kind == kind);
    let (names, id) = (&ctx.names, ctx.names.db_instance());
    let library = (&clients.rds, &clients.secrets);
    let mut database = Fate::Gone;
    for op in &ops {
        match op {
            Op::DeleteDatabase {
                lift_protection,
                final_snapshot,
                status,
            } => {
                // Named once per teardown; a name an earlier attempt took makes the next
                // call pick a fresh one.
                let snapshot = final_snapshot.then(|| {
                    step.memo(MEMO_SNAPSHOT)
                        .map(str::to_string)
                        .unwrap_or_else(|| final_snapshot_name(&id, now_seconds()))
                });
                let deleted = resources_data::delete_database(
                    &clients.rds,
                    names,
                    *lift_protection,
                    status,
                    snapshot.as_deref(),
                );
                database = match deleted.await {
                    Ok(Deleted::Gone) => Fate::Gone,
                    Ok(Deleted::Going(what)) => {
                        step.deleted("database", &id);
                        if let Some(secret) = listed("master password secret") {
                            step.deleted(&secret.kind, &secret.id);
                        }
                        if let Some(name) = snapshot {
                            step.remember(MEMO_SNAPSHOT, name);
                        }
                        step.wait(what);
                        Fate::Deleting
                    }
                    Ok(Deleted::Waiting(what)) => {
                        step.wait(what);
                        Fate::Deleting
                    }
                    Err(error) if error.is(ErrorClass::AlreadyExists) => {
                        let fresh = final_snapshot_name(&id, now_seconds() + 1);
                        step.remember(MEMO_SNAPSHOT, fresh);
                        step.wait(format!(
                            "database {id} to be deleted (retrying with a new snapshot name)"
                        ));
                        Fate::Deleting
                    }
                    Err(error) => {
                        step.refused("database", &id, &error);
                        Fate::Stays
                    }
                };
            }
            Op::DeleteSubnetGroup if database == Fate::Stays => {
                let group = names.db_subnet_group();
                step.kept("db subnet group", group, "the database that stays uses it");
            }
            Op::DeleteSubnetGroup if database == Fate::Deleting => {}
            Op::DeleteSubnetGroup => match resources_data::delete(library, names, op).await {
                Ok(Deleted::Waiting(what)) => step.wait(what),
                deleted => {
                    let group = names.db_subnet_group();
                    step.record("db subnet group", &group, deleted.map(|_| ()));
                }
            },
            Op::ScheduleSecretDeletion => {
                let scheduled = resources_data::delete(library, names, op).await;
                if let Some(secret) = listed("service secret") {
                    step.record(&secret.kind, &secret.id, scheduled.map(|_| ()));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
