//! Data: the DB subnet group, the service secret and the database.

use super::*;

pub(super) fn data(d: &Desired, o: &Observed) -> Vec<Item> {
    let names = &d.names;
    let settings = d.settings;
    let seen = &o.data;
    let mut items = Vec::new();

    let group = names.db_subnet_group();
    match &seen.subnet_group {
        None => items.push(create(
            "db-subnet-group",
            &group,
            Some("the isolated subnets".into()),
        )),
        Some(subnets) => {
            let mut check = Check::existing("db-subnet-group", &group, "");
            let want = match found_subnets(d, o, "isolated") {
                Some(mut ids) => {
                    ids.sort();
                    ids.join(", ")
                }
                None => new("isolated subnets"),
            };
            check.compare("subnets", subnets.join(", "), want, How::InPlace, None);
            items.push(check.done());
        }
    }

    let secret = names.service_secret();
    match &seen.service_secret {
        None => items.push(create(
            "secret",
            &secret,
            Some("generated VIKUNJA_SERVICE_SECRET".into()),
        )),
        Some(found) => {
            let mut check = Check::existing("secret", &secret, &found.arn);
            let state = |scheduled: bool| {
                if scheduled {
                    "scheduled for deletion"
                } else {
                    "active"
                }
            };
            check.compare(
                "deletion",
                state(found.scheduled_for_deletion),
                state(false),
                How::InPlace,
                None,
            );
            items.push(check.done());
        }
    }

    let id = names.db_instance();
    let protection = |on: bool| if on { "on" } else { "off" };
    match &seen.database {
        None => items.push(create(
            "database",
            &id,
            Some(format!(
                "mysql {}, {} GiB gp3, encrypted, private, deletion protection {}",
                settings.db_instance_class,
                settings.db_allocated_storage,
                protection(settings.db_deletion_protection)
            )),
        )),
        Some(db) => {
            let mut check = Check::existing("database", &id, &id);
            check.compare(
                "tag vikunja:stack",
                if db.ours { names.stack() } else { "(not this stack's)" },
                names.stack(),
                How::UpStops,
                Some(format!("up refuses to adopt database {id}: it is not tagged {}={}; rename or remove it", tags::STACK, names.stack())),
            );
            check.compare(
                "publiclyAccessible",
                db.public,
                false,
                How::UpStops,
                Some(format!("up refuses a public database: aws rds modify-db-instance --db-instance-identifier {id} --no-publicly-accessible --apply-immediately")),
            );
            check.compare(
                "storageEncrypted",
                db.encrypted,
                true,
                How::UpStops,
                Some("AWS cannot encrypt a database in place, and up refuses an unencrypted one: snapshot it, copy the snapshot with encryption, restore it under this name".into()),
            );
            check.compared("status");
            if resources::data::is_failed(&db.status) {
                check.differ(
                    "status",
                    &db.status,
                    "available",
                    How::UpStops,
                    Some(format!(
                        "database {id} needs attention in the RDS console before up can continue"
                    )),
                );
            }
            check.compare(
                "engine",
                &db.engine,
                "mysql",
                How::UpLeavesIt,
                Some("AWS cannot change a database's engine: dump the data and restore it into a new MySQL database".into()),
            );
            check.compare(
                "class (dbInstanceClass)",
                &db.class,
                &settings.db_instance_class,
                How::UpLeavesIt,
                Some(format!(
                    "up sets the class only when it creates the database. AWS changes it in place (a restart, minutes of downtime): \
                     aws rds modify-db-instance --db-instance-identifier {id} --db-instance-class {} --apply-immediately",
                    settings.db_instance_class
                )),
            );
            let storage_fix = if settings.db_allocated_storage < db.storage {
                format!(
                    "AWS cannot shrink a database's storage: keep dbAllocatedStorage at {} or more, or dump and restore into a new database",
                    db.storage
                )
            } else {
                format!(
                    "up sets the storage only when it creates the database. AWS grows it in place: \
                     aws rds modify-db-instance --db-instance-identifier {id} --allocated-storage {} --apply-immediately",
                    settings.db_allocated_storage
                )
            };
            check.compare(
                "allocatedStorage GiB (dbAllocatedStorage)",
                db.storage,
                settings.db_allocated_storage,
                How::UpLeavesIt,
                Some(storage_fix),
            );
            check.compare(
                "deletionProtection (dbDeletionProtection)",
                protection(db.deletion_protection),
                protection(settings.db_deletion_protection),
                How::UpLeavesIt,
                Some(format!(
                    "up sets it only when it creates the database: aws rds modify-db-instance --db-instance-identifier {id} --{}deletion-protection",
                    if settings.db_deletion_protection { "" } else { "no-" }
                )),
            );
            items.push(check.done());
        }
    }
    items
}
