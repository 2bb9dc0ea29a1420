//! The bound the generated impl puts on the type, and where an unmet one is reported.
//!
//! The impl bounds `Self: CacheValue` rather than each parameter, which gives a generic type
//! exactly the bounds its serde impls need. On a type without parameters that bound is trivial,
//! and rustc checks a trivial bound at the impl by `CacheValue`'s supertraits, one error each,
//! with no word of caching (rust-lang/rust#48214). There the bound is made higher-ranked, which
//! rustc does not check at the impl, and a `const` next to it checks it instead: that error
//! carries `CacheValue`'s message. Both are spanned on the type's name.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::punctuated::Punctuated;
use syn::token::Comma;
use syn::{Generics, Ident, WherePredicate, parse_quote_spanned};

/// The impl's `where` predicates: the type's own and `Self: CacheValue`, on `name` (the
/// [`generated_name`]).
pub fn where_predicates(name: &Ident, generics: &Generics) -> Punctuated<WherePredicate, Comma> {
    let mut predicates = generics
        .where_clause
        .as_ref()
        .map(|w| w.predicates.clone())
        .unwrap_or_default();
    predicates.push(if generics.params.is_empty() {
        parse_quote_spanned!(name.span()=>
            for<'workaround> Self: ::dynamorator::__private::CacheValue
        )
    } else {
        parse_quote_spanned!(name.span()=> Self: ::dynamorator::__private::CacheValue)
    });
    predicates
}

/// On a type without parameters, the check that it is a `CacheValue`: "`Product` cannot be
/// cached: ..." on its name. A generic type is checked where it is used with its arguments.
/// (The name keeps its own span here, which is what puts the error on it.)
pub fn cache_value_check(ident: &Ident, generics: &Generics) -> Option<TokenStream> {
    generics.params.is_empty().then(|| {
        quote_spanned! {ident.span()=>
            #[allow(deprecated)]
            const _: () = ::dynamorator::__private::assert_cache_value::<#ident>();
        }
    })
}

/// The type's name as the generated code writes it: where the user wrote it, so errors point
/// there, but resolved as the macro's own token, so lints about the user's code (`deprecated`
/// on a deprecated type) do not fire on code the user did not write.
pub fn generated_name(ident: &Ident) -> Ident {
    let mut name = ident.clone();
    name.set_span(ident.span().resolved_at(Span::call_site()));
    name
}
