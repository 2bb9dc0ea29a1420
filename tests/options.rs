//! Options as values: one `CodecOptions` for a store or a cache (a cache that changes one
//! setting keeps the store's others), and `DynamoDbOptions` refused by a store without a table
//! instead of ignored.

mod support;

use dynamorator::{DynamoDbOptions, Error, Store};
use support::unique_file;

on_every_backend!(suite:
    a_store_reads_back_the_codec_options_it_was_built_with,
    a_cache_that_changes_one_codec_setting_keeps_the_stores_others,
    a_cache_with_whole_codec_options_ignores_the_stores,
);

mod suite {
    use dynamorator::{Cache, CacheConfig, CodecOptions, Encoding};

    use super::support::TestBackend;

    /// Over the store's 1024-byte threshold, so only a threshold of the cache's own keeps it
    /// plain.
    fn long_text() -> String {
        "x".repeat(2_000)
    }

    async fn encoding_of(cache: &Cache<String>, key: &str) -> Option<Encoding> {
        cache.put(key, &long_text()).await.unwrap();
        let stored = cache.stored_key(key);
        let info = cache.store().item_info(&stored).await.unwrap();
        info.map(|info| info.encoding)
    }

    pub(super) async fn a_store_reads_back_the_codec_options_it_was_built_with(
        backend: TestBackend,
    ) {
        let whole = CodecOptions::new().zstd_level(9).split_max_bytes(1 << 20);
        let store = backend.build(|builder| builder.codec(whole)).await;
        assert_eq!(store.codec_options(), whole);
        let flat = backend
            .build(|builder| builder.zstd_level(9).split_max_bytes(1 << 20))
            .await;
        assert_eq!(
            flat.codec_options(),
            whole,
            "the shorthands edit the same value"
        );
    }

    pub(super) async fn a_cache_that_changes_one_codec_setting_keeps_the_stores_others(
        backend: TestBackend,
    ) {
        let store = backend.build(|builder| builder.zstd(true)).await;
        // Splitting on: compression (zstd) is still the store's.
        let split: Cache<String> =
            Cache::new(&store, CacheConfig::new().prefix("split").split(true));
        assert_eq!(encoding_of(&split, "k").await, Some(Encoding::Zstd));
        // Back to gzip: compression stays on.
        let gzip: Cache<String> = Cache::new(&store, CacheConfig::new().prefix("gzip").zstd(false));
        assert_eq!(encoding_of(&gzip, "k").await, Some(Encoding::Gzip));
        // A threshold of its own, past the value: stored plain.
        let high = CacheConfig::new().prefix("high").compress_threshold(10_000);
        let high: Cache<String> = Cache::new(&store, high);
        assert_eq!(encoding_of(&high, "k").await, Some(Encoding::Json));
        // The store itself is unchanged by its caches.
        assert_eq!(store.codec_options(), CodecOptions::new().zstd(true));
    }

    pub(super) async fn a_cache_with_whole_codec_options_ignores_the_stores(backend: TestBackend) {
        let store = backend.build(|builder| builder.zstd(true)).await;
        let plain = CacheConfig::new()
            .prefix("plain")
            .codec(CodecOptions::new());
        let plain: Cache<String> = Cache::new(&store, plain);
        assert_eq!(encoding_of(&plain, "k").await, Some(Encoding::Json));
        // A setter after the whole options changes them.
        let gzip = CacheConfig::new()
            .prefix("gzip")
            .codec(CodecOptions::new())
            .compress(true);
        let gzip: Cache<String> = Cache::new(&store, gzip);
        assert_eq!(encoding_of(&gzip, "k").await, Some(Encoding::Gzip));
    }
}

fn refusal(result: Result<Store, Error>) -> String {
    match result {
        Err(Error::InvalidConfig { reason }) => reason,
        Err(other) => panic!("expected InvalidConfig, got {other}"),
        Ok(_) => panic!("expected InvalidConfig, got a store"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_embedded_store_refuses_a_dynamodb_setting_and_names_it() {
    let reason = refusal(
        Store::builder()
            .embedded()
            .consistent_reads(true)
            .build()
            .await,
    );
    assert_eq!(
        reason,
        "consistent_reads is a DynamoDB setting, and this store is embedded (.embedded()): it \
         would be ignored; set it only on a store with .table(..)"
    );
    let options = DynamoDbOptions::new().region("eu-west-1");
    let reason = refusal(Store::builder().disabled().dynamodb(options).build().await);
    assert!(
        reason.starts_with("region is a DynamoDB setting"),
        "{reason}"
    );
    assert!(reason.contains("disabled (.disabled())"), "{reason}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_embedded_file_store_refuses_before_it_creates_the_file() {
    let path = unique_file();
    let builder = Store::builder().embedded_file(&path).create_table(false);
    let reason = refusal(builder.build().await);
    assert!(
        reason.starts_with("create_table is a DynamoDB setting"),
        "{reason}"
    );
    assert!(reason.contains(".embedded_file(..)"), "{reason}");
    assert!(!path.exists(), "nothing is created for a refused store");
}

#[tokio::test(flavor = "current_thread")]
async fn settings_at_their_defaults_and_maybe_table_none_are_accepted() {
    let store = Store::builder()
        .embedded()
        .create_table(true)
        .consistent_reads(false)
        .build()
        .await;
    assert!(store.is_ok_and(|store| store.is_enabled()));
    // The settings are for the table when the variable names one; without it, disabled.
    let store = Store::builder()
        .maybe_table(None::<String>)
        .region("eu-west-1")
        .create_table(false)
        .build()
        .await;
    assert!(store.is_ok_and(|store| !store.is_enabled()));
}
