//! Carries a files plan out. Each create names a token of the stack's own (the creation
//! token, the access point's client token), so a retry after a lost answer meets what the
//! first attempt made and adopts it; deletes treat NotFound as done.

use aws_sdk_efs::types::{
    BackupPolicy, CreationInfo, PerformanceMode, PosixUser, RootDirectory, Status, Tag,
    ThroughputMode,
};
use aws_sdk_efs::Client;
use tracing::info;
use vikunja_core::error::built;
use vikunja_core::tags::{self, Tier};
use vikunja_core::{Error, ErrorClass, Result, SdkContext};

use crate::diff::{diff, Op, Spec};
use crate::observe::{observe, Found};
use crate::{access_point_name, creation_token, POSIX_ID, ROOT_DIRECTORY};
use resources::adopt::created_or_found;
use resources::plan::Operation;

#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub file_system_id: String,
    pub file_system_arn: String,
    pub access_point_id: String,
    pub access_point_arn: String,
    pub changes: Vec<String>,
    /// What the file system must finish first (it is `creating`): the operations after its
    /// creation wait for the next call — the workflow's wait loop, not a sleeping Lambda.
    pub pending: Option<String>,
}

pub async fn ensure(efs: &Client, spec: &Spec) -> Result<Applied> {
    let found = observe(efs, &spec.names).await?;
    let plan = diff(spec, &found);
    apply(efs, spec, &found, &plan.runnable()?.ops).await
}

pub async fn apply(efs: &Client, spec: &Spec, found: &Found, ops: &[Op]) -> Result<Applied> {
    let mut applied = Applied {
        file_system_id: found
            .file_system
            .as_ref()
            .map(|f| f.id.clone())
            .unwrap_or_default(),
        file_system_arn: found
            .file_system
            .as_ref()
            .map(|f| f.arn.clone())
            .unwrap_or_default(),
        access_point_id: found
            .access_point
            .as_ref()
            .map(|p| p.id.clone())
            .unwrap_or_default(),
        access_point_arn: found
            .access_point
            .as_ref()
            .map(|p| p.arn.clone())
            .unwrap_or_default(),
        changes: Vec::new(),
        pending: None,
    };
    let mut state = found.file_system.as_ref().map(|f| f.state.clone());
    for op in ops {
        let id = applied.file_system_id.clone();
        if *op != Op::CreateFileSystem && state.as_deref() != Some("available") {
            let state = state.unwrap_or_else(|| "not there".into());
            applied.pending = Some(format!("file system {id} to be available (it is {state})"));
            return Ok(applied);
        }
        match op {
            Op::CreateFileSystem => {
                (applied.file_system_id, applied.file_system_arn) =
                    create_file_system(efs, spec).await?;
                let made = crate::observe::find_file_system(efs, &spec.names).await?;
                state = made.map(|f| f.state);
            }
            Op::EnableBackups => {
                efs.put_backup_policy()
                    .file_system_id(&id)
                    .backup_policy(built(
                        BackupPolicy::builder().status(Status::Enabled).build(),
                        "backup policy",
                    )?)
                    .send()
                    .await
                    .context(format!("turn on backups of {id}"))?;
            }
            Op::CreateMountTarget { subnet } => {
                let created = efs
                    .create_mount_target()
                    .file_system_id(&id)
                    .subnet_id(subnet)
                    .security_groups(&spec.security_group)
                    .send()
                    .await
                    .context(format!("create a mount target of {id} in {subnet}"));
                match created {
                    // An earlier attempt made it.
                    Err(error) if error.is(ErrorClass::AlreadyExists) => {}
                    other => {
                        other?;
                    }
                }
            }
            Op::SetMountTargetGroups { subnet } => {
                let target = found
                    .mount_targets
                    .get(subnet)
                    .map(|t| t.id.clone())
                    .unwrap_or_default();
                efs.modify_mount_target_security_groups()
                    .mount_target_id(&target)
                    .security_groups(&spec.security_group)
                    .send()
                    .await
                    .context(format!("set the security groups of mount target {target}"))?;
            }
            Op::CreateAccessPoint => {
                (applied.access_point_id, applied.access_point_arn) =
                    create_access_point(efs, spec, &id).await?;
            }
            other => {
                return Err(Error::invalid(format!(
                    "`up` does not {}: that is teardown's",
                    other.describe(spec)
                )))
            }
        }
        let change = op.describe(spec);
        info!(stack = spec.names.stack(), change, "applied");
        applied.changes.push(change);
    }
    Ok(applied)
}

fn tag_list(spec: &Spec, name: &str) -> Result<Vec<Tag>> {
    tags::named(spec.names.stack(), Tier::Data, name)
        .into_iter()
        .map(|(k, v)| built(Tag::builder().key(k).value(v).build(), "tag"))
        .collect()
}

