//! The backends every behavioural suite runs on, and how to reach them.
//!
//! The DynamoDB backends need servers started by `scripts/test`, which exports their
//! endpoints. A test on such a backend fails (never skips) when its endpoint is missing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use dynamorator::{Store, StoreBuilder};

/// A place a store can keep its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Embedded,
    /// The embedded backend kept in a file (a fresh one per store).
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
            _ => table_builder(&self.endpoint(), unique_table_name()).await,
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
            Err(error) => {
                // The whole chain: a server's own words are in the sources.
                let mut why = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    why.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                panic!("building a store on {self:?} failed: {why}")
            }
        }
    }
}

/// A builder for a store on `table` at a local server's `endpoint`, with the dummy credentials
/// and region of [`sdk_config`].
pub async fn table_builder(endpoint: &str, table: impl Into<String>) -> StoreBuilder {
    Store::builder()
        .table(table)
        .sdk_config(sdk_config(endpoint).await)
        .endpoint_url(endpoint)
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

/// The folder for the files tests write: `$DYNAMORATOR_TEST_DIR`, which scripts/test makes
/// per run (with mktemp) and removes afterwards; without it, a folder of this process in the
/// temporary directory. Created if missing.
pub fn test_dir() -> PathBuf {
    let folder = match std::env::var_os("DYNAMORATOR_TEST_DIR") {
        Some(folder) if !folder.is_empty() => PathBuf::from(folder),
        _ => std::env::temp_dir().join(format!("dynamorator-tests-{}", std::process::id())),
    };
    std::fs::create_dir_all(&folder)
        .unwrap_or_else(|e| panic!("cannot create the test folder {}: {e}", folder.display()));
    folder
}

/// A path no other test uses, in [`test_dir`].
pub fn unique_file() -> PathBuf {
    test_dir().join(format!("{}.db", unique_table_name()))
}
