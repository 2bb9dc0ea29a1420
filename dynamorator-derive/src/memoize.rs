//! `#[memoize(...)]` on an `async fn`: parse the attribute and the function into a model,
//! check it (every misuse an error on the user's token), then expand to the function reading
//! through its cache and to its companion module. Data flows one way: parse → check → expand.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens as _, format_ident, quote, quote_spanned};
use syn::parse::Parser as _;
use syn::spanned::Spanned as _;
use syn::{
    Expr, FnArg, GenericArgument, GenericParam, Ident, ItemFn, Pat, PatIdent, PathArguments,
    ReturnType, Type,
};

use crate::ast::Config;
use crate::attr::{self, CacheAttrs};
use crate::{expand, valid};

/// The keys `#[memoize(...)]` accepts, for "unknown key" messages.
const KEYS: &str = "store, key, skip(...), ttl_days, ttl_hours, ttl_mins, ttl_secs, \
                    stale_days, stale_hours, stale_mins, stale_secs, fail_safe_days, \
                    fail_safe_hours, fail_safe_mins, fail_safe_secs, fail_safe_throttle_mins, \
                    fail_safe_throttle_secs, jitter_mins, jitter_secs, soft_timeout_ms, \
                    hard_timeout_ms, compress, compress_threshold, zstd, zstd_level, split, \
                    split_max_bytes, prefix, version, l1";

