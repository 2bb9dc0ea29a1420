use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

/// Skipped, but not `Clone`: the body gets a clone of `self`.
struct Client;

impl Client {
    #[memoize(store = STORE, skip(self))]
    async fn fetch(&self, id: u64) -> String {
        id.to_string()
    }
}

fn main() {}
