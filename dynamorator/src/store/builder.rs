//! [`StoreBuilder`]: every setting of a [`Store`], with safe documented defaults.

use std::sync::Arc;
use std::time::Duration;

use super::backoff::Backoff;
use super::circuit::CircuitBreaker;
#[cfg(feature = "dynamodb")]
use super::dynamodb_options::DynamoDbOptions;
use super::{Settings, Store};
use crate::backend::Backend;
use crate::backend::embedded::EmbeddedBackend;
use crate::backend::embedded::file::FileBackend;
use crate::{Clock, CodecOptions, Error};

/// Where a store keeps its items.
#[derive(Debug, Clone, Default)]
pub(super) enum Target {
    /// Nothing chosen yet: `build` refuses it.
    #[default]
    Unset,
    /// No table, asked for by name: every call is a no-op.
    Disabled,
    /// A DynamoDB table.
    #[cfg(feature = "dynamodb")]
    Table(String),
    /// `maybe_table(None)`: disabled, with DynamoDB settings meant for a table when named.
    #[cfg(feature = "dynamodb")]
    NoTable,
    /// The embedded backend, in this process.
    Embedded,
    /// The embedded backend, kept in a file across runs.
    EmbeddedFile(std::path::PathBuf),
}

/// Builds a [`Store`]; get one from [`Store::builder`].
///
/// Choose where items live: [`embedded`](StoreBuilder::embedded),
/// [`embedded_file`](StoreBuilder::embedded_file), [`disabled`](StoreBuilder::disabled) (a
/// store that keeps nothing, like the Python package with `table_name=None`), or, with the
/// `dynamodb` feature, `table` and `maybe_table` (whose `None` is a disabled store); `build`
/// refuses a builder that chose none.
///
/// The settings are values of their own: how values are encoded, [`CodecOptions`]
/// ([`codec`](StoreBuilder::codec)), and, with the `dynamodb` feature, how the table is reached,
/// `DynamoDbOptions` (`dynamodb`), which only a store on a table takes. The one-setting
/// methods (`compress`, `region`, …) are shorthands that edit those values.
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
    pub(super) target: Target,
    /// Where DynamoDB is and how the SDK talks to it.
    #[cfg(feature = "dynamodb")]
    pub(super) dynamodb: DynamoDbOptions,
    codec: CodecOptions,
    clock: Clock,
    batch_concurrency: usize,
    batch_backoff: Backoff,
    circuit_breaker: CircuitBreaker,
}

impl Default for StoreBuilder {
    fn default() -> Self {
        StoreBuilder {
            target: Target::Unset,
            #[cfg(feature = "dynamodb")]
            dynamodb: DynamoDbOptions::default(),
            codec: CodecOptions::default(),
            clock: Clock::system(),
            batch_concurrency: Settings::default().batch_concurrency,
            batch_backoff: Backoff::default(),
            circuit_breaker: CircuitBreaker::default(),
        }
    }
}

impl StoreBuilder {
    /// A store that keeps nothing: writes succeed and do nothing, reads find nothing, like
    /// the Python package with `table_name=None`. The same as [`Store::disabled`], with the
    /// builder's other settings.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder().disabled().build().await?;
    /// assert!(!store.is_enabled());
    /// # Ok(()) }
    /// ```
    pub fn disabled(mut self) -> Self {
        self.target = Target::Disabled;
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

    /// Keeps items in the file at `path` across runs, with the semantics of
    /// [`embedded`](StoreBuilder::embedded), in a SQLite database in WAL mode that every
    /// process on the machine can open at once. Leases, fleet-wide clears and ordered writes
    /// are evaluated in the file's write transactions, so they hold between those processes as
    /// on DynamoDB. Items are read as they are needed, never loaded whole, so a cache may be
    /// larger than memory and opens at once. A write is acknowledged once it is committed to
    /// the write-ahead log: it survives the process being killed (a power loss may take back
    /// the last commits, never corrupt the file). Every record carries a checksum: a value
    /// damaged on disk is [`Error::Corrupt`], never a wrong value. Reads and writes run on the
    /// calling task's thread without waiting for any lock (they take microseconds); one that
    /// finds the file locked by another writer waits for it on tokio's blocking threads, as do
    /// scans, and checkpoints and sweeps run on a thread of the store. Open a store in each
    /// process after a `fork`, not before: one opened before is refused in the child.
    ///
    /// In one process, one store per file: a second, by any path to the same file (symlinks and
    /// hard links included), is refused
    /// at build with an [`Error::Embedded`] that says so (share the first; clones are cheap).
    /// The file, and the `-wal` and `-shm` files beside it, are created readable by their
    /// owner only. Expired items are misses at once; a day after expiry (so a cache's
    /// fail-safe can still answer with them) they are removed by the read that meets them, or
    /// by a sweep that runs when the store opens and then every minute. A file that is not
    /// such a database (an earlier version's redb file or JSON-lines journal, an export of the
    /// command-line tool, another program's database) is refused with an error naming it, and
    /// left as it is; so is a path whose folder does not exist.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), dynamorator::Error> {
    /// // A per-user folder, never a shared temporary one.
    /// let home = std::env::var_os("HOME").unwrap_or_default();
    /// let path = std::path::Path::new(&home).join(".cache/my-app/cache.db");
    /// let store = dynamorator::Store::builder().embedded_file(path).build().await?;
    /// # Ok(()) }
    /// ```
    pub fn embedded_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.target = Target::EmbeddedFile(path.into());
        self
    }

