//! `ttl KEY`: when the value under KEY expires and how long it has left (redis-cli's `TTL`);
//! exit 1 when absent or expired.

use dynamorator::Store;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, problem, relative, utc};

#[derive(Serialize)]
struct Left<'a> {
    key: &'a str,
    /// Epoch seconds.
    expires_at: i64,
    /// Seconds left.
    ttl: i64,
}

pub async fn run(store: &Store, output: Output, key: &str) -> Result<Outcome, Failure> {
    let info = store.item_info(key).await?;
    let now = store.clock().now_epoch_secs();
    let Some(info) = info.filter(|info| !info.expired) else {
        problem(key, &"not found (absent or expired)");
        return Ok(Outcome::NotFound);
    };
    let left = Left {
        key,
        expires_at: info.expires_at,
        ttl: info.expires_at.saturating_sub(now),
    };
    output.result(&left, || {
        format!(
            "{key}: expires {} ({})",
            utc(info.expires_at),
            relative(info.expires_at, now)
        )
    })?;
    Ok(Outcome::Done)
}
