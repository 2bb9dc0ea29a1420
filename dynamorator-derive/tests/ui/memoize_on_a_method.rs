use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

struct Service;

impl Service {
    #[memoize(store = STORE)]
    async fn square(&self, n: u64) -> u64 {
        n * n
    }
}

fn main() {}
