//! One error type for every function. Its variants map to stable `errorType` names at the
//! Lambda boundary, so a state machine retries what is transient and stops on the rest.

use std::fmt::Display;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Error codes AWS uses for throttling; retried with backoff by the state machine.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

#[derive(Debug, thiserror::Error)]
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
    /// An AWS call failed. `transient` errors (throttling, 5xx, timeouts) are worth retrying.
    #[error("{context}: {message}")]
    Aws {
        context: String,
        code: Option<String>,
        message: String,
        transient: bool,
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
            Self::Aws {
                transient: true, ..
            } => "Retryable",
            Self::Aws { .. } => "AwsError",
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

/// Whether an SDK error is worth retrying: throttling, a server-side fault, or no answer.
pub fn is_transient<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool
where
    R: HttpStatus,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let throttled = service
                .err()
                .code()
                .is_some_and(|code| THROTTLING_CODES.contains(&code));
            throttled || service.raw().status_code() >= 500
        }
        _ => false,
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
            transient: is_transient(&error),
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

/// The AWS error code of an SDK error, for branching on "not found" and "already exists".
pub fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    error.code()
}

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
            transient: true,
        };
        assert_eq!(transient.name(), "Retryable");
        let diagnostic: Diagnostic = transient.into();
        assert_eq!(diagnostic.error_type, "Retryable");
        assert_eq!(diagnostic.error_message, "c: slow down");
    }
}
