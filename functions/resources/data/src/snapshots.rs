//! Release snapshots: the manual snapshot of the stack's database a backend release takes
//! before it changes Vikunja's major or minor version (Vikunja's migrations are forward
//! only: the snapshot is the way back). Each carries the stack's tags and
//! `vikunja:snapshot=before-upgrade`; the last [`KEEP`] are kept. Teardown keeps every
//! tagged snapshot, these included.

use aws_sdk_rds::types::{DbSnapshot, Tag};
use vikunja_core::image::{version_change, Version, VersionChange};
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, Names, Result, SdkContext};

use resources::found::absent_if_not_found;

use crate::{db_is_ours, find_db_instance, manual_snapshots, pairs};

/// How many release snapshots a stack keeps (the newest).
pub const KEEP: usize = 3;
/// The tag that marks a release snapshot, and its value.
pub const PURPOSE_TAG: &str = "vikunja:snapshot";
pub const BEFORE_UPGRADE: &str = "before-upgrade";
/// The versions the snapshot was taken between (the live one, the released one).
pub const FROM_TAG: &str = "vikunja:from-version";
pub const TO_TAG: &str = "vikunja:to-version";

/// `<db>-release-<yyyymmdd-hhmmss>`: under the database's name (the release role may
/// snapshot only `<stack>-data-mysql-release-*`), distinct from teardown's `-final-`.
pub fn release_snapshot_name(db_instance: &str, unix_seconds: u64) -> String {
    format!(
        "{db_instance}-release-{}",
        vikunja_core::time::compact_utc(unix_seconds)
    )
}

/// What releasing `release` over the live `live` does to the database's schema, or the
/// refusal of a downgrade: Vikunja migrates the shared database forward when a task starts
/// and never back, so an earlier major or minor version would run on a schema it does not
/// know. A patch downgrade (2.5.1 → 2.5.0) is allowed: patch releases do not migrate.
pub fn schema_change(live: &str, release: &str) -> Result<VersionChange> {
    let change = version_change(live, release);
    if change != VersionChange::Downgrade {
        return Ok(change);
    }
    let series = |tag: &str| {
        Version::parse(tag)
            .map(|v| v.series())
            .unwrap_or_else(|| tag.to_string())
    };
    let (from, to) = (series(live), series(release));
    Err(Error::invalid(format!(
        "release {release} would downgrade Vikunja from {live} to {to}: Vikunja's database migrations run forward only, \
         and {from} has already migrated the database past what {to} knows. Nothing was changed. \
         Release {from} or later instead; to go back to {to}, restore the database from the snapshot taken before the upgrade \
         to {from} (tagged vikunja:snapshot=before-upgrade, vikunja:to-version={from}…; see docs/aws.md, \"Restore a snapshot\")"
    )))
}

/// A snapshot as the release reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: String,
    /// RDS's status: `creating`, `available`, `failed`, …
    pub status: String,
    /// Unix seconds RDS started it (absent while RDS has not said).
    pub created: Option<i64>,
    pub ours: bool,
    pub before_upgrade: bool,
}

impl Snapshot {
    pub fn of(snapshot: &DbSnapshot, stack: &str) -> Self {
        let tags: Vec<(&str, &str)> = pairs(snapshot.tag_list()).collect();
        Self {
            id: snapshot
                .db_snapshot_identifier()
                .unwrap_or_default()
                .to_string(),
            status: snapshot.status().unwrap_or_default().to_string(),
            created: snapshot.snapshot_create_time().map(|t| t.secs()),
            ours: tags::belongs_to(tags.iter().copied(), stack),
            before_upgrade: tags.contains(&(PURPOSE_TAG, BEFORE_UPGRADE)),
        }
    }

    pub fn is_available(&self) -> bool {
        self.status == "available"
    }
}

