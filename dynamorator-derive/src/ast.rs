//! The checked model of a `#[derive(Cached)]` input: what `expand` turns into tokens. Every
//! setting keeps the span of the user's token it came from, so what the generated code gets
//! wrong is reported there.

use proc_macro2::Span;
use syn::{Generics, Ident};

pub use crate::attr::Spanned;

/// A type that can be cached, with its validated settings.
pub struct Input<'a> {
    /// The type's name; the generated bounds are reported on it.
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub config: Config,
}

/// The validated `#[cache(...)]` settings.
pub struct Config {
    /// Whole seconds; `None`: the documented default TTL. The upper limit is checked by the
    /// runtime's `Ttl` in a `const`, on the value's span.
    pub ttl: Option<Spanned<u64>>,
    /// Whole seconds, each checked by the runtime's `Ttl` like `ttl`.
    pub stale_for: Option<Spanned<u64>>,
    pub fail_safe_max: Option<Spanned<u64>>,
    pub fail_safe_throttle: Option<Spanned<u64>>,
    pub jitter: Option<Spanned<u64>>,
    /// Whole milliseconds, at least 1; a hard timeout is longer than the soft one.
    pub soft_timeout_ms: Option<Spanned<u64>>,
    pub hard_timeout_ms: Option<Spanned<u64>>,
    pub refresh_window_ms: Option<Spanned<u64>>,
    /// Whole milliseconds, at least 1: `CacheConfig::coherent_l1`.
    pub coherent_l1_ms: Option<Spanned<u64>>,
    pub refresh_batch_max: Option<Spanned<u64>>,
    /// Whole seconds, at least 1: `CacheConfig::leases` and `CacheConfig::fleet_clear`.
    pub leases: Option<Spanned<u64>>,
    pub fleet_clear: Option<Spanned<u64>>,
    /// The `compress` flag, or the `compress_threshold` value that implies it.
    pub compress: Option<Span>,
    pub compress_threshold: Option<Spanned<u64>>,
    /// The `zstd` flag, or the `zstd_level` value that implies it.
    pub zstd: Option<Span>,
    /// From 1 to 22.
    pub zstd_level: Option<Spanned<u64>>,
    /// The `split` flag, or the `split_max_bytes` value that implies it.
    pub split: Option<Span>,
    /// At least 1.
    pub split_max_bytes: Option<Spanned<u64>>,
    /// As given, or the type name in snake_case on the type's ident.
    pub prefix: Spanned<String>,
    pub version: Option<Spanned<u32>>,
    /// The name in metrics and spans, as given.
    pub name: Option<Spanned<String>>,
    pub l1: Option<L1>,
}

/// The validated `l1(...)` settings.
pub struct L1 {
    /// The `l1` token.
    pub span: Span,
    pub max_entries: Option<Spanned<u64>>,
    pub max_bytes: Option<Spanned<u64>>,
    /// Whole seconds, checked by the runtime's `Ttl` like the main TTL.
    pub ttl_secs: Option<Spanned<u64>>,
    pub negative_ttl_secs: Option<Spanned<u64>>,
}