/// The longest prefix accepted: with `:v{version}:` and the 64-digit hash the key stays far
/// below DynamoDB's 2048 bytes.
const MAX_PREFIX: usize = 1024;

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "#[memoize] works on an `async fn` (a free function): write it on `async fn name(...)`",
            );
            let error = error.into_compile_error();
            return quote!(#error #item);
        }
    };
    match check(args, &function) {
        Ok(memo) => expand_memo(&memo),
        // The function as written beside its errors, so its callers see no second error.
        Err(errors) => {
            let errors = errors.into_compile_error();
            quote!(#errors #function)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parse.

/// What `#[memoize(...)]` said.
struct MemoAttrs {
    store: Option<Expr>,
    key: Option<Expr>,
    skip: Vec<Ident>,
    config: CacheAttrs,
}

fn parse_attrs(args: TokenStream, errors: &mut Vec<syn::Error>) -> MemoAttrs {
    let mut parsed = MemoAttrs {
        store: None,
        key: None,
        skip: Vec::new(),
        config: CacheAttrs::default(),
    };
    let parser = syn::meta::parser(|meta| {
        let path = &meta.path;
        let name = path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match name.as_str() {
            "store" | "key" => {
                let seen = if name == "store" {
                    parsed.store.is_some()
                } else {
                    parsed.key.is_some()
                };
                if seen {
                    errors.push(syn::Error::new_spanned(
                        path,
                        format!("duplicate key `{name}`: give it once"),
                    ));
                }
                match meta.value().and_then(|value| value.parse::<Expr>()) {
                    Ok(expr) if name == "store" => parsed.store = Some(expr),
                    Ok(expr) => parsed.key = Some(expr),
                    Err(_) => {
                        attr::skip_value(&meta);
                        errors.push(syn::Error::new_spanned(
                            path,
                            if name == "store" {
                                "`store` needs an expression giving a `&dynamorator::Store`: \
                                 write `store = STORE` (a `static` with `LazyLock`) or \
                                 `store = store()`"
                            } else {
                                "`key` needs an expression whose value is the key: write \
                                 `key = (user_id, day)`"
                            },
                        ));
                    }
                }
            }
            "skip" => {
                if meta.input.peek(syn::token::Paren) {
                    let result = meta.parse_nested_meta(|inner| {
                        match inner.path.get_ident() {
                            Some(ident) => parsed.skip.push(ident.clone()),
                            None => errors.push(syn::Error::new_spanned(
                                &inner.path,
                                "`skip(...)` takes argument names: write `skip(client)`",
                            )),
                        }
                        Ok(())
                    });
                    if let Err(error) = result {
                        errors.push(error);
                    }
                } else {
                    attr::skip_value(&meta);
                    errors.push(syn::Error::new_spanned(
                        path,
                        "`skip` takes the arguments left out of the key: write `skip(client)`",
                    ));
                }
            }
            "refresh_window_ms" | "refresh_batch_max" => {
                attr::skip_value(&meta);
                errors.push(syn::Error::new_spanned(
                    path,
                    format!(
                        "`{name}` is a setting of batch read-through; a memoised function reads \
                         one key per call, so it has no batches"
                    ),
                ));
            }
            _ => attr::parse_config_key(&meta, &mut parsed.config, errors, "#[memoize(...)]", KEYS),
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    parsed
}

// ---------------------------------------------------------------------------------------------
// Model and checks.

/// A checked memoised function.
struct Memo<'a> {
    function: &'a ItemFn,
    store: Expr,
    key: Option<Expr>,
    args: Vec<Arg>,
    returns: Returns,
    config: Config,
    /// Whether `prefix` was given; without it the prefix is the module path and the name.
    prefix_given: bool,
}

/// One argument of the function.
struct Arg {
    /// Its name in the generated signature: the user's, or `__dynamorator_arg{i}` for a
    /// pattern.
    ident: Ident,
    /// The pattern as written, bound in the body.
    pat: Pat,
    ty: Type,
    /// `Some(U)` for a `&U`: the body gets a reference to an owned copy.
    borrowed: Option<Type>,
    skipped: bool,
}

enum Returns {
    /// `Result<T, E>`: an `Err` is returned, never stored.
    Result { ok: Type },
    /// Any other type: stored as it is.
    Value(Type),
}

impl Returns {
    fn value_type(&self) -> &Type {
        match self {
            Returns::Result { ok } => ok,
            Returns::Value(ty) => ty,
        }
    }
}

fn check(args: TokenStream, function: &ItemFn) -> Result<Memo<'_>, syn::Error> {
    let mut errors = Vec::new();
    let attrs = parse_attrs(args, &mut errors);
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "#[memoize] works on an `async fn`: the value is read from the store, which takes \
             an `.await`; write `async fn`",
        ));
    }
    for param in &sig.generics.params {
        match param {
            GenericParam::Lifetime(_) => {}
            GenericParam::Type(_) | GenericParam::Const(_) => errors.push(syn::Error::new_spanned(
                param,
                "a memoised function cannot be generic over types or constants: one function \
                 has one cache of one value type; write a memoised function per type",
            )),
        }
    }
    let mut args = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) if receiver.reference.is_none() => {
                errors.push(syn::Error::new_spanned(
                    receiver,
                    "a memoised function cannot take `self` by value: the value may come from \
                     the cache without the body running, so `self` would be consumed for \
                     nothing; #[memoize] works on free functions: move the body into an \
                     `async fn` taking what it needs",
                ));
            }
            FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                receiver,
                "#[memoize] works on free functions, not methods: move the body into an \
                 `async fn` taking what it needs from `self` (a handle can be an argument left \
                 out of the key with `skip(...)`)",
            )),
            FnArg::Typed(typed) => {
                let ty = (*typed.ty).clone();
                let borrowed = match &ty {
                    Type::Reference(reference) if reference.mutability.is_some() => {
                        errors.push(syn::Error::new_spanned(
                            &ty,
                            "a memoised function cannot take a `&mut` argument: when the value \
                             comes from the cache the body does not run, so nothing would be \
                             written through it",
                        ));
                        None
                    }
                    Type::Reference(reference) => Some((*reference.elem).clone()),
                    Type::ImplTrait(_) => {
                        errors.push(syn::Error::new_spanned(
                            &ty,
                            "a memoised function cannot take an `impl Trait` argument: it would \
                             be generic; name the type",
                        ));
                        None
                    }
                    _ => None,
                };
                let ident = match &*typed.pat {
                    Pat::Ident(PatIdent {
                        ident,
                        by_ref: None,
                        subpat: None,
                        ..
                    }) => ident.clone(),
                    _ => format_ident!("__dynamorator_arg{i}"),
                };
                args.push(Arg {
                    ident,
                    pat: (*typed.pat).clone(),
                    ty,
                    borrowed,
                    skipped: false,
                });
            }
        }
    }
    for skipped in &attrs.skip {
        match args.iter_mut().find(|arg| arg.ident == *skipped) {
            Some(arg) if arg.skipped => errors.push(syn::Error::new_spanned(
                skipped,
                format!("`{skipped}` is skipped twice: name it once"),
            )),
            Some(arg) => arg.skipped = true,
            None => errors.push(syn::Error::new_spanned(
                skipped,
                format!(
                    "`skip({skipped})`: the function has no argument named `{skipped}`; skip \
                     names the arguments left out of the key"
                ),
            )),
        }
    }
    let store = attrs.store.clone();
    if store.is_none() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "#[memoize] needs the store: write `#[memoize(store = STORE)]`, where `STORE` gives \
             a `&dynamorator::Store` (a `static` with `LazyLock`, or a function)",
        ));
    }
    let returns = returns(&sig.output, &mut errors);
    let prefix_given = attrs.config.prefix.is_some();
    if let Some(prefix) = &attrs.config.prefix
        && prefix.value.len() > MAX_PREFIX
    {
        errors.push(syn::Error::new(
            prefix.span,
            format!(
                "this prefix is {} bytes long; a memoised function's prefix is at most \
                 {MAX_PREFIX}, so its keys stay within DynamoDB's 2048 bytes",
                prefix.value.len()
            ),
        ));
    }
    let config = valid::config(&sig.ident, attrs.config, &mut errors);
    if let (Some(hard), Some(Returns::Value(_))) = (&config.hard_timeout_ms, &returns) {
        errors.push(syn::Error::new(
            hard.span,
            "`hard_timeout_ms` needs a function returning `Result<T, E>`: past the hard timeout \
             the caller gets an error, and a function returning a plain value has none to \
             return",
        ));
    }
    let mut errors = errors.into_iter();
    match (errors.next(), store, returns) {
        (None, Some(store), Some(returns)) => Ok(Memo {
            function,
            store,
            key: attrs.key,
            args,
            returns,
            config,
            prefix_given,
        }),
        (Some(mut first), _, _) => {
            first.extend(errors);
            Err(first)
        }
        // Unreachable: a missing store or return type is an error above.
        (None, _, _) => Err(syn::Error::new(Span::call_site(), "invalid #[memoize]")),
    }
}

