//! Carries a data plan out. A create answered "already exists" is an earlier attempt that
//! succeeded unseen: what the finder sees is adopted — a database only when the same checks
//! the plan makes (the stack's tag, private, encrypted, not failed) pass. Deletes treat
//! NotFound as done.

use aws_sdk_rds::types::Tag;
use tracing::info;

use vikunja_core::names::{DB_NAME, DB_USER};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, ErrorClass, Names, NetworkOutputs, Result, SdkContext};

use super::diff::{database_item, diff, Op, Spec, SECRET_RECOVERY_DAYS};
use super::{find_db_instance, find_db_subnet_group, find_service_secret, observe};
use super::{Database, Found};
use resources::adopt::created_or_found;
use resources::found::absent_if_not_found;
use resources::plan::Operation;

/// What `up` left of the tier: the database as it is now, the secret, and what it did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub database: Database,
    pub service_secret_arn: String,
    pub changes: Vec<String>,
}

type Clients<'a> = (&'a aws_sdk_rds::Client, &'a aws_sdk_secretsmanager::Client);

/// Observe, diff, stop if the plan says `up` stops, else apply: the tier as `plan` said.
pub async fn ensure(
    rds: &aws_sdk_rds::Client,
    secrets: &aws_sdk_secretsmanager::Client,
    spec: &Spec,
    network: &NetworkOutputs,
) -> Result<Applied> {
    let found = observe(rds, secrets, &spec.names).await?;
    let plan = diff(spec, &isolated(network), &found);
    apply((rds, secrets), spec, network, found, &plan.runnable()?.ops).await
}

/// The isolated subnets as the diff compares them: sorted, joined.
fn isolated(network: &NetworkOutputs) -> String {
    let mut subnets = network.isolated_subnet_ids.clone();
    subnets.sort();
    subnets.join(", ")
}

pub async fn apply(
    (rds, secrets): Clients<'_>,
    spec: &Spec,
    network: &NetworkOutputs,
    found: Found,
    ops: &[Op],
) -> Result<Applied> {
    let names = &spec.names;
    let mut secret = found.service_secret.map(|s| s.arn);
    let mut database = found.database;
    let mut changes = Vec::new();
    for op in ops {
        match op {
            Op::CreateSubnetGroup => create_subnet_group(rds, spec, network).await?,
            Op::SetSubnetGroupSubnets => {
                let name = names.db_subnet_group();
                rds.modify_db_subnet_group()
                    .db_subnet_group_name(&name)
                    .set_subnet_ids(Some(network.isolated_subnet_ids.clone()))
                    .send()
                    .await
                    .context(format!("set the subnets of DB subnet group {name}"))?;
            }
            Op::CreateServiceSecret => secret = Some(create_service_secret(secrets, spec).await?),
            Op::RestoreServiceSecret => {
                let arn = secret.as_deref().unwrap_or_default();
                secrets
                    .restore_secret()
                    .secret_id(arn)
                    .send()
                    .await
                    .context(format!("restore secret {}", names.service_secret()))?;
            }
            Op::CreateDatabase => database = Some(create_database(rds, spec, network).await?),
            other => {
                return Err(Error::invalid(format!(
                    "`up` does not {}: that is teardown's",
                    other.describe(spec)
                )))
            }
        }
        let change = op.describe(spec);
        info!(stack = names.stack(), change, "applied");
        changes.push(change);
    }
    let missing = |what: &str| {
        Error::conflict(format!(
            "the data plan needs {what}, which neither exists nor was made"
        ))
    };
    Ok(Applied {
        database: database.ok_or_else(|| missing("the database"))?,
        service_secret_arn: secret.ok_or_else(|| missing("the service secret"))?,
        changes,
    })
}

fn rds_tags(stack: &str) -> Vec<Tag> {
    tags::standard(stack, Tier::Data)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

async fn create_subnet_group(
    rds: &aws_sdk_rds::Client,
    spec: &Spec,
    network: &NetworkOutputs,
) -> Result<()> {
    let names = &spec.names;
    let name = names.db_subnet_group();
    let created = rds
        .create_db_subnet_group()
        .db_subnet_group_name(&name)
        .db_subnet_group_description(format!(
            "isolated subnets of vikunja stack {}",
            names.stack()
        ))
        .set_subnet_ids(Some(network.isolated_subnet_ids.clone()))
        .set_tags(Some(rds_tags(names.stack())))
        .send()
        .await
        .context(format!("create DB subnet group {name}"))
        .map(|_| ());
    created_or_found(created, || async {
        Ok(find_db_subnet_group(rds, names).await?.map(|_| ()))
    })
    .await
}

async fn create_service_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    spec: &Spec,
) -> Result<String> {
    let names = &spec.names;
    let name = names.service_secret();
    let generated = secrets
        .get_random_password()
        .password_length(64)
        .exclude_punctuation(true)
        .send()
        .await
        .context("generate the service secret")?;
    let value = generated
        .random_password()
        .ok_or_else(|| Error::conflict("GetRandomPassword answered without a password"))?;
    let tag_list = tags::standard(names.stack(), Tier::Data)
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    let created = secrets
        .create_secret()
        .name(&name)
        .description(format!(
            "VIKUNJA_SERVICE_SECRET of vikunja stack {}",
            names.stack()
        ))
        .secret_string(value)
        .set_tags(Some(tag_list))
        .send()
        .await
        .context(format!("create secret {name}"))
        .map(|out| out.arn().unwrap_or_default().to_string());
    created_or_found(created, || async {
        let found = find_service_secret(secrets, names).await?;
        Ok(found.and_then(|f| f.arn().map(str::to_string)))
    })
    .await
}

