use std::sync::{Arc, LazyLock};

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

struct Service;

impl Service {
    #[memoize(store = STORE, skip(self))]
    async fn square(self: Arc<Self>, n: u64) -> u64 {
        n * n
    }
}

fn main() {}
