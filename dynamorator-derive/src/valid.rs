//! Checks the parsed attributes and the input's shape, turning every misuse into an error on
//! the offending token that says what to write instead.

use proc_macro2::TokenStream;
use syn::{Data, DeriveInput, Ident};

use crate::ast::{Config, Input, L1};
use crate::attr::{self, CacheAttrs, Number, Spanned, TtlFamily, TtlKey, TtlUnit};

/// zstd's highest compression level.
const MAX_ZSTD_LEVEL: u64 = 22;

/// Builds the checked model, or every error found; and the runtime crate's path if
/// `crate = "..."` gave one (the fallback impl of an invalid input names it too).
pub fn check(input: &DeriveInput) -> (Option<TokenStream>, Result<Input<'_>, syn::Error>) {
    let mut errors = Vec::new();
    if let Data::Union(union) = &input.data {
        errors.push(syn::Error::new_spanned(
            union.union_token,
            "#[derive(Cached)] works on structs and enums, not unions: serde cannot store a \
             union; wrap its data in a struct or enum",
        ));
    }
    let mut attrs = attr::parse(&input.attrs, &mut errors);
    let krate = attrs.krate.take();
    let config = config(&input.ident, attrs, &mut errors);
    let mut errors = errors.into_iter();
    let checked = match errors.next() {
        None => Ok(Input {
            ident: &input.ident,
            generics: &input.generics,
            config,
        }),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    };
    (krate, checked)
}

/// The settings `#[cache(...)]` and `#[memoize(...)]` share, checked; `ident` names the default
/// prefix.
pub fn config(ident: &Ident, attrs: CacheAttrs, errors: &mut Vec<syn::Error>) -> Config {
    let mut one_of = |family: TtlFamily| ttl_family(family, &attrs.ttls, errors);
    let ttl = one_of(TtlFamily::Ttl);
    let stale_for = one_of(TtlFamily::Stale);
    let fail_safe_max = one_of(TtlFamily::FailSafe);
    let fail_safe_throttle = one_of(TtlFamily::FailSafeThrottle);
    let jitter = one_of(TtlFamily::Jitter);
    let leases = one_of(TtlFamily::Lease);
    let fleet_clear = one_of(TtlFamily::FleetClear);
    let soft_timeout_ms = attrs
        .soft_timeout_ms
        .and_then(|n| millis(&n, "soft_timeout_ms", errors));
    let hard_timeout_ms = attrs
        .hard_timeout_ms
        .and_then(|n| millis(&n, "hard_timeout_ms", errors));
    if let (Some(soft), Some(hard)) = (&soft_timeout_ms, &hard_timeout_ms)
        && hard.value <= soft.value
    {
        errors.push(syn::Error::new(
            hard.span,
            format!(
                "`hard_timeout_ms = {}` must be longer than `soft_timeout_ms = {}`: at the soft \
                 timeout a caller stops waiting and the load goes on, at the hard one the load \
                 is abandoned; write e.g. `hard_timeout_ms = {}`",
                hard.value,
                soft.value,
                soft.value.saturating_mul(10)
            ),
        ));
    }
    let refresh_window_ms = attrs
        .refresh_window_ms
        .and_then(|n| millis(&n, "refresh_window_ms", errors));
    let coherent_l1_ms = attrs
        .coherent_l1_ms
        .and_then(|n| millis(&n, "coherent_l1_ms", errors));
    let refresh_batch_max = attrs.refresh_batch_max.and_then(|n| {
        whole_or(&n, 1, errors, || {
            "`refresh_batch_max` takes a whole number of keys, at least 1: write e.g. \
             `refresh_batch_max = 100`"
                .to_owned()
        })
    });
    let compress_threshold = attrs
        .compress_threshold
        .and_then(|n| whole(&n, "compress_threshold", 0, errors));
    let zstd_level = attrs.zstd_level.and_then(|n| {
        whole_or(&n, 1, errors, || {
            "`zstd_level` takes a whole number from 1 (fastest) to 22 (smallest): write e.g. \
             `zstd_level = 9`"
                .to_owned()
        })
    });
    let zstd_level = zstd_level.and_then(|level| {
        if level.value <= MAX_ZSTD_LEVEL {
            return Some(level);
        }
        errors.push(syn::Error::new(
            level.span,
            format!(
                "`zstd_level = {}` is past zstd's highest level, {MAX_ZSTD_LEVEL}",
                level.value
            ),
        ));
        None
    });
    let split_max_bytes = attrs
        .split_max_bytes
        .and_then(|n| whole(&n, "split_max_bytes", 1, errors));
    let version = attrs.version.and_then(|n| {
        let version = whole(&n, "version", 1, errors)?;
        match u32::try_from(version.value) {
            Ok(value) => Some(Spanned {
                value,
                span: version.span,
            }),
            Err(_) => {
                errors.push(syn::Error::new(
                    version.span,
                    format!(
                        "`version = {}` does not fit in u32: the largest is {}",
                        version.value,
                        u32::MAX
                    ),
                ));
                None
            }
        }
    });
    let l1 = attrs.l1.map(|l1| L1 {
        span: l1.span,
        max_entries: l1
            .max_entries
            .and_then(|n| whole(&n, "max_entries", 1, errors)),
        max_bytes: l1.max_bytes.and_then(|n| whole(&n, "max_bytes", 1, errors)),
        ttl_secs: l1.ttl_secs.and_then(|n| whole(&n, "ttl_secs", 1, errors)),
        negative_ttl_secs: l1
            .negative_ttl_secs
            .and_then(|n| whole(&n, "negative_ttl_secs", 1, errors)),
    });
    Config {
        ttl,
        stale_for,
        fail_safe_max,
        fail_safe_throttle,
        jitter,
        soft_timeout_ms,
        hard_timeout_ms,
        refresh_window_ms,
        coherent_l1_ms,
        refresh_batch_max,
        leases,
        fleet_clear,
        // A threshold only means something with compression on, so it turns it on.
        compress: attrs
            .compress
            .or_else(|| compress_threshold.as_ref().map(|threshold| threshold.span)),
        compress_threshold,
        // A level only means something with zstd on, so it turns it on.
        zstd: attrs
            .zstd
            .or_else(|| zstd_level.as_ref().map(|level| level.span)),
        zstd_level,
        // A maximum only means something with splitting on, so it turns it on.
        split: attrs
            .split
            .or_else(|| split_max_bytes.as_ref().map(|max| max.span)),
        split_max_bytes,
        prefix: attrs.prefix.unwrap_or_else(|| Spanned {
            value: snake_case(&ident.to_string()),
            span: ident.span(),
        }),
        version,
        name: attrs.name,
        l1,
    }
}

