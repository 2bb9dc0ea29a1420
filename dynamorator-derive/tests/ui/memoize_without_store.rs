use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

#[memoize(ttl_hours = 6)]
async fn square(n: u64) -> u64 {
    n * n
}

fn main() {}
