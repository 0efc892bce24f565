//! Data: the database (deleted with a final snapshot unless told otherwise; deletion
//! protection is honoured — refused unless the operator said `--delete-data`), its subnet
//! group once the database is gone, and the generated service secret, scheduled for deletion
//! (recoverable for 30 days). Snapshots are never deleted by teardown.

use vikunja_core::teardown::{Failure, Kept, PlannedTier, Resource};
use vikunja_core::{ErrorClass, Result, SdkContext};

use crate::context::now_seconds;
use crate::handler::Clients;
use crate::step::Step;
use crate::Ctx;

/// Days a scheduled secret can still be restored (`provision` restores it by itself).
pub const SECRET_RECOVERY_DAYS: i64 = 30;
const MEMO_SNAPSHOT: &str = "finalSnapshot";
const PROTECTED_HINT: &str = "run `vikunja-aws down --delete-data` to lift deletion protection and delete it (a final snapshot is still taken), or `--keep-data` to keep it";

#[derive(Debug, Default)]
pub struct Found {
    pub instance: Option<Instance>,
    pub subnet_group: Option<String>,
    pub service_secret: Option<String>,
    pub snapshots: Vec<String>,
    pub not_ours: Vec<Kept>,
}

#[derive(Debug)]
pub struct Instance {
    pub id: String,
    pub status: String,
    pub deletion_protection: bool,
    pub master_secret_arn: Option<String>,
}

pub async fn find(clients: &Clients, ctx: &Ctx) -> Result<Found> {
    let mut found = Found::default();
    find_instance(clients, ctx, &mut found).await?;
    find_subnet_group(clients, ctx, &mut found).await?;
    find_service_secret(clients, ctx, &mut found).await?;
    find_snapshots(clients, ctx, &mut found).await?;
    Ok(found)
}

fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value()?)))
}

fn not_ours(kind: &str, id: &str, stack: &str) -> Kept {
    Kept {
        kind: kind.into(),
        id: id.into(),
        reason: format!(
            "not tagged {}={stack}: not this stack's, never touched",
            vikunja_core::tags::STACK
        ),
    }
}

async fn find_instance(clients: &Clients, ctx: &Ctx, found: &mut Found) -> Result<()> {
    let id = ctx.names.db_instance();
    let Some(db) = resources_data::find_db_instance(&clients.rds, &ctx.names).await? else {
        return Ok(());
    };
    if !resources_data::db_is_ours(&db, ctx.stack()) {
        found.not_ours.push(not_ours("database", &id, ctx.stack()));
        return Ok(());
    }
    found.instance = Some(Instance {
        id,
        status: db.db_instance_status().unwrap_or("unknown").to_string(),
        deletion_protection: db.deletion_protection().unwrap_or(false),
        master_secret_arn: db
            .master_user_secret()
            .and_then(|s| s.secret_arn())
            .map(str::to_string),
    });
    Ok(())
}

async fn find_subnet_group(clients: &Clients, ctx: &Ctx, found: &mut Found) -> Result<()> {
    let name = ctx.names.db_subnet_group();
    let group = resources_data::find_db_subnet_group(&clients.rds, &ctx.names).await?;
    let Some(arn) = group.as_ref().and_then(|g| g.db_subnet_group_arn()) else {
        return Ok(());
    };
    let tags = clients
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .context(format!("read tags of DB subnet group {name}"))?;
    if ctx.owns(rds_tags(tags.tag_list())) {
        found.subnet_group = Some(name);
    } else {
        found
            .not_ours
            .push(not_ours("db subnet group", &name, ctx.stack()));
    }
    Ok(())
}

async fn find_service_secret(clients: &Clients, ctx: &Ctx, found: &mut Found) -> Result<()> {
    let name = ctx.names.service_secret();
    let Some(described) = resources_data::find_service_secret(&clients.secrets, &ctx.names).await?
    else {
        return Ok(());
    };
    let ours = ctx.owns(
        described
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
    );
    if !ours {
        found.not_ours.push(not_ours("secret", &name, ctx.stack()));
    } else if described.deleted_date().is_none() {
        // A secret already scheduled for deletion needs nothing more.
        found.service_secret = Some(name);
    }
    Ok(())
}

