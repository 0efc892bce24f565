//! Spec + findings → the plan: the items `vikunja-aws plan` prints and the operations `up`
//! carries out, made together. Pure: unit-tested with made-up findings.

use vikunja_core::{tags, Names, Settings};

use super::{Database, Found};
use resources::plan::{create, Check, How, Item, Operation};

/// What `up` wants of the tier: the database's class, storage and deletion protection
/// from the settings; everything else (MySQL, gp3, encrypted, private) is fixed.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    pub class: String,
    pub storage: i32,
    pub deletion_protection: bool,
}

impl Spec {
    pub fn new(names: Names, settings: &Settings) -> Self {
        Self {
            names,
            class: settings.db_instance_class.clone(),
            storage: settings.db_allocated_storage,
            deletion_protection: settings.db_deletion_protection,
        }
    }
}

/// One change to the tier.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateSubnetGroup,
    SetSubnetGroupSubnets,
    CreateServiceSecret,
    /// A secret scheduled for deletion is restored, not made again: the running tasks use it.
    RestoreServiceSecret,
    CreateDatabase,
}

impl Operation for Op {
    type Context = Spec;

    fn describe(&self, spec: &Spec) -> String {
        let names = &spec.names;
        match self {
            Op::CreateSubnetGroup => format!(
                "create DB subnet group {} (the isolated subnets)",
                names.db_subnet_group()
            ),
            Op::SetSubnetGroupSubnets => format!(
                "set the subnets of DB subnet group {} to the isolated subnets",
                names.db_subnet_group()
            ),
            Op::CreateServiceSecret => format!(
                "create secret {} (a generated VIKUNJA_SERVICE_SECRET)",
                names.service_secret()
            ),
            Op::RestoreServiceSecret => {
                format!(
                    "restore secret {} from its scheduled deletion",
                    names.service_secret()
                )
            }
            Op::CreateDatabase => format!(
                "create database {} (mysql {}, {} GiB gp3, encrypted, private)",
                names.db_instance(),
                spec.class,
                spec.storage
            ),
        }
    }
}

/// The tier's plan.
pub type Plan = resources::plan::Plan<Op>;

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// `isolated` is the network's isolated subnets as the caller knows them: their sorted ids
/// joined by ", ", or what they will be.
pub fn diff(spec: &Spec, isolated: &str, found: &Found) -> Plan {
    let names = &spec.names;
    let mut plan = Plan::default();
    let group = names.db_subnet_group();
    match &found.subnet_group {
        None => plan.push(
            create(
                "db-subnet-group",
                &group,
                Some("the isolated subnets".into()),
            ),
            vec![Op::CreateSubnetGroup],
            spec,
        ),
        Some(subnets) => {
            let mut check = Check::existing("db-subnet-group", &group, "");
            let have = subnets.join(", ");
            check.compare("subnets", &have, isolated, How::InPlace, None);
            let ops = if have == isolated {
                vec![]
            } else {
                vec![Op::SetSubnetGroupSubnets]
            };
            plan.push(check.done(), ops, spec);
        }
    }

    let secret = names.service_secret();
    match &found.service_secret {
        None => plan.push(
            create(
                "secret",
                &secret,
                Some("generated VIKUNJA_SERVICE_SECRET".into()),
            ),
            vec![Op::CreateServiceSecret],
            spec,
        ),
        Some(found) => {
            let mut check = Check::existing("secret", &secret, &found.arn);
            let state = |scheduled: bool| {
                if scheduled {
                    "scheduled for deletion"
                } else {
                    "active"
                }
            };
            let current = state(found.scheduled_for_deletion);
            check.compare("deletion", current, state(false), How::InPlace, None);
            let ops = if found.scheduled_for_deletion {
                vec![Op::RestoreServiceSecret]
            } else {
                vec![]
            };
            plan.push(check.done(), ops, spec);
        }
    }

    let id = names.db_instance();
    match &found.database {
        None => plan.push(
            create(
                "database",
                &id,
                Some(format!(
                    "mysql {}, {} GiB gp3, encrypted, private, deletion protection {}",
                    spec.class,
                    spec.storage,
                    on_off(spec.deletion_protection)
                )),
            ),
            vec![Op::CreateDatabase],
            spec,
        ),
        Some(db) => plan.push(database_item(spec, db), vec![], spec),
    }
    plan
}

