//! Shared test harness: the backends every behavioural suite runs on, and how to reach them.
//!
//! The DynamoDB backends need servers started by `scripts/test`, which exports their
//! endpoints. A test on such a backend fails (never skips) when its endpoint is missing.

#![allow(dead_code)] // Each test binary uses its own part of the harness.

pub mod python;
pub mod raw;

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use dynamorator::{Store, StoreBuilder};

/// A place a store can keep its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Embedded,
    /// The embedded backend kept in a journal file (a fresh one per store).
    EmbeddedFile,
    Moto,
    Dynalite,
}

impl TestBackend {
    /// The endpoint of this backend's server; panics (failing the test) when the test script
    /// did not start it.
    pub fn endpoint(self) -> String {
        let variable = match self {
            TestBackend::Embedded | TestBackend::EmbeddedFile => {
                panic!("the embedded backend has no endpoint")
            }
            TestBackend::Moto => "DYNAMORATOR_TEST_MOTO",
            TestBackend::Dynalite => "DYNAMORATOR_TEST_DYNALITE",
        };
        match std::env::var(variable) {
            Ok(url) if url.starts_with("http://127.0.0.1:") => url,
            Ok(url) => panic!("{variable}={url}: tests only talk to 127.0.0.1"),
            Err(_) => panic!(
                "{variable} is not set: the {self:?} server is not running. Run the tests with \
                 scripts/test, which installs and starts it."
            ),
        }
    }

    pub fn is_dynamodb(self) -> bool {
        matches!(self, TestBackend::Moto | TestBackend::Dynalite)
    }

    /// A builder for a store on a fresh, empty table of this backend.
    pub async fn builder(self) -> StoreBuilder {
        match self {
            TestBackend::Embedded => Store::builder().embedded(),
            TestBackend::EmbeddedFile => Store::builder().embedded_file(unique_file()),
            _ => Store::builder()
                .table(unique_table_name())
                .sdk_config(sdk_config(&self.endpoint()).await)
                .endpoint_url(self.endpoint()),
        }
    }

    /// A store with default settings on a fresh, empty table of this backend.
    pub async fn store(self) -> Store {
        self.build(|builder| builder).await
    }

    /// A store on a fresh table, with settings changed by `configure`.
    pub async fn build(self, configure: impl FnOnce(StoreBuilder) -> StoreBuilder) -> Store {
        let builder = configure(self.builder().await);
        match builder.build().await {
            Ok(store) => store,
            Err(error) => panic!("building a store on {self:?} failed: {error}"),
        }
    }
}

/// AWS configuration for a local server: dummy credentials and a fixed region, so nothing
/// looks for real ones (no profile files, no instance metadata).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "dynamorator-tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A table name no other test in any run uses.
pub fn unique_table_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "dynamorator-test-{}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A path no other test uses, in a folder of the temporary directory that scripts/test
/// removes afterwards.
pub fn unique_file() -> std::path::PathBuf {
    let folder = std::env::temp_dir().join("dynamorator-tests");
    std::fs::create_dir_all(&folder).expect("the temporary directory is writable");
    folder.join(format!("{}.jsonl", unique_table_name()))
}

/// Runs the listed tests of a suite module once per backend: `embedded` and `embedded_file`
/// always, `moto` and `dynalite` with the `server-tests` feature. Each test is `async fn(TestBackend)`.
#[macro_export]
macro_rules! on_every_backend {
    ($suite:ident: $($test:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::support::TestBackend::Embedded).await
                }
            )+
        }
        mod embedded_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::support::TestBackend::EmbeddedFile).await
                }
            )+
        }
        #[cfg(feature = "server-tests")]
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::support::TestBackend::Moto).await
                }
            )+
        }
        #[cfg(feature = "server-tests")]
        mod dynalite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::support::TestBackend::Dynalite).await
                }
            )+
        }
    };
}

/// Runs a test body on each DynamoDB server (with the `server-tests` feature).
#[macro_export]
macro_rules! on_every_server {
    ($suite:ident: $($test:ident),+ $(,)?) => {
        #[cfg(feature = "server-tests")]
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::support::TestBackend::Moto).await
                }
            )+
        }
        #[cfg(feature = "server-tests")]
        mod dynalite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test($crate::support::TestBackend::Dynalite).await
                }
            )+
        }
    };
}
