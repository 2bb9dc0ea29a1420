use std::sync::LazyLock;

use dynamorator::{Store, memoize};

static STORE: LazyLock<Store> = LazyLock::new(Store::embedded);

/// Borrows its data: a clone of it cannot outlive the call, so the body cannot run later.
#[derive(Clone)]
struct View<'a> {
    text: &'a str,
}

impl<'a> View<'a> {
    #[memoize(store = STORE, skip(self))]
    async fn words(&self, limit: usize) -> usize {
        self.text.split_whitespace().take(limit).count()
    }
}

fn main() {}