/// An existing database: what stops `up`, and what `up` leaves (it sets class, storage and
/// deletion protection only when it creates the database).
pub(crate) fn database_item(spec: &Spec, db: &Database) -> Item {
    let names = &spec.names;
    let id = names.db_instance();
    let mut check = Check::existing("database", &id, &id);
    let fix = format!(
        "up refuses to adopt database {id}: it is not tagged {}={}; rename or remove it",
        tags::STACK,
        names.stack()
    );
    check.owner(db.ours, names.stack(), fix);
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
        &spec.class,
        How::UpLeavesIt,
        Some(format!(
            "up sets the class only when it creates the database. AWS changes it in place (a restart, minutes of downtime): \
             aws rds modify-db-instance --db-instance-identifier {id} --db-instance-class {} --apply-immediately",
            spec.class
        )),
    );
    let storage_fix = if spec.storage < db.storage {
        format!(
            "AWS cannot shrink a database's storage: keep dbAllocatedStorage at {} or more, or dump and restore into a new database",
            db.storage
        )
    } else {
        format!(
            "up sets the storage only when it creates the database. AWS grows it in place: \
             aws rds modify-db-instance --db-instance-identifier {id} --allocated-storage {} --apply-immediately",
            spec.storage
        )
    };
    check.compare(
        "allocatedStorage GiB (dbAllocatedStorage)",
        db.storage,
        spec.storage,
        How::UpLeavesIt,
        Some(storage_fix),
    );
    check.compare(
        "deletionProtection (dbDeletionProtection)",
        on_off(db.deletion_protection),
        on_off(spec.deletion_protection),
        How::UpLeavesIt,
        Some(format!(
            "up sets it only when it creates the database: aws rds modify-db-instance --db-instance-identifier {id} --{}deletion-protection",
            if spec.deletion_protection { "" } else { "no-" }
        )),
    );
    check.done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use resources::plan::Action;

    fn spec() -> Spec {
        Spec::new(Names::new("v"), &Settings::for_stack("v"))
    }

    fn converged(spec: &Spec) -> Found {
        Found {
            subnet_group: Some(vec!["subnet-a".into(), "subnet-b".into()]),
            service_secret: Some(Secret {
                arn: "arn:secret".into(),
                scheduled_for_deletion: false,
            }),
            database: Some(Database {
                ours: true,
                engine: "mysql".into(),
                class: spec.class.clone(),
                storage: spec.storage,
                deletion_protection: spec.deletion_protection,
                encrypted: true,
                status: "available".into(),
                ..Database::default()
            }),
        }
    }

    #[test]
    fn nothing_found_plans_the_three_creates() {
        let plan = diff(&spec(), "(the new isolated subnets)", &Found::default());
        assert_eq!(
            plan.ops,
            vec![
                Op::CreateSubnetGroup,
                Op::CreateServiceSecret,
                Op::CreateDatabase
            ]
        );
    }

    #[test]
    fn a_converged_tier_plans_nothing() {
        let spec = spec();
        let plan = diff(&spec, "subnet-a, subnet-b", &converged(&spec));
        assert_eq!(plan.ops, vec![]);
        assert!(
            plan.items.iter().all(|i| i.action == Action::Keep),
            "{:#?}",
            plan.items
        );
    }

    #[test]
    fn a_secret_scheduled_for_deletion_and_moved_subnets_are_repaired_in_place() {
        let spec = spec();
        let mut found = converged(&spec);
        found
            .service_secret
            .as_mut()
            .unwrap()
            .scheduled_for_deletion = true;
        let plan = diff(&spec, "subnet-a, subnet-c", &found);
        assert_eq!(
            plan.ops,
            vec![Op::SetSubnetGroupSubnets, Op::RestoreServiceSecret]
        );
        assert_eq!(plan.stop(), None);
    }

    #[test]
    fn a_public_or_foreign_database_stops_up_and_a_class_change_is_left() {
        let spec = spec();
        let mut found = converged(&spec);
        found.database.as_mut().unwrap().class = "db.r6g.large".into();
        let plan = diff(&spec, "subnet-a, subnet-b", &found);
        assert_eq!(plan.items[2].action, Action::CannotChangeInPlace);
        assert_eq!(plan.stop(), None);
        found.database.as_mut().unwrap().public = true;
        let stop = diff(&spec, "subnet-a, subnet-b", &found).stop().unwrap();
        assert!(stop.contains("publiclyAccessible"), "{stop}");
    }
}
