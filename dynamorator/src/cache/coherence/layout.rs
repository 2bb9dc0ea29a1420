//! Where a cache's change feed lives and what its entries say: the rules every process of a
//! fleet must agree on (constants, not settings, so two processes cannot disagree on them).
//!
//! A write of key `k` at time `t` (the writer's clock) appends one entry to the item of `k`'s
//! shard and `t`'s second: `__dynamorator_feed__/{second}/{shard}` in the cache's key space.
//! A reader polls by reading every shard's items of the seconds it has not yet seen closed.

use std::ops::RangeInclusive;

use sha2::{Digest, Sha256};

/// The feed items' key, in the cache's key space, before `{second}/{shard}`.
pub(crate) const FEED_KEY: &str = "__dynamorator_feed__/";
/// Items per second: a second's writes spread over this many items (DynamoDB takes about 1,000
/// write units a second per item).
pub(crate) const SHARDS: u64 = 4;
/// The time one item collects writes for, in milliseconds.
pub(crate) const BUCKET_MS: i64 = 1_000;
/// Entries one item takes; past it, appends only count what did not fit, and readers empty
/// their L1 (so one item stays under about 5 KB however busy the cache).
pub(crate) const CAP: u64 = 64;
/// Keys up to this many bytes are entries as they are; longer ones by their digest.
pub(crate) const LITERAL_KEY_BYTES: usize = 64;
/// How far apart the clocks of a fleet's processes may be (milliseconds).
pub(crate) const SKEW_MS: i64 = 500;
/// An append that lands later than this after its write (a slow or retried request) is made
/// again in the current second, so readers that moved past its second still see it.
pub(crate) const LATE_MS: i64 = 500;
/// The most seconds one poll reads back; a process further behind (paused, cut off) empties
/// its L1 instead.
pub(crate) const HORIZON_SECS: i64 = 15;
/// Feed items expire this long after their second ends (DynamoDB's TTL deletes them).
pub(crate) const RETAIN_SECS: i64 = 120;

/// The second (bucket) of epoch milliseconds `ms`.
pub(crate) fn bucket_of(ms: i64) -> i64 {
    ms.div_euclid(BUCKET_MS)
}

/// The key, in the cache's key space, of the item of `shard` in `bucket`.
pub(crate) fn item_key(bucket: i64, shard: u64) -> String {
    format!("{FEED_KEY}{bucket}/{shard}")
}

/// Whether a write by any process's clock can still land in `bucket` at `at` (this process's
/// epoch milliseconds): until the second ends, plus the clock skew and a late append allowed.
pub(crate) fn still_open(bucket: i64, at: i64) -> bool {
    at < (bucket + 1)
        .saturating_mul(BUCKET_MS)
        .saturating_add(SKEW_MS + LATE_MS)
}

/// The feed item's `ttl`.
pub(crate) fn expires_at(bucket: i64) -> i64 {
    (bucket + 1)
        .saturating_mul(BUCKET_MS)
        .div_euclid(1_000)
        .saturating_add(RETAIN_SECS)
}

/// The seconds a poll at `now` must read when the last one read at `since` (both epoch
/// milliseconds by this process's clock): every second a write could have landed in since then,
/// given the clock skew and late appends allowed.
pub(crate) fn window(since: i64, now: i64) -> RangeInclusive<i64> {
    bucket_of(since.saturating_sub(SKEW_MS + LATE_MS))..=bucket_of(now.saturating_add(SKEW_MS))
}

