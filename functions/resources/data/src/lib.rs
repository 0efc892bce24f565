//! Data: the database, its subnet group and the service secret — the one finder of each
//! ([`observe`], and [`observe_remains`] for what only teardown needs), [`diff`] (spec and
//! findings → plan items and operations), [`retire`] (findings → what `down` deletes) and
//! [`apply`], which carries the operations out and adopts what an unseen earlier attempt made.

mod apply;
mod diff;
pub mod snapshots;

pub use apply::{apply, delete, delete_database, ensure, Applied, Deleted};
pub use diff::{diff, final_snapshot_name, retire, Op, Plan, Spec, SECRET_RECOVERY_DAYS};

use aws_sdk_rds::types::{DbInstance, DbSubnetGroup};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use vikunja_core::{tags, Names, Result, SdkContext};

use resources::found::absent_if_not_found;

/// The tier as found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The subnet group's subnets, sorted.
    pub subnet_group: Option<Vec<String>>,
    pub service_secret: Option<Secret>,
    pub database: Option<Database>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secret {
    pub arn: String,
    pub scheduled_for_deletion: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Database {
    pub ours: bool,
    pub engine: String,
    pub class: String,
    pub storage: i32,
    pub deletion_protection: bool,
    pub public: bool,
    pub encrypted: bool,
    pub status: String,
    pub endpoint: Option<String>,
    pub port: Option<i32>,
    pub master_secret_arn: Option<String>,
}

impl Database {
    pub fn of(db: &DbInstance, stack: &str) -> Self {
        let text = |value: Option<&str>| value.unwrap_or_default().to_string();
        Self {
            ours: db_is_ours(db, stack),
            engine: text(db.engine()),
            class: text(db.db_instance_class()),
            storage: db.allocated_storage().unwrap_or_default(),
            deletion_protection: db.deletion_protection().unwrap_or(false),
            public: db.publicly_accessible().unwrap_or(false),
            encrypted: db.storage_encrypted().unwrap_or(false),
            status: text(db.db_instance_status()),
            endpoint: db.endpoint().and_then(|e| e.address()).map(str::to_string),
            port: db.endpoint().and_then(|e| e.port()),
            master_secret_arn: db
                .master_user_secret()
                .and_then(|s| s.secret_arn())
                .map(str::to_string),
        }
    }
}

/// Everything of the tier.
pub async fn observe(
    rds: &aws_sdk_rds::Client,
    secrets: &aws_sdk_secretsmanager::Client,
    names: &Names,
) -> Result<Found> {
    let subnet_group = find_db_subnet_group(rds, names).await?;
    let service_secret = find_service_secret(secrets, names).await?;
    let database = find_db_instance(rds, names).await?;
    Ok(Found {
        subnet_group: subnet_group.map(|g| subnets_of(&g)),
        service_secret: service_secret.map(|s| Secret {
            arn: s.arn().unwrap_or_default().to_string(),
            scheduled_for_deletion: s.deleted_date().is_some(),
        }),
        database: database.map(|db| Database::of(&db, names.stack())),
    })
}

/// What else stands, for teardown.
#[derive(Debug, Clone, Default)]
pub struct Remains {
    /// Whether the subnet group and the secret carry the stack's tag (the database's
    /// is [`Database::ours`]).
    pub subnet_group_ours: bool,
    pub service_secret_ours: bool,
    /// The database's manual snapshots that carry the stack's tag: never deleted.
    pub snapshots: Vec<String>,
}

pub(crate) fn pairs(tags: &[aws_sdk_rds::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().filter_map(|t| Some((t.key()?, t.value()?)))
}

pub async fn observe_remains(
    rds: &aws_sdk_rds::Client,
    secrets: &aws_sdk_secretsmanager::Client,
    names: &Names,
) -> Result<Remains> {
    let stack = names.stack();
    let group = find_db_subnet_group(rds, names).await?;
    let mut subnet_group_ours = false;
    if let Some(arn) = group.as_ref().and_then(|g| g.db_subnet_group_arn()) {
        let name = names.db_subnet_group();
        let tags = rds
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .context(format!("read tags of DB subnet group {name}"))?;
        subnet_group_ours = tags::belongs_to(pairs(tags.tag_list()), stack);
    }
    let secret = find_service_secret(secrets, names).await?;
    Ok(Remains {
        subnet_group_ours,
        service_secret_ours: secret.is_some_and(|s| {
            let pairs = s.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)));
            tags::belongs_to(pairs, stack)
        }),
        snapshots: find_snapshots(rds, names).await?,
    })
}

/// The database's manual snapshots that carry the stack's tag, on every page.
pub async fn find_snapshots(rds: &aws_sdk_rds::Client, names: &Names) -> Result<Vec<String>> {
    Ok(manual_snapshots(rds, names)
        .await?
        .iter()
        .filter(|s| tags::belongs_to(pairs(s.tag_list()), names.stack()))
        .filter_map(|s| s.db_snapshot_identifier().map(str::to_string))
        .collect())
}

/// Every manual snapshot of the stack's database, ours or not, on every page.
pub async fn manual_snapshots(
    rds: &aws_sdk_rds::Client,
    names: &Names,
) -> Result<Vec<aws_sdk_rds::types::DbSnapshot>> {
    let id = names.db_instance();
    rds.describe_db_snapshots()
        .db_instance_identifier(&id)
        .snapshot_type("manual")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .context(format!("list snapshots of {id}"))
}

