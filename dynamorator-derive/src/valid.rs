//! Checks the parsed attributes and the input's shape, turning every misuse into an error on
//! the offending token that says what to write instead.

use syn::{Data, DeriveInput};

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
    let config = config(&input.ident.to_string(), attrs, &mut errors);
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

fn config(type_name: &str, attrs: CacheAttrs, errors: &mut Vec<syn::Error>) -> Config {
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
        whole(&n, "version", 1, errors).and_then(|v| match u32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(syn::Error::new(n.span, "`version` must fit in a u32"));
                None
            }
        })
    });
    let l1 = attrs.l1.map(|l1| L1 {
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
        compress: attrs.compress.is_some() || compress_threshold.is_some(),
        compress_threshold,
        prefix: attrs
            .prefix
            .map_or_else(|| snake_case(type_name), |prefix| prefix.value),
        version,
        l1,
    }
}

fn ttl(
    unit: TtlUnit,
    number: &Spanned<Number>,
    errors: &mut Vec<syn::Error>,
) -> Option<(u64, proc_macro2::Span)> {
    let key = unit.key();
    let value = number.value.value;
    let seconds = value
        * match unit {
            TtlUnit::Days => 86_400.0,
            TtlUnit::Hours => 3_600.0,
            TtlUnit::Secs => 1.0,
        };
    let problem = if value <= 0.0 {
        Some(format!(
            "`{key}` must be positive: an item that expires as it is written is never read; write e.g. `{key} = 7`"
        ))
    } else if unit == TtlUnit::Secs && !number.value.integer {
        Some("`ttl_secs` takes whole seconds: write e.g. `ttl_secs = 90`, or use `ttl_hours`/`ttl_days` for fractions".to_owned())
    } else if seconds < 1.0 {
        Some(format!(
            "`{key}` is under one second; the table stores whole seconds"
        ))
    } else {
        None
    };
    match problem {
        Some(message) => {
            errors.push(syn::Error::new(number.span, message));
            None
        }
        // Truncated like the runtime's `Ttl::try_from_secs_f64`; past u64 it saturates, and the
        // runtime's range check (one limit for both) refuses it at compile time.
        None => Some((seconds.trunc() as u64, number.span)),
    }
}

/// A whole number of at least `min`.
fn whole(
    number: &Spanned<Number>,
    key: &str,
    min: u64,
    errors: &mut Vec<syn::Error>,
) -> Option<u64> {
    let value = number.value.value;
    if !number.value.integer || value < min as f64 || value > u64::MAX as f64 {
        errors.push(syn::Error::new(
            number.span,
            format!(
                "`{key}` takes a whole number of at least {min}: write e.g. `{key} = {}`",
                min.max(1) * 2
            ),
        ));
        return None;
    }
    Some(value as u64)
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
    use super::snake_case;

    #[test]
    fn type_names_become_snake_case_prefixes() {
        assert_eq!(snake_case("Product"), "product");
        assert_eq!(snake_case("ProductV2"), "product_v2");
        assert_eq!(snake_case("HTTPResponse"), "http_response");
        assert_eq!(snake_case("Page2Result"), "page2_result");
        assert_eq!(snake_case("A"), "a");
    }
}
