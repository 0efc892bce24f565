//! The operator CLI's library: packaging, deploying the bootstrap stack, planning, starting
//! and following workflows. The binary and the integration tests share it, so the tests drive
//! exactly what an operator runs.

pub mod binary;
pub mod cost;
pub mod deploy;
pub mod diagram;
pub mod down;
pub mod follow;
pub mod package;
pub mod plan;
pub mod progress;
pub mod release_backend;
pub mod release_frontend;
pub mod status;
pub mod target;

/// Output format of a command's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}