/// The SHA-256 of `key`: stable across processes, versions and platforms, as the shard and
/// the digest of a long key must be.
fn sha256(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// `key`'s shard.
pub(crate) fn shard_of(key: &str) -> u64 {
    u64::from(sha256(key)[0]) % SHARDS
}

/// What stands for `key` in an entry: the key itself, or `#` and the hex of its digest's first
/// 16 bytes for a long key (or one that starts with `#`, so a key is never read as a digest).
pub(crate) fn key_token(key: &str) -> String {
    if key.len() <= LITERAL_KEY_BYTES && !key.starts_with('#') {
        return key.to_owned();
    }
    digest_token(key)
}

/// The digest token of `key`, whatever its length.
pub(crate) fn digest_token(key: &str) -> String {
    use std::fmt::Write;
    let mut token = String::with_capacity(33);
    token.push('#');
    for byte in &sha256(key)[..16] {
        let _ = write!(token, "{byte:02x}");
    }
    token
}

/// Whether a key of the L1 could stand as a digest token in entries.
pub(crate) fn goes_by_digest(key: &str) -> bool {
    key.len() > LITERAL_KEY_BYTES || key.starts_with('#')
}

/// One entry: when in its second (milliseconds), which writer and which of its writes, which
/// key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub(crate) offset_ms: i64,
    pub(crate) writer: &'a str,
    /// The writer's count of its write calls: two writes of one key are two entries, even in
    /// the same millisecond (a set would keep one, and a reader that applied the first would
    /// miss the second).
    pub(crate) write: u64,
    /// A key, or a digest token (`#…`).
    pub(crate) token: &'a str,
}

impl Entry<'_> {
    /// `{offset}.{writer}.{write}/{token}`: the writer, so a process skips its own writes (its
    /// L1 already holds them); the offset, so readers can tell how late they are.
    pub(crate) fn render(&self) -> String {
        format!(
            "{}.{}.{}/{}",
            self.offset_ms, self.writer, self.write, self.token
        )
    }

    /// An entry as rendered; `None` for text in another shape (another version's), which the
    /// reader then treats as a change it cannot name.
    pub(crate) fn parse(text: &str) -> Option<Entry<'_>> {
        let (head, token) = text.split_once('/')?;
        let mut fields = head.splitn(3, '.');
        let offset_ms = fields.next()?.parse::<i64>().ok()?;
        let writer = fields.next()?;
        let write = fields.next()?.parse::<u64>().ok()?;
        if !(0..BUCKET_MS).contains(&offset_ms) || token.is_empty() || writer.is_empty() {
            return None;
        }
        Some(Entry {
            offset_ms,
            writer,
            write,
            token,
        })
    }
}

/// A writer's id: random, short, one per cache handle set (per `Cache::new`).
pub(crate) fn writer_id() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(6)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let entry = Entry {
            offset_ms: 999,
            writer: "ab12CD",
            write: 42,
            token: "product:a/b.c",
        };
        assert_eq!(entry.render(), "999.ab12CD.42/product:a/b.c");
        assert_eq!(Entry::parse(&entry.render()), Some(entry));
        assert_eq!(Entry::parse("1000.w.1/k"), None);
        assert_eq!(Entry::parse("x.w.1/k"), None);
        assert_eq!(Entry::parse("1.w/k"), None);
        assert_eq!(Entry::parse("1.w.1/"), None);
        assert_eq!(Entry::parse("no-slash"), None);
    }

    #[test]
    fn long_keys_and_hash_keys_go_by_digest_and_the_rest_as_they_are() {
        assert_eq!(key_token("lamp"), "lamp");
        let long = "k".repeat(LITERAL_KEY_BYTES + 1);
        assert_eq!(key_token(&long), digest_token(&long));
        assert_eq!(key_token(&long).len(), 33);
        assert_eq!(key_token("#lamp"), digest_token("#lamp"));
        assert!(goes_by_digest(&long) && goes_by_digest("#lamp") && !goes_by_digest("lamp"));
    }

    #[test]
    fn shards_and_digests_are_the_same_in_every_process() {
        // SHA-256: fixed values, so a change to the rule shows here before it splits a fleet.
        assert_eq!(shard_of("lamp"), u64::from(0xc9_u8) % SHARDS);
        assert_eq!(&digest_token("lamp")[..9], "#c98e85f2");
    }

    #[test]
    fn a_second_takes_writes_until_the_skew_and_a_late_append_have_passed() {
        assert!(still_open(9, 10_999));
        assert!(!still_open(9, 11_000));
    }

    #[test]
    fn a_poll_reads_back_past_the_skew_and_late_appends_and_ahead_by_the_skew() {
        assert_eq!(window(10_000, 11_000), 9..=11);
        assert_eq!(window(10_600, 11_400), 9..=11);
        assert_eq!(expires_at(9), 10 + RETAIN_SECS);
    }
}
