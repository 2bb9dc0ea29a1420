//! Parses `#[cache(...)]` into plain values, each with the span of the token that set it.
//! Every problem is collected, so one compile shows them all.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned as _;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Lit, UnOp, meta::ParseNestedMeta};

use crate::keys::{self, Macro};

/// The keys of `l1(...)`.
pub const L1_KEYS: &str = "max_entries, max_bytes, ttl_secs, negative_ttl_secs";

/// A value as written, with where it was written.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A setting made into a `Ttl`, given by one key of its family (`stale_hours`, `stale_secs`,
/// ...): more than one key of a family is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlFamily {
    /// `ttl_*`: `CacheConfig::ttl`.
    Ttl,
    /// `stale_*`: `CacheConfig::stale_for`.
    Stale,
    /// `fail_safe_*`: `CacheConfig::fail_safe_max`.
    FailSafe,
    /// `fail_safe_throttle_*`: `CacheConfig::fail_safe_throttle`.
    FailSafeThrottle,
    /// `jitter_*`: `CacheConfig::jitter`.
    Jitter,
    /// `lease_*`: `CacheConfig::leases`.
    Lease,
    /// `fleet_clear_*`: `CacheConfig::fleet_clear`.
    FleetClear,
}

impl TtlFamily {
    /// The family's name, for "give one ... key" messages.
    pub fn label(self) -> &'static str {
        match self {
            TtlFamily::Ttl => "TTL",
            TtlFamily::Stale => "stale window",
            TtlFamily::FailSafe => "fail-safe",
            TtlFamily::FailSafeThrottle => "fail-safe throttle",
            TtlFamily::Jitter => "jitter",
            TtlFamily::Lease => "lease",
            TtlFamily::FleetClear => "fleet-clear poll",
        }
    }

    /// What the family sets, for "a second time" messages.
    pub fn what(self) -> &'static str {
        match self {
            TtlFamily::Ttl => "the TTL",
            TtlFamily::Stale => "the stale window",
            TtlFamily::FailSafe => "the fail-safe window",
            TtlFamily::FailSafeThrottle => "the fail-safe throttle",
            TtlFamily::Jitter => "the jitter",
            TtlFamily::Lease => "the lease length",
            TtlFamily::FleetClear => "the fleet-clear poll",
        }
    }

    /// Its keys, in the order `TTL_KEYS` lists them.
    pub fn keys(self) -> impl DoubleEndedIterator<Item = TtlKey> {
        TTL_KEYS
            .iter()
            .copied()
            .filter(move |key| key.family == self)
    }
}

/// The unit of a TTL-family key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlUnit {
    Days,
    Hours,
    Mins,
    Secs,
}

impl TtlUnit {
    pub fn secs(self) -> u64 {
        match self {
            TtlUnit::Days => 86_400,
            TtlUnit::Hours => 3_600,
            TtlUnit::Mins => 60,
            TtlUnit::Secs => 1,
        }
    }
}

/// One key of a TTL family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlKey {
    pub name: &'static str,
    pub family: TtlFamily,
    pub unit: TtlUnit,
}

const fn ttl_key(name: &'static str, family: TtlFamily, unit: TtlUnit) -> TtlKey {
    TtlKey { name, family, unit }
}

/// Every TTL-family key, each family's from the largest unit to the smallest.
pub const TTL_KEYS: &[TtlKey] = &[
    ttl_key("ttl_days", TtlFamily::Ttl, TtlUnit::Days),
    ttl_key("ttl_hours", TtlFamily::Ttl, TtlUnit::Hours),
    ttl_key("ttl_mins", TtlFamily::Ttl, TtlUnit::Mins),
    ttl_key("ttl_secs", TtlFamily::Ttl, TtlUnit::Secs),
    ttl_key("stale_days", TtlFamily::Stale, TtlUnit::Days),
    ttl_key("stale_hours", TtlFamily::Stale, TtlUnit::Hours),
    ttl_key("stale_mins", TtlFamily::Stale, TtlUnit::Mins),
    ttl_key("stale_secs", TtlFamily::Stale, TtlUnit::Secs),
    ttl_key("fail_safe_days", TtlFamily::FailSafe, TtlUnit::Days),
    ttl_key("fail_safe_hours", TtlFamily::FailSafe, TtlUnit::Hours),
    ttl_key("fail_safe_mins", TtlFamily::FailSafe, TtlUnit::Mins),
    ttl_key("fail_safe_secs", TtlFamily::FailSafe, TtlUnit::Secs),
    ttl_key(
        "fail_safe_throttle_mins",
        TtlFamily::FailSafeThrottle,
        TtlUnit::Mins,
    ),
    ttl_key(
        "fail_safe_throttle_secs",
        TtlFamily::FailSafeThrottle,
        TtlUnit::Secs,
    ),
    ttl_key("jitter_mins", TtlFamily::Jitter, TtlUnit::Mins),
    ttl_key("jitter_secs", TtlFamily::Jitter, TtlUnit::Secs),
    ttl_key("lease_mins", TtlFamily::Lease, TtlUnit::Mins),
    ttl_key("lease_secs", TtlFamily::Lease, TtlUnit::Secs),
    ttl_key("fleet_clear_mins", TtlFamily::FleetClear, TtlUnit::Mins),
    ttl_key("fleet_clear_secs", TtlFamily::FleetClear, TtlUnit::Secs),
];

