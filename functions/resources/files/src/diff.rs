//! Spec + findings → the plan items `plan` prints and the operations `up` carries out; the
//! findings against nothing → what `down` deletes. Pure.

use vikunja_core::teardown::{Kept, PlannedTier, Resource};
use vikunja_core::Names;

use crate::observe::Found;
use crate::{access_point_name, creation_token, POSIX_ID, ROOT_DIRECTORY};
use resources::plan::{create, Check, How, Operation};

/// What `up` wants: a mount target in each of the tasks' subnets, in the `files` group.
#[derive(Debug, Clone)]
pub struct Spec {
    pub names: Names,
    /// The subnets the tasks run in, one per zone, in the network tier's order (a, b).
    pub subnets: Vec<String>,
    /// The `files` security group, or what it will be.
    pub security_group: String,
}

impl Spec {
    /// A subnet by the network tier's name for it (`plan` may know only that it will exist).
    pub fn subnet_name(&self, subnet: &str) -> String {
        match self.subnets.iter().position(|s| s == subnet) {
            Some(index) => self.names.subnet("public", index),
            None => subnet.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateFileSystem,
    EnableBackups,
    CreateMountTarget { subnet: String },
    SetMountTargetGroups { subnet: String },
    CreateAccessPoint,
    DeleteAccessPoint { id: String },
    DeleteMountTarget { subnet: String, id: String },
    DeleteFileSystem { id: String },
}

impl Operation for Op {
    type Context = Spec;

    fn describe(&self, spec: &Spec) -> String {
        let token = creation_token(&spec.names);
        match self {
            Op::CreateFileSystem => {
                format!("create file system {token} (EFS, encrypted, elastic throughput)")
            }
            Op::EnableBackups => format!("turn on automatic backups of {token}"),
            Op::CreateMountTarget { subnet } => {
                format!(
                    "create a mount target of {token} in {}",
                    spec.subnet_name(subnet)
                )
            }
            Op::SetMountTargetGroups { subnet } => format!(
                "put the mount target of {token} in {} in the files security group",
                spec.subnet_name(subnet)
            ),
            Op::CreateAccessPoint => format!(
                "create access point {} (uid/gid {POSIX_ID}, root {ROOT_DIRECTORY})",
                access_point_name(&spec.names)
            ),
            Op::DeleteAccessPoint { id } => format!("delete access point {id}"),
            Op::DeleteMountTarget { id, .. } => format!("delete mount target {id}"),
            Op::DeleteFileSystem { id } => format!("delete file system {id} and its files"),
        }
    }
}

pub type Plan = resources::plan::Plan<Op>;

pub fn diff(spec: &Spec, found: &Found) -> Plan {
    let mut plan = Plan::default();
    let names = &spec.names;
    let token = creation_token(names);
    let Some(system) = &found.file_system else {
        plan.push(
            create(
                "file-system",
                &token,
                Some("EFS, encrypted, automatic backups".into()),
            ),
            vec![Op::CreateFileSystem, Op::EnableBackups],
            spec,
        );
        for subnet in &spec.subnets {
            plan.push(
                create(
                    "mount-target",
                    subnet,
                    Some(format!("in {}", spec.security_group)),
                ),
                vec![Op::CreateMountTarget {
                    subnet: subnet.clone(),
                }],
                spec,
            );
        }
        plan.push(
            create(
                "access-point",
                access_point_name(names),
                Some(format!("uid/gid {POSIX_ID}, root {ROOT_DIRECTORY}")),
            ),
            vec![Op::CreateAccessPoint],
            spec,
        );
        return plan;
    };
    let mut check = Check::existing("file-system", &token, &system.id);
    check.owner(
        system.ours,
        names.stack(),
        format!("file system {} has the stack's creation token but not its tag: delete it (aws efs delete-file-system) or tag it, then run up", system.id),
    );
    check.compare(
        "encrypted",
        system.encrypted,
        true,
        How::UpLeavesIt,
        Some("EFS encrypts only at creation: copy the files to a new file system (AWS DataSync), then delete this one and run up".into()),
    );
    let backups = found.backups == Some(true);
    check.compare("automaticBackups", backups, true, How::InPlace, None);
    let ops = if backups {
        vec![]
    } else {
        vec![Op::EnableBackups]
    };
    plan.push(check.done(), ops, spec);

    for subnet in &spec.subnets {
        match found.mount_targets.get(subnet) {
            None => plan.push(
                create(
                    "mount-target",
                    subnet,
                    Some(format!("in {}", spec.security_group)),
                ),
                vec![Op::CreateMountTarget {
                    subnet: subnet.clone(),
                }],
                spec,
            ),
            Some(target) => {
                let mut check = Check::existing("mount-target", subnet, &target.id);
                check.compare(
                    "securityGroups",
                    target.security_groups.join(", "),
                    &spec.security_group,
                    How::InPlace,
                    None,
                );
                let ops = if target.security_groups == [spec.security_group.clone()] {
                    vec![]
                } else {
                    vec![Op::SetMountTargetGroups {
                        subnet: subnet.clone(),
                    }]
                };
                plan.push(check.done(), ops, spec);
            }
        }
    }
    let name = access_point_name(names);
    match &found.access_point {
        None => plan.push(
            create(
                "access-point",
                &name,
                Some(format!("uid/gid {POSIX_ID}, root {ROOT_DIRECTORY}")),
            ),
            vec![Op::CreateAccessPoint],
            spec,
        ),
        Some(point) => {
            let mut check = Check::existing("access-point", &name, &point.id);
            let fix = Some("an access point cannot change: delete it (aws efs delete-access-point) and run up; the files stay on the file system".to_string());
            let user = point
                .posix_user
                .map_or_else(|| "none".into(), |(u, g)| format!("{u}:{g}"));
            check.compare(
                "posixUser",
                user,
                format!("{POSIX_ID}:{POSIX_ID}"),
                How::UpLeavesIt,
                fix.clone(),
            );
            check.compare(
                "rootDirectory",
                &point.root_directory,
                ROOT_DIRECTORY,
                How::UpLeavesIt,
                fix,
            );
            plan.push(check.done(), vec![], spec);
        }
    }
    plan
}

/// What `down` does with the files: with `--keep-data` the file system (and its access
/// point) stays and only the mount targets go, so the network can go; otherwise all of it.
pub fn retire(names: &Names, found: &Found, keep_data: bool) -> (PlannedTier, Vec<Op>) {
    let mut tier = PlannedTier {
        tier: "data".into(),
        delete: vec![],
        keep: vec![],
        refuse: vec![],
    };
    let mut ops = Vec::new();
    let Some(system) = found.file_system.as_ref().filter(|f| f.ours) else {
        return (tier, ops);
    };
    let resource = |kind: &str, id: &str| Resource {
        kind: kind.into(),
        id: id.into(),
    };
    for (subnet, target) in &found.mount_targets {
        tier.delete.push(resource("efs mount target", &target.id));
        ops.push(Op::DeleteMountTarget {
            subnet: subnet.clone(),
            id: target.id.clone(),
        });
    }
    if keep_data {
        tier.keep.push(Kept {
            kind: "efs file system".into(),
            id: system.id.clone(),
            reason: format!(
                "--keep-data: Vikunja's files ({}); `up` mounts it again",
                creation_token(names)
            ),
        });
        return (tier, ops);
    }
    if let Some(point) = &found.access_point {
        tier.delete.push(resource("efs access point", &point.id));
        ops.push(Op::DeleteAccessPoint {
            id: point.id.clone(),
        });
    }
    tier.delete.push(resource("efs file system", &system.id));
    ops.push(Op::DeleteFileSystem {
        id: system.id.clone(),
    });
    (tier, ops)
}