/// The one value of a TTL family, in whole seconds: the first key given; every other key of
/// the family is an error on its value.
fn ttl_family(
    family: TtlFamily,
    given: &[(TtlKey, Spanned<Number>)],
    errors: &mut Vec<syn::Error>,
) -> Option<Spanned<u64>> {
    let mut given = given.iter().filter(|(key, _)| key.family == family);
    let first = given
        .next()
        .and_then(|(key, number)| ttl(*key, number, errors));
    for (key, number) in given {
        let keys: Vec<&str> = family.keys().map(|key| key.name).collect();
        errors.push(syn::Error::new(
            number.span,
            format!(
                "give one {} key: `{}` sets {} a second time; keep one of {}",
                family.label(),
                key.name,
                family.what(),
                keys.join(", ")
            ),
        ));
    }
    first
}

/// A TTL-family value in whole seconds. From an integer it is exact (larger units multiplied
/// in u64); past u64 it saturates, and the runtime's range check (one limit for all) refuses
/// it at compile time, on the same span.
fn ttl(
    key: TtlKey,
    number: &Spanned<Number>,
    errors: &mut Vec<syn::Error>,
) -> Option<Spanned<u64>> {
    let name = key.name;
    let per_unit = key.unit.secs();
    let not_positive = || {
        let advice = match key.family {
            TtlFamily::Ttl => {
                format!(
                    "an item that expires as it is written is never read; write e.g. `{name} = 7`"
                )
            }
            TtlFamily::Stale => {
                format!("write e.g. `{name} = 7`, or leave it out for no stale window")
            }
            TtlFamily::FailSafe => {
                format!("write e.g. `{name} = 7`, or leave it out for no fail-safe")
            }
            TtlFamily::FailSafeThrottle => format!(
                "the shortest pause is one second; write e.g. `{name} = 7`, or leave it out for \
                 the default (30 s)"
            ),
            TtlFamily::Jitter => format!("write e.g. `{name} = 7`, or leave it out for no jitter"),
            TtlFamily::Lease => {
                format!("write e.g. `{name} = 10`, or leave it out for no leases")
            }
            TtlFamily::FleetClear => {
                format!("write e.g. `{name} = 1`, or leave it out for no fleet-wide clear")
            }
        };
        format!("`{name}` must be positive: {advice}")
    };
    let seconds = match number.value {
        Number::Int {
            magnitude,
            negative,
        } => {
            if magnitude == 0 || negative {
                Err(not_positive())
            } else {
                Ok(magnitude.saturating_mul(per_unit))
            }
        }
        Number::Float(value) => {
            let seconds = value * per_unit as f64;
            if value <= 0.0 {
                Err(not_positive())
            } else if key.unit == TtlUnit::Secs {
                let larger: Vec<String> = key
                    .family
                    .keys()
                    .filter(|other| other.unit != TtlUnit::Secs)
                    .map(|other| format!("`{}`", other.name))
                    .rev()
                    .collect();
                Err(format!(
                    "`{name}` takes whole seconds: write e.g. `{name} = 90`, or use {} for \
                     fractions",
                    larger.join("/")
                ))
            } else if seconds < 1.0 {
                Err(format!(
                    "`{name}` is under one second; the table stores whole seconds"
                ))
            } else {
                // Truncated like the runtime's `Ttl::try_from_secs_f64`; `as` saturates.
                Ok(seconds.trunc() as u64)
            }
        }
    };
    match seconds {
        Ok(value) => Some(Spanned {
            value,
            span: number.span,
        }),
        Err(message) => {
            errors.push(syn::Error::new(number.span, message));
            None
        }
    }
}

