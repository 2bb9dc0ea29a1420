//! [`StoreBuilder`]: every setting of a [`Store`], with safe documented defaults.

use std::sync::Arc;
use std::time::Duration;

use super::backoff::Backoff;
#[cfg(feature = "dynamodb")]
use super::builder_dynamodb::DynamoDbOptions;
use super::circuit::CircuitBreaker;
use super::{Settings, Store};
use crate::backend::Backend;
use crate::backend::embedded::EmbeddedBackend;
use crate::backend::embedded::file::FileBackend;
use crate::codec::Codec;
use crate::{Clock, Error};

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
    codec: Codec,
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
            codec: Codec::default(),
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

    /// Compress values whose JSON text is longer than the threshold: with gzip + base64 in
    /// `data`, as the Python package does (or with zstd, see [`zstd`](StoreBuilder::zstd)).
    /// Default: off.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().compress(true);
    /// ```
    pub fn compress(mut self, enabled: bool) -> Self {
        self.codec.compress = enabled;
        self
    }

    /// Compress with zstd instead of gzip (and turn compression on): the value's zstd frame
    /// is stored as bytes in the `zstd` attribute, with no `data`. Smaller than gzip + base64
    /// (no base64 third) and faster (BENCHMARKS.md), so fewer write and read units, but the
    /// Python package 0.1.7 reads such items as misses: turn it on only for tables no Python
    /// reader shares, or keys it does not read. `false` goes back to gzip when compressing.
    /// Default: off. Reads take every form whatever this says.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().zstd(true);
    /// ```
    pub fn zstd(mut self, enabled: bool) -> Self {
        self.codec.set_zstd(enabled);
        self
    }

    /// zstd's compression level (and zstd on): 1 is fastest, 19 smallest (up to 22, slower
    /// still); negative levels trade size for more speed; 0 is zstd's default. Out-of-range
    /// levels are clamped to zstd's range. Default: 3.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().zstd_level(9);
    /// ```
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.codec.set_zstd_level(level);
        self
    }

    /// Store values too large for one DynamoDB item (400 KB) as parts and a head (README,
    /// "Values past 400 KB"), up to [`split_max_bytes`](StoreBuilder::split_max_bytes). Off by
    /// default: such a value is refused with [`Error::ItemTooLarge`]. Reads join split values
    /// whatever this says. The Python package 0.1.7 reads a split value as a miss.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// let store = dynamorator::Store::builder().embedded().split(true).build().await?;
    /// let big = "x".repeat(1_000_000);
    /// store.put("big", &big, dynamorator::Ttl::hours(1)).await?;
    /// assert_eq!(store.item_info("big").await?.and_then(|info| info.parts), Some(4));
    /// assert_eq!(store.get::<String>("big").await?, Some(big));
    /// # Ok(()) }
    /// ```
    pub fn split(mut self, enabled: bool) -> Self {
        self.codec.split = enabled;
        self
    }

    /// The most bytes a split value may store (its JSON, or its gzip or zstd once compressed),
    /// and splitting on; past it a write is refused with [`Error::ValueTooLarge`]. The limit
    /// in force is never above what a reader takes back: a value whose stored bytes or JSON
    /// pass [`max_inflated_bytes`](StoreBuilder::max_inflated_bytes) (64 MiB by default), or
    /// that needs more than 1,024 parts (300,000 bytes each), is refused too, so nothing is
    /// written that no reader with the same settings would read. Default: 32 MiB.
    ///
    /// ```
    /// let builder = dynamorator::Store::builder().embedded().split(true).split_max_bytes(8 << 20);
    /// ```
    pub fn split_max_bytes(mut self, bytes: usize) -> Self {
        self.codec.split = true;
        self.codec.split_max = bytes;
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
    /// as corrupt, so a gzip or zstd bomb cannot exhaust memory (a zstd frame that declares
    /// a larger size is refused before it is inflated). Default: 64 MiB.
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
        if let Target::Table(table) = &self.target {
            self.dynamodb.validate(table)?;
        }
        if self.batch_concurrency == 0 {
            return invalid("batch_concurrency must be at least 1");
        }
        if self.batch_backoff.max_attempts == 0 {
            return invalid("batch_max_attempts must be at least 1");
        }
        Ok(())
    }
}
