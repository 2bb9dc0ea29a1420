//! Counts of what the workload did: operations and errors by kind, wrong answers, operations
//! past their deadline. Shared by the tasks (atomics), read by the sampler.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};

use dynamorator::Error;
use serde::Serialize;

/// An operation of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `get_arc` of any key.
    Get,
    /// `get_many_arc` of a batch of any keys.
    GetMany,
    /// `get_arc_or_insert_with` of a loaded key (stale-while-revalidate, leases).
    ReadThrough,
    /// `get_many_or_insert_with` of a batch of loaded keys.
    BatchReadThrough,
    /// `put` of a written key.
    Put,
    /// `delete` of a written key.
    Delete,
    /// A fleet `clear` (attempts counted).
    Clear,
}

impl Op {
    /// Every operation, in the reports' order.
    pub const ALL: [Op; 7] = [
        Op::Get,
        Op::GetMany,
        Op::ReadThrough,
        Op::BatchReadThrough,
        Op::Put,
        Op::Delete,
        Op::Clear,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::GetMany => "get_many",
            Op::ReadThrough => "read_through",
            Op::BatchReadThrough => "batch_read_through",
            Op::Put => "put",
            Op::Delete => "delete",
            Op::Clear => "clear",
        }
    }
}

/// What an operation's error came from. Every kind but `Unexpected` is what the injected
/// faults (or the injected loader failures) cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// DynamoDB's throttling answer, after the SDK's retries.
    Throttled,
    /// A request that timed out, after the SDK's retries.
    Timeout,
    /// A connection closed or refused, after the SDK's retries.
    Unreachable,
    /// An HTTP 500 or 503 answer, after the SDK's retries.
    Service,
    /// Keys a batch read left unprocessed after its retries.
    Unprocessed,
    /// Batch writes that failed.
    Incomplete,
    /// The workload's loader failed on purpose.
    Loader,
    /// Anything else: a failure of the library or the server, not an injected fault.
    Unexpected,
}

impl ErrorKind {
    /// Every kind, in the reports' order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Throttled,
        ErrorKind::Timeout,
        ErrorKind::Unreachable,
        ErrorKind::Service,
        ErrorKind::Unprocessed,
        ErrorKind::Incomplete,
        ErrorKind::Loader,
        ErrorKind::Unexpected,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Service => "service",
            ErrorKind::Unprocessed => "unprocessed",
            ErrorKind::Incomplete => "incomplete",
            ErrorKind::Loader => "loader",
            ErrorKind::Unexpected => "unexpected",
        }
    }

    /// The kind of `error`.
    pub fn of(error: &Error) -> ErrorKind {
        match error {
            Error::Throttled { .. } => ErrorKind::Throttled,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Unreachable { .. } => ErrorKind::Unreachable,
            Error::Service {
                status: Some(500 | 503),
                ..
            } => ErrorKind::Service,
            Error::Unprocessed { .. } => ErrorKind::Unprocessed,
            Error::Incomplete { .. } => ErrorKind::Incomplete,
            Error::Loader(_) => ErrorKind::Loader,
            _ => ErrorKind::Unexpected,
        }
    }
}

/// How many unexpected errors are kept, to show in the report.
const EXAMPLES: usize = 10;

/// The workload's counts so far.
#[derive(Debug, Default)]
pub struct Tally {
    ops: [AtomicU64; Op::ALL.len()],
    /// Microseconds spent in each operation, all calls together.
    micros: [AtomicU64; Op::ALL.len()],
    errors: [AtomicU64; ErrorKind::ALL.len()],
    wrong: AtomicU64,
    stuck: AtomicU64,
    examples: Mutex<Vec<String>>,
}

impl Tally {
    /// One `op` done (whatever its outcome).
    pub fn op(&self, op: Op) {
        self.ops[op as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Time spent in one call of `op`.
    pub fn took(&self, op: Op, time: std::time::Duration) {
        let micros = u64::try_from(time.as_micros()).unwrap_or(u64::MAX);
        self.micros[op as usize].fetch_add(micros, Ordering::Relaxed);
    }

    /// An error returned by `op`.
    pub fn error(&self, op: Op, error: &Error) {
        let kind = ErrorKind::of(error);
        self.errors[kind as usize].fetch_add(1, Ordering::Relaxed);
        if kind == ErrorKind::Unexpected {
            let mut examples = self.examples.lock().unwrap_or_else(PoisonError::into_inner);
            if examples.len() < EXAMPLES {
                examples.push(format!("{}: {}", op.name(), chain(error)));
            }
        }
    }

    /// An answer that was not its key's value (a value of another key, or of a kind the key
    /// never holds).
    pub fn wrong(&self, what: String) {
        self.wrong.fetch_add(1, Ordering::Relaxed);
        let mut examples = self.examples.lock().unwrap_or_else(PoisonError::into_inner);
        if examples.len() < EXAMPLES {
            examples.push(what);
        }
    }

    /// An operation that passed its deadline (and was dropped).
    pub fn stuck(&self, op: Op) {
        self.stuck.fetch_add(1, Ordering::Relaxed);
        let mut examples = self.examples.lock().unwrap_or_else(PoisonError::into_inner);
        if examples.len() < EXAMPLES {
            examples.push(format!("{} passed its deadline", op.name()));
        }
    }

    /// Operations so far, by kind (in [`Op::ALL`]'s order).
    pub fn ops(&self) -> [u64; Op::ALL.len()] {
        std::array::from_fn(|i| self.ops[i].load(Ordering::Relaxed))
    }

    /// Mean milliseconds per call so far, by operation (in [`Op::ALL`]'s order).
    pub fn mean_ms(&self) -> [f64; Op::ALL.len()] {
        let ops = self.ops();
        std::array::from_fn(|i| {
            let micros = self.micros[i].load(Ordering::Relaxed) as f64;
            if ops[i] == 0 {
                0.0
            } else {
                micros / 1000.0 / ops[i] as f64
            }
        })
    }

    /// Errors so far, by kind (in [`ErrorKind::ALL`]'s order).
    pub fn errors(&self) -> [u64; ErrorKind::ALL.len()] {
        std::array::from_fn(|i| self.errors[i].load(Ordering::Relaxed))
    }

    /// Wrong answers so far.
    pub fn wrong_answers(&self) -> u64 {
        self.wrong.load(Ordering::Relaxed)
    }

    /// Operations past their deadline so far.
    pub fn stuck_ops(&self) -> u64 {
        self.stuck.load(Ordering::Relaxed)
    }

    /// The first unexpected errors, wrong answers and stuck operations, described.
    pub fn examples(&self) -> Vec<String> {
        self.examples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// An error and its sources, on one line.
fn chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
