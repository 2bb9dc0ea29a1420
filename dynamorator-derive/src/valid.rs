//! Checks the parsed attributes and the input's shape, turning every misuse into an error on
//! the offending token that says what to write instead.

use syn::{Data, DeriveInput, Ident};

use crate::ast::{Config, Input, L1};
use crate::attr::{self, CacheAttrs, Number, Spanned, TtlUnit};

/// Builds the checked model, or every error found.
pub fn check(input: &DeriveInput) -> Result<Input<'_>, syn::Error> {
    let mut errors = Vec::new();
    if let Data::Union(union) = &input.data {
        errors.push(syn::Error::new_spanned(
            union.union_token,
            "#[derive(Cached)] works on structs and enums, not unions: serde cannot store a \
             union; wrap its data in a struct or enum",
        ));
    }
    let attrs = attr::parse(&input.attrs, &mut errors);
    let config = config(&input.ident, attrs, &mut errors);
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(Input {
            ident: &input.ident,
            generics: &input.generics,
            config,
        }),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

fn config(ident: &Ident, attrs: CacheAttrs, errors: &mut Vec<syn::Error>) -> Config {
    let mut ttls = attrs.ttls.into_iter();
    let ttl = ttls
        .next()
        .and_then(|(unit, number)| ttl(unit, &number, errors));
    for (unit, number) in ttls {
        errors.push(syn::Error::new(
            number.span,
            format!(
                "give one TTL key: `{}` sets the TTL a second time; keep one of ttl_days, \
                 ttl_hours, ttl_secs",
                unit.key()
            ),
        ));
    }
    let compress_threshold = attrs
        .compress_threshold
        .and_then(|n| whole(&n, "compress_threshold", 0, errors));
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
        // A threshold only means something with compression on, so it turns it on.
        compress: attrs
            .compress
            .or_else(|| compress_threshold.as_ref().map(|threshold| threshold.span)),
        compress_threshold,
        prefix: attrs.prefix.unwrap_or_else(|| Spanned {
            value: snake_case(&ident.to_string()),
            span: ident.span(),
        }),
        version,
        l1,
    }
}

/// The TTL in whole seconds. From an integer it is exact (days and hours multiplied in u64);
/// past u64 it saturates, and the runtime's range check (one limit for both) refuses it at
/// compile time, on the same span.
fn ttl(
    unit: TtlUnit,
    number: &Spanned<Number>,
    errors: &mut Vec<syn::Error>,
) -> Option<Spanned<u64>> {
    let key = unit.key();
    let per_unit: u64 = match unit {
        TtlUnit::Days => 86_400,
        TtlUnit::Hours => 3_600,
        TtlUnit::Secs => 1,
    };
    let not_positive = || {
        format!(
            "`{key}` must be positive: an item that expires as it is written is never read; \
             write e.g. `{key} = 7`"
        )
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
            } else if unit == TtlUnit::Secs {
                Err(
                    "`ttl_secs` takes whole seconds: write e.g. `ttl_secs = 90`, or use \
                     `ttl_hours`/`ttl_days` for fractions"
                        .to_owned(),
                )
            } else if seconds < 1.0 {
                Err(format!(
                    "`{key}` is under one second; the table stores whole seconds"
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

/// A whole number of at least `min`, exactly as written.
fn whole(
    number: &Spanned<Number>,
    key: &str,
    min: u64,
    errors: &mut Vec<syn::Error>,
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
            errors.push(syn::Error::new(
                number.span,
                format!(
                    "`{key}` takes a whole number of at least {min}: write e.g. `{key} = {}`",
                    min.max(1) * 2
                ),
            ));
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