/// `Result<T, E>` (written with both parameters), or a plain value.
fn returns(output: &ReturnType, errors: &mut Vec<syn::Error>) -> Option<Returns> {
    let ty = match output {
        ReturnType::Default => return Some(Returns::Value(syn::parse_quote!(()))),
        ReturnType::Type(_, ty) => ty,
    };
    if let Type::Path(path) = &**ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
    {
        let types: Vec<&Type> = match &last.arguments {
            PathArguments::AngleBracketed(args) => args
                .args
                .iter()
                .filter_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        return match types.as_slice() {
            [ok, _] => Some(Returns::Result { ok: (*ok).clone() }),
            _ => {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "write the error type of a memoised function's `Result`: \
                     `Result<T, E>` (an alias such as `io::Result<T>` hides it); an `Err` is \
                     returned and never stored",
                ));
                None
            }
        };
    }
    Some(Returns::Value((**ty).clone()))
}

// ---------------------------------------------------------------------------------------------
// Expand.

fn expand_memo(memo: &Memo<'_>) -> TokenStream {
    let function = memo.function;
    let name = &function.sig.ident;
    let vis = &function.vis;
    let attrs = &function.attrs;
    let store = &memo.store;
    let store_stmt = quote_spanned! {store.span()=>
        let __dynamorator_store: &::dynamorator::Store = &(#store);
    };

    // The signature with each argument a plain name.
    let mut sig = function.sig.clone();
    for (input, arg) in sig.inputs.iter_mut().zip(&memo.args) {
        if let FnArg::Typed(typed) = input {
            let ident = &arg.ident;
            *typed.pat = syn::parse_quote!(#ident);
        }
    }

    let key = key_expr(memo);
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
    let binding = memo.args.iter().enumerate().map(|(i, arg)| {
        let owned = format_ident!("__dynamorator_owned{i}");
        let pat = &arg.pat;
        let ty = &arg.ty;
        match &arg.borrowed {
            Some(target) => quote_spanned! {arg.ty.span()=>
                let #pat: &#target = <<#target as ::std::borrow::ToOwned>::Owned
                    as ::std::borrow::Borrow<#target>>::borrow(&#owned);
            },
            None => quote!(let #pat: #ty = #owned;),
        }
    });
    let output = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let block = &function.block;
    let call = match &memo.returns {
        Returns::Result { .. } => quote_spanned! {output.span()=>
            ::dynamorator::__private::memoize::call_result::<#name::__Memo, _, _>(
                __dynamorator_store,
                __dynamorator_key,
                __dynamorator_body,
            )
            .await
        },
        Returns::Value(_) => quote_spanned! {output.span()=>
            ::dynamorator::__private::memoize::call_value::<#name::__Memo, _>(
                __dynamorator_store,
                __dynamorator_key,
                __dynamorator_body,
            )
            .await
        },
    };

    let companion = companion(memo, &key);
    quote! {
        #(#attrs)*
        #vis #sig {
            #store_stmt
            let __dynamorator_key = #key;
            #(#owning)*
            // Owned, so the body can outlive this call (a background refresh runs it later).
            let __dynamorator_body = async move {
                #(#binding)*
                let __dynamorator_ret: #output = #block;
                #[allow(unreachable_code)]
                return __dynamorator_ret;
            };
            #call
        }

        #companion
    }
}

