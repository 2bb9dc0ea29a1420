//! `delete KEY...`: deletes the keys in batches (absent keys are not an error) and says how
//! many held a live value. The keys are read first, one round of batch reads, so the parts of
//! split values go with their heads whatever `--split` says.

use dynamorator::Store;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::Output;

#[derive(Serialize)]
struct Deleted {
    /// Keys that held a live value, now deleted.
    deleted: usize,
    /// Keys given that held none (absent or expired).
    absent: usize,
}

pub async fn run(store: &Store, output: Output, keys: &[String]) -> Result<Outcome, Failure> {
    let present = store.delete_present(keys).await?;
    let distinct = {
        let mut seen = std::collections::HashSet::new();
        keys.iter().filter(|key| seen.insert(key.as_str())).count()
    };
    let deleted = Deleted {
        deleted: present.len(),
        absent: distinct.saturating_sub(present.len()),
    };
    output.result(&deleted, || match (keys, present.as_slice()) {
        ([key], [_]) => format!("deleted {key}"),
        ([key], []) => format!("{key} was not there (absent or expired)"),
        _ => format!(
            "deleted {} of {distinct} keys ({} absent or expired)",
            deleted.deleted, deleted.absent
        ),
    })?;
    Ok(Outcome::Done)
}
