use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

#[derive(Clone, serde::Serialize)]
struct Counter {
    calls: u64,
}

impl Counter {
    #[memoize(store = STORE)]
    async fn bump(&mut self, n: u64) -> u64 {
        self.calls += 1;
        n
    }
}

fn main() {}
