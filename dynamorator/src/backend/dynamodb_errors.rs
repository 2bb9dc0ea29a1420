//! Turns the SDK's errors into the crate's [`Error`], by what the caller can do about them.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::Error;

/// Error codes DynamoDB uses for throttling; the SDK has already retried them.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
];

pub(crate) fn from_sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::TimeoutError(_) => Error::Timeout { operation },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Error::Timeout { operation },
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Error::Unreachable {
            operation,
            message: DisplayErrorContext(&error).to_string(),
        },
        SdkError::ServiceError(service) => {
            let code = service
                .err()
                .code()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {}", service.raw().status().as_u16()));
            let message = service.err().message().unwrap_or_default().to_owned();
            if THROTTLING_CODES.contains(&code.as_str()) {
                Error::Throttled { operation, message }
            } else {
                Error::Service {
                    operation,
                    code,
                    message,
                }
            }
        }
        _ => Error::Service {
            operation,
            code: "RequestFailed".to_owned(),
            message: DisplayErrorContext(&error).to_string(),
        },
    }
}

/// A request the SDK refused to build: a required field was missing, which is a bug here.
pub(crate) fn from_build(operation: &'static str, error: BuildError) -> Error {
    Error::Service {
        operation,
        code: "RequestBuild".to_owned(),
        message: error.to_string(),
    }
}
