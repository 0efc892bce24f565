//! Delivery tier: the CodeDeploy application and its ECS blue/green deployment group (the
//! blue/green target-group pair behind the production and test listeners, all-at-once
//! shift — the one configuration a Network Load Balancer allows — automatic rollback on
//! failure and on alarm), the unhealthy-host alarms that stop a bad deployment, and the
//! smoke-test probe's place in the VPC.

pub mod alarms;
pub mod handler;
pub mod probe;

pub use handler::{deployment_group_request, handle, Clients};