/// The snapshot by its identifier, ours or not; `None` when RDS has none.
pub async fn find_snapshot(
    rds: &aws_sdk_rds::Client,
    names: &Names,
    id: &str,
) -> Result<Option<Snapshot>> {
    let described = rds
        .describe_db_snapshots()
        .db_instance_identifier(names.db_instance())
        .db_snapshot_identifier(id)
        .send()
        .await;
    let described = absent_if_not_found(described.context(format!("find snapshot {id}")))?;
    Ok(described
        .and_then(|d| d.db_snapshots().first().cloned())
        .map(|s| Snapshot::of(&s, names.stack())))
}

/// Takes the release snapshot `id` of the stack's database, tagged with the stack and the
/// two versions. A snapshot by that id that is ours (an earlier attempt whose answer was
/// lost) is adopted; one that is not is a conflict. A database that is not `available`
/// (backing up, modifying) is `NotReady`: the workflow asks again.
pub async fn take_release_snapshot(
    rds: &aws_sdk_rds::Client,
    names: &Names,
    id: &str,
    from_version: &str,
    to_version: &str,
) -> Result<Snapshot> {
    if let Some(found) = find_snapshot(rds, names, id).await? {
        return adopted(found, names);
    }
    let db_id = names.db_instance();
    let database = find_db_instance(rds, names).await?.ok_or_else(|| {
        Error::conflict(format!(
            "database {db_id} does not exist: there is nothing to snapshot before the upgrade (was the stack provisioned?)"
        ))
    })?;
    if !db_is_ours(&database, names.stack()) {
        return Err(Error::conflict(format!(
            "database {db_id} does not carry the tag vikunja:stack={}: not snapshotting someone else's database",
            names.stack()
        )));
    }
    let status = database.db_instance_status().unwrap_or_default();
    if status != "available" {
        return Err(Error::NotReady(format!(
            "database {db_id} is {status}: the snapshot before the upgrade waits until it is available"
        )));
    }
    let mut tag_list: Vec<Tag> = tags::standard(names.stack(), Tier::Data)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    for (key, value) in [
        (PURPOSE_TAG, BEFORE_UPGRADE),
        (FROM_TAG, from_version),
        (TO_TAG, to_version),
    ] {
        tag_list.push(Tag::builder().key(key).value(value).build());
    }
    let created = rds
        .create_db_snapshot()
        .db_instance_identifier(&db_id)
        .db_snapshot_identifier(id)
        .set_tags(Some(tag_list))
        .send()
        .await;
    match created {
        Ok(out) => out
            .db_snapshot()
            .map(|s| Snapshot::of(s, names.stack()))
            .ok_or_else(|| Error::conflict("RDS answered CreateDBSnapshot without the snapshot")),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_snapshot_already_exists_fault()) =>
        {
            // Made by an attempt whose answer was lost (or by someone else: adopted() says).
            let found = find_snapshot(rds, names, id).await?.ok_or_else(|| {
                Error::NotReady(format!("snapshot {id} exists but is not listed yet"))
            })?;
            adopted(found, names)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_invalid_db_instance_state_fault()) =>
        {
            Err(Error::NotReady(format!(
                "database {db_id} cannot be snapshotted now ({}); the workflow asks again",
                e.as_service_error()
                    .and_then(|s| s.meta().message())
                    .unwrap_or("not available")
            )))
        }
        Err(e) => Err(e).context(format!("snapshot {db_id} as {id}")),
    }
}

fn adopted(found: Snapshot, names: &Names) -> Result<Snapshot> {
    if !found.ours {
        return Err(Error::conflict(format!(
            "snapshot {} exists and does not carry the tag vikunja:stack={}: rename or delete it, then release again",
            found.id,
            names.stack()
        )));
    }
    Ok(found)
}

/// The stack's release snapshots (manual, of its database, tagged with the stack and as
/// taken before an upgrade), on every page.
pub async fn find_release_snapshots(
    rds: &aws_sdk_rds::Client,
    names: &Names,
) -> Result<Vec<Snapshot>> {
    Ok(manual_snapshots(rds, names)
        .await?
        .iter()
        .map(|s| Snapshot::of(s, names.stack()))
        .filter(|s| s.ours && s.before_upgrade)
        .collect())
}

