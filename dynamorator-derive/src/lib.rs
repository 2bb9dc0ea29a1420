//! `#[derive(Cached)]` and `#[memoize]` for [dynamorator](https://docs.rs/dynamorator): declare
//! a type once, get a typed `Cache<T>` for it; or memoise an `async fn` (a free function or a
//! method) in the store with one attribute. Use them through the `dynamorator` crate
//! (`use dynamorator::{Cached, memoize};`), which documents the attributes.

#![warn(missing_docs)]

mod ast;
mod attr;
mod expand;
mod fallback;
mod generics;
mod keys;
mod memoize;
mod runtime;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `dynamorator::Cached` for a struct or enum, configured by `#[cache(...)]`.
/// See the `dynamorator` crate's documentation of `Cached` for the keys.
#[proc_macro_derive(Cached, attributes(cache))]
pub fn derive_cached(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Memoises an `async fn` in a `dynamorator::Store`, configured by `#[memoize(...)]`: a free
/// function (its companion is a module of its name), or a method taking `&self` or an
/// associated function (`in_impl`) of an inherent `impl` block (its companions are the
/// associated functions `{name}_key`, `{name}_invalidate` and `{name}_stats`). See the
/// `dynamorator` crate's documentation of `memoize` for the keys, the key encoding and why
/// `self` is part of the key unless `skip(self)`.
#[proc_macro_attribute]
pub fn memoize(args: TokenStream, item: TokenStream) -> TokenStream {
    memoize::expand(args.into(), item.into()).into()
}