async fn find_snapshots(clients: &Clients, ctx: &Ctx, found: &mut Found) -> Result<()> {
    let id = ctx.names.db_instance();
    let mut marker = None;
    loop {
        let page = clients
            .rds
            .describe_db_snapshots()
            .db_instance_identifier(&id)
            .snapshot_type("manual")
            .set_marker(marker)
            .send()
            .await
            .context(format!("list snapshots of {id}"))?;
        found.snapshots.extend(
            page.db_snapshots()
                .iter()
                .filter(|s| ctx.owns(rds_tags(s.tag_list())))
                .filter_map(|s| s.db_snapshot_identifier().map(str::to_string)),
        );
        marker = page.marker().map(str::to_string);
        if marker.is_none() {
            return Ok(());
        }
    }
}

/// `<db>-final-YYYYMMDD-HHMMSS` (UTC): unique per teardown, sorted by time.
pub fn final_snapshot_name(db_id: &str, unix_seconds: u64) -> String {
    format!(
        "{db_id}-final-{}",
        vikunja_core::time::compact_utc(unix_seconds)
    )
}

fn snapshot_kept(id: &str) -> Kept {
    Kept {
        kind: "db snapshot".into(),
        id: id.into(),
        reason: format!(
            "teardown never deletes snapshots; when the data is no longer needed: aws rds delete-db-snapshot --db-snapshot-identifier {id}"
        ),
    }
}

/// Whether this teardown will delete the database (the plan of the tiers after it
/// depends on that).
pub fn deletes_database(found: &Found, ctx: &Ctx) -> bool {
    found.instance.as_ref().is_some_and(|db| {
        let refused = db.deletion_protection && !ctx.options.delete_data;
        !ctx.options.keep_data && !refused
    })
}

pub fn plan(found: &Found, ctx: &Ctx) -> PlannedTier {
    let mut tier = PlannedTier {
        tier: "data".into(),
        delete: vec![],
        keep: found.not_ours.clone(),
        refuse: vec![],
    };
    let resource = |kind: &str, id: &str| Resource {
        kind: kind.into(),
        id: id.into(),
    };
    let options = &ctx.options;
    let mut database_stays = false;
    if let Some(db) = &found.instance {
        let secret = db.master_secret_arn.as_deref();
        if options.keep_data {
            database_stays = true;
            tier.keep.push(Kept {
                kind: "database".into(),
                id: db.id.clone(),
                reason: "--keep-data".into(),
            });
            if let Some(arn) = secret {
                tier.keep.push(Kept {
                    kind: "master password secret".into(),
                    id: arn.into(),
                    reason: "kept with the database (RDS manages it)".into(),
                });
            }
        } else if db.deletion_protection && !options.delete_data {
            database_stays = true;
            tier.refuse.push(Failure {
                kind: "database".into(),
                id: db.id.clone(),
                reason: "deletion protection is on".into(),
                hint: PROTECTED_HINT.into(),
            });
        } else {
            let how = if options.skip_final_snapshot {
                "no final snapshot"
            } else {
                "after a final snapshot, which is kept"
            };
            tier.delete
                .push(resource("database", &format!("{} ({how})", db.id)));
            if let Some(arn) = secret {
                tier.delete.push(resource(
                    "master password secret",
                    &format!("{arn} (deleted by RDS with the database)"),
                ));
            }
        }
    }
    if let Some(group) = &found.subnet_group {
        if database_stays {
            tier.keep.push(Kept {
                kind: "db subnet group".into(),
                id: group.clone(),
                reason: "the database that stays uses it".into(),
            });
        } else {
            tier.delete.push(resource("db subnet group", group));
        }
    }
    if let Some(secret) = &found.service_secret {
        tier.delete.push(resource(
            "service secret",
            &format!("{secret} (scheduled: recoverable for {SECRET_RECOVERY_DAYS} days)"),
        ));
    }
    tier.keep
        .extend(found.snapshots.iter().map(|s| snapshot_kept(s)));
    tier
}

