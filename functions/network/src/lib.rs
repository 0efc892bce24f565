//! Network tier: a VPC over two availability zones with public subnets (load balancer and
//! Fargate tasks) and isolated subnets (database, no route to the internet), an internet
//! gateway, route tables, and the security-group chain lb → app (3456) → db (3306).
//!
//! Every step is create-or-adopt: resources are found by the stack's tags and names first,
//! so a re-run or a retry after a crash converges.

pub mod ec2;
pub mod handler;

pub use handler::{ensure_network, handle};