    /// How the store encodes values, whole (they replace any set before); see
    /// [`CodecOptions`]. Caches on the store use them unless their
    /// [`CacheConfig`](crate::CacheConfig) changes them. Default: [`CodecOptions::default`].
    ///
    /// ```
    /// use dynamorator::{CodecOptions, Store};
    /// let builder = Store::builder().embedded().codec(CodecOptions::new().zstd(true).split(true));
    /// ```
    pub fn codec(mut self, options: CodecOptions) -> Self {
        self.codec = options;
        self
    }

    /// Shorthand for [`CodecOptions::compress`] on this builder's codec options.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().compress(true);
    /// ```
    pub fn compress(mut self, enabled: bool) -> Self {
        self.codec = self.codec.compress(enabled);
        self
    }

    /// Shorthand for [`CodecOptions::compress_threshold`] on this builder's codec options.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().compress(true).compress_threshold(0);
    /// ```
    pub fn compress_threshold(mut self, bytes: usize) -> Self {
        self.codec = self.codec.compress_threshold(bytes);
        self
    }

    /// Shorthand for [`CodecOptions::zstd`] on this builder's codec options.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().zstd(true);
    /// ```
    pub fn zstd(mut self, enabled: bool) -> Self {
        self.codec = self.codec.zstd(enabled);
        self
    }

