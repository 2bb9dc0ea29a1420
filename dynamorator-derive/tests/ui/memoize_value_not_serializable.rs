use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

#[derive(Clone)]
struct Report {
    lines: u64,
}

#[memoize(store = STORE)]
async fn report(n: u64) -> Report {
    Report { lines: n }
}

fn main() {}