/// Whole milliseconds, at least 1.
fn millis(
    number: &Spanned<Number>,
    key: &str,
    errors: &mut Vec<syn::Error>,
) -> Option<Spanned<u64>> {
    whole_or(number, 1, errors, || {
        format!("`{key}` takes whole milliseconds, at least 1: write e.g. `{key} = 250`")
    })
}

/// A whole number of at least `min`, exactly as written.
fn whole(
    number: &Spanned<Number>,
    key: &str,
    min: u64,
    errors: &mut Vec<syn::Error>,
) -> Option<Spanned<u64>> {
    whole_or(number, min, errors, || {
        format!(
            "`{key}` takes a whole number of at least {min}: write e.g. `{key} = {}`",
            min.max(1) * 2
        )
    })
}

/// A whole number of at least `min`, exactly as written; anything else is `message` on it.
fn whole_or(
    number: &Spanned<Number>,
    min: u64,
    errors: &mut Vec<syn::Error>,
    message: impl FnOnce() -> String,
) -> Option<Spanned<u64>> {
    match number.value {
        Number::Int {
            magnitude,
            negative,
        } if magnitude >= min && !(negative && magnitude > 0) => Some(Spanned {
            value: magnitude,
            span: number.span,
        }),
        _ => {
            errors.push(syn::Error::new(number.span, message()));
            None
        }
    }
}

