//! `expire KEY --ttl 2h`: a new TTL from now for the value under KEY, without rewriting it
//! (redis-cli's `EXPIRE`; on DynamoDB one UpdateItem); exit 1 when absent or expired.

use dynamorator::{Store, Ttl};
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, problem, relative, utc};

#[derive(Serialize)]
struct Expiry<'a> {
    key: &'a str,
    /// Epoch seconds.
    expires_at: i64,
}

pub async fn run(store: &Store, output: Output, key: &str, ttl: Ttl) -> Result<Outcome, Failure> {
    let now = store.clock().now_epoch_secs();
    if !store.expire(key, ttl).await? {
        problem(key, &"not found (absent or expired): nothing changed");
        return Ok(Outcome::NotFound);
    }
    let expires_at = now.saturating_add_unsigned(ttl.as_secs());
    output.result(&Expiry { key, expires_at }, || {
        format!(
            "{key}: expires {} ({})",
            utc(expires_at),
            relative(expires_at, now)
        )
    })?;
    Ok(Outcome::Done)
}