/// The key of one call: `key = expr`'s value, or the arguments not skipped, hashed.
fn key_expr(memo: &Memo<'_>) -> TokenStream {
    if let Some(key) = &memo.key {
        return quote_spanned! {key.span()=>
            ::dynamorator::__private::memoize::key_of(&(#key))
        };
    }
    let pushes = memo.args.iter().filter(|arg| !arg.skipped).map(|arg| {
        let ident = &arg.ident;
        let ty = &arg.ty;
        quote_spanned! {ty.span()=>
            __dynamorator_key.arg::<#ty>(&#ident);
        }
    });
    quote! {{
        let mut __dynamorator_key = ::dynamorator::__private::memoize::KeyArgs::new();
        #(#pushes)*
        __dynamorator_key.finish()
    }}
}

/// The module beside the function, of the same name: its marker type and settings, and
/// `key`, `invalidate` and `stats`.
fn companion(memo: &Memo<'_>, key: &TokenStream) -> TokenStream {
    let function = memo.function;
    let name = &function.sig.ident;
    let vis = &function.vis;
    let store = &memo.store;
    let store_stmt = quote_spanned! {store.span()=>
        let __dynamorator_store: &::dynamorator::Store = &(#store);
    };
    let value = memo.returns.value_type();
    let prefix = match &memo.prefix_given {
        true => {
            let prefix = syn::LitStr::new(&memo.config.prefix.value, memo.config.prefix.span);
            quote!(#prefix)
        }
        // Inside the module, `module_path!()` is the function's module path and its name.
        false => quote!(::core::module_path!()),
    };
    let chain = expand::config_chain(&memo.config, &prefix);
    let lifetimes = function
        .sig
        .generics
        .params
        .iter()
        .filter(|param| matches!(param, GenericParam::Lifetime(_)));
    let generics = quote!(<#(#lifetimes),*>);
    let params = memo.args.iter().filter(|arg| !arg.skipped).map(|arg| {
        let ident = &arg.ident;
        let ty = &arg.ty;
        quote!(#ident: #ty)
    });
    let params = quote!(#(#params),*);
    let doc = format!(
        "The cache of [`{name}()`](fn@{name}) (`#[memoize]`): the stored key of a set of \
         arguments, invalidation, statistics."
    );
    quote! {
        #[doc = #doc]
        #[allow(clippy::needless_lifetimes, clippy::extra_unused_lifetimes)]
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            // As visible as the function's module and no more, so a value type private to it
            // can be `Value`.
            #[doc(hidden)]
            pub(super) struct __Memo;

            impl ::dynamorator::__private::memoize::Memoized for __Memo {
                type Value = #value;

                fn config() -> ::dynamorator::CacheConfig {
                    #chain
                }
            }

            /// The key under which a call with these arguments (those not skipped) is stored.
            ///
            /// # Errors
            ///
            /// `Error::Serialize` when an argument cannot be serialised to JSON.
            #[allow(unused_variables)]
            pub fn key #generics (#params) -> ::core::result::Result<::std::string::String, ::dynamorator::Error> {
                ::dynamorator::__private::memoize::stored_key::<__Memo>(#key)
            }

            /// Deletes the value stored for these arguments (those not skipped), from the store
            /// and the in-process L1: the next call runs the function.
            ///
            /// # Errors
            ///
            /// The store's error, or `Error::Serialize` when an argument cannot be serialised.
            #[allow(unused_variables)]
            pub async fn invalidate #generics (#params) -> ::core::result::Result<(), ::dynamorator::Error> {
                #[allow(unused_variables)]
                let __dynamorator_key = #key;
                #store_stmt
                ::dynamorator::__private::memoize::invalidate::<__Memo>(
                    __dynamorator_store,
                    __dynamorator_key,
                )
                .await
            }

            /// What the function's cache on its store has done so far: hits, misses, loader
            /// calls (runs of the function's body), errors.
            pub fn stats() -> ::dynamorator::CacheStats {
                #store_stmt
                ::dynamorator::__private::memoize::stats::<__Memo>(__dynamorator_store)
            }
        }
    }
}
