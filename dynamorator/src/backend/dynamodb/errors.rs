//! Turns the SDK's errors into the crate's [`Error`], by what the caller can do about them.
//! The SDK's error goes along as the source, so its request id and transport cause are kept.

use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;

use crate::Error;

/// Error codes DynamoDB uses for throttling; the SDK has already retried them.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
];

/// Whether a conditional write was refused because its condition did not hold: an answer,
/// not a failure.
pub(crate) fn is_condition_failure<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> bool {
    matches!(error, SdkError::ServiceError(service)
        if service.err().code() == Some("ConditionalCheckFailedException"))
}

pub(crate) fn from_sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = error.request_id().map(str::to_owned);
    match &error {
        SdkError::TimeoutError(_) => Error::Timeout {
            operation,
            source: Arc::new(error),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Error::Timeout {
            operation,
            source: Arc::new(error),
        },
        // The credential chain found nothing (or a profile that cannot work): a setting to
        // make, said in one sentence, not a transport failure worth retrying.
        SdkError::DispatchFailure(_) if lacks_credentials(&error) => Error::InvalidConfig {
            reason: NO_CREDENTIALS.to_owned(),
        },
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default().to_owned();
            if THROTTLING_CODES.contains(&code.as_str()) {
                return Error::Throttled {
                    operation,
                    request_id,
                    source: Arc::new(error),
                };
            }
            let message = service.err().message().unwrap_or_default().to_owned();
            Error::Service {
                operation,
                code: if code.is_empty() {
                    format!("HTTP {status}")
                } else {
                    code
                },
                message,
                status: Some(status),
                request_id,
                source: Arc::new(error),
            }
        }
        // Dispatch failures, unreadable responses and anything the SDK adds later: the request
        // did not get a usable answer.
        _ => Error::Unreachable {
            operation,
            source: Arc::new(error),
        },
    }
}

/// What to set when the credential chain finds nothing.
pub(crate) const NO_CREDENTIALS: &str = "no AWS credentials: set AWS_ACCESS_KEY_ID and \
     AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (SSO and instance roles work too), or give the \
     builder an sdk_config(..)";

/// Whether the request was never sent because no credentials were found or configured (a
/// provider that timed out or failed is another matter: that may pass).
fn lacks_credentials(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(credentials) = error.downcast_ref::<CredentialsError>() {
            return matches!(
                credentials,
                CredentialsError::CredentialsNotLoaded(_)
                    | CredentialsError::InvalidConfiguration(_)
            );
        }
        cause = error.source();
    }
    false
}

/// A request the SDK refused to build: a required field was missing, which is a bug here.
pub(crate) fn from_build(operation: &'static str, error: BuildError) -> Error {
    Error::Service {
        operation,
        code: "RequestBuild".to_owned(),
        message: "the request could not be built".to_owned(),
        status: None,
        request_id: None,
        source: Arc::new(error),
    }
}

/// A request body the library writes itself (`batch_get_request`) that could not be written.
pub(crate) fn from_serialize(operation: &'static str, error: serde_json::Error) -> Error {
    Error::Service {
        operation,
        code: "RequestBuild".to_owned(),
        message: "the request body could not be written".to_owned(),
        status: None,
        request_id: None,
        source: Arc::new(error),
    }
}

/// A successful read whose body could not be read: the request got no usable answer.
pub(crate) fn unreadable_body(
    operation: &'static str,
    error: super::response_json::UnreadableBody,
) -> Error {
    Error::Unreachable {
        operation,
        source: Arc::new(error),
    }
}
