//! One lifecycle per AWS resource: what the tier libraries share. Each tier has its own
//! crate (`functions/resources/<tier>`, `resources_<tier>`) holding, for every resource kind
//! it owns, the one finder every verb uses — and, for the network, the desired spec, the diff
//! to plan items and operations, and apply. One crate per tier, not one crate with a feature
//! per tier: `make build` compiles every function in one cargo invocation, which unifies
//! features, and a function should link only the SDK crates of the tiers it touches.
//!
//! No `lambda_runtime` here: the same code runs in Lambda, in the CLI and in tests.

pub mod adopt;
pub mod data;
pub mod found;
pub mod plan;

#[cfg(any(test, feature = "replay"))]
pub mod replay;

pub use found::Seen;
pub use plan::{Action, Check, Difference, How, Item};
