//! Teardown: deletes what one stack created and nothing else. Every resource is found by the
//! stack's tag (`vikunja:stack`) or its inventory, and checked for that tag before it is
//! touched; untaggable CloudFront pieces are deleted only when the inventory or the stack's
//! own distribution names them.
//!
//! One function serves every step of `statemachine/teardown.asl.json`: `plan` lists what
//! would go, then one call per tier (delivery → backend → frontend → data → load balancer →
//! network → inventory) deletes, and `summary` tells the state machine whether anything could
//! not be deleted. A tier never waits for AWS inside a call: it answers `waiting` with what it
//! waits for, and the state machine calls it again after a `Wait`. "Not found" is success, so
//! a second run, or a run after a crash, finishes the job.

pub mod backend;
pub mod cache;
pub mod context;
pub mod data;
pub mod delivery;
pub mod domain;
pub mod files;
pub mod frontend;
pub mod handler;
pub mod inventory;
pub mod loadbalancer;
pub mod network;
pub mod plan;
pub mod step;
pub mod summary;

pub use context::{deadline_from_millis, Ctx};
pub use handler::{handle, Action, Clients, TeardownEvent};