/// `ProductV2` → `product_v2`, `HTTPResponse` → `http_response`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use syn::{DeriveInput, parse_quote};

    use super::{check, snake_case};
    use crate::ast::Config;

    fn config(input: &DeriveInput) -> Result<Config, String> {
        check(input)
            .1
            .map(|input| input.config)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn integers_are_exact_past_two_to_the_53() {
        let input = parse_quote! {
            #[cache(compress_threshold = 9007199254740993, l1(max_bytes = 18446744073709551615))]
            struct Product;
        };
        let config = config(&input).unwrap();
        assert_eq!(
            config.compress_threshold.unwrap().value,
            9_007_199_254_740_993
        );
        assert_eq!(config.l1.unwrap().max_bytes.unwrap().value, u64::MAX);
    }

    #[test]
    fn an_integer_past_u64_is_an_error_not_a_rounding() {
        let input = parse_quote! {
            #[cache(l1(max_entries = 18446744073709551616))]
            struct Product;
        };
        assert_eq!(
            config(&input).err().unwrap(),
            "`max_entries = 18446744073709551616` does not fit in u64: the largest is \
             18446744073709551615"
        );
    }

    #[test]
    fn ttl_from_whole_days_and_hours_is_exact_and_saturates_past_u64() {
        let ttl = |input: DeriveInput| config(&input).unwrap().ttl.unwrap().value;
        assert_eq!(
            ttl(parse_quote!(
                #[cache(ttl_days = 106751991167300)]
                struct T;
            )),
            106_751_991_167_300 * 86_400
        );
        assert_eq!(
            ttl(parse_quote!(
                #[cache(ttl_hours = 5124095576030431)]
                struct T;
            )),
            5_124_095_576_030_431 * 3_600
        );
        // Past u64: saturated, for the runtime's range check to refuse in a `const`.
        assert_eq!(
            ttl(parse_quote!(
                #[cache(ttl_days = 213503982334602)]
                struct T;
            )),
            u64::MAX
        );
        assert_eq!(
            ttl(parse_quote!(
                #[cache(ttl_days = 1.5)]
                struct T;
            )),
            129_600
        );
        assert_eq!(
            ttl(parse_quote!(
                #[cache(ttl_hours = 0.5)]
                struct T;
            )),
            1_800
        );
        assert_eq!(
            ttl(parse_quote!(
                #[cache(ttl_secs = 90)]
                struct T;
            )),
            90
        );
    }

    #[test]
    fn every_ttl_family_counts_whole_seconds_in_its_unit() {
        let input = parse_quote! {
            #[cache(
                ttl_mins = 1.5,
                stale_hours = 2,
                fail_safe_days = 0.5,
                fail_safe_throttle_mins = 3,
                jitter_secs = 45
            )]
            struct T;
        };
        let config = config(&input).unwrap();
        assert_eq!(config.ttl.unwrap().value, 90);
        assert_eq!(config.stale_for.unwrap().value, 7_200);
        assert_eq!(config.fail_safe_max.unwrap().value, 43_200);
        assert_eq!(config.fail_safe_throttle.unwrap().value, 180);
        assert_eq!(config.jitter.unwrap().value, 45);
    }

    #[test]
    fn each_family_takes_one_key_and_families_do_not_clash() {
        let ok = parse_quote! {
            #[cache(ttl_secs = 60, stale_secs = 60, fail_safe_secs = 60, jitter_secs = 1)]
            struct T;
        };
        assert!(config(&ok).is_ok());
        let two = parse_quote! {
            #[cache(stale_hours = 1, jitter_mins = 1, stale_secs = 30)]
            struct T;
        };
        assert_eq!(
            config(&two).err().unwrap(),
            "give one stale window key: `stale_secs` sets the stale window a second time; keep \
             one of stale_days, stale_hours, stale_mins, stale_secs"
        );
    }

    #[test]
    fn a_fractional_secs_key_names_the_larger_units_of_its_family() {
        let input = parse_quote! {
            #[cache(jitter_secs = 0.5)]
            struct T;
        };
        assert_eq!(
            config(&input).err().unwrap(),
            "`jitter_secs` takes whole seconds: write e.g. `jitter_secs = 90`, or use \
             `jitter_mins` for fractions"
        );
    }

    #[test]
    fn milliseconds_are_whole_and_the_hard_timeout_is_the_longer() {
        let input = parse_quote! {
            #[cache(soft_timeout_ms = 100, hard_timeout_ms = 101, refresh_window_ms = 1, refresh_batch_max = 1)]
            struct T;
        };
        let parsed = config(&input).unwrap();
        assert_eq!(parsed.soft_timeout_ms.unwrap().value, 100);
        assert_eq!(parsed.hard_timeout_ms.unwrap().value, 101);
        assert_eq!(parsed.refresh_window_ms.unwrap().value, 1);
        assert_eq!(parsed.refresh_batch_max.unwrap().value, 1);
        let equal = parse_quote! {
            #[cache(hard_timeout_ms = 100, soft_timeout_ms = 100)]
            struct T;
        };
        assert!(
            config(&equal)
                .err()
                .unwrap()
                .starts_with("`hard_timeout_ms = 100` must be longer than `soft_timeout_ms = 100`")
        );
        let zero = parse_quote! {
            #[cache(refresh_window_ms = 0)]
            struct T;
        };
        assert_eq!(
            config(&zero).err().unwrap(),
            "`refresh_window_ms` takes whole milliseconds, at least 1: write e.g. \
             `refresh_window_ms = 250`"
        );
    }

    #[test]
    fn version_past_u32_is_an_error() {
        let input = parse_quote!(
            #[cache(version = 4294967296)]
            struct T;
        );
        assert_eq!(
            config(&input).err().unwrap(),
            "`version = 4294967296` does not fit in u32: the largest is 4294967295"
        );
    }

    #[test]
    fn type_names_become_snake_case_prefixes() {
        assert_eq!(snake_case("Product"), "product");
        assert_eq!(snake_case("ProductV2"), "product_v2");
        assert_eq!(snake_case("HTTPResponse"), "http_response");
        assert_eq!(snake_case("Page2Result"), "page2_result");
        assert_eq!(snake_case("A"), "a");
    }
}
