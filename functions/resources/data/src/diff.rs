//! Spec + findings → the plan: the items `vikunja-aws plan` prints and the operations `up`
//! carries out, made together; and the findings against nothing → what `down` deletes,
//! keeps and refuses. Pure: unit-tested with made-up findings.

use vikunja_core::teardown::{Failure, Kept, PlannedTier, Resource, TeardownOptions};
use vikunja_core::{tags, Names, Settings};

use super::{Database, Found, Remains};
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
    /// Lifting its deletion protection first when asked to (`--delete-data`); `status` as
    /// found: RDS deletes from some states only.
    DeleteDatabase {
        lift_protection: bool,
        final_snapshot: bool,
        status: String,
    },
    DeleteSubnetGroup,
    /// Recoverable for [`SECRET_RECOVERY_DAYS`].
    ScheduleSecretDeletion,
}

/// Days a scheduled secret can still be restored (`up` restores it by itself).
pub const SECRET_RECOVERY_DAYS: i64 = 30;

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
            Op::DeleteDatabase { final_snapshot, .. } => {
                let with = if *final_snapshot { "with" } else { "without" };
                format!(
                    "delete database {} {with} a final snapshot",
                    names.db_instance()
                )
            }
            Op::DeleteSubnetGroup => format!("delete DB subnet group {}", names.db_subnet_group()),
            Op::ScheduleSecretDeletion => {
                format!("schedule the deletion of secret {}", names.service_secret())
            }
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

/// `<db>-final-YYYYMMDD-HHMMSS` (UTC): unique per teardown, sorted by time.
pub fn final_snapshot_name(db_id: &str, unix_seconds: u64) -> String {
    format!(
        "{db_id}-final-{}",
        vikunja_core::time::compact_utc(unix_seconds)
    )
}

const PROTECTED_HINT: &str = "run `vikunja-aws down --delete-data` to lift deletion protection and delete it (a final snapshot is still taken), or `--keep-data` to keep it";

fn kept(kind: &str, id: impl Into<String>, reason: impl Into<String>) -> Kept {
    Kept {
        kind: kind.into(),
        id: id.into(),
        reason: reason.into(),
    }
}

fn resource(kind: &str, id: impl Into<String>) -> Resource {
    Resource {
        kind: kind.into(),
        id: id.into(),
    }
}

