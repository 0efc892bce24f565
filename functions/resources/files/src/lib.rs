//! Files: Vikunja keeps attachments, avatars and project backgrounds under `files.basepath`
//! (`/app/vikunja/files` in the image). On Fargate that is the task's ephemeral disk, lost
//! at every release and scale-in and different on every task; so the stack gives it one
//! encrypted EFS file system, a mount target in each zone the tasks run in (the `files`
//! security group: NFS from the API tasks only), an access point that pins the POSIX user
//! (uid/gid 1000) and a root directory of its own, and automatic backups. The task
//! definition mounts the access point with IAM authorization and TLS in transit.
//!
//! One module, the whole lifecycle: [`observe`] (the one finder of each), [`diff`] (spec and
//! findings → plan items and operations), [`apply`], and [`retire`] for teardown.

mod apply;
mod diff;
mod observe;

pub use apply::{apply, delete, ensure, Applied, Deleted};
pub use diff::{diff, retire, Op, Plan, Spec};
pub use observe::{observe, AccessPoint, FileSystem, Found, MountTarget};

use vikunja_core::tags::Tier;
use vikunja_core::Names;

pub use vikunja_core::names::FILES_PATH;
/// The user the image runs Vikunja as.
pub const POSIX_ID: i64 = 1000;
/// The access point's root directory on the file system.
pub const ROOT_DIRECTORY: &str = "/vikunja";

/// The file system's creation token: the stack's own, so a retried create answers with the
/// one an earlier attempt made.
pub fn creation_token(names: &Names) -> String {
    names.of(Tier::Data, "files")
}

/// The access point's name (its `Name` tag) and client token.
pub fn access_point_name(names: &Names) -> String {
    names.of(Tier::Data, "files-vikunja")
}
