use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

trait Pricing {
    async fn price(&self, sku: u64) -> u64;
}

#[derive(Clone)]
struct Shop;

impl Pricing for Shop {
    #[memoize(store = STORE, skip(self))]
    async fn price(&self, sku: u64) -> u64 {
        sku * 100
    }
}

fn main() {}