/// The findings against nothing: what `down` deletes, keeps and refuses, and the operations
/// in the order they run. Only what carries the stack's tag is touched; the database stays
/// with `--keep-data` and, while protected, without `--delete-data` (and its subnet group
/// with it); snapshots are never deleted.
pub fn retire(
    names: &Names,
    found: &Found,
    remains: &Remains,
    options: &TeardownOptions,
) -> (PlannedTier, Vec<Op>) {
    let (id, group, secret) = (
        names.db_instance(),
        names.db_subnet_group(),
        names.service_secret(),
    );
    let stack = names.stack();
    let theirs = format!(
        "not tagged {}={stack}: not this stack's, never touched",
        tags::STACK
    );
    let mut tier = PlannedTier {
        tier: "data".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut ops = Vec::new();
    let (db, has_group, has_secret) = (
        found.database.as_ref(),
        found.subnet_group.is_some(),
        found.service_secret.is_some(),
    );
    if db.is_some_and(|db| !db.ours) {
        tier.keep.push(kept("database", &id, &theirs));
    }
    if has_group && !remains.subnet_group_ours {
        tier.keep.push(kept("db subnet group", &group, &theirs));
    }
    if has_secret && !remains.service_secret_ours {
        tier.keep.push(kept("secret", &secret, &theirs));
    }
    let mut stays = false;
    if let Some(db) = db.filter(|db| db.ours) {
        let master = db.master_secret_arn.as_deref();
        if options.keep_data {
            stays = true;
            tier.keep.push(kept("database", &id, "--keep-data"));
            let reason = "kept with the database (RDS manages it)";
            tier.keep
                .extend(master.map(|arn| kept("master password secret", arn, reason)));
        } else if db.deletion_protection && !options.delete_data {
            stays = true;
            tier.refuse.push(Failure {
                kind: "database".into(),
                id: id.clone(),
                reason: "deletion protection is on".into(),
                hint: PROTECTED_HINT.into(),
            });
        } else {
            let final_snapshot = !options.skip_final_snapshot;
            let how = if final_snapshot {
                "after a final snapshot, which is kept"
            } else {
                "no final snapshot"
            };
            tier.delete
                .push(resource("database", format!("{id} ({how})")));
            let with = |arn| format!("{arn} (deleted by RDS with the database)");
            tier.delete
                .extend(master.map(|arn| resource("master password secret", with(arn))));
            ops.push(Op::DeleteDatabase {
                lift_protection: db.deletion_protection,
                final_snapshot,
                status: db.status.clone(),
            });
        }
    }
    if has_group && remains.subnet_group_ours {
        if stays {
            let reason = "the database that stays uses it";
            tier.keep.push(kept("db subnet group", &group, reason));
        } else {
            tier.delete.push(resource("db subnet group", &group));
            ops.push(Op::DeleteSubnetGroup);
        }
    }
    // A secret already scheduled for deletion needs nothing more.
    let unscheduled = found
        .service_secret
        .as_ref()
        .is_some_and(|s| !s.scheduled_for_deletion);
    if remains.service_secret_ours && unscheduled {
        let days = format!("{secret} (scheduled: recoverable for {SECRET_RECOVERY_DAYS} days)");
        tier.delete.push(resource("service secret", days));
        ops.push(Op::ScheduleSecretDeletion);
    }
    let mut snapshots = remains.snapshots.clone();
    snapshots.sort();
    snapshots.dedup();
    tier.keep.extend(snapshots.into_iter().map(|s| {
        let reason = format!("teardown never deletes snapshots; when the data is no longer needed: aws rds delete-db-snapshot --db-snapshot-identifier {s}");
        kept("db snapshot", s, reason)
    }));
    (tier, ops)
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

    /// A protected database of the stack, its subnet group and secret, and a snapshot.
    fn retired(options: &TeardownOptions) -> (PlannedTier, Vec<Op>) {
        let found = Found {
            subnet_group: Some(vec!["subnet-a".into()]),
            service_secret: Some(Secret::default()),
            database: Some(Database {
                ours: true,
                deletion_protection: true,
                status: "available".into(),
                master_secret_arn: Some("arn:secret:rds!db-1".into()),
                ..Database::default()
            }),
        };
        let remains = Remains {
            subnet_group_ours: true,
            service_secret_ours: true,
            snapshots: vec!["v-data-mysql-final-1".into()],
        };
        retire(&Names::new("v"), &found, &remains, options)
    }

    #[test]
    fn a_protected_database_is_refused_unless_told() {
        let (plan, ops) = retired(&TeardownOptions::new("v"));
        assert_eq!(plan.refuse.len(), 1);
        assert!(plan.refuse[0].hint.contains("--delete-data"));
        assert!(plan.keep.iter().any(|k| k.id == "v-data-subnets"));
        assert!(plan.keep.iter().any(|k| k.kind == "db snapshot"));
        assert_eq!(ops, vec![Op::ScheduleSecretDeletion]);

        let mut told = TeardownOptions::new("v");
        told.delete_data = true;
        let (plan, ops) = retired(&told);
        assert!(plan.refuse.is_empty());
        assert!(plan
            .delete
            .iter()
            .any(|r| r.kind == "database" && r.id.contains("final snapshot")));
        assert!(plan.delete.iter().any(|r| r.id == "v-data-subnets"));
        let database = Op::DeleteDatabase {
            lift_protection: true,
            final_snapshot: true,
            status: "available".into(),
        };
        assert_eq!(
            ops,
            [database, Op::DeleteSubnetGroup, Op::ScheduleSecretDeletion]
        );
    }

    #[test]
    fn keep_data_keeps_the_database_and_its_password() {
        let mut options = TeardownOptions::new("v");
        options.keep_data = true;
        let (plan, ops) = retired(&options);
        let kept: Vec<&str> = plan.keep.iter().map(|k| k.id.as_str()).collect();
        assert!(kept.contains(&"v-data-mysql") && kept.contains(&"arn:secret:rds!db-1"));
        assert!(plan
            .delete
            .iter()
            .all(|r| r.id.starts_with("v/backend/service-secret")));
        assert_eq!(ops, vec![Op::ScheduleSecretDeletion]);
    }
}
