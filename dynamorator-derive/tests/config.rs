//! What `#[cache(...)]` expands to: each type's `config()` is exactly the `CacheConfig` its
//! keys describe, built by hand with the setters.

use std::time::Duration;

use dynamorator::{CacheConfig, Cached, Ttl};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(
    ttl_mins = 10,
    stale_hours = 1.5,
    fail_safe_days = 2,
    fail_safe_throttle_secs = 10,
    jitter_secs = 30,
    soft_timeout_ms = 100,
    hard_timeout_ms = 2000,
    refresh_window_ms = 25,
    refresh_batch_max = 500,
    coherent_l1_ms = 750
)]
struct EveryFreshnessKey;

#[test]
fn every_freshness_key_sets_its_setting() {
    assert_eq!(
        EveryFreshnessKey::config(),
        CacheConfig::new()
            .ttl(Ttl::minutes(10))
            .stale_for(Ttl::secs(5_400))
            .fail_safe_max(Ttl::days(2))
            .fail_safe_throttle(Ttl::secs(10))
            .jitter(Ttl::secs(30))
            .soft_timeout(Duration::from_millis(100))
            .hard_timeout(Duration::from_millis(2_000))
            .refresh_window(Duration::from_millis(25))
            .refresh_batch_max(500)
            .coherent_l1(Duration::from_millis(750))
            .prefix("every_freshness_key")
    );
}

#[derive(Serialize, Deserialize, Cached)]
#[cache(zstd, compress_threshold = 256)]
struct Zstd;

#[derive(Serialize, Deserialize, Cached)]
#[cache(zstd_level = 19)]
struct ZstdLevel;

#[derive(Serialize, Deserialize, Cached)]
#[cache(zstd, split_max_bytes = 8388608)]
struct Split;

#[test]
fn split_keys_set_splitting_and_its_maximum() {
    assert_eq!(
        Split::config(),
        CacheConfig::new()
            .prefix("split")
            .zstd(true)
            .split(true)
            .split_max_bytes(8_388_608)
    );
}

#[test]
fn zstd_keys_set_zstd_and_its_level() {
    assert_eq!(
        Zstd::config(),
        CacheConfig::new()
            .prefix("zstd")
            .compress(true)
            .compress_threshold(256)
            .zstd(true)
    );
    assert_eq!(
        ZstdLevel::config(),
        CacheConfig::new()
            .prefix("zstd_level")
            .zstd(true)
            .zstd_level(19)
    );
}

#[derive(Serialize, Deserialize, Cached)]
#[cache(
    ttl_secs = 90,
    stale_days = 1,
    fail_safe_hours = 6,
    fail_safe_throttle_mins = 2,
    jitter_mins = 0.5
)]
struct OtherUnits;

#[derive(Serialize, Deserialize, Cached)]
#[cache(stale_mins = 15, fail_safe_mins = 45)]
struct Minutes;

#[derive(Serialize, Deserialize, Cached)]
#[cache(stale_secs = 20, fail_safe_secs = 40, prefix = "s")]
struct Seconds;

#[test]
fn every_unit_of_every_family_counts_seconds() {
    assert_eq!(
        OtherUnits::config(),
        CacheConfig::new()
            .ttl(Ttl::secs(90))
            .stale_for(Ttl::days(1))
            .fail_safe_max(Ttl::hours(6))
            .fail_safe_throttle(Ttl::minutes(2))
            .jitter(Ttl::secs(30))
            .prefix("other_units")
    );
    assert_eq!(
        Minutes::config(),
        CacheConfig::new()
            .stale_for(Ttl::minutes(15))
            .fail_safe_max(Ttl::minutes(45))
            .prefix("minutes")
    );
    assert_eq!(
        Seconds::config(),
        CacheConfig::new()
            .stale_for(Ttl::secs(20))
            .fail_safe_max(Ttl::secs(40))
            .prefix("s")
    );
}

#[derive(Serialize, Deserialize, Cached)]
#[cache(soft_timeout_ms = 50)]
struct SoftOnly;

#[derive(Serialize, Deserialize, Cached)]
#[cache(hard_timeout_ms = 1, refresh_batch_max = 1)]
struct HardOnly;

#[test]
fn timeouts_stand_alone_and_unset_keys_keep_the_defaults() {
    assert_eq!(
        SoftOnly::config(),
        CacheConfig::new()
            .soft_timeout(Duration::from_millis(50))
            .prefix("soft_only")
    );
    assert_eq!(
        HardOnly::config(),
        CacheConfig::new()
            .hard_timeout(Duration::from_millis(1))
            .refresh_batch_max(1)
            .prefix("hard_only")
    );
}

/// `#[memoize(...)]` shares the keys: a public, documented memoised function's settings are
/// the `CacheConfig` they describe, its default prefix the module path and the name.
mod memoized {
    use std::sync::LazyLock;
    use std::time::Duration;

    use dynamorator::{CacheConfig, L1Config, Store, Ttl, memoize};

    /// The store of the functions below.
    pub static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

    /// A public memoised function: the companion module is public too.
    #[memoize(
        store = STORE,
        ttl_mins = 10,
        stale_hours = 1.5,
        fail_safe_days = 2,
        jitter_secs = 30,
        soft_timeout_ms = 100,
        hard_timeout_ms = 2000,
        compress,
        version = 4,
        l1
    )]
    pub async fn lookup(id: u64) -> Result<String, std::io::Error> {
        Ok(id.to_string())
    }

    #[test]
    fn memoize_keys_set_their_settings() {
        assert_eq!(
            lookup::__config(),
            CacheConfig::new()
                .ttl(Ttl::minutes(10))
                .stale_for(Ttl::secs(5_400))
                .fail_safe_max(Ttl::days(2))
                .jitter(Ttl::secs(30))
                .soft_timeout(Duration::from_millis(100))
                .hard_timeout(Duration::from_millis(2000))
                .prefix("config::memoized::lookup")
                .compress(true)
                .version(4)
                .l1(L1Config::new())
        );
        let key = lookup::key(7).unwrap();
        assert!(key.starts_with("config::memoized::lookup:v4:"), "{key}");
        assert_eq!(key.len(), "config::memoized::lookup:v4:".len() + 64);
        assert_eq!(lookup::stats().loader_calls, 0, "not called yet");
    }
}

#[derive(Serialize, Deserialize, Cached)]
#[cache(lease_secs = 10, fleet_clear_mins = 2, name = "quotes")]
struct Fleet;

#[derive(Serialize, Deserialize, Cached)]
#[cache(lease_mins = 1.5, fleet_clear_secs = 1)]
struct FleetOtherUnits;

#[test]
fn fleet_keys_set_leases_the_fleet_clear_poll_and_the_name() {
    assert_eq!(
        Fleet::config(),
        CacheConfig::new()
            .leases(Duration::from_secs(10))
            .fleet_clear(Duration::from_secs(120))
            .prefix("fleet")
            .name("quotes")
    );
    assert_eq!(Fleet::config().metrics_name(), "quotes");
    assert_eq!(
        FleetOtherUnits::config(),
        CacheConfig::new()
            .leases(Duration::from_secs(90))
            .fleet_clear(Duration::from_secs(1))
            .prefix("fleet_other_units")
    );
}
