//! `info KEY`: how the item is stored — size, compression (gzip or zstd), created, fresh-until and expiry
//! times, whether it has expired. Exit 1 when absent; an expired item not yet deleted is
//! shown (marked expired).

use dynamorator::Store;
use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::output::{Output, bytes, problem, relative, utc};

#[derive(Serialize)]
struct Info<'a> {
    key: &'a str,
    size: usize,
    compressed: bool,
    encoding: &'static str,
    created_at: Option<i64>,
    fresh_until: Option<i64>,
    expires_at: i64,
    expired: bool,
}

pub async fn run(store: &Store, output: Output, key: &str) -> Result<Outcome, Failure> {
    let Some(info) = store.item_info(key).await? else {
        problem(key, &"not found");
        return Ok(Outcome::NotFound);
    };
    let now = store.clock().now_epoch_secs();
    let shown = Info {
        key,
        size: info.size,
        compressed: info.compressed,
        encoding: info.encoding.name(),
        created_at: info.created_at,
        fresh_until: info.fresh_until,
        expires_at: info.expires_at,
        expired: info.expired,
    };
    output.result(&shown, || {
        let time = |at: Option<i64>| match at {
            Some(at) => format!("{} ({})", utc(at), relative(at, now)),
            None => "-".to_owned(),
        };
        [
            format!("key          {key}"),
            format!(
                "size         {} ({} bytes)",
                bytes(info.size as u64),
                info.size
            ),
            format!(
                "compressed   {}",
                if info.compressed {
                    info.encoding.name()
                } else {
                    "no"
                }
            ),
            format!("created      {}", time(info.created_at)),
            format!("fresh until  {}", time(info.fresh_until)),
            format!("expires      {}", time(Some(info.expires_at))),
            format!(
                "state        {}",
                if info.expired {
                    "expired (not deleted yet)"
                } else {
                    "live"
                }
            ),
        ]
        .join("\n")
    })?;
    Ok(Outcome::Done)
}
