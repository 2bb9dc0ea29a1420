//! `#[derive(Cached)]` for [dynamorator](https://docs.rs/dynamorator): declare a type once, get
//! a typed `Cache<T>` for it. Use it through the `dynamorator` crate (`use dynamorator::Cached;`),
//! which documents the attribute.

#![warn(missing_docs)]

mod ast;
mod attr;
mod expand;
mod fallback;
mod generics;
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
