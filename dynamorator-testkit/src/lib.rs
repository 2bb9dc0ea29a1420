//! Test and benchmark tooling of the dynamorator workspace (not published).
//!
//! - The server test harness: [`TestBackend`] (the backends every behavioural suite runs on),
//!   [`sdk_config`], unique table and file names, [`python`] (the Python package against a
//!   server), [`raw`] (raw SDK access to a test table), and the [`on_every_backend!`] and
//!   [`on_every_server!`] macros. The root package's `tests/support` re-exports them.
//! - [`proxy`]: a loopback TCP proxy between a client and a DynamoDB-compatible server that
//!   adds network latency and injects faults, for benchmarks at a given round-trip time and
//!   for the chaos tests.
//! - [`waits`]: gates, bounded waits and time limits for the concurrency tests.
//! - [`workers`]: the test binary run again as worker processes, for tests that span
//!   processes (leases, clears, a shared file, SIGKILL).
//! - [`fuzz_input`]: the read path's fuzz inputs, shared by `fuzz/` and the regression tests.
//! - [`resident_kb`]: the process's resident memory, for tests and benchmarks of memory bounds.
//! - [`cpu`]: CPU time of a thread or a process, for benchmarks that measure client CPU.
//! - The benchmark drivers, the `bench*` binaries (feature `bench-tools`), run by
//!   `scripts/bench*`.
//! - [`soak`] (feature `bench-tools`): the soak benchmark, run for 30 minutes by the `soak`
//!   binary (`scripts/soak`) and for 2 minutes by `tests/soak.rs`.

pub mod cpu;
pub mod fuzz_input;
mod harness;
mod macros;
mod memory;
pub mod proxy;
pub mod python;
pub mod raw;
#[cfg(feature = "bench-tools")]
pub mod soak;
pub mod waits;
pub mod workers;

pub use harness::{
    TestBackend, sdk_config, table_builder, test_dir, unique_file, unique_table_name,
};

/// A current-thread tokio runtime for a benchmark's client (its CPU then is one thread's).
///
/// # Panics
///
/// When the runtime cannot be built: a benchmark cannot run without one.
pub fn bench_runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("no tokio runtime: {error}"),
    }
}
pub use memory::resident_kb;