pub async fn tear_down(clients: &Clients, ctx: &Ctx, step: &mut Step) -> Result<()> {
    let found = find(clients, ctx).await?;
    for kept in &found.not_ours {
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    let fate = match &found.instance {
        None => Fate::Gone,
        Some(db) => retire_database(clients, ctx, db, step).await,
    };
    if let Some(group) = &found.subnet_group {
        if fate == Fate::Gone {
            let deleted = clients
                .rds
                .delete_db_subnet_group()
                .db_subnet_group_name(group)
                .send()
                .await
                .context(format!("delete DB subnet group {group}"));
            match deleted {
                Err(error) if error.is(ErrorClass::InUse) => {
                    step.wait(format!("DB subnet group {group} to be released"))
                }
                other => {
                    step.record("db subnet group", group, other.map(|_| ()));
                }
            }
        } else if fate == Fate::Stays {
            step.kept("db subnet group", group, "the database that stays uses it");
        }
    }
    if let Some(secret) = &found.service_secret {
        let scheduled = clients
            .secrets
            .delete_secret()
            .secret_id(secret)
            .recovery_window_in_days(SECRET_RECOVERY_DAYS)
            .send()
            .await
            .context(format!("schedule deletion of secret {secret}"))
            .map(|_| ());
        // Secrets Manager refuses to schedule a secret already scheduled — so a retry whose
        // first attempt went through is refused: look before calling it a failure.
        let scheduled = match scheduled {
            Err(error) if is_scheduled_for_deletion(clients, ctx).await => {
                tracing::info!(%error, "the secret is already scheduled for deletion");
                Ok(())
            }
            other => other,
        };
        step.record(
            "service secret",
            &format!("{secret} (scheduled: recoverable for {SECRET_RECOVERY_DAYS} days)"),
            scheduled,
        );
    }
    let mut snapshots = found.snapshots.clone();
    snapshots.extend(step.memo(MEMO_SNAPSHOT).map(str::to_string));
    snapshots.sort();
    snapshots.dedup();
    for snapshot in snapshots {
        let kept = snapshot_kept(&snapshot);
        step.kept(&kept.kind, &kept.id, &kept.reason);
    }
    Ok(())
}

/// Whether the service secret is scheduled for deletion (Secrets Manager still describes it,
/// with the date it was deleted).
async fn is_scheduled_for_deletion(clients: &Clients, ctx: &Ctx) -> bool {
    match resources_data::find_service_secret(&clients.secrets, &ctx.names).await {
        Ok(Some(secret)) => secret.deleted_date().is_some(),
        Ok(None) => true,
        Err(_) => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Gone,
    Deleting,
    /// Kept (`--keep-data`), refused (deletion protection) or refused by AWS.
    Stays,
}

/// Keeps, refuses or deletes the database.
async fn retire_database(clients: &Clients, ctx: &Ctx, db: &Instance, step: &mut Step) -> Fate {
    let id = &db.id;
    let options = &ctx.options;
    if options.keep_data {
        step.kept("database", id, "--keep-data");
        if let Some(arn) = &db.master_secret_arn {
            step.kept(
                "master password secret",
                arn,
                "kept with the database (RDS manages it)",
            );
        }
        return Fate::Stays;
    }
    if db.status == "deleting" {
        step.wait(format!("database {id} to finish deleting"));
        return Fate::Deleting;
    }
    if db.deletion_protection {
        if !options.delete_data {
            step.failed("database", id, "deletion protection is on", PROTECTED_HINT);
            return Fate::Stays;
        }
        let lifted = clients
            .rds
            .modify_db_instance()
            .db_instance_identifier(id)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .context(format!("lift deletion protection of {id}"));
        if let Err(error) = lifted {
            step.refused("database", id, &error);
            return Fate::Stays;
        }
        tracing::info!(id, "deletion protection lifted (--delete-data)");
    }
    let snapshot = if options.skip_final_snapshot {
        None
    } else {
        Some(
            step.memo(MEMO_SNAPSHOT)
                .map(str::to_string)
                .unwrap_or_else(|| final_snapshot_name(id, now_seconds())),
        )
    };
    let request = clients.rds.delete_db_instance().db_instance_identifier(id);
    let request = match &snapshot {
        Some(name) => request.final_db_snapshot_identifier(name),
        None => request.skip_final_snapshot(true),
    };
    let deleted = request
        .send()
        .await
        .context(format!("delete database {id}"));
    match deleted {
        Ok(_) => {
            step.deleted("database", id);
            if let Some(arn) = &db.master_secret_arn {
                step.deleted(
                    "master password secret",
                    format!("{arn} (deleted by RDS with the database)"),
                );
            }
            if let Some(name) = snapshot {
                step.remember(MEMO_SNAPSHOT, name);
            }
            // RDS answers "deleting"; the next call finds it gone (or still deleting).
            step.wait(format!("database {id} to finish deleting"));
            Fate::Deleting
        }
        Err(error) if error.is(ErrorClass::NotFound) => Fate::Gone,
        Err(error) if error.is(ErrorClass::InUse) => {
            step.wait(format!(
                "database {id} ({}) to reach a state RDS can delete from",
                db.status
            ));
            Fate::Deleting
        }
        Err(error) if error.is(ErrorClass::AlreadyExists) => {
            // A name taken by an earlier attempt: the next call picks a fresh one.
            step.remember(MEMO_SNAPSHOT, final_snapshot_name(id, now_seconds() + 1));
            step.wait(format!(
                "database {id} to be deleted (retrying with a new snapshot name)"
            ));
            Fate::Deleting
        }
        Err(error) => {
            step.refused("database", id, &error);
            Fate::Stays
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use vikunja_core::teardown::TeardownOptions;

    use super::*;

    #[test]
    fn final_snapshots_are_named_by_utc_time() {
        assert_eq!(
            final_snapshot_name("v-data-mysql", 0),
            "v-data-mysql-final-19700101-000000"
        );
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(
            final_snapshot_name("v-data-mysql", 1_709_210_096),
            "v-data-mysql-final-20240229-123456"
        );
    }

    fn ctx(options: TeardownOptions) -> Ctx {
        Ctx::new(options, "1", "us-east-1", Instant::now())
    }

    fn protected() -> Found {
        Found {
            instance: Some(Instance {
                id: "v-data-mysql".into(),
                status: "available".into(),
                deletion_protection: true,
                master_secret_arn: Some("arn:secret:rds!db-1".into()),
            }),
            subnet_group: Some("v-data-subnets".into()),
            service_secret: Some("v/backend/service-secret".into()),
            snapshots: vec!["v-data-mysql-final-1".into()],
            not_ours: vec![],
        }
    }

    #[test]
    fn a_protected_database_is_refused_unless_told() {
        let plan = plan(&protected(), &ctx(TeardownOptions::new("v")));
        assert_eq!(plan.refuse.len(), 1);
        assert!(plan.refuse[0].hint.contains("--delete-data"));
        assert!(plan.keep.iter().any(|k| k.id == "v-data-subnets"));
        assert!(plan.keep.iter().any(|k| k.kind == "db snapshot"));

        let mut told = TeardownOptions::new("v");
        told.delete_data = true;
        let plan = super::plan(&protected(), &ctx(told));
        assert!(plan.refuse.is_empty());
        assert!(plan
            .delete
            .iter()
            .any(|r| r.kind == "database" && r.id.contains("final snapshot")));
        assert!(plan.delete.iter().any(|r| r.id == "v-data-subnets"));
    }

    #[test]
    fn keep_data_keeps_the_database_and_its_password() {
        let mut options = TeardownOptions::new("v");
        options.keep_data = true;
        let plan = plan(&protected(), &ctx(options));
        let kept: Vec<&str> = plan.keep.iter().map(|k| k.id.as_str()).collect();
        assert!(kept.contains(&"v-data-mysql") && kept.contains(&"arn:secret:rds!db-1"));
        assert!(plan
            .delete
            .iter()
            .all(|r| r.id.starts_with("v/backend/service-secret")));
    }
}
