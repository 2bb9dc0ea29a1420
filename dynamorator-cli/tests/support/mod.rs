//! The tool under test, pointed at a table: the embedded file always, moto and dynalite with
//! the `server-tests` feature (scripts/test starts them; a missing server fails the test).

#![allow(dead_code)] // Each test binary uses its own part.

use std::path::PathBuf;

use assert_cmd::Command;
use dynamorator::{Clock, Store, StoreBuilder};
use dynamorator_testkit::{TestBackend, sdk_config, unique_file, unique_table_name};

/// Runs the listed tests of a suite module on the embedded file and, with the `server-tests`
/// feature, on moto and dynalite. Each test is `async fn(TestBackend)`.
#[macro_export]
macro_rules! on_every_table {
    ($suite:ident: $($test:ident),+ $(,)?) => {
        mod embedded_file {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$suite::$test(::dynamorator_testkit::TestBackend::EmbeddedFile).await
                }
            )+
        }
        ::dynamorator_testkit::on_every_server! { $suite: $($test),+ }
    };
}

/// A fresh, empty table the tool and the test both reach: a DynamoDB table on a test server,
/// or an embedded file.
#[derive(Debug, Clone)]
pub enum Table {
    File(PathBuf),
    Server { backend: TestBackend, name: String },
}

impl Table {
    /// A new table on `backend` (created on a server; a file not created yet).
    pub async fn new(backend: TestBackend) -> Table {
        let table = match backend {
            TestBackend::EmbeddedFile | TestBackend::Embedded => Table::File(unique_file()),
            _ => Table::Server {
                backend,
                name: unique_table_name(),
            },
        };
        // Created (table, or file) and closed again, so the tool finds it.
        drop(table.store().await);
        table
    }

    pub fn backend(&self) -> TestBackend {
        match self {
            Table::File(_) => TestBackend::EmbeddedFile,
            Table::Server { backend, .. } => *backend,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Table::File(_) => "",
            Table::Server { name, .. } => name,
        }
    }

    /// A builder for a store on this table (the tool opens an embedded file beside it).
    pub async fn builder(&self) -> StoreBuilder {
        match self {
            Table::File(path) => Store::builder().embedded_file(path),
            Table::Server { backend, name } => Store::builder()
                .table(name)
                .sdk_config(sdk_config(&backend.endpoint()).await)
                .endpoint_url(backend.endpoint()),
        }
    }

    pub async fn store(&self) -> Store {
        self.store_with(|builder| builder).await
    }

    /// A store on this table writing with `clock` (e.g. set in the past, for expired items).
    pub async fn store_on(&self, clock: &Clock) -> Store {
        self.store_with(|builder| builder.clock(clock.clone()))
            .await
    }

    pub async fn store_with(&self, configure: impl FnOnce(StoreBuilder) -> StoreBuilder) -> Store {
        match configure(self.builder().await).build().await {
            Ok(store) => store,
            Err(error) => panic!("building a store on {self:?} failed: {error}"),
        }
    }

    /// The tool with this table's connection options, given after the command words as a
    /// user may (`global = true`), and an environment that reaches only the test server.
    pub fn cli(&self, args: &[&str]) -> Command {
        let mut command = tool();
        command.args(args);
        match self {
            Table::File(path) => {
                command.arg("--embedded-file").arg(path);
            }
            Table::Server { backend, name } => {
                command
                    .args(["--table", name, "--region", "us-east-1", "--endpoint-url"])
                    .arg(backend.endpoint());
            }
        }
        command
    }
}

/// The tool, with the environment cleared of anything that would point it elsewhere.
pub fn tool() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynamorator"));
    command
        .env_remove("DYNAMORATOR_TABLE")
        .env_remove("DYNAMORATOR_EMBEDDED_FILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "error");
    command
}

/// What the tool printed on stdout, as text.
pub fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("the tool runs");
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}