/// A number literal as written, its sign included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer literal (`7`, `-1`, `0x40`): exact, however large, up to `u64::MAX`.
    Int { magnitude: u64, negative: bool },
    /// A literal with a fraction or an exponent (`1.5`, `-0.5`, `2e3`), sign applied.
    Float(f64),
}

/// Everything `#[cache(...)]` said (after parsing; checked in `valid`).
#[derive(Debug, Default)]
pub struct CacheAttrs {
    /// Every TTL-family key given, in order (more than one of a family is an error).
    pub ttls: Vec<(TtlKey, Spanned<Number>)>,
    pub soft_timeout_ms: Option<Spanned<Number>>,
    pub hard_timeout_ms: Option<Spanned<Number>>,
    pub refresh_window_ms: Option<Spanned<Number>>,
    pub coherent_l1_ms: Option<Spanned<Number>>,
    pub refresh_batch_max: Option<Spanned<Number>>,
    pub compress: Option<Span>,
    pub compress_threshold: Option<Spanned<Number>>,
    pub zstd: Option<Span>,
    pub zstd_level: Option<Spanned<Number>>,
    pub split: Option<Span>,
    pub split_max_bytes: Option<Spanned<Number>>,
    pub prefix: Option<Spanned<String>>,
    pub version: Option<Spanned<Number>>,
    pub name: Option<Spanned<String>>,
    pub l1: Option<L1Attrs>,
    /// `crate = "..."`: the runtime crate's path, on the string's span.
    pub krate: Option<TokenStream>,
}

/// What `l1` or `l1(...)` said.
#[derive(Debug)]
pub struct L1Attrs {
    /// The `l1` token.
    pub span: Span,
    pub max_entries: Option<Spanned<Number>>,
    pub max_bytes: Option<Spanned<Number>>,
    pub ttl_secs: Option<Spanned<Number>>,
    pub negative_ttl_secs: Option<Spanned<Number>>,
}

