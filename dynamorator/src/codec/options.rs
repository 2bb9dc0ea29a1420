//! [`CodecOptions`]: how values are encoded, as one value set on a store or a cache; and the
//! overrides a cache keeps of its store's options.

use super::Codec;

/// How a store or a cache encodes values: compression (gzip or zstd, above a threshold),
/// splitting values past 400 KB, and the cap on what a compressed item may inflate to.
///
/// Set it once with [`StoreBuilder::codec`](crate::StoreBuilder::codec) or
/// [`CacheConfig::codec`](crate::CacheConfig::codec); the one-setting methods of those
/// builders (`compress`, `zstd`, …) edit the same value. Reads take every form whatever these
/// say: they decide only how values are written (and how far a read may inflate one).
///
/// | setting | default |
/// |---|---|
/// | [`compress`](CodecOptions::compress), [`compress_threshold`](CodecOptions::compress_threshold) | off, 1024 bytes |
/// | [`zstd`](CodecOptions::zstd), [`zstd_level`](CodecOptions::zstd_level) | off (gzip), 3 |
/// | [`split`](CodecOptions::split), [`split_max_bytes`](CodecOptions::split_max_bytes) | off, 32 MiB |
/// | [`max_inflated_bytes`](CodecOptions::max_inflated_bytes) | 64 MiB |
///
/// The inflation cap belongs here because it bounds writes too: a split value is never
/// written larger than a reader with the same options would take back.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), dynamorator::Error> {
/// use dynamorator::{CodecOptions, Store};
///
/// let codec = CodecOptions::new().zstd_level(9).compress_threshold(256).split(true);
/// let store = Store::builder().embedded().codec(codec).build().await?;
/// assert_eq!(store.codec_options(), codec);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct CodecOptions {
    codec: Codec,
}

impl CodecOptions {
    /// The defaults (see the table above); the same as [`CodecOptions::default`].
    ///
    /// ```
    /// assert_eq!(dynamorator::CodecOptions::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        CodecOptions::default()
    }

    /// Compress values whose JSON text is longer than the
    /// [threshold](CodecOptions::compress_threshold): with gzip + base64 in `data`, as the
    /// Python package does (or with [zstd](CodecOptions::zstd)). Default: off.
    ///
    /// ```
    /// let codec = dynamorator::CodecOptions::new().compress(true);
    /// ```
    pub fn compress(mut self, enabled: bool) -> Self {
        self.codec.compress = enabled;
        self
    }

    /// Compress only JSON text longer than this many bytes (strictly). `0` compresses every
    /// value. Default: 1024, the Python package's.
    ///
    /// ```
    /// let codec = dynamorator::CodecOptions::new().compress(true).compress_threshold(0);
    /// ```
    pub fn compress_threshold(mut self, bytes: usize) -> Self {
        self.codec.threshold = bytes;
        self
    }

    /// Compress with zstd instead of gzip (and turn compression on): the value's zstd frame
    /// is stored as bytes in the `zstd` attribute, with no `data`. Smaller than gzip + base64
    /// and faster (BENCHMARKS.md), but the Python package 0.1.7 reads such items as misses:
    /// turn it on only for tables no Python reader shares, or keys it does not read. `false`
    /// goes back to gzip when compressing. Default: off.
    ///
    /// ```
    /// let codec = dynamorator::CodecOptions::new().zstd(true);
    /// assert_eq!(codec, dynamorator::CodecOptions::new().compress(true).zstd_level(3));
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
    /// let codec = dynamorator::CodecOptions::new().zstd_level(9);
    /// ```
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.codec.set_zstd_level(level);
        self
    }

    /// Store values too large for one DynamoDB item (400 KB) as parts and a head (README,
    /// "Values past 400 KB"), up to [`split_max_bytes`](CodecOptions::split_max_bytes). Off by
    /// default: such a value is refused with [`Error::ItemTooLarge`](crate::Error::ItemTooLarge).
    /// Reads join split values whatever this says. The Python package 0.1.7 reads a split
    /// value as a miss.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), dynamorator::Error> {
    /// use dynamorator::{CodecOptions, Store, Ttl};
    ///
    /// let codec = CodecOptions::new().split(true);
    /// let store = Store::builder().embedded().codec(codec).build().await?;
    /// let big = "x".repeat(1_000_000);
    /// store.put("big", &big, Ttl::hours(1)).await?;
    /// assert_eq!(store.item_info("big").await?.and_then(|info| info.parts), Some(4));
    /// assert_eq!(store.get::<String>("big").await?, Some(big));
    /// # Ok(()) }
    /// ```
    pub fn split(mut self, enabled: bool) -> Self {
        self.codec.split = enabled;
        self
    }

    /// The most bytes a split value may store (its JSON, or its gzip or zstd once compressed),
    /// and splitting on; past it a write is refused with
    /// [`Error::ValueTooLarge`](crate::Error::ValueTooLarge). The limit in force is never above
    /// what a reader takes back: a value whose stored bytes or JSON pass
    /// [`max_inflated_bytes`](CodecOptions::max_inflated_bytes), or that needs more than 1,024
    /// parts (300,000 bytes each), is refused too. Default: 32 MiB.
    ///
    /// ```
    /// let codec = dynamorator::CodecOptions::new().split_max_bytes(8 << 20);
    /// assert_eq!(codec, dynamorator::CodecOptions::new().split(true).split_max_bytes(8 << 20));
    /// ```
    pub fn split_max_bytes(mut self, bytes: usize) -> Self {
        self.codec.split = true;
        self.codec.split_max = bytes;
        self
    }

    /// The most bytes a compressed item (or a split value's joined bytes) may inflate to when
    /// read; past it the item is treated as corrupt, so a gzip or zstd bomb cannot exhaust
    /// memory (a zstd frame that declares a larger size is refused before it is inflated).
    /// Default: 64 MiB.
    ///
    /// ```
    /// let codec = dynamorator::CodecOptions::new().max_inflated_bytes(16 << 20);
    /// ```
    pub fn max_inflated_bytes(mut self, bytes: usize) -> Self {
        self.codec.max_inflated = bytes;
        self
    }

    /// The codec these options make.
    pub(crate) fn codec(self) -> Codec {
        self.codec
    }

    /// The options a codec was made with.
    pub(crate) fn of(codec: Codec) -> Self {
        CodecOptions { codec }
    }
}

