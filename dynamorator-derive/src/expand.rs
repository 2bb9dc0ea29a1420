//! Turns the checked model into the `Cached` impl.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::DeriveInput;

use crate::ast::Input;
use crate::valid;

pub fn derive(input: &DeriveInput) -> Result<TokenStream, syn::Error> {
    let input = valid::check(input)?;
    Ok(expand(&input))
}

fn expand(input: &Input<'_>) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    // Bounding `Self` rather than each parameter gives generic types exactly the bounds their
    // serde impls need, whatever those are.
    let mut predicates = where_clause
        .map(|w| w.predicates.clone())
        .unwrap_or_default();
    predicates.push(syn::parse_quote!(Self: ::dynamorator::__private::CacheValue));
    let config = &input.config;
    let mut chain = quote!(::dynamorator::CacheConfig::new());
    if let Some((secs, span)) = config.ttl {
        let ttl = const_ttl(secs, span);
        chain = quote!(#chain.ttl(#ttl));
    }
    let prefix = &config.prefix;
    chain = quote!(#chain.prefix(#prefix));
    if config.compress {
        chain = quote!(#chain.compress(true));
    }
    if let Some(threshold) = config.compress_threshold {
        let threshold = threshold as usize;
        chain = quote!(#chain.compress_threshold(#threshold));
    }
    if let Some(version) = config.version {
        chain = quote!(#chain.version(#version));
    }
    if let Some(l1) = &config.l1 {
        let mut l1_chain = quote!(::dynamorator::L1Config::new());
        if let Some(n) = l1.max_entries {
            l1_chain = quote!(#l1_chain.max_entries(#n));
        }
        if let Some(n) = l1.max_bytes {
            l1_chain = quote!(#l1_chain.max_bytes(#n));
        }
        if let Some(n) = l1.ttl_secs {
            let ttl = const_ttl(n, Span::call_site());
            l1_chain = quote!(#l1_chain.ttl(#ttl));
        }
        if let Some(n) = l1.negative_ttl_secs {
            let ttl = const_ttl(n, Span::call_site());
            l1_chain = quote!(#l1_chain.negative_ttl(#ttl));
        }
        chain = quote!(#chain.l1(#l1_chain));
    }
    quote! {
        #[automatically_derived]
        impl #impl_generics ::dynamorator::Cached for #ident #type_generics
        where
            #predicates
        {
            fn config() -> ::dynamorator::CacheConfig {
                #chain
            }
        }
    }
}

/// A `Ttl` made in a `const`, so the runtime's own range check runs at compile time and an
/// out-of-range value is an error on `span` (the user's token).
fn const_ttl(secs: u64, span: Span) -> TokenStream {
    quote_spanned! {span=>
        {
            const TTL: ::dynamorator::Ttl = ::dynamorator::__private::ttl_secs(#secs);
            TTL
        }
    }
}