/// (id, ARN).
async fn create_file_system(efs: &Client, spec: &Spec) -> Result<(String, String)> {
    let token = creation_token(&spec.names);
    let created = efs
        .create_file_system()
        .creation_token(&token)
        .encrypted(true)
        .performance_mode(PerformanceMode::GeneralPurpose)
        .throughput_mode(ThroughputMode::Elastic)
        .set_tags(Some(tag_list(spec, &token)?))
        .send()
        .await
        .context(format!("create file system {token}"))
        .map(|c| {
            (
                c.file_system_id().to_string(),
                c.file_system_arn().unwrap_or_default().to_string(),
            )
        });
    created_or_found(created, || async {
        let found = crate::observe::find_file_system(efs, &spec.names).await?;
        let adoptable = found.filter(|f| f.ours && f.state != "deleted");
        Ok(adoptable.map(|f| (f.id, f.arn)))
    })
    .await
}

/// (id, ARN).
async fn create_access_point(
    efs: &Client,
    spec: &Spec,
    file_system: &str,
) -> Result<(String, String)> {
    let name = access_point_name(&spec.names);
    let user = built(
        PosixUser::builder().uid(POSIX_ID).gid(POSIX_ID).build(),
        "POSIX user",
    )?;
    // EFS makes the directory on first use, owned by Vikunja's user.
    let creation = built(
        CreationInfo::builder()
            .owner_uid(POSIX_ID)
            .owner_gid(POSIX_ID)
            .permissions("0750")
            .build(),
        "creation info",
    )?;
    let created = efs
        .create_access_point()
        .client_token(&name)
        .file_system_id(file_system)
        .posix_user(user)
        .root_directory(
            RootDirectory::builder()
                .path(ROOT_DIRECTORY)
                .creation_info(creation)
                .build(),
        )
        .set_tags(Some(tag_list(spec, &name)?))
        .send()
        .await
        .context(format!("create access point {name}"))
        .map(|c| {
            (
                c.access_point_id().unwrap_or_default().to_string(),
                c.access_point_arn().unwrap_or_default().to_string(),
            )
        });
    created_or_found(created, || async {
        let found = observe(efs, &spec.names).await?;
        Ok(found.access_point.map(|p| (p.id, p.arn)))
    })
    .await
}

#[derive(Debug, Clone, PartialEq)]
pub enum Deleted {
    Gone,
    /// The file system's mount targets are still going.
    Waiting(String),
}

pub async fn delete(efs: &Client, op: &Op) -> Result<Deleted> {
    let result = match op {
        Op::DeleteAccessPoint { id } => efs
            .delete_access_point()
            .access_point_id(id)
            .send()
            .await
            .context(format!("delete access point {id}"))
            .map(|_| ()),
        Op::DeleteMountTarget { id, .. } => efs
            .delete_mount_target()
            .mount_target_id(id)
            .send()
            .await
            .context(format!("delete mount target {id}"))
            .map(|_| ()),
        Op::DeleteFileSystem { id } => {
            let deleted = efs
                .delete_file_system()
                .file_system_id(id)
                .send()
                .await
                .context(format!("delete file system {id}"));
            if let Err(error) = &deleted {
                if error.is(ErrorClass::InUse) {
                    return Ok(Deleted::Waiting(format!(
                        "the mount targets of file system {id} to go"
                    )));
                }
            }
            deleted.map(|_| ())
        }
        other => return Err(Error::invalid(format!("{other:?} is not a delete"))),
    };
    match result {
        Err(error) if error.is(ErrorClass::NotFound) => Ok(Deleted::Gone),
        other => other.map(|_| Deleted::Gone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resources::replay::{ok, Replay};
    use vikunja_core::Names;

    resources::replayed_client!(efs, aws_sdk_efs);

    const FILE_SYSTEMS: &str = "/2015-02-01/file-systems";

    fn system(state: &str) -> String {
        format!(
            r#"{{"OwnerId":"123456789012","CreationToken":"v-data-files","FileSystemId":"fs-1","FileSystemArn":"arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1","CreationTime":1764000000,"LifeCycleState":"{state}","NumberOfMountTargets":0,"SizeInBytes":{{"Value":0}},"PerformanceMode":"generalPurpose","Encrypted":true,"ThroughputMode":"elastic","Tags":[{{"Key":"vikunja:stack","Value":"v"}}]}}"#
        )
    }

    #[tokio::test]
    async fn a_file_system_still_creating_leaves_the_rest_to_the_next_call_without_waiting() {
        let replay = Replay::new(vec![
            ok("POST /2015-02-01/file-systems", system("creating")),
            ok(
                "GET /2015-02-01/file-systems",
                format!(r#"{{"FileSystems":[{}]}}"#, system("creating")),
            ),
        ]);
        let spec = Spec {
            names: Names::new("v"),
            subnets: vec!["subnet-pa".into(), "subnet-pb".into()],
            security_group: "sg-files".into(),
        };
        let ops = [
            Op::CreateFileSystem,
            Op::EnableBackups,
            Op::CreateMountTarget {
                subnet: "subnet-pa".into(),
            },
            Op::CreateAccessPoint,
        ];
        let applied = apply(&efs(&replay), &spec, &Found::default(), &ops)
            .await
            .unwrap();
        replay.assert_done();
        assert_eq!(applied.file_system_id, "fs-1");
        assert_eq!(applied.changes.len(), 1, "{:?}", applied.changes);
        let pending = applied.pending.expect("the rest waits");
        assert!(
            pending.contains("fs-1") && pending.contains("creating"),
            "{pending}"
        );
        assert!(replay.actions().iter().all(|a| a.ends_with(FILE_SYSTEMS)));
    }
}
