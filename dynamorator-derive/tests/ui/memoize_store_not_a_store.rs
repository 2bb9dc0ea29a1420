use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

static NAME: &str = "not a store";

#[memoize(store = NAME)]
async fn square(n: u64) -> u64 {
    n * n
}

fn main() {}
