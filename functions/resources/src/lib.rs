//! One lifecycle per AWS resource. Each tier module holds, for every resource kind it owns:
//! the desired **spec** (plain data from the settings and names), **observe** (one paginated
//! look-up by the stack's tags and deterministic names, the only finder of that kind in the
//! tree), **diff** (spec + observed → the plan items `vikunja-aws plan` prints and the
//! [operations](network::Op) `up` applies, so the two cannot disagree), **apply** (create or
//! adopt; an "already exists" after an unseen success is adoption) and the look-ups teardown
//! deletes from (NotFound is success).
//!
//! No `lambda_runtime` here: the same code runs in Lambda, in the CLI and in tests.

pub mod data;
#[cfg(feature = "delivery")]
pub mod delivery;
pub mod found;
pub mod plan;

#[cfg(feature = "backend")]
pub mod backend;
#[cfg(feature = "network")]
pub mod ec2;
#[cfg(feature = "frontend")]
pub mod frontend;
#[cfg(feature = "loadbalancer")]
pub mod loadbalancer;
#[cfg(feature = "network")]
pub mod network;

#[cfg(test)]
mod replay;

pub use found::Seen;
pub use plan::{Action, Check, Difference, How, Item};
