//! Backend tier: the step of the provision workflow that stands up the ECR repository, the
//! log group, the ECS cluster, the task definition, the `CODE_DEPLOY` service and its
//! autoscaling — the tier as `vikunja-aws plan` plans it (`resources_backend`), applied,
//! then recorded in the inventory.

pub mod handler;

pub use handler::{handle, Clients};
pub use resources_backend::task::Roles;
