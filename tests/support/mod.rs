//! The shared test harness, which lives in `dynamorator-testkit`: the backends every
//! behavioural suite runs on, how to reach them, and the macros that run a suite on each.
//! Re-exported so the suites keep saying `support::...` and `on_every_backend!`.
//!
//! The DynamoDB backends need servers started by `scripts/test`, which exports their
//! endpoints. A test on such a backend fails (never skips) when its endpoint is missing.

#![allow(unused_imports)] // Each test binary uses its own part of the harness.

pub use dynamorator_testkit::{
    TestBackend, python, raw, resident_kb, sdk_config, table_builder, test_dir, unique_file,
    unique_table_name,
};

/// Runs the listed tests of a suite module once per backend: `embedded` and `embedded_file`
/// always, `moto` and `dynalite` with the `server-tests` feature (this package's).
/// Each test is `async fn(TestBackend)`. See `dynamorator_testkit::on_every_backend`.
#[macro_export]
macro_rules! on_every_backend {
    ($($suite:tt)*) => {
        ::dynamorator_testkit::on_every_backend! { $($suite)* }
    };
}

/// Runs the listed tests of a suite module on each DynamoDB server (with the `server-tests`
/// feature). See `dynamorator_testkit::on_every_server`.
#[macro_export]
macro_rules! on_every_server {
    ($($suite:tt)*) => {
        ::dynamorator_testkit::on_every_server! { $($suite)* }
    };
}
