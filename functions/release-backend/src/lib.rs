//! Backend release: an image pushed to the stack's ECR repository becomes a new task
//! definition revision (the live one with only the image changed, pinned by digest) and a
//! blue/green deployment whose hook smoke-tests green: CodeDeploy's (`BeforeAllowTraffic`)
//! or, under the `ecs` engine, the service's own (`POST_TEST_TRAFFIC_SHIFT`, see [`ecs`]).
//!
//! The state machine calls one function with six actions — `prepare`, `snapshot` and
//! `snapshot-status` (before a release that changes Vikunja's major or minor version),
//! `register`, `deploy`, `status` — and carries a [`Release`] between them. `prepare`
//! refuses a downgrade of the major or minor version before anything changes.

pub mod appspec;
pub mod ecs;
pub mod event;
pub mod handler;
pub mod steps;

pub use handler::{handle, Clients, Config, Request};
pub use steps::Release;
