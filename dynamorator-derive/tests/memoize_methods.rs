//! `#[memoize]` in `impl` blocks compiles, and its companions give the keys documented: a
//! method whose `self` is part of the key, one that skips it and takes its store from it, an
//! associated function (`in_impl`), a generic impl. (Calls and their caching run on every
//! backend in the workspace's tests/memoize.rs; here the forms compile and the keys, which
//! need no store, are checked.)

use std::sync::LazyLock;

use dynamorator::{CacheStats, Error, Store, memoize};
use serde::{Deserialize, Serialize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

/// Part of the key (`Serialize`), and the value of `unit` (`Deserialize` too).
#[derive(Clone, Serialize, Deserialize)]
struct Grid {
    width: u64,
}

impl Grid {
    #[memoize(store = STORE)]
    async fn area(&self, height: u64) -> u64 {
        self.width * height
    }

    /// An associated function: no `self`, so `in_impl` says where it is.
    #[memoize(store = STORE, in_impl)]
    pub async fn unit(side: u64) -> Self {
        Grid { width: side }
    }
}

/// A handle: left out of the key, and holding the store.
#[derive(Clone)]
struct Service {
    store: Store,
}

impl Service {
    #[memoize(store = &self.store, skip(self), prefix = "labels", ttl_hours = 1)]
    pub async fn label<'a>(&'a self, name: &'a str) -> Result<String, std::io::Error> {
        let _ = &self.store;
        Ok(name.to_uppercase())
    }
}

/// A generic impl: each instantiation has its own prefix, so its own keys.
#[derive(Clone, Serialize)]
struct Wrapper<T>(T);

impl<T: Clone + Serialize + Send + Sync + 'static> Wrapper<T> {
    #[memoize(store = STORE)]
    async fn json(&self) -> String {
        String::new()
    }
}

#[test]
fn methods_and_their_companions_compile() {
    let grid = Grid { width: 2 };
    let service = Service {
        store: Store::embedded(),
    };
    // The futures and companions type-check; nothing needs to run here (nor can: no runtime).
    drop(grid.area(3));
    drop(Grid::unit(1));
    drop(service.label("x"));
    drop(Wrapper(1u8).json());
    drop(grid.area_invalidate(3));
    drop(Grid::unit_invalidate(1));
    drop(service.label_invalidate("x"));
    let stats: [CacheStats; 3] = [grid.area_stats(), Grid::unit_stats(), service.label_stats()];
    assert!(
        stats.iter().all(|stats| stats.loader_calls == 0),
        "no body ran: {stats:?}"
    );
}

#[test]
fn self_is_in_the_key_unless_skipped() -> Result<(), Error> {
    let (narrow, wide) = (Grid { width: 2 }, Grid { width: 3 });
    assert_ne!(narrow.area_key(1)?, wide.area_key(1)?);
    assert_eq!(narrow.area_key(1)?, Grid { width: 2 }.area_key(1)?);
    let (one, other) = (
        Service {
            store: Store::embedded(),
        },
        Service {
            store: Store::embedded(),
        },
    );
    assert_eq!(one.label_key("x")?, other.label_key("x")?);
    assert!(one.label_key("x")?.starts_with("labels:"));
    Ok(())
}

#[test]
fn the_default_prefix_is_the_type_path_and_the_name() -> Result<(), Error> {
    assert!(
        Grid { width: 2 }
            .area_key(1)?
            .starts_with("memoize_methods::Grid::area:")
    );
    assert!(Grid::unit_key(1)?.starts_with("memoize_methods::Grid::unit:"));
    let (bytes, words) = (Wrapper(1u8).json_key()?, Wrapper(1u16).json_key()?);
    assert!(
        bytes.starts_with("memoize_methods::Wrapper<u8>::json:"),
        "{bytes}"
    );
    assert!(
        words.starts_with("memoize_methods::Wrapper<u16>::json:"),
        "{words}"
    );
    Ok(())
}
