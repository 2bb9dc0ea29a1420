//! `exists KEY`: `true` and exit 0 when KEY holds a live value, `false` and exit 1 when it is
//! absent or expired, for scripts (`if dynamorator exists k; then ...`).

use dynamorator::Store;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::Output;

#[derive(Serialize)]
struct Exists<'a> {
    key: &'a str,
    exists: bool,
}

pub async fn run(store: &Store, output: Output, key: &str) -> Result<Outcome, Failure> {
    let exists = store
        .item_info(key)
        .await?
        .is_some_and(|info| !info.expired);
    output.result(&Exists { key, exists }, || exists.to_string())?;
    Ok(if exists {
        Outcome::Done
    } else {
        Outcome::NotFound
    })
}
