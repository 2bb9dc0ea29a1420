//! Turns the checked model into the `Cached` impl; an input that fails the checks gets the
//! fallback impl beside its errors.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{DeriveInput, LitStr};

use crate::ast::{Config, Input, Spanned};
use crate::{fallback, generics, runtime, valid};

pub fn derive(input: &DeriveInput) -> TokenStream {
    let (krate, checked) = valid::check(input);
    runtime::with(krate, || match checked {
        Ok(input) => expand(&input),
        // Invalid attributes still get an impl, so that the user sees their errors and not a
        // second one at every `T::cache(..)` or `T::config()`.
        Err(errors) => fallback::expand(input, errors),
    })
}

fn expand(input: &Input<'_>) -> TokenStream {
    let name = generics::generated_name(input.ident);
    let (impl_generics, type_generics, _) = input.generics.split_for_impl();
    let predicates = generics::where_predicates(&name, input.generics);
    let check = generics::cache_value_check(input.ident, input.generics);
    let config = &input.config;
    let prefix = LitStr::new(&config.prefix.value, config.prefix.span);
    let chain = config_chain(config, &quote!(#prefix));
    quote! {
        #[automatically_derived]
        impl #impl_generics ::dynamorator::Cached for #name #type_generics
        where
            #predicates
        {
            fn config() -> ::dynamorator::CacheConfig {
                #chain
            }
        }

        #check
    }
}

/// The `CacheConfig` the settings describe, as a chain of setters; `prefix` is an expression
/// giving the prefix (a literal, or `module_path!()` for `#[memoize]`'s default).
pub fn config_chain(config: &Config, prefix: &TokenStream) -> TokenStream {
    let mut chain = quote!(::dynamorator::CacheConfig::new());
    if let Some(ttl) = &config.ttl {
        let ttl = const_ttl(ttl);
        chain = quote!(#chain.ttl(#ttl));
    }
    for (setter, ttl) in [
        (quote!(stale_for), &config.stale_for),
        (quote!(fail_safe_max), &config.fail_safe_max),
        (quote!(fail_safe_throttle), &config.fail_safe_throttle),
        (quote!(jitter), &config.jitter),
    ] {
        if let Some(ttl) = ttl {
            let ttl = const_ttl(ttl);
            chain = quote!(#chain.#setter(#ttl));
        }
    }
    for (setter, ms) in [
        (quote!(soft_timeout), &config.soft_timeout_ms),
        (quote!(hard_timeout), &config.hard_timeout_ms),
        (quote!(refresh_window), &config.refresh_window_ms),
        (quote!(coherent_l1), &config.coherent_l1_ms),
    ] {
        if let Some(ms) = ms {
            let ms = int(ms.value, ms.span);
            chain = quote!(#chain.#setter(::std::time::Duration::from_millis(#ms)));
        }
    }
    if let Some(keys) = &config.refresh_batch_max {
        let keys = int(keys.value, keys.span);
        chain = quote!(#chain.refresh_batch_max(#keys));
    }
    for (setter, secs) in [
        (quote!(leases), &config.leases),
        (quote!(fleet_clear), &config.fleet_clear),
    ] {
        if let Some(secs) = secs {
            let secs = int(secs.value, secs.span);
            chain = quote!(#chain.#setter(::std::time::Duration::from_secs(#secs)));
        }
    }
    chain = quote!(#chain.prefix(#prefix));
    if let Some(span) = config.compress {
        chain = quote_spanned!(span=> #chain.compress(true));
    }
    if let Some(threshold) = &config.compress_threshold {
        let threshold = int(threshold.value, threshold.span);
        chain = quote!(#chain.compress_threshold(#threshold));
    }
    if let Some(span) = config.zstd {
        chain = quote_spanned!(span=> #chain.zstd(true));
    }
    if let Some(level) = &config.zstd_level {
        let level = int(level.value, level.span);
        chain = quote!(#chain.zstd_level(#level));
    }
    if let Some(span) = config.split {
        chain = quote_spanned!(span=> #chain.split(true));
    }
    if let Some(max) = &config.split_max_bytes {
        let max = int(max.value, max.span);
        chain = quote!(#chain.split_max_bytes(#max));
    }
    if let Some(version) = &config.version {
        let version = int(u64::from(version.value), version.span);
        chain = quote!(#chain.version(#version));
    }
    if let Some(name) = &config.name {
        let name = LitStr::new(&name.value, name.span);
        chain = quote!(#chain.name(#name));
    }
    if let Some(l1) = &config.l1 {
        let mut l1_chain = quote_spanned!(l1.span=> ::dynamorator::L1Config::new());
        if let Some(n) = &l1.max_entries {
            let n = int(n.value, n.span);
            l1_chain = quote!(#l1_chain.max_entries(#n));
        }
        if let Some(n) = &l1.max_bytes {
            let n = int(n.value, n.span);
            l1_chain = quote!(#l1_chain.max_bytes(#n));
        }
        if let Some(ttl) = &l1.ttl_secs {
            let ttl = const_ttl(ttl);
            l1_chain = quote!(#l1_chain.ttl(#ttl));
        }
        if let Some(ttl) = &l1.negative_ttl_secs {
            let ttl = const_ttl(ttl);
            l1_chain = quote!(#l1_chain.negative_ttl(#ttl));
        }
        chain = quote_spanned!(l1.span=> #chain.l1(#l1_chain));
    }
    chain
}

/// An unsuffixed integer on the user's token: the method's parameter gives its type, and a
/// value that type cannot hold is a compile error there.
fn int(value: u64, span: Span) -> Literal {
    let mut literal = Literal::u64_unsuffixed(value);
    literal.set_span(span);
    literal
}

/// A `Ttl` made in a `const`, so the runtime's own range check runs at compile time and an
/// out-of-range value is an error on the user's token. The seconds themselves keep the call
/// site's span: they were computed (`0.5` days is `43200`), so they are not the user's text.
fn const_ttl(secs: &Spanned<u64>) -> TokenStream {
    let value = Literal::u64_unsuffixed(secs.value);
    quote_spanned! {secs.span=>
        {
            const TTL: ::dynamorator::Ttl = ::dynamorator::__private::ttl_secs(#value);
            TTL
        }
    }
}
