//! The attribute names of the table format. The Python package's (`cache_id`, `data`, `ttl`,
//! `created_at`, `compressed`) must match it byte for byte; the rest are this crate's, and the
//! Python package ignores them.

pub(crate) const KEY: &str = "cache_id";
pub(crate) const DATA: &str = "data";
pub(crate) const TTL: &str = "ttl";
pub(crate) const CREATED_AT: &str = "created_at";
pub(crate) const COMPRESSED: &str = "compressed";
/// Not in the Python package's format (it reads only `data`, so such an item is a miss to
/// it): the zstd frame of the value's JSON text, a binary (B) attribute.
pub(crate) const ZSTD: &str = "zstd";
/// A split value's head (README, "Values past 400 KB"), which has no `data`: how many
/// parts, the write they belong to, the joined bytes' length, SHA-256 and form.
pub(crate) const PARTS: &str = "parts";
pub(crate) const PARTS_ID: &str = "parts_id";
pub(crate) const PARTS_LEN: &str = "parts_len";
pub(crate) const PARTS_SHA256: &str = "parts_sha256";
pub(crate) const PARTS_FORM: &str = "parts_form";
/// One part of a split value: its bytes (B), its write id and its place.
pub(crate) const PART: &str = "part";
pub(crate) const PART_OF: &str = "part_of";
pub(crate) const PART_INDEX: &str = "part_index";
/// Not in the Python package's format (it ignores it): the end of the item's fresh window.
pub(crate) const FRESH_UNTIL: &str = "fresh_until";
/// The cache generation a value was written under (fleet-wide clear).
pub(crate) const GENERATION: &str = "generation";
/// The version of an ordered write; of a counter (a typed cache's generation), its count.
pub(crate) const VERSION: &str = "version";
/// A change feed item's (`feed.rs`): the entries appended (SS), how many were appended (N),
/// and how many did not fit (N). No value attribute: to the Python package it is a miss.
#[cfg(feature = "dynamodb")]
pub(crate) const FEED_ENTRIES: &str = "feed_entries";
#[cfg(feature = "dynamodb")]
pub(crate) const FEED_COUNT: &str = "feed_count";
#[cfg(feature = "dynamodb")]
pub(crate) const FEED_OVERFLOW: &str = "feed_overflow";
/// A lease: until when (epoch milliseconds) and whose. Only DynamoDB stores leases; the
/// embedded backend keeps them beside its items.
#[cfg(feature = "dynamodb")]
pub(crate) const LEASE_UNTIL: &str = "lease_until";
#[cfg(feature = "dynamodb")]
pub(crate) const LEASE_OWNER: &str = "lease_owner";

/// The attributes one of which an item holding a value (whole or split) has; an item with
/// none of them is a bare lease or a part.
#[cfg(feature = "dynamodb")]
pub(crate) const VALUE_FORMS: [&str; 3] = [DATA, ZSTD, PARTS];
