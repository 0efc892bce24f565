use aws_sdk_rds::types::{DbInstance, Tag};
use aws_sdk_rds::Client;
use tracing::info;
use vikunja_core::names::{DB_NAME, DB_USER};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, Names, Result, SdkContext, Settings};

fn rds_tags(stack: &str) -> Vec<Tag> {
    tags::standard(stack, Tier::Data)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub async fn ensure_subnet_group(
    rds: &Client,
    names: &Names,
    subnets: &[String],
) -> Result<String> {
    let name = names.db_subnet_group();
    if let Some(group) = resources_data::find_db_subnet_group(rds, names).await? {
        let mut want: Vec<String> = subnets.to_vec();
        want.sort();
        if resources_data::subnets_of(&group) != want {
            rds.modify_db_subnet_group()
                .db_subnet_group_name(&name)
                .set_subnet_ids(Some(subnets.to_vec()))
                .send()
                .await
                .context(format!("set subnets of DB subnet group {name}"))?;
        }
        return Ok(name);
    }
    let created = rds
        .create_db_subnet_group()
        .db_subnet_group_name(&name)
        .db_subnet_group_description(format!(
            "isolated subnets of vikunja stack {}",
            names.stack()
        ))
        .set_subnet_ids(Some(subnets.to_vec()))
        .set_tags(Some(rds_tags(names.stack())))
        .send()
        .await
        .context(format!("create DB subnet group {name}"))
        .map(|_| ());
    resources::adopt::created_or_found(created, || async {
        Ok(resources_data::find_db_subnet_group(rds, names)
            .await?
            .map(|_| ()))
    })
    .await?;
    info!(name, "created DB subnet group");
    Ok(name)
}

pub async fn ensure_instance(
    rds: &Client,
    names: &Names,
    settings: &Settings,
    subnet_group: &str,
    security_group: &str,
) -> Result<DbInstance> {
    let id = names.db_instance();
    if let Some(instance) = resources_data::find_db_instance(rds, names).await? {
        check_adoptable(&instance, &id, names.stack())?;
        info!(
            id,
            status = instance.db_instance_status(),
            "adopted database"
        );
        return Ok(instance);
    }
    let created = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine("mysql")
        .db_instance_class(&settings.db_instance_class)
        .allocated_storage(settings.db_allocated_storage)
        .storage_type("gp3")
        .db_name(DB_NAME)
        .master_username(DB_USER)
        .manage_master_user_password(true)
        .db_subnet_group_name(subnet_group)
        .vpc_security_group_ids(security_group)
        .publicly_accessible(false)
        .storage_encrypted(true)
        .backup_retention_period(7)
        .copy_tags_to_snapshot(true)
        .deletion_protection(settings.db_deletion_protection)
        .auto_minor_version_upgrade(true)
        .multi_az(false)
        .set_tags(Some(rds_tags(names.stack())))
        .send()
        .await;
    let instance = match created {
        Ok(out) => out.db_instance().cloned(),
        // A retry that raced with the first create: the instance exists; adopt it when it
        // passes the same checks as one found before the create.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_already_exists_fault()) =>
        {
            let found = resources_data::find_db_instance(rds, names).await?;
            if let Some(instance) = &found {
                check_adoptable(instance, &id, names.stack())?;
            }
            found
        }
        Err(e) => return Err(e).context(format!("create database {id}")),
    };
    let instance = instance.ok_or_else(|| {
        Error::conflict(format!(
            "create database {id}: AWS answered without the instance"
        ))
    })?;
    info!(id, class = settings.db_instance_class, "creating database");
    Ok(instance)
}

/// A database by our name that is public, unencrypted or someone else's is not adopted.
fn check_adoptable(instance: &DbInstance, id: &str, stack: &str) -> Result<()> {
    let ours = tags::belongs_to(
        instance
            .tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
        stack,
    );
    if !ours {
        return Err(Error::conflict(format!(
            "database {id} exists but is not tagged {}={stack}; refusing to adopt it",
            tags::STACK
        )));
    }
    if instance.publicly_accessible() == Some(true) {
        return Err(Error::conflict(format!(
            "database {id} is publicly accessible; make it private first"
        )));
    }
    if instance.storage_encrypted() != Some(true) {
        return Err(Error::conflict(format!(
            "database {id} is not encrypted at rest; encryption cannot be turned on in place"
        )));
    }
    Ok(())
}

pub fn refuse_failed_status(id: &str, status: &str) -> Result<()> {
    if resources::data::is_failed(status) {
        return Err(Error::conflict(format!(
            "database {id} is {status}; it needs attention in the RDS console"
        )));
    }
    Ok(())
}
