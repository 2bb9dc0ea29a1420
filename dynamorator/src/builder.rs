//! [`StoreBuilder`]: every setting of a [`Store`], with safe documented defaults.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryMode};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use crate::Error;
use crate::backend::Backend;
use crate::backend::dynamodb::DynamoDbBackend;
use crate::backend::embedded::EmbeddedBackend;
use crate::backoff::Backoff;
use crate::codec::Codec;
use crate::store::{Settings, Store};

/// Where a store keeps its items.
#[derive(Debug, Clone, Default)]
enum Target {
    /// No table: every call is a no-op.
    #[default]
    Disabled,
    /// A DynamoDB table.
    Table(String),
    /// The embedded backend, in this process.
    Embedded,
    /// The embedded backend, kept in a file across runs.
    EmbeddedFile(std::path::PathBuf),
}

/// Builds a [`Store`]; get one from [`Store::builder`].
///
/// With no table (and not [`embedded`](StoreBuilder::embedded)) the store is disabled, like
/// the Python package with `table_name=None`: every call is a no-op and reads find nothing.
///
/// ```no_run
/// # async fn demo() -> Result<(), dynamorator::Error> {
/// use std::time::Duration;
/// use dynamorator::Store;
///
/// let store = Store::builder()
///     .table("my-data-store")
///     .region("eu-west-1")
///     .compress(true)
///     .operation_timeout(Duration::from_secs(5))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct StoreBuilder {
    target: Target,
    region: Option<String>,
    endpoint_url: Option<String>,
    sdk_config: Option<SdkConfig>,
    client: Option<Client>,
    codec: Codec,
    silent: bool,
    consistent_reads: bool,
    create_table: bool,
    table_wait: Duration,
    batch_concurrency: usize,
    batch_backoff: Backoff,
    retry_mode: RetryMode,
    max_attempts: u32,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    operation_timeout: Duration,
}

impl Default for StoreBuilder {
    fn default() -> Self {
        StoreBuilder {
            target: Target::Disabled,
            region: None,
            endpoint_url: None,
            sdk_config: None,
            client: None,
            codec: Codec::default(),
            silent: false,
            consistent_reads: false,
            create_table: true,
            table_wait: Duration::from_secs(300),
            batch_concurrency: 16,
            batch_backoff: Backoff::default(),
            retry_mode: RetryMode::Standard,
            max_attempts: 3,
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(20),
        }
    }
}

