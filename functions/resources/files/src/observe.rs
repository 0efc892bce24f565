//! The tier's files as found: the file system by its creation token, its mount targets by
//! subnet, the stack's access point, the backup policy.

use std::collections::BTreeMap;

use aws_sdk_efs::Client;
use resources::found::absent_if_not_found;
use vikunja_core::{tags, Names, Result, SdkContext};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSystem {
    pub id: String,
    pub arn: String,
    /// creating, available, deleting…
    pub state: String,
    pub encrypted: bool,
    pub ours: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MountTarget {
    pub id: String,
    pub state: String,
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessPoint {
    pub id: String,
    pub arn: String,
    /// (uid, gid).
    pub posix_user: Option<(i64, i64)>,
    pub root_directory: String,
}

#[derive(Debug, Clone, Default)]
pub struct Found {
    pub file_system: Option<FileSystem>,
    /// By subnet id.
    pub mount_targets: BTreeMap<String, MountTarget>,
    pub access_point: Option<AccessPoint>,
    pub backups: Option<bool>,
}

fn ours(tags: &[aws_sdk_efs::types::Tag], stack: &str) -> bool {
    tags::belongs_to(tags.iter().map(|t| (t.key(), t.value())), stack)
}

/// The stack's file system, by its creation token (unique per account and region).
pub async fn find_file_system(efs: &Client, names: &Names) -> Result<Option<FileSystem>> {
    let token = crate::creation_token(names);
    let described = efs
        .describe_file_systems()
        .creation_token(&token)
        .send()
        .await
        .context(format!("find file system {token}"))?;
    Ok(described.file_systems().first().map(|system| FileSystem {
        id: system.file_system_id().to_string(),
        arn: system.file_system_arn().unwrap_or_default().to_string(),
        state: system.life_cycle_state().as_str().to_string(),
        encrypted: system.encrypted() == Some(true),
        ours: ours(system.tags(), names.stack()),
    }))
}

pub async fn observe(efs: &Client, names: &Names) -> Result<Found> {
    let Some(file_system) = find_file_system(efs, names).await? else {
        return Ok(Found::default());
    };
    let id = &file_system.id;
    let mut found = Found {
        mount_targets: mount_targets(efs, id).await?,
        access_point: access_point(efs, names, id).await?,
        backups: backups(efs, id).await?,
        file_system: Some(file_system),
    };
    // A file system being deleted has nothing left worth adopting.
    if found
        .file_system
        .as_ref()
        .is_some_and(|f| f.state == "deleted")
    {
        found = Found::default();
    }
    Ok(found)
}

async fn mount_targets(efs: &Client, file_system: &str) -> Result<BTreeMap<String, MountTarget>> {
    let described = efs
        .describe_mount_targets()
        .file_system_id(file_system)
        .send()
        .await
        .context(format!("list the mount targets of {file_system}"))?;
    let mut found = BTreeMap::new();
    for target in described.mount_targets() {
        let id = target.mount_target_id().to_string();
        let groups = efs
            .describe_mount_target_security_groups()
            .mount_target_id(&id)
            .send()
            .await
            .context(format!("read the security groups of mount target {id}"));
        let mut security_groups = absent_if_not_found(groups)?
            .map(|g| g.security_groups().to_vec())
            .unwrap_or_default();
        security_groups.sort();
        found.insert(
            target.subnet_id().to_string(),
            MountTarget {
                id,
                state: target.life_cycle_state().as_str().to_string(),
                security_groups,
            },
        );
    }
    Ok(found)
}

/// The stack's access point: the one named for it (its `Name` tag) and tagged with it.
async fn access_point(
    efs: &Client,
    names: &Names,
    file_system: &str,
) -> Result<Option<AccessPoint>> {
    let name = crate::access_point_name(names);
    let described = efs
        .describe_access_points()
        .file_system_id(file_system)
        .send()
        .await
        .context(format!("list the access points of {file_system}"))?;
    let point = described
        .access_points()
        .iter()
        .find(|p| p.name() == Some(name.as_str()) && ours(p.tags(), names.stack()));
    Ok(point.map(|p| AccessPoint {
        id: p.access_point_id().unwrap_or_default().to_string(),
        arn: p.access_point_arn().unwrap_or_default().to_string(),
        posix_user: p.posix_user().map(|u| (u.uid(), u.gid())),
        root_directory: p
            .root_directory()
            .and_then(|r| r.path())
            .unwrap_or("/")
            .to_string(),
    }))
}

async fn backups(efs: &Client, file_system: &str) -> Result<Option<bool>> {
    let described = efs
        .describe_backup_policy()
        .file_system_id(file_system)
        .send()
        .await
        .context(format!("read the backup policy of {file_system}"));
    let policy = absent_if_not_found(described)?;
    Ok(Some(policy.is_some_and(|p| {
        p.backup_policy()
            .is_some_and(|b| b.status().as_str() == "ENABLED")
    })))
}