/// Which release snapshots go so that the newest `keep` stay, `current` always among them.
/// Newest by RDS's creation time, then by identifier (the name carries the time). One that
/// is not `available` yet is left alone: RDS refuses to delete it.
pub fn to_prune(snapshots: &[Snapshot], current: &str, keep: usize) -> Vec<String> {
    let mut others: Vec<&Snapshot> = snapshots.iter().filter(|s| s.id != current).collect();
    others.sort_by(|a, b| (b.created, &b.id).cmp(&(a.created, &a.id)));
    others
        .into_iter()
        .skip(keep.saturating_sub(1))
        .filter(|s| s.is_available())
        .map(|s| s.id.clone())
        .collect()
}

/// Deletes the release snapshots beyond the newest [`KEEP`] (`current` kept); the ones
/// deleted. A snapshot already gone counts as deleted.
pub async fn prune_release_snapshots(
    rds: &aws_sdk_rds::Client,
    names: &Names,
    current: &str,
) -> Result<Vec<String>> {
    let found = find_release_snapshots(rds, names).await?;
    let mut deleted = Vec::new();
    for id in to_prune(&found, current, KEEP) {
        let answer = rds
            .delete_db_snapshot()
            .db_snapshot_identifier(&id)
            .send()
            .await;
        absent_if_not_found(answer.context(format!("delete release snapshot {id}")))?;
        deleted.push(id);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(id: &str, created: Option<i64>, status: &str) -> Snapshot {
        Snapshot {
            id: id.into(),
            status: status.into(),
            created,
            ours: true,
            before_upgrade: true,
        }
    }

    #[test]
    fn a_downgrade_is_refused_with_what_to_do() {
        let error = schema_change("2.5.0", "0.24.7").unwrap_err();
        assert_eq!(error.name(), "InvalidInput");
        let message = error.to_string();
        for needle in [
            "downgrade Vikunja from 2.5.0 to 0.24",
            "forward only",
            "Nothing was changed",
            "Release 2.5 or later",
            "restore",
            "docs/aws.md",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
        assert_eq!(
            schema_change("0.24.6", "2.5.0").unwrap(),
            VersionChange::Upgrade
        );
        assert_eq!(
            schema_change("2.5.1", "2.5.0").unwrap(),
            VersionChange::SameSeries
        );
        assert_eq!(
            schema_change("2.5.0", "latest").unwrap(),
            VersionChange::Unknown
        );
    }

    #[test]
    fn names_sit_under_the_database_and_carry_the_time() {
        assert_eq!(
            release_snapshot_name("v-data-mysql", 1_796_117_634),
            "v-data-mysql-release-20261201-093354"
        );
    }

    #[test]
    fn the_newest_three_stay_and_the_current_one_always() {
        let all = [
            snapshot("a", Some(10), "available"),
            snapshot("b", Some(20), "available"),
            snapshot("c", Some(30), "available"),
            snapshot("d", Some(40), "available"),
            snapshot("now", Some(50), "available"),
        ];
        assert_eq!(to_prune(&all, "now", 3), vec!["b", "a"]);
        // The current one is kept even when RDS has not dated it yet.
        let mut undated = all.to_vec();
        undated[4].created = None;
        assert_eq!(to_prune(&undated, "now", 3), vec!["b", "a"]);
        // Three or fewer: nothing goes.
        assert!(to_prune(&all[2..], "now", 3).is_empty());
        // Equal times fall back to the identifier, which carries the time.
        let tied = [
            snapshot("v-release-20261201-000001", Some(5), "available"),
            snapshot("v-release-20261201-000002", Some(5), "available"),
            snapshot("v-release-20261201-000003", Some(5), "available"),
        ];
        assert_eq!(to_prune(&tied, "now", 3), vec!["v-release-20261201-000001"]);
    }

    #[test]
    fn a_snapshot_still_being_made_is_not_deleted() {
        let all = [
            snapshot("a", Some(10), "creating"),
            snapshot("b", Some(20), "available"),
            snapshot("c", Some(30), "available"),
            snapshot("d", Some(40), "available"),
            snapshot("now", Some(50), "available"),
        ];
        assert_eq!(to_prune(&all, "now", 3), vec!["b"]);
    }
}
