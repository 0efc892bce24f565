//! Network tier: a VPC over two availability zones with public subnets (load balancer and
//! Fargate tasks) and isolated subnets (database, no route to the internet), an internet
//! gateway, route tables, and the security-group chain lb → app (3456) → db (3306).
//!
//! What is made, found and compared lives in `resources_network`, which `plan` and
//! teardown use too; this crate is the Lambda step around it.

pub mod handler;
pub mod mail;

pub use handler::{ensure_network, handle};
