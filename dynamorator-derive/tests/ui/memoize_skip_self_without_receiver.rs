use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

#[memoize(store = STORE, skip(self))]
async fn price(sku: u64) -> u64 {
    sku * 100
}

fn main() {}
