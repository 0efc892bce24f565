//! Data tier: a DB subnet group over the isolated subnets, RDS MySQL 8 (private, encrypted,
//! backups kept, its master password managed by RDS in Secrets Manager) and the generated
//! `VIKUNJA_SERVICE_SECRET` every API task shares.
//!
//! The tier as `vikunja-aws plan` plans it (`resources_data`), applied. Creating the database
//! takes minutes on AWS, so `ensure` returns at once with the instance's status and the state
//! machine polls `status` until it is `available`.

pub mod handler;

pub use handler::{handle, Action, DataEvent};
