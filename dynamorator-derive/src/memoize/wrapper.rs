//! The memoised function itself: the user's signature, whose body reads through the
//! function's cache with the user's body as the loader.
//!
//! The user's body runs in a future that owns everything it uses, since it may outlive the
//! call (a stale value's refresh runs it in the background). Without `self` the body is inlined
//! there, its arguments bound to owned copies. With `&self` it cannot be: `self` would still be
//! the caller's borrow. So a method's body moves, unchanged, into a hidden method beside it,
//! which the future calls on its own clone of `self`.

use proc_macro2::TokenStream;
use quote::{ToTokens as _, format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{FnArg, ReturnType};

use super::model::{Memo, Returns};
use super::parts;

pub fn expand(memo: &Memo<'_>) -> TokenStream {
    let function = memo.function;
    let vis = &function.vis;
    let attrs = &function.attrs;
    let store_stmt = parts::store_stmt(memo);
    let cache = parts::cache_stmt(memo, &parts::config(memo));
    let key = parts::key_expr(memo);

    // The signature with each argument a plain name.
    let mut sig = function.sig.clone();
    let typed = sig.inputs.iter_mut().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    });
    for (typed, arg) in typed.zip(&memo.args) {
        let ident = &arg.ident;
        *typed.pat = syn::parse_quote!(#ident);
    }

    let owning = memo.args.iter().enumerate().map(|(i, arg)| {
        let owned = format_ident!("__dynamorator_owned{i}");
        let ident = &arg.ident;
        match &arg.borrowed {
            Some(target) => quote_spanned! {arg.ty.span()=>
                let #owned = <#target as ::std::borrow::ToOwned>::to_owned(#ident);
            },
            None => quote!(let #owned = #ident;),
        }
    });
    let (body, beside) = match memo.receiver() {
        None => (inline_body(memo), None),
        Some(receiver) => {
            let (body, hidden) = method_body(memo);
            let this = syn::Ident::new("self", receiver.self_span);
            let owned_self = quote_spanned! {receiver.self_span=>
                let __dynamorator_self =
                    ::dynamorator::__private::memoize::owned_receiver::<Self>(#this);
            };
            (quote!(#owned_self #body), Some(hidden))
        }
    };
    let call = call(memo);
    let fresh = fresh(memo);
    quote! {
        #(#attrs)*
        #vis #sig {
            #store_stmt
            #cache
            let __dynamorator_key = #key;
            #fresh
            #(#owning)*
            #body
            #call
        }

        #beside
    }
}

/// The owned value an argument's body binding takes: the argument itself, or for a `&U`
/// argument a `&U` borrowed from its owned copy.
fn passed(memo: &Memo<'_>) -> impl Iterator<Item = TokenStream> {
    memo.args.iter().enumerate().map(|(i, arg)| {
        let owned = format_ident!("__dynamorator_owned{i}");
        match &arg.borrowed {
            Some(target) => quote_spanned! {arg.ty.span()=>
                <<#target as ::std::borrow::ToOwned>::Owned
                    as ::std::borrow::Borrow<#target>>::borrow(&#owned)
            },
            None => quote!(#owned),
        }
    })
}

/// `let __dynamorator_body = async move { .. }` running the user's block, its patterns bound
/// to the owned arguments.
fn inline_body(memo: &Memo<'_>) -> TokenStream {
    let binding = memo.args.iter().zip(passed(memo)).map(|(arg, value)| {
        let pat = &arg.pat;
        match &arg.borrowed {
            Some(target) => quote_spanned! {arg.ty.span()=>
                let #pat: &#target = #value;
            },
            None => {
                let ty = &arg.ty;
                quote!(let #pat: #ty = #value;)
            }
        }
    });
    let output = output(memo);
    let block = &memo.function.block;
    quote! {
        // Owned, so the body can outlive this call (a background refresh runs it later).
        let __dynamorator_body = async move {
            #(#binding)*
            let __dynamorator_ret: #output = #block;
            #[allow(unreachable_code)]
            return __dynamorator_ret;
        };
    }
}

/// `let __dynamorator_body = async move { .. }` calling the hidden method on the clone of
/// `self`, and that hidden method: the user's signature and block as written, renamed.
fn method_body(memo: &Memo<'_>) -> (TokenStream, TokenStream) {
    let function = memo.function;
    let hidden = hidden_name(memo);
    let passed = passed(memo);
    let body = quote! {
        // Owned, so the body can outlive this call (a background refresh runs it later).
        let __dynamorator_body = async move {
            Self::#hidden(&__dynamorator_self, #(#passed),*).await
        };
    };
    let mut sig = function.sig.clone();
    sig.ident = hidden;
    let block = &function.block;
    // The lint levels the user set for the body, and its `cfg`: not its docs or other
    // attributes, which belong to the method (`#[expect]` too, which would be unfulfilled on
    // one of the two).
    let kept = function.attrs.iter().filter(|attr| {
        ["cfg", "allow", "warn", "deny", "forbid"]
            .iter()
            .any(|name| attr.path().is_ident(name))
    });
    // `dead_code` allowed: when the method is unused, the warning is the method's alone.
    let hidden = quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        #(#kept)*
        #sig #block
    };
    (body, hidden)
}

/// The hidden method holding a memoised method's body.
pub fn hidden_name(memo: &Memo<'_>) -> syn::Ident {
    format_ident!("__dynamorator_{}", memo.function.sig.ident)
}

fn output(memo: &Memo<'_>) -> TokenStream {
    match &memo.function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    }
}

/// A value fresh in the L1 returned at once: before the arguments are copied for the body or
/// any future is built. Asks nothing of the value or error type, so it adds no error.
fn fresh(memo: &Memo<'_>) -> TokenStream {
    let value = quote!(__dynamorator_value);
    let returned = match &memo.returns {
        Returns::Result { .. } => quote!(::core::result::Result::Ok(#value)),
        Returns::Value(_) => value.clone(),
    };
    quote! {
        if let ::core::option::Option::Some(#value) =
            ::dynamorator::__private::memoize::fresh(&__dynamorator_cache, &__dynamorator_key)
        {
            return #returned;
        }
    }
}

/// The read-through call: on the error type, whose bounds are checked here (the value type's
/// were, once, where the cache was reached).
fn call(memo: &Memo<'_>) -> TokenStream {
    let value = memo.returns.value_type();
    match &memo.returns {
        Returns::Result { err, .. } => quote_spanned! {err.span()=>
            ::dynamorator::__private::memoize::call_result::<#value, _, _>(
                __dynamorator_cache,
                __dynamorator_key,
                __dynamorator_body,
            )
            .await
        },
        Returns::Value(_) => quote_spanned! {parts::value_span(memo)=>
            ::dynamorator::__private::memoize::call_value::<#value, _>(
                __dynamorator_cache,
                __dynamorator_key,
                __dynamorator_body,
            )
            .await
        },
    }
}
