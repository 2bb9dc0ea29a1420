//! How a command ends: its outcome and the exit code scripts rely on, or the failure that
//! stopped it.

use std::process::ExitCode;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything done: exit 0.
    Done,
    /// `get`/`info`: the key is absent (or expired, for `get`): exit 1.
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
    Store(#[from] dynamorator::Error),
    /// A file or stream could not be read or written.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The command's input or options cannot work.
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

    /// The message and every cause below it, on one line.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }
}
