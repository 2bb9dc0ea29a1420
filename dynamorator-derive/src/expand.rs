//! Turns the checked model into the `Cached` impl.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::Input;
use crate::attr::TtlUnit;
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
    let mut chain = match config.ttl {
        None => quote!(::dynamorator::CacheConfig::DEFAULT),
        Some((unit, value)) => {
            let ttl = match unit {
                TtlUnit::Days => quote!(::dynamorator::Ttl::days(#value)),
                TtlUnit::Hours => quote!(::dynamorator::Ttl::hours(#value)),
                TtlUnit::Secs => {
                    let secs = value as u64;
                    quote!(::dynamorator::Ttl::secs(#secs))
                }
            };
            quote!(::dynamorator::CacheConfig::new(#ttl))
        }
    };
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
        let mut l1_chain = quote!(::dynamorator::L1Config::DEFAULT);
        if let Some(n) = l1.max_entries {
            l1_chain = quote!(#l1_chain.max_entries(#n));
        }
        if let Some(n) = l1.max_bytes {
            l1_chain = quote!(#l1_chain.max_bytes(#n));
        }
        if let Some(n) = l1.ttl_secs {
            l1_chain = quote!(#l1_chain.ttl_secs(#n));
        }
        if let Some(n) = l1.negative_ttl_secs {
            l1_chain = quote!(#l1_chain.negative_ttl_secs(#n));
        }
        chain = quote!(#chain.l1(#l1_chain));
    }
    // An L1 hands out owned values from shared ones, so it needs `Clone`: only then is the
    // store's shared cache built with one.
    let cache_fn = config.l1.as_ref().map(|_| {
        quote! {
            fn cache(store: &::dynamorator::Store) -> ::dynamorator::Cache<Self> {
                ::dynamorator::__private::cache_with_l1::<Self>(store)
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics ::dynamorator::Cached for #ident #type_generics
        where
            #predicates
        {
            const CONFIG: ::dynamorator::CacheConfig = #chain;
            #cache_fn
        }
    }
}
