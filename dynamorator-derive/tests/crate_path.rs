//! `crate = "..."`: generated code names the runtime crate by the path given, so a crate that
//! depends on dynamorator under another name (or re-exports it) can use the macros.

// The library under another name; `::dynamorator` is still in scope here (a dev-dependency),
// so the case that the path is really used is `tests/ui/crate_path_not_found.rs`.
extern crate dynamorator as renamed;

use renamed::{CacheConfig, Cached, L1Config, Store, Ttl, memoize};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(crate = "renamed", ttl_mins = 5, prefix = "renamed_product")]
struct Product {
    asin: String,
}

mod facade {
    /// A framework re-exporting the library.
    pub use ::dynamorator as cache;
}

#[derive(Serialize, Deserialize, Cached)]
#[cache(crate = "crate::facade::cache", l1)]
struct Reexported;

static STORE: std::sync::LazyLock<Store> = std::sync::LazyLock::new(Store::embedded);

#[memoize(store = STORE, crate = "renamed", prefix = "renamed_double")]
async fn double(n: u64) -> u64 {
    n * 2
}

#[test]
fn the_derive_uses_the_path_given() {
    assert_eq!(
        Product::config(),
        CacheConfig::new()
            .ttl(Ttl::minutes(5))
            .prefix("renamed_product")
    );
    assert_eq!(
        Reexported::config(),
        CacheConfig::new().prefix("reexported").l1(L1Config::new())
    );
}

#[test]
fn a_memoised_function_uses_the_path_given() -> Result<(), renamed::Error> {
    assert!(double::key(21)?.starts_with("renamed_double:"));
    assert_eq!(double::stats().loader_calls, 0);
    // The function itself compiled against the path; a call needs a runtime, which the
    // workspace's tests/memoize.rs has.
    let _ = double;
    Ok(())
}
