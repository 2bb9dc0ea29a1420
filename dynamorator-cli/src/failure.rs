//! How a command ends: its outcome and the exit code scripts rely on, or the failure that
//! stopped it, said in the tool's words.

use std::process::ExitCode;

use dynamorator::Error;

use crate::args::Connection;
use crate::output::bytes;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything done: exit 0.
    Done,
    /// The key is absent (or expired): exit 1.
    NotFound,
    /// Done, but some items could not be read or written, each reported on stderr: exit 3.
    Partial,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Done => 0,
            Outcome::NotFound => 1,
            Outcome::Partial => 3,
        })
    }

    /// Any error, clap's usage errors included (clap exits with 2 too).
    pub fn error_exit_code() -> ExitCode {
        ExitCode::from(2)
    }

    /// `Partial` when anything went wrong along the way, else `Done`.
    pub fn done_unless(problems: u64) -> Outcome {
        if problems == 0 {
            Outcome::Done
        } else {
            Outcome::Partial
        }
    }
}

/// What stopped a command (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The store refused or failed an operation.
    #[error(transparent)]
    Store(#[from] Error),
    /// A file or stream could not be read or written.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The command's input or options cannot work, or a store's failure said for a person.
    #[error("{0}")]
    Invalid(String),
}

impl Failure {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Failure {
        Failure::Io {
            what: what.into(),
            source,
        }
    }

    /// A store's failure said with the tool's flags and the table's name, once.
    pub fn in_context(self, connection: &Connection) -> Failure {
        match self {
            Failure::Store(error) => Failure::Invalid(explain(&error, &Place::of(connection))),
            other => other,
        }
    }

    /// The message and every cause below it, on one line.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            let more = error.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = error.source();
        }
        text
    }
}

/// Where the command was working, to name in its errors.
enum Place<'a> {
    Table {
        name: &'a str,
        endpoint: Option<&'a str>,
    },
    File(&'a std::path::Path),
    Nowhere,
}

impl<'a> Place<'a> {
    fn of(connection: &'a Connection) -> Place<'a> {
        match (connection.table(), connection.embedded_file()) {
            (Some(name), _) => Place::Table {
                name,
                endpoint: connection.endpoint_url.as_deref(),
            },
            (None, Some(path)) => Place::File(path),
            (None, None) => Place::Nowhere,
        }
    }

    /// `table NAME` (`at URL` for a local server), or `--embedded-file PATH`.
    fn name(&self) -> String {
        match self {
            Place::Table {
                name,
                endpoint: Some(url),
            } => format!("table {name} at {url}"),
            Place::Table { name, .. } => format!("table {name}"),
            Place::File(path) => format!("--embedded-file {}", path.display()),
            Place::Nowhere => "the table".to_owned(),
        }
    }
}

/// One sentence for a person: what failed, where, and the flag that changes it.
fn explain(error: &Error, place: &Place<'_>) -> String {
    let here = place.name();
    match error {
        Error::InvalidConfig { reason } if reason.starts_with("no AWS region") => {
            "no AWS region: give --region REGION (or set AWS_REGION), or --profile NAME of a \
             profile that has one"
                .to_owned()
        }
        Error::InvalidConfig { reason } if reason.starts_with("no AWS credentials") => format!(
            "no AWS credentials for {here}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
             give --profile NAME (SSO and instance roles work too)"
        ),
        Error::Service { code, .. } if code == "ResourceNotFoundException" => {
            format!(
                "{here} does not exist: check --table and --region, or give --create to make it"
            )
        }
        Error::Service {
            operation,
            code,
            message,
            ..
        } => format!("{operation} on {here} failed: {code}: {message}"),
        Error::Unreachable { operation, .. } => {
            format!("{operation} could not reach {here}: {}", root_cause(error))
        }
        Error::Timeout { operation, .. } => format!("{operation} on {here} timed out"),
        Error::Throttled { operation, .. } => format!(
            "{operation} on {here} was throttled by DynamoDB, even after retries: try again later"
        ),
        // The request behind it says what went wrong, and names the table.
        Error::TableSetup { reason, source, .. } => match source {
            Some(source) => explain(source, place),
            None => format!("{here} could not be set up: {reason}"),
        },
        Error::ItemTooLarge {
            key,
            size,
            compressed,
        } => format!(
            "{key}: the item is {} once encoded, past DynamoDB's 400 KB: --split stores it as \
             parts{}",
            bytes(*size as u64),
            if *compressed {
                ""
            } else {
                ", and --compress (or --zstd) may make it fit"
            }
        ),
        Error::ValueTooLarge { key, size, limit } => format!(
            "{key}: the value is {} stored, past the {} a split value may take",
            bytes(*size as u64),
            bytes(*limit as u64)
        ),
        Error::Incomplete {
            attempted,
            failures,
        } => {
            let failed: usize = failures.iter().map(|failure| failure.keys.len()).sum();
            let first = failures
                .first()
                .map(|failure| explain(&failure.error, place))
                .unwrap_or_default();
            format!("{failed} of {attempted} keys failed on {here}: {first}")
        }
        Error::Embedded { .. } => {
            let cause = root_cause(error);
            let text = error.to_string();
            if text.contains(&cause) {
                text
            } else {
                format!("{text}: {cause}")
            }
        }
        other => other.to_string(),
    }
}

/// The innermost cause's message (a transport's "connection refused", say).
fn root_cause(error: &Error) -> String {
    let mut deepest: &dyn std::error::Error = error;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    deepest.to_string()
}
