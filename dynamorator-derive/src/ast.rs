//! The checked model of a `#[derive(Cached)]` input: what `expand` turns into tokens.

use proc_macro2::Span;
use syn::{Generics, Ident};

/// A type that can be cached, with its validated settings.
pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub config: Config,
}

/// The validated `#[cache(...)]` settings.
pub struct Config {
    /// Whole seconds and the span of the value that gave them; `None`: the documented default
    /// TTL. The upper limit is checked by the runtime's `Ttl` in a `const`, on that span.
    pub ttl: Option<(u64, Span)>,
    pub compress: bool,
    pub compress_threshold: Option<u64>,
    pub prefix: String,
    pub version: Option<u32>,
    pub l1: Option<L1>,
}

/// The validated `l1(...)` settings.
#[derive(Default)]
pub struct L1 {
    pub max_entries: Option<u64>,
    pub max_bytes: Option<u64>,
    pub ttl_secs: Option<u64>,
    pub negative_ttl_secs: Option<u64>,
}
