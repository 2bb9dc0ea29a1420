//! `get KEY`: the decoded value, pretty JSON (compact with `--json`); exit 1 when absent or
//! expired.

use dynamorator::Store;
use serde_json::Value;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, print_line, problem};

pub async fn run(store: &Store, output: Output, key: &str) -> Result<Outcome, Failure> {
    let Some(value) = store.get::<Value>(key).await? else {
        problem(key, &"not found (absent or expired)");
        return Ok(Outcome::NotFound);
    };
    let text = if output.json {
        serde_json::to_string(&value)
    } else {
        serde_json::to_string_pretty(&value)
    }
    .map_err(|e| Failure::Invalid(format!("the value cannot be written as JSON: {e}")))?;
    print_line(&text)?;
    Ok(Outcome::Done)
}
