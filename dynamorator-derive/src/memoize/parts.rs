//! The expressions the wrapper and its companion share: the store, the settings and the key
//! of a call.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Attribute, LitStr};

use super::model::{Memo, Site};
use crate::expand;

/// `let __dynamorator_store: &Store = &(store);`, on the user's expression: a value that is not
/// a `&Store` is an error there.
pub fn store_stmt(memo: &Memo<'_>) -> TokenStream {
    let store = &memo.store;
    quote_spanned! {store.span()=>
        let __dynamorator_store: &::dynamorator::Store = &(#store);
    }
}

/// The function's `CacheConfig`: a free function's comes from its companion module (whose
/// `module_path!()` is the default prefix), a method's is built where it is used (whose `Self`
/// names the default prefix).
pub fn config(memo: &Memo<'_>) -> TokenStream {
    match &memo.site {
        Site::Free => {
            let name = &memo.function.sig.ident;
            quote!(#name::__config())
        }
        Site::Impl { .. } => config_chain(memo),
    }
}

/// The settings as a chain of setters, with the prefix given or the function's path: the
/// module's path (in the companion module, named after the function), or `Self`'s path and the
/// method's name.
pub fn config_chain(memo: &Memo<'_>) -> TokenStream {
    let prefix = if memo.prefix_given {
        let prefix = LitStr::new(&memo.config.prefix.value, memo.config.prefix.span);
        quote!(#prefix)
    } else {
        match &memo.site {
            Site::Free => quote!(::core::module_path!()),
            Site::Impl { self_span, .. } => {
                let name = memo.function.sig.ident.to_string();
                let name = name.strip_prefix("r#").unwrap_or(&name);
                let self_type = syn::Ident::new("Self", *self_span);
                quote!(::dynamorator::__private::memoize::method_prefix::<#self_type>(#name))
            }
        }
    };
    expand::config_chain(&memo.config, &prefix)
}

/// The key of one call: `key = expr`'s value, or the receiver (unless skipped) and the
/// arguments not skipped, hashed.
pub fn key_expr(memo: &Memo<'_>) -> TokenStream {
    if let Some(key) = &memo.key {
        return quote_spanned! {key.span()=>
            ::dynamorator::__private::memoize::key_of(&(#key))
        };
    }
    let receiver = memo
        .receiver()
        .filter(|receiver| !receiver.skipped)
        .map(|receiver| {
            let this = syn::Ident::new("self", receiver.self_span);
            quote_spanned! {receiver.self_span=>
                __dynamorator_key.receiver::<Self>(#this);
            }
        });
    let pushes = memo.args.iter().filter(|arg| !arg.skipped).map(|arg| {
        let ident = &arg.ident;
        let ty = &arg.ty;
        quote_spanned! {ty.span()=>
            __dynamorator_key.arg::<#ty>(&#ident);
        }
    });
    quote! {{
        let mut __dynamorator_key = ::dynamorator::__private::memoize::KeyArgs::new();
        #receiver
        #(#pushes)*
        __dynamorator_key.finish()
    }}
}

/// `let __dynamorator_cache = cache::<V>(site, store, variant, || config);`: the function's
/// cache on its store, kept at a per-thread site of this generated function, so the settings
/// are made and the store's registry consulted only when the site has no cache for that store.
/// In an `impl` the site also serves every `Self` a generic impl is instantiated with (a static
/// cannot name its parameters), so the cache kept is tagged with `Self`'s name, which its
/// default prefix is made from. Every generated function reaches the value type's bounds first
/// through this call, on the value type's token, so an unmet one is the same error in each and
/// reported once.
pub fn cache_stmt(memo: &Memo<'_>, config: &TokenStream) -> TokenStream {
    let value = memo.returns.value_type();
    let variant = match &memo.site {
        Site::Free => quote!(""),
        Site::Impl { self_span, .. } => {
            let self_type = syn::Ident::new("Self", *self_span);
            quote!(::core::any::type_name::<#self_type>())
        }
    };
    let call = quote_spanned! {value_span(memo)=>
        ::dynamorator::__private::memoize::cache::<#value>(
            &__DYNAMORATOR_SITE,
            __dynamorator_store,
            #variant,
            || #config,
        )
    };
    // On the value type's token too: the block's type is only well-formed when the bound holds.
    quote_spanned! {value_span(memo)=>
        let __dynamorator_cache = {
            ::std::thread_local! {
                static __DYNAMORATOR_SITE: ::dynamorator::__private::memoize::Site =
                    const { ::dynamorator::__private::memoize::Site::new() };
            }
            #call
        };
    }
}

/// The value type's span, where its bounds are checked.
pub fn value_span(memo: &Memo<'_>) -> Span {
    memo.returns.value_type().span()
}

/// The function's `#[cfg(...)]` attributes, for every item generated beside it.
pub fn cfg_attrs<'a>(memo: &Memo<'a>) -> impl Iterator<Item = &'a Attribute> {
    memo.function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
}
