//! Parses `#[memoize(...)]` into what it said; every problem is collected, so one compile shows
//! them all.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser as _;
use syn::{Expr, Ident};

use crate::attr::{self, CacheAttrs};
use crate::keys::Macro;

/// What `#[memoize(...)]` said.
pub struct MemoAttrs {
    pub store: Option<Expr>,
    pub key: Option<Expr>,
    /// Argument names, and `self`.
    pub skip: Vec<Ident>,
    /// The `in_impl` flag: an associated function without `self`.
    pub in_impl: Option<Span>,
    pub config: CacheAttrs,
}

pub fn parse(args: TokenStream, errors: &mut Vec<syn::Error>) -> MemoAttrs {
    let mut parsed = MemoAttrs {
        store: None,
        key: None,
        skip: Vec::new(),
        in_impl: None,
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
                                "`skip(...)` takes argument names (or `self`): write \
                                 `skip(client)`",
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
            "in_impl" => {
                if parsed.in_impl.is_some() {
                    errors.push(syn::Error::new_spanned(
                        path,
                        "duplicate key `in_impl`: give it once",
                    ));
                }
                if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
                    parsed.in_impl = Some(syn::spanned::Spanned::span(path));
                } else {
                    attr::skip_value(&meta);
                    errors.push(syn::Error::new_spanned(
                        path,
                        "`in_impl` is a flag, without a value: write `in_impl`",
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
            _ => attr::parse_config_key(&meta, &mut parsed.config, errors, Macro::Memoize),
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    parsed
}
