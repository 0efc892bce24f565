//! One error type for every function. Its variants map to stable `errorType` names at the
//! Lambda boundary, so a state machine retries what is transient and stops on the rest.

use std::fmt::Display;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

use crate::codes;
pub use crate::codes::ErrorClass;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The input cannot work, whatever is retried: a bad stack name, CIDR, setting or event.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// What exists conflicts with what is asked and cannot be changed in place.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A resource is still on its way; the state machine waits and asks again.
    #[error("not ready: {0}")]
    NotReady(String),
    /// A deployment ended without success; the message is the deployment's own reason.
    #[error("{0}")]
    DeploymentFailed(String),
    /// An AWS call failed; `class` says what kind of failure it is (see [`ErrorClass`]).
    #[error("{context}: {message}")]
    Aws {
        context: String,
        code: Option<String>,
        message: String,
        class: ErrorClass,
    },
}

impl Error {
    pub fn invalid(message: impl Display) -> Self {
        Self::Invalid(message.to_string())
    }

    pub fn conflict(message: impl Display) -> Self {
        Self::Conflict(message.to_string())
    }

    /// The `errorType` a state machine sees.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "InvalidInput",
            Self::Conflict(_) => "Conflict",
            Self::NotReady(_) => "NotReady",
            Self::DeploymentFailed(_) => "DeploymentFailed",
            Self::Aws { class, .. } => class.name(),
        }
    }

    /// What kind of AWS failure this is; `None` for errors of our own making.
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::Aws { class, .. } => Some(*class),
            _ => None,
        }
    }

    pub fn is(&self, class: ErrorClass) -> bool {
        self.class() == Some(class)
    }

    /// Worth retrying unchanged: throttling, a server-side fault, no answer.
    pub fn is_transient(&self) -> bool {
        self.is(ErrorClass::Transient)
    }

    /// An AWS error of `class`, for code that raises one itself (tests, adoption checks).
    pub fn aws(class: ErrorClass, context: impl Display, message: impl Display) -> Self {
        Self::Aws {
            context: context.to_string(),
            code: None,
            message: message.to_string(),
            class,
        }
    }

    /// The AWS error code, when this is an AWS error that had one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Self {
        Diagnostic {
            error_type: error.name().to_string(),
            error_message: error.to_string(),
        }
    }
}

/// The class of an SDK error: by AWS's error code (one table, [`crate::codes`]), else by
/// what happened on the wire (no answer, a 5xx, a body that is no AWS error: transient).
pub fn classify<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> ErrorClass
where
    R: HttpStatus,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorClass::Transient
        }
        SdkError::ServiceError(service) => {
            let err = service.err();
            codes::class_of(err.code(), err.message())
                .unwrap_or_else(|| codes::class_of_status(service.raw().status_code()))
        }
        _ => ErrorClass::Other,
    }
}

/// The class of an SDK error as a method, for code that branches before turning it into ours.
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

impl<E: ProvideErrorMetadata> Classify for SdkError<E, aws_smithy_runtime_api::http::Response> {
    fn class(&self) -> ErrorClass {
        classify(self)
    }
}

/// The HTTP status of a raw response, so classification does not depend on one HTTP crate.
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Turns an SDK result into ours, naming what was being done: "create VPC vikunja: …".
pub trait SdkContext<T> {
    fn context(self, what: impl Display) -> Result<T>;
}

impl<T, E> SdkContext<T>
    for std::result::Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn context(self, what: impl Display) -> Result<T> {
        self.map_err(|error| Error::Aws {
            context: what.to_string(),
            code: error.code().map(str::to_string),
            class: classify(&error),
            message: describe(&error),
        })
    }
}

/// A one-line description of an SDK error: AWS's own message when it gave one, else the
/// HTTP status (an answer without a parsable error body), else the transport failure.
fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    if let Some(message) = error.message() {
        return message.to_string();
    }
    match error {
        SdkError::ServiceError(service) => format!(
            "HTTP {} with {}",
            service.raw().status_code(),
            service
                .err()
                .code()
                .map(|c| format!("error code {c}"))
                .unwrap_or_else(|| "no error code".to_string())
        ),
        // An answer that is no AWS error at all (an HTML error page): its status says enough.
        SdkError::ResponseError(response) => format!(
            "HTTP {} with a body that is not an AWS error",
            response.raw().status_code()
        ),
        other => DisplayErrorContext(other).to_string(),
    }
}

/// An SDK builder's result as ours: a missing required field is a bug in the request we
/// built, reported with what was being built.
pub fn built<T, E: Display>(result: std::result::Result<T, E>, what: &str) -> Result<T> {
    result.map_err(|e| Error::invalid(format!("build {what}: {e}")))
}

/// Every `errorType` a function of this project can raise, besides the runtime's own
/// (`Lambda.*`) and Step Functions' (`States.*`). The state machines' `ErrorEquals` may name
/// only these (a test reads `statemachine/*.asl.json`).
pub const ERROR_NAMES: &[&str] = &[
    "InvalidInput",
    "Conflict",
    "NotReady",
    "DeploymentFailed",
    crate::lambda::PANIC,
    "NotFound",
    "AlreadyExists",
    "InUse",
    "AccessDenied",
    "Retryable",
    "AwsError",
];

/// The names a workflow retries: every `Retry` that retries one retries them all.
pub const RETRYABLE_NAMES: &[&str] = &["Retryable", "InUse"];

