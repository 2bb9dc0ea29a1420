//! `delete KEY...`: deletes the keys in batches; absent keys are not an error.

use dynamorator::Store;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::Output;

#[derive(Serialize)]
struct Deleted {
    deleted: usize,
}

pub async fn run(store: &Store, output: Output, keys: &[String]) -> Result<Outcome, Failure> {
    store.delete_many(keys).await?;
    let deleted = Deleted {
        deleted: keys.len(),
    };
    output.result(&deleted, || match keys {
        [key] => format!("deleted {key}"),
        _ => format!("deleted {} keys", keys.len()),
    })?;
    Ok(Outcome::Done)
}
