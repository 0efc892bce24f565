//! Backend tier: the ECR repository releases push to, the log group, the ECS cluster, the
//! task definition (Vikunja's image, its settings in the environment and its two secrets
//! through ECS `secrets`), the Fargate service behind the blue target group with the
//! `CODE_DEPLOY` deployment controller, and autoscaling between the configured bounds.
//!
//! Once the service exists CodeDeploy owns its task definition: a re-run never pushes a new
//! one through `UpdateService` (ECS refuses it for `CODE_DEPLOY` services). A release copies
//! the live revision's sizes, environment and secrets and changes only the image, so changed
//! task settings need a revision deployed through CodeDeploy by hand (`plan` says which).

pub mod autoscaling;
pub mod handler;
pub mod registry;
pub mod service;
pub mod task;

pub use handler::{handle, Clients, Roles};
