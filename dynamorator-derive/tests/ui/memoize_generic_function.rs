use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

#[memoize(store = STORE)]
async fn echo<T: serde::Serialize + Send + 'static>(value: T) -> String {
    let _ = value;
    String::new()
}

fn main() {}
