use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

#[memoize(store = STORE, skip(client))]
async fn square(n: u64) -> u64 {
    n * n
}

fn main() {}