async fn create_database(
    rds: &aws_sdk_rds::Client,
    spec: &Spec,
    network: &NetworkOutputs,
) -> Result<Database> {
    let names = &spec.names;
    let id = names.db_instance();
    let created = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine("mysql")
        .db_instance_class(&spec.class)
        .allocated_storage(spec.storage)
        .storage_type("gp3")
        .db_name(DB_NAME)
        .master_username(DB_USER)
        .manage_master_user_password(true)
        .db_subnet_group_name(names.db_subnet_group())
        .vpc_security_group_ids(&network.db_security_group_id)
        .publicly_accessible(false)
        .storage_encrypted(true)
        .backup_retention_period(7)
        .copy_tags_to_snapshot(true)
        .deletion_protection(spec.deletion_protection)
        .auto_minor_version_upgrade(true)
        .multi_az(false)
        .set_tags(Some(rds_tags(names.stack())))
        .send()
        .await
        .context(format!("create database {id}"))
        .and_then(|out| {
            let instance = out.db_instance().ok_or_else(|| {
                Error::conflict(format!(
                    "create database {id}: AWS answered without the instance"
                ))
            })?;
            Ok(Database::of(instance, names.stack()))
        });
    let database = match created {
        Err(error) if error.is(ErrorClass::AlreadyExists) => {
            let found = find_db_instance(rds, names).await?.ok_or(error)?;
            let adopted = Database::of(&found, names.stack());
            // Adopted only when it passes the plan's checks; refused as the plan refuses it.
            if let Some(stop) = database_item(spec, &adopted).stop() {
                return Err(Error::conflict(stop));
            }
            info!(id, "adopted the database an earlier attempt made");
            adopted
        }
        other => other?,
    };
    info!(id, class = spec.class, "creating database");
    Ok(database)
}

/// How a delete ended, besides an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    Gone,
    /// Deleted; AWS is finishing it: what the state machine waits for.
    Going(String),
    /// Not deleted yet: AWS must finish something first.
    Waiting(String),
}

/// Deletes the subnet group or schedules the secret's deletion; the database's delete is
/// [`delete_database`].
pub async fn delete((rds, secrets): Clients<'_>, names: &Names, op: &Op) -> Result<Deleted> {
    let done = match op {
        Op::DeleteSubnetGroup => {
            let group = names.db_subnet_group();
            let deleted = rds
                .delete_db_subnet_group()
                .db_subnet_group_name(&group)
                .send()
                .await
                .context(format!("delete DB subnet group {group}"));
            if deleted.as_ref().is_err_and(|e| e.is(ErrorClass::InUse)) {
                let released = format!("DB subnet group {group} to be released");
                return Ok(Deleted::Waiting(released));
            }
            deleted.map(|_| ())
        }
        Op::ScheduleSecretDeletion => schedule_secret_deletion(secrets, names).await,
        other => return Err(Error::invalid(format!("{other:?} is not a delete"))),
    };
    absent_if_not_found(done).map(|_| Deleted::Gone)
}

async fn schedule_secret_deletion(
    secrets: &aws_sdk_secretsmanager::Client,
    names: &Names,
) -> Result<()> {
    let name = names.service_secret();
    let scheduled = secrets
        .delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(SECRET_RECOVERY_DAYS)
        .send()
        .await
        .context(format!("schedule deletion of secret {name}"));
    let Err(error) = scheduled else {
        return Ok(());
    };
    // Secrets Manager refuses to schedule a secret already scheduled — so a retry whose
    // first attempt went through is refused: look before calling it a failure.
    match find_service_secret(secrets, names).await {
        Ok(found) if found.as_ref().is_none_or(|s| s.deleted_date().is_some()) => {
            info!(%error, "the secret is already scheduled for deletion");
            Ok(())
        }
        _ => Err(error),
    }
}

/// Deletes the database, lifting its deletion protection first when asked to, with a final
/// snapshot of that name or none; `status` as found.
pub async fn delete_database(
    rds: &aws_sdk_rds::Client,
    names: &Names,
    lift_protection: bool,
    status: &str,
    final_snapshot: Option<&str>,
) -> Result<Deleted> {
    let id = names.db_instance();
    let deleting = format!("database {id} to finish deleting");
    if status == "deleting" {
        return Ok(Deleted::Waiting(deleting));
    }
    if lift_protection {
        let lifted = rds
            .modify_db_instance()
            .db_instance_identifier(&id)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .context(format!("lift deletion protection of {id}"));
        if absent_if_not_found(lifted)?.is_none() {
            return Ok(Deleted::Gone);
        }
        info!(id, "deletion protection lifted (--delete-data)");
    }
    let request = rds.delete_db_instance().db_instance_identifier(&id);
    let request = match final_snapshot {
        Some(name) => request.final_db_snapshot_identifier(name),
        None => request.skip_final_snapshot(true),
    };
    let deleted = request
        .send()
        .await
        .context(format!("delete database {id}"));
    match deleted {
        // RDS answers "deleting"; the next look finds it gone (or still deleting).
        Ok(_) => Ok(Deleted::Going(deleting)),
        Err(error) if error.is(ErrorClass::NotFound) => Ok(Deleted::Gone),
        Err(error) if error.is(ErrorClass::InUse) => Ok(Deleted::Waiting(format!(
            "database {id} ({status}) to reach a state RDS can delete from"
        ))),
        Err(error) => Err(error),
    }
}
