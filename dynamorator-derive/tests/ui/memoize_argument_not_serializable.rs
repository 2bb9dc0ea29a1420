use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

struct Client;

#[memoize(store = STORE)]
async fn fetch(client: Client, id: u64) -> String {
    let _ = client;
    id.to_string()
}

fn main() {}
