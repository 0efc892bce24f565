//! Cache: Vikunja's keyvalue store (failed-login counters, OpenID login state, caches) is
//! in each task's memory unless Redis is configured; with more than one task that is one
//! store per task. With the setting `sharedCache` the stack gives it one Valkey on
//! ElastiCache: a one-node replication group (encryption at rest is offered only on
//! replication groups) in the isolated subnets, in the `cache` security group (6379 from
//! the API tasks only).
//!
//! In transit the cache speaks plain Valkey: Vikunja's Redis client (`pkg/red/redis.go` in
//! go-vikunja/vikunja) is built with an address, a password and a database only — no TLS —
//! and ElastiCache takes an AUTH token only with transit encryption. So there is neither;
//! what confines the cache is its network (isolated subnets, the `cache` group).
//!
//! One module, the whole lifecycle: [`observe`] (the one finder of each), [`diff`] (spec and
//! findings → plan items and operations), [`apply`], and [`retire`] for teardown.

mod apply;
mod diff;
mod observe;

pub use apply::{apply, delete, ensure, Applied, Deleted};
pub use diff::{diff, retire, Op, Plan, Spec};
pub use observe::{observe, Found, ReplicationGroup, SubnetGroup};

use vikunja_core::tags::Tier;
use vikunja_core::Names;

/// The engine: Valkey speaks the Redis protocol Vikunja's client uses.
pub const ENGINE: &str = "valkey";

/// The replication group's id (at most 40 characters: a stack name has at most 20) — and
/// the cache subnet group's name.
pub fn replication_group_id(names: &Names) -> String {
    names.of(Tier::Data, "cache")
}

pub fn subnet_group_name(names: &Names) -> String {
    names.of(Tier::Data, "cache")
}
