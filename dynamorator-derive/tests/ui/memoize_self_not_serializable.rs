use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

/// A handle, not `Serialize`, and not skipped.
#[derive(Clone)]
struct Client;

impl Client {
    #[memoize(store = STORE)]
    async fn fetch(&self, id: u64) -> String {
        id.to_string()
    }
}

fn main() {}
