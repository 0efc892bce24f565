//! Shared library of the vikunja-aws functions.
//!
//! Everything here is independent of any one tier: the operator's settings and their
//! validation, resource names, tags, the outputs each tier hands to the next, the stack's
//! inventory in SSM, one error type whose names Step Functions can `Retry`/`Catch` on, and
//! the one place SDK configuration is built.

pub mod aws;
pub mod codes;
pub mod endpoints;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod image;
pub mod inventory;
pub mod lambda;
pub mod names;
pub mod outputs;
pub mod settings;
pub mod tags;
pub mod teardown;
pub mod telemetry;
pub mod time;

pub use error::{Error, ErrorClass, Result, SdkContext};
pub use names::Names;
pub use outputs::*;
pub use settings::Settings;