// Named after the setters, not the codec's fields.
impl std::fmt::Debug for CodecOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codec = &self.codec;
        f.debug_struct("CodecOptions")
            .field("compress", &codec.compress)
            .field("compress_threshold", &codec.threshold)
            .field("zstd_level", &codec.zstd)
            .field("split", &codec.split)
            .field("split_max_bytes", &codec.split_max)
            .field("max_inflated_bytes", &codec.max_inflated)
            .finish()
    }
}

/// A cache's changes to its store's [`CodecOptions`]: whole options that replace the store's,
/// and the one-setting changes made after them. One value, applied in one place
/// ([`apply`](CodecOverrides::apply)), so a cache that sets only `compress(true)` keeps the
/// store's threshold, zstd and split settings.
///
/// The one-setting changes are kept, not applied, because the store's options are not known
/// until the cache is made; they are applied in a fixed order (the order of the fields), so
/// the outcome does not depend on the order the setters were called in, as before there was
/// this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CodecOverrides {
    /// Options that replace the store's; `None` starts from the store's.
    pub(crate) base: Option<CodecOptions>,
    pub(crate) compress: Option<bool>,
    pub(crate) compress_threshold: Option<usize>,
    pub(crate) zstd: Option<bool>,
    pub(crate) zstd_level: Option<i32>,
    pub(crate) split: Option<bool>,
    pub(crate) split_max_bytes: Option<usize>,
}

impl CodecOverrides {
    /// Overrides that make a cache encode with `options` whatever its store's: setting whole
    /// options forgets the one-setting changes made before.
    pub(crate) fn replace(options: CodecOptions) -> Self {
        CodecOverrides {
            base: Some(options),
            ..CodecOverrides::default()
        }
    }

    /// The options a cache on a store with `store` options encodes with.
    pub(crate) fn apply(&self, store: CodecOptions) -> CodecOptions {
        let mut options = self.base.unwrap_or(store);
        if let Some(enabled) = self.compress {
            options = options.compress(enabled);
        }
        if let Some(bytes) = self.compress_threshold {
            options = options.compress_threshold(bytes);
        }
        if let Some(enabled) = self.zstd {
            options = options.zstd(enabled);
        }
        if let Some(level) = self.zstd_level {
            options = options.zstd_level(level);
        }
        if let Some(enabled) = self.split {
            options = options.split(enabled);
        }
        if let Some(bytes) = self.split_max_bytes {
            options = options.split_max_bytes(bytes);
        }
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_overrides_keep_the_stores_options() {
        let store = CodecOptions::new().zstd_level(7).split(true);
        assert_eq!(CodecOverrides::default().apply(store), store);
    }

    #[test]
    fn one_override_keeps_the_stores_other_settings() {
        let store = CodecOptions::new()
            .compress_threshold(10)
            .split_max_bytes(1 << 20)
            .max_inflated_bytes(2 << 20);
        let overrides = CodecOverrides {
            compress: Some(true),
            ..CodecOverrides::default()
        };
        assert_eq!(overrides.apply(store), store.compress(true));
    }

    #[test]
    fn turning_zstd_on_keeps_the_stores_level() {
        let store = CodecOptions::new().zstd_level(12).zstd(false);
        let overrides = CodecOverrides {
            zstd: Some(true),
            ..CodecOverrides::default()
        };
        // The store turned zstd off, which forgets its level: back to the default.
        assert_eq!(overrides.apply(store), CodecOptions::new().zstd_level(3));
        let store = CodecOptions::new().zstd_level(12);
        assert_eq!(overrides.apply(store), store);
    }

    #[test]
    fn overrides_apply_in_a_fixed_order() {
        // A level wins over zstd(false), and compress(false) over nothing that comes later:
        // as the cache's settings were applied before they were one value.
        let overrides = CodecOverrides {
            compress: Some(false),
            zstd: Some(false),
            zstd_level: Some(5),
            ..CodecOverrides::default()
        };
        assert_eq!(
            overrides.apply(CodecOptions::new()),
            CodecOptions::new().zstd_level(5)
        );
    }

    #[test]
    fn whole_options_replace_the_stores_and_later_changes_apply_to_them() {
        let store = CodecOptions::new().compress(true).split(true);
        let own = CodecOptions::new().max_inflated_bytes(1 << 20);
        assert_eq!(CodecOverrides::replace(own).apply(store), own);
        let overrides = CodecOverrides {
            split: Some(true),
            ..CodecOverrides::replace(own)
        };
        assert_eq!(overrides.apply(store), own.split(true));
    }
}
