use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

#[memoize(store = STORE)]
async fn push(list: &mut Vec<u64>, n: u64) -> usize {
    list.push(n);
    list.len()
}

fn main() {}