/// The stack's database, by its deterministic identifier.
pub async fn find_db_instance(
    rds: &aws_sdk_rds::Client,
    names: &Names,
) -> Result<Option<DbInstance>> {
    let id = names.db_instance();
    let described = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await;
    let described = absent_if_not_found(described.context(format!("find database {id}")))?;
    Ok(described.and_then(|d| d.db_instances().first().cloned()))
}

/// Whether the database carries the stack's tag.
pub fn db_is_ours(db: &DbInstance, stack: &str) -> bool {
    tags::belongs_to(pairs(db.tag_list()), stack)
}

/// The stack's DB subnet group, by its name.
pub async fn find_db_subnet_group(
    rds: &aws_sdk_rds::Client,
    names: &Names,
) -> Result<Option<DbSubnetGroup>> {
    let name = names.db_subnet_group();
    let described = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(&name)
        .send()
        .await;
    let described = absent_if_not_found(described.context(format!("find DB subnet group {name}")))?;
    Ok(described.and_then(|d| d.db_subnet_groups().first().cloned()))
}

/// The subnets of a DB subnet group, sorted.
pub fn subnets_of(group: &DbSubnetGroup) -> Vec<String> {
    let mut subnets: Vec<String> = group
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier().map(str::to_string))
        .collect();
    subnets.sort();
    subnets
}

/// The generated `VIKUNJA_SERVICE_SECRET`, by its name (also when scheduled for deletion).
pub async fn find_service_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    names: &Names,
) -> Result<Option<DescribeSecretOutput>> {
    let name = names.service_secret();
    let described = secrets.describe_secret().secret_id(&name).send().await;
    absent_if_not_found(described.context(format!("find secret {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{json_error, ok, query_error, query_ok, Answer, Replay};
    use vikunja_core::{NetworkOutputs, Settings};

    resources::replayed_client!(rds, aws_sdk_rds);
    resources::replayed_client!(secrets, aws_sdk_secretsmanager);

    fn network() -> NetworkOutputs {
        resources::replay::network_outputs()
    }

    fn spec() -> Spec {
        Spec::new(Names::new("v"), &Settings::for_stack("v"))
    }

    fn instance(stack: &str, public: bool) -> String {
        format!("<DBInstances><DBInstance><DBInstanceIdentifier>v-data-mysql</DBInstanceIdentifier><DBInstanceStatus>creating</DBInstanceStatus><Engine>mysql</Engine><PubliclyAccessible>{public}</PubliclyAccessible><StorageEncrypted>true</StorageEncrypted><TagList><Tag><Key>vikunja:stack</Key><Value>{stack}</Value></Tag></TagList></DBInstance></DBInstances>")
    }

    /// RDS with nothing of the tier, then its subnet group made.
    fn fresh_rds() -> Vec<Answer> {
        vec![
            query_error("DescribeDBSubnetGroups", 404, "DBSubnetGroupNotFoundFault"),
            query_error("DescribeDBInstances", 404, "DBInstanceNotFound"),
            query_ok("CreateDBSubnetGroup", "<DBSubnetGroup><DBSubnetGroupName>v-data-subnets</DBSubnetGroupName></DBSubnetGroup>"),
        ]
    }

    fn fresh_secrets() -> Replay {
        Replay::new(vec![
            json_error("DescribeSecret", 400, "ResourceNotFoundException"),
            ok("GetRandomPassword", r#"{"RandomPassword":"p4ssw0rd"}"#),
            ok(
                "CreateSecret",
                r#"{"ARN":"arn:secret","Name":"v/backend/service-secret"}"#,
            ),
        ])
    }

    #[tokio::test]
    async fn a_database_create_answered_500_after_it_took_effect_is_adopted_not_repeated() {
        let mut script = fresh_rds();
        script.extend([
            // AWS made it and the answer was lost; the SDK's retry hears that it exists.
            query_error("CreateDBInstance", 500, "InternalFailure"),
            query_error("CreateDBInstance", 400, "DBInstanceAlreadyExists"),
            query_ok("DescribeDBInstances", &instance("v", false)),
        ]);
        let (db, sm) = (Replay::new(script), fresh_secrets());
        let applied = ensure(&rds(&db), &secrets(&sm), &spec(), &network())
            .await
            .unwrap();
        db.assert_done();
        sm.assert_done();
        assert_eq!(applied.database.status, "creating");
        assert_eq!(applied.service_secret_arn, "arn:secret");
        assert_eq!(applied.changes.len(), 3, "{:?}", applied.changes);
        let created = &db.bodies("CreateDBInstance")[0];
        assert!(
            created.contains("PubliclyAccessible=false")
                && created.contains("StorageEncrypted=true"),
            "{created}"
        );
    }

    #[tokio::test]
    async fn a_database_by_the_name_that_is_not_the_stacks_is_refused() {
        let mut script = fresh_rds();
        script.extend([
            query_error("CreateDBInstance", 400, "DBInstanceAlreadyExists"),
            query_ok("DescribeDBInstances", &instance("someone-else", false)),
        ]);
        let (db, sm) = (Replay::new(script), fresh_secrets());
        let error = ensure(&rds(&db), &secrets(&sm), &spec(), &network())
            .await
            .unwrap_err();
        db.assert_done();
        assert!(
            error
                .to_string()
                .contains("tag vikunja:stack is (not this stack's)"),
            "{error}"
        );
        assert!(
            matches!(error, vikunja_core::Error::Conflict(_)),
            "{error:?}"
        );
    }
}
