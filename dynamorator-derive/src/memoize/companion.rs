//! The companion of a memoised function: its stored key for a set of arguments, invalidation
//! and statistics. A free function's is a module of its name (`name::key`, `name::invalidate`,
//! `name::stats`); a method's cannot be (an attribute in an `impl` block may only add
//! associated items), so it is three associated functions beside it (`name_key`,
//! `name_invalidate`, `name_stats`), taking `&self` when the method does.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Attribute, GenericParam, Ident, Visibility};

use super::model::{Memo, Site};
use super::parts;

pub fn expand(memo: &Memo<'_>) -> TokenStream {
    match &memo.site {
        Site::Free => module(memo),
        Site::Impl { .. } => associated(memo),
    }
}

/// The parts both forms share: the function's name, visibility and `cfg`, its settings, the
/// generics and parameters of `key` and `invalidate` (the arguments not skipped), the key, and
/// the statements reaching the cache.
struct Parts<'a> {
    name: &'a Ident,
    vis: &'a Visibility,
    cfg: Vec<&'a Attribute>,
    chain: TokenStream,
    generics: TokenStream,
    params: Vec<TokenStream>,
    key: TokenStream,
    /// The store, then the cache on it.
    cache: TokenStream,
}

/// The parts of `memo`'s companion, whose functions get its settings from `config`.
fn parts<'a>(memo: &Memo<'a>, config: Option<TokenStream>) -> Parts<'a> {
    let lifetimes = memo
        .function
        .sig
        .generics
        .params
        .iter()
        .filter(|param| matches!(param, GenericParam::Lifetime(_)));
    let params = memo
        .args
        .iter()
        .filter(|arg| !arg.skipped)
        .map(|arg| {
            let ident = &arg.ident;
            let ty = &arg.ty;
            quote!(#ident: #ty)
        })
        .collect();
    let chain = parts::config_chain(memo);
    let store = parts::store_stmt(memo);
    let cache = parts::cache_stmt(memo, config.as_ref().unwrap_or(&chain));
    Parts {
        name: &memo.function.sig.ident,
        vis: &memo.function.vis,
        cfg: parts::cfg_attrs(memo).collect(),
        chain,
        generics: quote!(<#(#lifetimes),*>),
        params,
        key: parts::key_expr(memo),
        cache: quote!(#store #cache),
    }
}

/// The module beside a free function, of the same name (modules and functions live in
/// different namespaces).
fn module(memo: &Memo<'_>) -> TokenStream {
    let Parts {
        name,
        vis,
        cfg,
        chain,
        generics,
        params,
        key,
        cache,
    } = parts(memo, Some(quote!(__config())));
    let doc = format!(
        "The cache of [`{name}()`](fn@{name}) (`#[memoize]`): the stored key of a set of \
         arguments, invalidation, statistics."
    );
    quote! {
        #[doc = #doc]
        #(#cfg)*
        #[allow(clippy::needless_lifetimes, clippy::extra_unused_lifetimes)]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            /// The function's settings; in this module `module_path!()` is the function's path.
            #[doc(hidden)]
            pub(super) fn __config() -> ::dynamorator::CacheConfig {
                #chain
            }

            /// The key under which a call with these arguments (those not skipped) is stored.
            ///
            /// # Errors
            ///
            /// `Error::Serialize` when an argument cannot be serialised to JSON.
            #[allow(unused_variables)]
            pub fn key #generics (#(#params),*) -> ::core::result::Result<::std::string::String, ::dynamorator::Error> {
                ::dynamorator::__private::memoize::stored_key(&__config(), #key)
            }

            /// Deletes the value stored for these arguments (those not skipped), from the store
            /// and the in-process L1: the next call runs the function.
            ///
            /// # Errors
            ///
            /// The store's error, or `Error::Serialize` when an argument cannot be serialised.
            #[allow(unused_variables)]
            pub async fn invalidate #generics (#(#params),*) -> ::core::result::Result<(), ::dynamorator::Error> {
                let __dynamorator_key = #key;
                #cache
                ::dynamorator::__private::memoize::invalidate(__dynamorator_cache, __dynamorator_key)
                    .await
            }

            /// What the function's cache on its store has done so far: hits, misses, loader
            /// calls (runs of the function's body), errors.
            pub fn stats() -> ::dynamorator::CacheStats {
                #cache
                ::dynamorator::__private::memoize::stats(&__dynamorator_cache)
            }
        }
    }
}

/// The associated functions beside a method or an associated function: `{name}_key`,
/// `{name}_invalidate` and `{name}_stats`, taking `&self` when it does (its key, or its
/// `store`, may use it).
fn associated(memo: &Memo<'_>) -> TokenStream {
    let Parts {
        name,
        vis,
        cfg,
        chain,
        generics,
        params,
        key,
        cache,
    } = parts(memo, None);
    let receiver = memo.receiver().map(|_| quote!(&self,));
    let (key_fn, invalidate_fn, stats_fn) = (
        format_ident!("{}_key", name),
        format_ident!("{}_invalidate", name),
        format_ident!("{}_stats", name),
    );
    let method = format!("[`Self::{name}`]");
    let key_doc = format!(
        "The key under which {method} (`#[memoize]`) stores its value for these arguments \
         (those not skipped{}).",
        if memo.receiver().is_some_and(|receiver| !receiver.skipped) {
            ", and `self`"
        } else {
            ""
        }
    );
    let invalidate_doc = format!(
        "Deletes the value {method} (`#[memoize]`) stored for these arguments, from the store \
         and the in-process L1: the next call runs its body."
    );
    let stats_doc = format!(
        "What the cache of {method} (`#[memoize]`) on its store has done so far: hits, misses, \
         loader calls (runs of its body), errors."
    );
    quote! {
        #[doc = #key_doc]
        ///
        /// # Errors
        ///
        /// `Error::Serialize` when an argument cannot be serialised to JSON.
        #(#cfg)*
        #[allow(dead_code, unused_variables, clippy::needless_lifetimes, clippy::extra_unused_lifetimes)]
        #vis fn #key_fn #generics (#receiver #(#params),*) -> ::core::result::Result<::std::string::String, ::dynamorator::Error> {
            ::dynamorator::__private::memoize::stored_key(&#chain, #key)
        }

        #[doc = #invalidate_doc]
        ///
        /// # Errors
        ///
        /// The store's error, or `Error::Serialize` when an argument cannot be serialised.
        #(#cfg)*
        #[allow(dead_code, unused_variables, clippy::needless_lifetimes, clippy::extra_unused_lifetimes)]
        #vis async fn #invalidate_fn #generics (#receiver #(#params),*) -> ::core::result::Result<(), ::dynamorator::Error> {
            let __dynamorator_key = #key;
            #cache
            ::dynamorator::__private::memoize::invalidate(__dynamorator_cache, __dynamorator_key)
                .await
        }

        #[doc = #stats_doc]
        #(#cfg)*
        #[allow(dead_code)]
        #vis fn #stats_fn(#receiver) -> ::dynamorator::CacheStats {
            #cache
            ::dynamorator::__private::memoize::stats(&__dynamorator_cache)
        }
    }
}