/// Parses every `#[cache(...)]` on the type. Errors are pushed to `errors`.
pub fn parse(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> CacheAttrs {
    let mut parsed = CacheAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("cache")) {
        let result = attr.parse_nested_meta(|meta| {
            parse_key(&meta, &mut parsed, errors);
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    parsed
}

fn parse_key(meta: &ParseNestedMeta<'_>, parsed: &mut CacheAttrs, errors: &mut Vec<syn::Error>) {
    parse_config_key(meta, parsed, errors, Macro::Cache);
}

/// One key of the settings `#[cache(...)]` and `#[memoize(...)]` share; a key the table
/// ([`keys::KEYS`]) does not give `attribute` is an error listing those it does.
pub fn parse_config_key(
    meta: &ParseNestedMeta<'_>,
    parsed: &mut CacheAttrs,
    errors: &mut Vec<syn::Error>,
    attribute: Macro,
) {
    let path = &meta.path;
    let name = path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    if keys::find(attribute, &name).is_none() {
        unknown_key(meta, errors, attribute);
        return;
    }
    if let Some(key) = TTL_KEYS.iter().find(|key| key.name == name) {
        if let Some(number) = number_value(meta, &name, errors) {
            parsed.ttls.push((*key, number));
        }
        return;
    }
    let mut once = |seen: bool| {
        if seen {
            errors.push(syn::Error::new_spanned(
                path,
                format!("duplicate key `{name}`: give it once"),
            ));
        }
    };
    match name.as_str() {
        "soft_timeout_ms" | "hard_timeout_ms" | "refresh_window_ms" | "coherent_l1_ms"
        | "refresh_batch_max" => {
            let slot = match name.as_str() {
                "soft_timeout_ms" => &mut parsed.soft_timeout_ms,
                "hard_timeout_ms" => &mut parsed.hard_timeout_ms,
                "refresh_window_ms" => &mut parsed.refresh_window_ms,
                "coherent_l1_ms" => &mut parsed.coherent_l1_ms,
                _ => &mut parsed.refresh_batch_max,
            };
            once(slot.is_some());
            *slot = number_value(meta, &name, errors);
        }
        "compress" | "zstd" | "split" => {
            let (slot, what) = match name.as_str() {
                "zstd" => (&mut parsed.zstd, "zstd compression"),
                "split" => (&mut parsed.split, "splitting"),
                _ => (&mut parsed.compress, "compression"),
            };
            once(slot.is_some());
            if meta.input.peek(syn::Token![=]) {
                skip_value(meta);
                errors.push(syn::Error::new_spanned(
                    path,
                    format!(
                        "`{name}` is a flag: write `{name}` to turn {what} on, or leave it out"
                    ),
                ));
            }
            *slot = Some(path.span());
        }
        "compress_threshold" | "zstd_level" | "split_max_bytes" => {
            let slot = match name.as_str() {
                "zstd_level" => &mut parsed.zstd_level,
                "split_max_bytes" => &mut parsed.split_max_bytes,
                _ => &mut parsed.compress_threshold,
            };
            once(slot.is_some());
            *slot = number_value(meta, &name, errors);
        }
        "prefix" => {
            once(parsed.prefix.is_some());
            parsed.prefix = string_value(meta, &name, errors);
        }
        "version" => {
            once(parsed.version.is_some());
            parsed.version = number_value(meta, &name, errors);
        }
        "name" => {
            once(parsed.name.is_some());
            parsed.name = string_value(meta, &name, errors);
        }
        "l1" => {
            once(parsed.l1.is_some());
            let mut l1 = L1Attrs {
                span: path.span(),
                max_entries: None,
                max_bytes: None,
                ttl_secs: None,
                negative_ttl_secs: None,
            };
            if meta.input.peek(syn::token::Paren) {
                let result = meta.parse_nested_meta(|inner| {
                    parse_l1_key(&inner, &mut l1, errors);
                    Ok(())
                });
                if let Err(error) = result {
                    errors.push(error);
                }
            } else if meta.input.peek(syn::Token![=]) {
                skip_value(meta);
                errors.push(syn::Error::new_spanned(
                    path,
                    "write `l1` for an in-process cache with defaults, or \
                     `l1(max_bytes = 67108864, ttl_secs = 60)`",
                ));
            }
            parsed.l1 = Some(l1);
        }
        "crate" => {
            once(parsed.krate.is_some());
            parsed.krate = crate_path(meta, errors);
        }
        // A key of the table that this parser does not read (the test `every_key_parses`
        // keeps there being none).
        _ => unknown_key(meta, errors, attribute),
    }
}

/// The error for a key `attribute` does not accept, listing those it does.
pub fn unknown_key(meta: &ParseNestedMeta<'_>, errors: &mut Vec<syn::Error>, attribute: Macro) {
    skip_value(meta);
    errors.push(syn::Error::new_spanned(
        &meta.path,
        format!(
            "unknown key `{}` in {}; expected one of: {}",
            quote_path(&meta.path),
            attribute.attribute(),
            keys::list(attribute)
        ),
    ));
}

/// `crate = "path"`: the path's tokens, on the string's span, so a path that does not resolve
/// is an error there.
fn crate_path(meta: &ParseNestedMeta<'_>, errors: &mut Vec<syn::Error>) -> Option<TokenStream> {
    const EXPECTED: &str = "`crate` needs the path of the dynamorator crate, as a string: write \
                            `crate = \"my_dynamorator\"` (for a crate renamed in Cargo.toml) or \
                            `crate = \"my_framework::dynamorator\"` (for one re-exported)";
    let value = match meta.value().and_then(|value| value.parse::<Expr>()) {
        Ok(value) => value,
        Err(_) => {
            skip_value(meta);
            errors.push(syn::Error::new_spanned(&meta.path, EXPECTED));
            return None;
        }
    };
    let path = match &value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit.parse::<syn::Path>().ok(),
        _ => None,
    };
    if path.is_none() {
        errors.push(syn::Error::new_spanned(&value, EXPECTED));
    }
    path.map(|path| quote::ToTokens::to_token_stream(&path))
}

fn parse_l1_key(meta: &ParseNestedMeta<'_>, l1: &mut L1Attrs, errors: &mut Vec<syn::Error>) {
    let path = &meta.path;
    let name = path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let slot = match name.as_str() {
        "max_entries" => &mut l1.max_entries,
        "max_bytes" => &mut l1.max_bytes,
        "ttl_secs" => &mut l1.ttl_secs,
        "negative_ttl_secs" => &mut l1.negative_ttl_secs,
        _ => {
            skip_value(meta);
            errors.push(syn::Error::new_spanned(
                path,
                format!(
                    "unknown key `{}` in l1(...); expected one of: {L1_KEYS}",
                    quote_path(path)
                ),
            ));
            return;
        }
    };
    if slot.is_some() {
        errors.push(syn::Error::new_spanned(
            path,
            format!("duplicate key `{name}`: give it once"),
        ));
    }
    *slot = number_value(meta, &name, errors);
}

fn quote_path(path: &syn::Path) -> String {
    quote::ToTokens::to_token_stream(path)
        .to_string()
        .replace(' ', "")
}

/// Consumes `= value` or `(...)` after an unknown or misused key, so parsing goes on.
pub fn skip_value(meta: &ParseNestedMeta<'_>) {
    if meta.input.peek(syn::Token![=]) {
        let _ = meta.value().and_then(|v| v.parse::<Expr>());
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.parse_nested_meta(|inner| {
            skip_value(&inner);
            Ok(())
        });
    }
}

/// `key = <number>`; a negative number parses here and is refused in `valid`.
fn number_value(
    meta: &ParseNestedMeta<'_>,
    name: &str,
    errors: &mut Vec<syn::Error>,
) -> Option<Spanned<Number>> {
    let expr = match meta.value().and_then(|v| v.parse::<Expr>()) {
        Ok(expr) => expr,
        Err(_) => {
            skip_value(meta);
            errors.push(syn::Error::new_spanned(
                &meta.path,
                format!("`{name}` needs a number: write `{name} = 7`"),
            ));
            return None;
        }
    };
    let (negative, lit) = match &expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match expr.as_ref() {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return wrong_type(expr, name, errors),
        },
        _ => return wrong_type(&expr, name, errors),
    };
    let number = match lit {
        // Integers are parsed as integers, so none rounds on its way to a u64.
        Lit::Int(int) => match int.base10_parse::<u64>() {
            Ok(magnitude) => Number::Int {
                magnitude,
                negative,
            },
            Err(_) => {
                errors.push(syn::Error::new_spanned(
                    int,
                    format!(
                        "`{name} = {}` does not fit in u64: the largest is {}",
                        int.base10_digits(),
                        u64::MAX
                    ),
                ));
                return None;
            }
        },
        Lit::Float(float) => match float.base10_parse::<f64>() {
            Ok(value) => Number::Float(if negative { -value } else { value }),
            Err(_) => return wrong_type(&expr, name, errors),
        },
        _ => return wrong_type(&expr, name, errors),
    };
    Some(Spanned {
        value: number,
        span: expr.span(),
    })
}

fn wrong_type<T>(expr: &Expr, name: &str, errors: &mut Vec<syn::Error>) -> Option<T> {
    errors.push(syn::Error::new_spanned(
        expr,
        format!("`{name}` takes a number literal: write `{name} = 7`"),
    ));
    None
}

fn string_value(
    meta: &ParseNestedMeta<'_>,
    name: &str,
    errors: &mut Vec<syn::Error>,
) -> Option<Spanned<String>> {
    let expr = match meta.value().and_then(|v| v.parse::<Expr>()) {
        Ok(expr) => expr,
        Err(_) => {
            skip_value(meta);
            errors.push(syn::Error::new_spanned(
                &meta.path,
                format!("`{name}` needs a string: write `{name} = \"products\"`"),
            ));
            return None;
        }
    };
    match &expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Some(Spanned {
            value: text.value(),
            span: text.span(),
        }),
        _ => {
            errors.push(syn::Error::new_spanned(
                &expr,
                format!("`{name}` takes a string literal: write `{name} = \"products\"`"),
            ));
            None
        }
    }
}