/// What a function whose process died (killed, out of memory) or timed out is reported as:
/// Step Functions documents `Lambda.Unknown` ("Handle Lambda service exceptions"); the
/// Invoke API's payload names the runtime's `Runtime.ExitError` and `Sandbox.Timedout`. The
/// provision and teardown steps converge when run again, so their workflows retry these.
pub const CRASH_NAMES: &[&str] = &["Lambda.Unknown", "Runtime.ExitError", "Sandbox.Timedout"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_for_state_machines() {
        assert_eq!(Error::invalid("x").name(), "InvalidInput");
        assert_eq!(Error::NotReady("db".into()).name(), "NotReady");
        let transient = Error::Aws {
            context: "c".into(),
            code: Some("Throttling".into()),
            message: "slow down".into(),
            class: ErrorClass::Transient,
        };
        assert_eq!(transient.name(), "Retryable");
        let diagnostic: Diagnostic = transient.into();
        assert_eq!(diagnostic.error_type, "Retryable");
        assert_eq!(diagnostic.error_message, "c: slow down");
    }
}

#[cfg(test)]
mod state_machines {
    //! The state machines catch and retry by name: every name they use must be one a function
    //! can raise, and every retry must cover every retryable name.

    use super::{CRASH_NAMES, ERROR_NAMES, RETRYABLE_NAMES};
    use serde_json::Value;

    fn definitions() -> Vec<(String, Value)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachine");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("statemachine/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.to_string_lossy().ends_with(".asl.json") {
                let text = std::fs::read_to_string(&path).expect("a readable definition");
                let value = serde_json::from_str(&text).expect("a definition that parses");
                found.push((path.display().to_string(), value));
            }
        }
        assert!(
            found.len() >= 4,
            "found only {} state machines",
            found.len()
        );
        found
    }

    /// Every `ErrorEquals` list of a definition, with whether it belongs to a `Retry`.
    fn error_lists(value: &Value, in_retry: bool, out: &mut Vec<(bool, Vec<String>)>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "ErrorEquals" {
                        let names = child.as_array().expect("ErrorEquals is a list");
                        let names = names.iter().map(|n| n.as_str().unwrap_or("?").to_string());
                        out.push((in_retry, names.collect()));
                    } else {
                        error_lists(child, key == "Retry" || (in_retry && key != "Catch"), out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| error_lists(i, in_retry, out)),
            _ => {}
        }
    }

    #[test]
    fn state_machines_name_only_errors_the_functions_raise() {
        for (path, definition) in definitions() {
            let mut lists = Vec::new();
            error_lists(&definition, false, &mut lists);
            assert!(!lists.is_empty(), "{path} catches nothing");
            for (_, names) in &lists {
                for name in names {
                    let builtin = name.starts_with("States.")
                        || name.starts_with("Lambda.")
                        || CRASH_NAMES.contains(&name.as_str());
                    assert!(
                        builtin || ERROR_NAMES.contains(&name.as_str()),
                        "{path} names {name}, which no function raises"
                    );
                }
            }
        }
    }

    /// Every Task of a workflow, anywhere in it (Parallel branches included).
    fn tasks<'a>(states: &'a Value, out: &mut Vec<(&'a String, &'a Value)>) {
        for (name, state) in states.as_object().into_iter().flatten() {
            if state["Type"] == "Task" {
                out.push((name, state));
            }
            for branch in state["Branches"].as_array().into_iter().flatten() {
                tasks(&branch["States"], out);
            }
        }
    }

    #[test]
    fn provision_and_teardown_run_a_crashed_step_again() {
        for (path, definition) in definitions() {
            if !(path.ends_with("provision.asl.json") || path.ends_with("teardown.asl.json")) {
                continue;
            }
            let mut found = Vec::new();
            tasks(&definition["States"], &mut found);
            assert!(found.len() >= 7, "{path}: {} tasks", found.len());
            for (name, task) in found {
                let retries = task["Retry"].as_array().into_iter().flatten();
                let crash_retried = retries.into_iter().any(|retry| {
                    let names = retry["ErrorEquals"].as_array().into_iter().flatten();
                    let names: Vec<&str> = names.filter_map(Value::as_str).collect();
                    CRASH_NAMES.iter().all(|n| names.contains(n))
                });
                assert!(
                    crash_retried,
                    "{path}: {name} does not retry {CRASH_NAMES:?}"
                );
            }
        }
    }

    #[test]
    fn every_retry_of_a_retryable_name_retries_them_all() {
        let mut retried = 0;
        for (path, definition) in definitions() {
            let mut lists = Vec::new();
            error_lists(&definition, false, &mut lists);
            for (_, names) in lists.iter().filter(|(retry, _)| *retry) {
                if RETRYABLE_NAMES.iter().any(|n| names.iter().any(|m| m == n)) {
                    retried += 1;
                    for name in RETRYABLE_NAMES {
                        assert!(
                            names.iter().any(|m| m == name),
                            "{path}: a Retry retries {names:?} but not {name}"
                        );
                    }
                }
            }
        }
        assert!(retried > 0, "no state machine retries anything");
    }

    #[test]
    fn every_error_name_is_listed() {
        use super::{Error, ErrorClass};
        let classes = [
            ErrorClass::NotFound,
            ErrorClass::AlreadyExists,
            ErrorClass::InUse,
            ErrorClass::Transient,
            ErrorClass::AccessDenied,
            ErrorClass::Other,
        ];
        let errors = [
            Error::invalid("x"),
            Error::conflict("x"),
            Error::NotReady("x".into()),
            Error::DeploymentFailed("x".into()),
        ];
        let names = errors
            .iter()
            .map(Error::name)
            .chain(classes.map(ErrorClass::name));
        for name in names {
            assert!(
                ERROR_NAMES.contains(&name),
                "{name} is missing from ERROR_NAMES"
            );
        }
    }
}