    /// Shorthand for [`CodecOptions::zstd_level`] on this builder's codec options.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().zstd_level(9);
    /// ```
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.codec = self.codec.zstd_level(level);
        self
    }

    /// Shorthand for [`CodecOptions::split`] on this builder's codec options.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().split(true);
    /// ```
    pub fn split(mut self, enabled: bool) -> Self {
        self.codec = self.codec.split(enabled);
        self
    }

    /// Shorthand for [`CodecOptions::split_max_bytes`] on this builder's codec options.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().split_max_bytes(8 << 20);
    /// ```
    pub fn split_max_bytes(mut self, bytes: usize) -> Self {
        self.codec = self.codec.split_max_bytes(bytes);
        self
    }

    /// Shorthand for [`CodecOptions::max_inflated_bytes`] on this builder's codec options.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().max_inflated_bytes(16 << 20);
    /// ```
    pub fn max_inflated_bytes(mut self, bytes: usize) -> Self {
        self.codec = self.codec.max_inflated_bytes(bytes);
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

    /// When read-through stops asking a failing store, and for how long; see
    /// [`CircuitBreaker`]. Default: after 5 failures in a row, for 30 s.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder()
    ///     .embedded()
    ///     .circuit_breaker(dynamorator::CircuitBreaker::disabled());
    /// ```
    pub fn circuit_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.circuit_breaker = breaker;
        self
    }

    /// Builds the store: for a table, loads the AWS configuration and (unless turned off)
    /// creates the table when missing, waits until it is ACTIVE and enables TTL.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for settings that cannot work (no backend chosen among them, or
    /// a DynamoDB setting changed on an embedded or disabled store, which would be ignored),
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
            codec: self.codec.codec(),
            clock: self.clock.clone(),
            batch_concurrency: self.batch_concurrency,
            batch_backoff: self.batch_backoff,
            circuit_breaker: self.circuit_breaker,
        };
        let (backend, table): (Option<Arc<dyn Backend>>, _) = match &self.target {
            Target::Unset => {
                return Err(Error::InvalidConfig {
                    reason: "no backend chosen: call .table(..), .embedded(), .embedded_file(..) \
                             or, for a store that keeps nothing, .maybe_table(None) or \
                             Store::disabled()"
                        .to_owned(),
                });
            }
            Target::Disabled => (None, None),
            #[cfg(feature = "dynamodb")]
            Target::NoTable => (None, None),
            Target::Embedded => (Some(Arc::new(EmbeddedBackend::new())), None),
            Target::EmbeddedFile(path) => {
                let backend = FileBackend::open(path.clone(), self.clock.clone()).await?;
                (Some(Arc::new(backend)), None)
            }
            #[cfg(feature = "dynamodb")]
            Target::Table(table) => {
                let backend = self.dynamodb.backend(table).await?;
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
        #[cfg(feature = "dynamodb")]
        self.validate_dynamodb()?;
        if self.batch_concurrency == 0 {
            return invalid("batch_concurrency must be at least 1");
        }
        if self.batch_backoff.max_attempts == 0 {
            return invalid("batch_max_attempts must be at least 1");
        }
        Ok(())
    }

    /// Refuses DynamoDB settings the target has no use for: ignoring them would hide a
    /// mistake (a store meant for a table built embedded, or the reverse).
    #[cfg(feature = "dynamodb")]
    fn validate_dynamodb(&self) -> Result<(), Error> {
        let target = match &self.target {
            Target::Table(table) => return self.dynamodb.validate(table),
            Target::Unset | Target::NoTable => return Ok(()),
            Target::Disabled => "disabled (.disabled())",
            Target::Embedded => "embedded (.embedded())",
            Target::EmbeddedFile(_) => "embedded in a file (.embedded_file(..))",
        };
        match self.dynamodb.first_changed() {
            Some(setting) => Err(Error::InvalidConfig {
                reason: format!(
                    "{setting} is a DynamoDB setting, and this store is {target}: it would be \
                     ignored; set it only on a store with .table(..)"
                ),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(all(test, feature = "dynamodb"))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::RetryMode;

    type Setting = (&'static str, fn(StoreBuilder) -> StoreBuilder);

    /// Every DynamoDB setting, changed from its default.
    const CHANGED: [Setting; 14] = [
        ("region", |b| b.region("eu-west-1")),
        ("profile", |b| b.profile("staging")),
        ("endpoint_url", |b| b.endpoint_url("http://127.0.0.1:8000")),
        ("sdk_config", |b| {
            b.sdk_config(aws_config::SdkConfig::builder().build())
        }),
        ("client", |b| {
            let config = aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build();
            b.client(aws_sdk_dynamodb::Client::from_conf(config))
        }),
        ("consistent_reads", |b| b.consistent_reads(true)),
        ("consumed_capacity", |b| b.consumed_capacity(true)),
        ("create_table", |b| b.create_table(false)),
        ("table_wait", |b| b.table_wait(Duration::from_secs(1))),
        ("retry_mode", |b| b.retry_mode(RetryMode::Adaptive)),
        ("max_attempts", |b| b.max_attempts(1)),
        ("connect_timeout", |b| {
            b.connect_timeout(Duration::from_secs(1))
        }),
        ("attempt_timeout", |b| {
            b.attempt_timeout(Duration::from_secs(1))
        }),
        ("operation_timeout", |b| {
            b.operation_timeout(Duration::from_secs(1))
        }),
    ];

    fn reason(result: Result<(), Error>) -> Option<String> {
        match result {
            Err(Error::InvalidConfig { reason }) => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn a_store_without_a_table_refuses_every_dynamodb_setting_by_name() {
        let targets: [(Target, &str); 3] = [
            (Target::Embedded, ".embedded()"),
            (Target::EmbeddedFile("x.db".into()), ".embedded_file(..)"),
            (Target::Disabled, ".disabled()"),
        ];
        for (target, target_name) in targets {
            for (setting, change) in CHANGED {
                let builder = StoreBuilder {
                    target: target.clone(),
                    ..StoreBuilder::default()
                };
                let refused = reason(change(builder).validate());
                let reason = refused.unwrap_or_else(|| panic!("{setting} on {target_name}"));
                assert!(reason.starts_with(setting), "{reason}");
                assert!(reason.contains(target_name), "{reason}");
            }
        }
    }

    #[test]
    fn the_whole_options_are_refused_as_the_shorthands_are() {
        let options = DynamoDbOptions::new().create_table(false);
        let builder = Store::builder().embedded().dynamodb(options);
        let reason = reason(builder.validate()).unwrap_or_default();
        assert!(
            reason.starts_with("create_table is a DynamoDB setting"),
            "{reason}"
        );
    }

    #[test]
    fn settings_left_at_their_defaults_are_accepted() {
        let builder = Store::builder()
            .embedded()
            .consistent_reads(false)
            .create_table(true)
            .max_attempts(3)
            .dynamodb(DynamoDbOptions::new());
        assert!(builder.validate().is_ok());
    }

    #[test]
    fn maybe_table_takes_the_settings_meant_for_its_table() {
        for (setting, change) in CHANGED {
            let builder = change(Store::builder().maybe_table(None::<String>));
            assert!(builder.validate().is_ok(), "{setting}");
            let builder = change(Store::builder().table("my-table"));
            assert!(builder.validate().is_ok(), "{setting}");
        }
    }

    #[test]
    fn the_last_target_chosen_decides() {
        let builder = Store::builder()
            .embedded()
            .region("eu-west-1")
            .table("my-table");
        assert!(builder.validate().is_ok());
        let builder = Store::builder()
            .table("my-table")
            .region("eu-west-1")
            .embedded();
        assert!(reason(builder.validate()).is_some());
    }
}
