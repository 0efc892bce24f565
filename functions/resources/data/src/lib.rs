//! Data: the database, its subnet group and the service secret — the one finder of each.

use aws_sdk_rds::types::{DbInstance, DbSubnetGroup};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use vikunja_core::{tags, Names, Result, SdkContext};

use resources::found::absent_if_not_found;

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
    tags::belongs_to(
        db.tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
        stack,
    )
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