impl StoreBuilder {
    /// The DynamoDB table to use (created at build when missing).
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.target = Target::Table(name.into());
        self
    }

    /// The table to use, or `None` for a disabled store: handy with an environment variable.
    ///
    /// ```
    /// # async fn demo() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder()
    ///     .maybe_table(std::env::var("CACHE_TABLE").ok())
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn maybe_table(mut self, name: Option<impl Into<String>>) -> Self {
        self.target = name.map_or(Target::Disabled, |name| Target::Table(name.into()));
        self
    }

    /// Keeps items in this process instead of DynamoDB, with the same semantics; no AWS
    /// account or server needed. Items live as long as the store and its clones.
    pub fn embedded(mut self) -> Self {
        self.target = Target::Embedded;
        self
    }

    /// Keeps items in this process like [`embedded`](StoreBuilder::embedded), and in the file
    /// at `path` across runs: an append-only journal, replayed (expired items dropped) and
    /// compacted when the store is built. The file is locked while the store is open, so one
    /// process uses it at a time. Writes are appended before they count as done; a write the
    /// file refuses is an [`Error::Embedded`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder().embedded_file("cache.jsonl").build().await?;
    /// # Ok(()) }
    /// ```
    pub fn embedded_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.target = Target::EmbeddedFile(path.into());
        self
    }

    /// The AWS region. Default: the standard chain (`AWS_REGION`, profile, …).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The endpoint URL, for DynamoDB-compatible servers and VPC endpoints. Default: the
    /// standard chain, which honours `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Starts from an `aws-config` configuration you loaded yourself (credentials, region,
    /// endpoint); the timeout and retry settings of this builder still apply.
    pub fn sdk_config(mut self, config: SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }

    /// Uses this DynamoDB client as it is: region, endpoint, retry and timeout settings of this
    /// builder are then ignored. Share one client between stores to share its connection pool.
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Gzip values whose JSON text is longer than the threshold. Default: off.
    pub fn compress(mut self, enabled: bool) -> Self {
        self.codec.compress = enabled;
        self
    }

    /// Compress only JSON text longer than this many bytes (strictly). `0` compresses every
    /// value. Default: 1024, the Python package's.
    pub fn compress_threshold(mut self, bytes: usize) -> Self {
        self.codec.threshold = bytes;
        self
    }

    /// The most bytes a compressed item may inflate to when read; past it the item is treated
    /// as corrupt, so a gzip bomb cannot exhaust memory. Default: 64 MiB.
    pub fn max_inflated_bytes(mut self, bytes: usize) -> Self {
        self.codec.max_inflated = bytes;
        self
    }

    /// No log events at all, not even warnings. Default: off (failures of the never-fail forms
    /// are logged as `tracing` warnings).
    pub fn silent(mut self, silent: bool) -> Self {
        self.silent = silent;
        self
    }

    /// Strongly consistent reads (twice the read cost). Default: off, eventually consistent,
    /// like the Python package.
    pub fn consistent_reads(mut self, enabled: bool) -> Self {
        self.consistent_reads = enabled;
        self
    }

    /// Whether `build` checks for the table and creates it when missing. Turn it off to run
    /// with only the item permissions (see the README's least-privilege policy). Default: on.
    pub fn create_table(mut self, enabled: bool) -> Self {
        self.create_table = enabled;
        self
    }

    /// How long `build` waits for a table to become ACTIVE. Default: 5 minutes.
    pub fn table_wait(mut self, limit: Duration) -> Self {
        self.table_wait = limit;
        self
    }

    /// How many batch requests (of 100 reads or 25 writes) one batch call keeps in flight.
    /// Default: 16. Must be at least 1.
    pub fn batch_concurrency(mut self, requests: usize) -> Self {
        self.batch_concurrency = requests;
        self
    }

    /// How many requests a batch chunk makes for keys DynamoDB leaves unprocessed, the first
    /// included. Default: 8. Must be at least 1.
    pub fn batch_max_attempts(mut self, attempts: u32) -> Self {
        self.batch_backoff.max_attempts = attempts;
        self
    }

    /// The backoff between those requests: a random pause up to `base × 2^(n-1)`, capped at
    /// `max`. Default: 25 ms, 2 s.
    pub fn batch_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.batch_backoff.base = base;
        self.batch_backoff.max = max;
        self
    }

    /// The SDK's retry mode for failed requests (throttling, 5xx, transient network errors).
    /// Default: [`RetryMode::Standard`]; [`RetryMode::Adaptive`] also rate-limits the client
    /// when DynamoDB throttles.
    pub fn retry_mode(mut self, mode: RetryMode) -> Self {
        self.retry_mode = mode;
        self
    }

    /// The SDK's attempts per request, the first included. Default: 3. `1` disables retries.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How long to wait for a TCP/TLS connection. Default: 2 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt of a request may take. Default: 5 s.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How long a request may take, all its retries included. Default: 20 s.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Builds the store: for a table, loads the AWS configuration and (unless turned off)
    /// creates the table when missing, waits until it is ACTIVE and enables TTL.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for settings that cannot work, [`Error::TableSetup`] when
    /// the table cannot be described, created or found ACTIVE in time, and [`Error::Embedded`]
    /// when an embedded store's file cannot be opened. This is the only place
    /// the never-fail API can return an error, as in the Python package.
    pub async fn build(self) -> Result<Store, Error> {
        self.validate()?;
        let settings = Settings {
            codec: self.codec,
            silent: self.silent,
            batch_concurrency: self.batch_concurrency,
            batch_backoff: self.batch_backoff,
        };
        let (backend, table): (Option<Arc<dyn Backend>>, _) = match &self.target {
            Target::Disabled => (None, None),
            Target::Embedded => (Some(Arc::new(EmbeddedBackend::new())), None),
            Target::EmbeddedFile(path) => {
                let (backend, skipped) = EmbeddedBackend::open(path)?;
                if skipped > 0 {
                    crate::log::warn_unless_silent!(
                        self.silent,
                        path = %path.display(),
                        skipped,
                        "dynamorator: skipped unreadable lines of the embedded store's file"
                    );
                }
                (Some(Arc::new(backend)), None)
            }
            Target::Table(table) => {
                let client = self.dynamodb_client().await?;
                if self.create_table {
                    crate::backend::ensure_table(&client, table, self.table_wait, self.silent)
                        .await?;
                }
                let backend = DynamoDbBackend::new(client, table.clone(), self.consistent_reads);
                (Some(Arc::new(backend)), Some(table.clone()))
            }
        };
        Ok(Store::from_parts(backend, table, settings))
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: &str| {
            Err(Error::InvalidConfig {
                reason: reason.to_owned(),
            })
        };
        if let Target::Table(table) = &self.target {
            // DynamoDB's own rule, checked here so the error names the cause.
            let valid_chars = table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !(3..=255).contains(&table.len()) || !valid_chars {
                return invalid(
                    "table name must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'",
                );
            }
        }
        if self.batch_concurrency == 0 {
            return invalid("batch_concurrency must be at least 1");
        }
        if self.batch_backoff.max_attempts == 0 {
            return invalid("batch_max_attempts must be at least 1");
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts must be at least 1");
        }
        Ok(())
    }

    async fn dynamodb_client(&self) -> Result<Client, Error> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let sdk_config = match &self.sdk_config {
            Some(config) => config.clone(),
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = &self.region {
                    loader = loader.region(Region::new(region.clone()));
                }
                loader.load().await
            }
        };
        let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .retry_config(
                RetryConfig::standard()
                    .with_retry_mode(self.retry_mode)
                    .with_max_attempts(self.max_attempts),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            );
        if let Some(region) = &self.region {
            config = config.region(Region::new(region.clone()));
        }
        if let Some(url) = &self.endpoint_url {
            config = config.endpoint_url(url);
        }
        let config = config.build();
        if config.region().is_none() {
            return Err(Error::InvalidConfig {
                reason: "no AWS region: call .region(..) or set AWS_REGION".to_owned(),
            });
        }
        Ok(Client::from_conf(config))
    }
}
