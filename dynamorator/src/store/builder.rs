//! [`StoreBuilder`]: every setting of a [`Store`], with safe documented defaults.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryMode};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use super::backoff::Backoff;
use super::{Settings, Store};
use crate::backend::Backend;
use crate::backend::dynamodb::{DynamoDbBackend, ensure_table};
use crate::backend::embedded::EmbeddedBackend;
use crate::codec::Codec;
use crate::{Clock, Error};

/// Where a store keeps its items.
#[derive(Debug, Clone, Default)]
enum Target {
    /// Nothing chosen yet: `build` refuses it.
    #[default]
    Unset,
    /// No table, asked for by name: every call is a no-op.
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
/// Choose where items live with [`table`](StoreBuilder::table),
/// [`embedded`](StoreBuilder::embedded), [`embedded_file`](StoreBuilder::embedded_file) or
/// [`maybe_table`](StoreBuilder::maybe_table) (whose `None` asks for a disabled store, like
/// the Python package with `table_name=None`); `build` refuses a builder that chose none.
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
    clock: Clock,
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
            target: Target::Unset,
            region: None,
            endpoint_url: None,
            sdk_config: None,
            client: None,
            codec: Codec::default(),
            clock: Clock::system(),
            consistent_reads: false,
            create_table: true,
            table_wait: Duration::from_secs(300),
            batch_concurrency: Settings::default().batch_concurrency,
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
    /// The DynamoDB table to use (created at build when missing, unless
    /// [`create_table(false)`](StoreBuilder::create_table)).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder().table("my-data-store").build().await?;
    /// # Ok(()) }
    /// ```
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.target = Target::Table(name.into());
        self
    }

    /// The table to use, or `None` for a disabled store (writes do nothing, reads find
    /// nothing): handy with an environment variable.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder()
    ///     .maybe_table(std::env::var("NO_SUCH_VARIABLE_SET").ok())
    ///     .build()
    ///     .await?;
    /// assert!(!store.is_enabled());
    /// # Ok(()) }
    /// ```
    pub fn maybe_table(mut self, name: Option<impl Into<String>>) -> Self {
        self.target = name.map_or(Target::Disabled, |name| Target::Table(name.into()));
        self
    }

    /// Keeps items in this process instead of DynamoDB, with the same semantics; no AWS
    /// account or server needed. Items live as long as the store and its clones.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder().embedded().compress(true).build().await?;
    /// # Ok(()) }
    /// ```
    pub fn embedded(mut self) -> Self {
        self.target = Target::Embedded;
        self
    }

    /// Keeps items in this process like [`embedded`](StoreBuilder::embedded), and in the file
    /// at `path` across runs: an append-only journal, replayed (expired items dropped) and
    /// compacted when the store is built. The file is locked while the store is open, so one
    /// process uses it at a time (a second store on it, in this process or another, is refused
    /// at build). The file is created readable by its owner only. Writes are appended before
    /// they count as done; a write the file refuses is an [`Error::Embedded`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), dynamorator::Error> {
    /// // A per-user folder, never a shared temporary one.
    /// let home = std::env::var_os("HOME").unwrap_or_default();
    /// let path = std::path::Path::new(&home).join(".cache/my-app/cache.jsonl");
    /// let store = dynamorator::Store::builder().embedded_file(path).build().await?;
    /// # Ok(()) }
    /// ```
    pub fn embedded_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.target = Target::EmbeddedFile(path.into());
        self
    }

    /// The AWS region. Default: the standard chain (`AWS_REGION`, profile, …).
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").region("eu-west-1");
    /// ```
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The endpoint URL, for DynamoDB-compatible servers and VPC endpoints. Default: the
    /// standard chain, which honours `AWS_ENDPOINT_URL`.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").endpoint_url("http://127.0.0.1:8000");
    /// ```
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Starts from an `aws-config` configuration you loaded yourself (credentials, region,
    /// endpoint); the timeout and retry settings of this builder still apply.
    ///
    /// ```
    /// # async fn demo() {
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let builder = dynamorator::Store::builder().table("t1").sdk_config(config);
    /// # }
    /// ```
    pub fn sdk_config(mut self, config: SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }

    /// Uses this DynamoDB client as it is: region, endpoint, retry and timeout settings of this
    /// builder are then ignored. Share one client between stores to share its connection pool.
    ///
    /// ```
    /// # async fn demo() {
    /// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    /// let client = aws_sdk_dynamodb::Client::new(&config);
    /// let builder = dynamorator::Store::builder().table("t1").client(client);
    /// # }
    /// ```
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Gzip values whose JSON text is longer than the threshold. Default: off.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().compress(true);
    /// ```
    pub fn compress(mut self, enabled: bool) -> Self {
        self.codec.compress = enabled;
        self
    }

    /// Compress only JSON text longer than this many bytes (strictly). `0` compresses every
    /// value. Default: 1024, the Python package's.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().compress(true).compress_threshold(0);
    /// ```
    pub fn compress_threshold(mut self, bytes: usize) -> Self {
        self.codec.threshold = bytes;
        self
    }

    /// The most bytes a compressed item may inflate to when read; past it the item is treated
    /// as corrupt, so a gzip bomb cannot exhaust memory. Default: 64 MiB.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().max_inflated_bytes(16 << 20);
    /// ```
    pub fn max_inflated_bytes(mut self, bytes: usize) -> Self {
        self.codec.max_inflated = bytes;
        self
    }

    /// The clock expiry is written with and read against. Default: the system's. A
    /// [`Clock::manual`] makes expiry testable without waiting.
    ///
    /// ```
    /// let clock = dynamorator::Clock::manual();
    /// let builder = dynamorator::Store::builder().embedded().clock(clock.clone());
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Strongly consistent reads (twice the read cost). Default: off, eventually consistent,
    /// like the Python package.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").consistent_reads(true);
    /// ```
    pub fn consistent_reads(mut self, enabled: bool) -> Self {
        self.consistent_reads = enabled;
        self
    }

    /// Whether `build` checks for the table and creates it when missing. Turn it off to run
    /// with only the item permissions (see the README's least-privilege policy). Default: on.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").create_table(false);
    /// ```
    pub fn create_table(mut self, enabled: bool) -> Self {
        self.create_table = enabled;
        self
    }

    /// How long `build` waits for a table to become ACTIVE. Default: 5 minutes.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").table_wait(std::time::Duration::from_secs(60));
    /// ```
    pub fn table_wait(mut self, limit: Duration) -> Self {
        self.table_wait = limit;
        self
    }

    /// How many batch requests (of 100 reads or 25 writes) one batch call keeps in flight.
    /// Default: 16. Must be at least 1.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").batch_concurrency(4);
    /// ```
    pub fn batch_concurrency(mut self, requests: usize) -> Self {
        self.batch_concurrency = requests;
        self
    }

    /// How many requests a batch chunk makes for keys DynamoDB leaves unprocessed, the first
    /// included. Default: 8. Must be at least 1.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").batch_max_attempts(4);
    /// ```
    pub fn batch_max_attempts(mut self, attempts: u32) -> Self {
        self.batch_backoff.max_attempts = attempts;
        self
    }

    /// The backoff between those requests: a random pause up to `base × 2^(n-1)`, capped at
    /// `max`. Default: 25 ms, 2 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = dynamorator::Store::builder()
    ///     .table("t1")
    ///     .batch_backoff(Duration::from_millis(50), Duration::from_secs(1));
    /// ```
    pub fn batch_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.batch_backoff.base = base;
        self.batch_backoff.max = max;
        self
    }

    /// The SDK's retry mode for failed requests (throttling, 5xx, transient network errors).
    /// Default: [`RetryMode::Standard`]; [`RetryMode::Adaptive`] also rate-limits the client
    /// when DynamoDB throttles.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").retry_mode(dynamorator::RetryMode::Adaptive);
    /// ```
    pub fn retry_mode(mut self, mode: RetryMode) -> Self {
        self.retry_mode = mode;
        self
    }

    /// The SDK's attempts per request, the first included. Default: 3. `1` disables retries.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").max_attempts(5);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How long to wait for a TCP/TLS connection. Default: 2 s.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").connect_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt of a request may take. Default: 5 s.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").attempt_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How long a request may take, all its retries included. Default: 20 s.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().table("t1").operation_timeout(std::time::Duration::from_secs(10));
    /// ```
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Builds the store: for a table, loads the AWS configuration and (unless turned off)
    /// creates the table when missing, waits until it is ACTIVE and enables TTL.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for settings that cannot work (no backend chosen among them),
    /// [`Error::TableSetup`] when the table cannot be described, created or found ACTIVE in
    /// time, and [`Error::Embedded`] when an embedded store's file cannot be opened.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let unset = dynamorator::Store::builder().build().await;
    /// assert!(matches!(unset, Err(dynamorator::Error::InvalidConfig { .. })));
    /// # }
    /// ```
    pub async fn build(self) -> Result<Store, Error> {
        self.validate()?;
        let settings = Settings {
            codec: self.codec,
            clock: self.clock.clone(),
            batch_concurrency: self.batch_concurrency,
            batch_backoff: self.batch_backoff,
        };
        let (backend, table): (Option<Arc<dyn Backend>>, _) = match &self.target {
            Target::Unset => {
                return Err(Error::InvalidConfig {
                    reason: "no backend chosen: call .table(..), .embedded(), .embedded_file(..) \
                             or, for a store that keeps nothing, .maybe_table(None)"
                        .to_owned(),
                });
            }
            Target::Disabled => (None, None),
            Target::Embedded => (Some(Arc::new(EmbeddedBackend::new())), None),
            Target::EmbeddedFile(path) => {
                let (backend, skipped) = EmbeddedBackend::open(path, self.clock.now_epoch_secs())?;
                if skipped > 0 {
                    tracing::warn!(
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
                    ensure_table(&client, table, self.table_wait).await?;
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
