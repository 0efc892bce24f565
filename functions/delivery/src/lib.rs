//! Delivery tier: the CodeDeploy application and its ECS blue/green deployment group (the
//! blue/green target-group pair behind the production and test listeners, all-at-once
//! shift — the one configuration a Network Load Balancer allows — automatic rollback on
//! failure and on alarm), the unhealthy-host alarms that stop a bad deployment, and the
//! smoke-test probe's place in the VPC — `resources_delivery`'s lifecycle, applied.

pub mod handler;

pub use handler::{handle, Clients};
