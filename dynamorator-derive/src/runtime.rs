//! The path generated code names the runtime crate by: `::dynamorator`, or what
//! `crate = "..."` gave (a crate renamed in `Cargo.toml`, or re-exported by another).
//!
//! Every stage writes `::dynamorator`, with the span of the user's token an error belongs to;
//! with `crate = "..."` the expansion is rewritten once at the end, each `::dynamorator`
//! becoming the path given on that same span. A `::dynamorator` the user wrote in a memoised
//! body is rewritten too, harmlessly: the path given names that crate.

use proc_macro2::{Group, Spacing, TokenStream, TokenTree};

/// Runs `expand`, naming the runtime crate `path` (or `::dynamorator`) in what it returns.
pub fn with(path: Option<TokenStream>, expand: impl FnOnce() -> TokenStream) -> TokenStream {
    let expanded = expand();
    match path {
        Some(path) => rewrite(expanded, &path),
        None => expanded,
    }
}

fn rewrite(tokens: TokenStream, path: &TokenStream) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let mut rewritten = Group::new(group.delimiter(), rewrite(group.stream(), path));
                rewritten.set_span(group.span());
                out.push(TokenTree::Group(rewritten));
            }
            TokenTree::Ident(ident) if ident == "dynamorator" && ends_with_leading_colons(&out) => {
                out.truncate(out.len() - 2);
                out.extend(path.clone().into_iter().map(|mut part| {
                    part.set_span(ident.span());
                    part
                }));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// Whether `out` ends with a `::` that starts a path (not one inside `a::dynamorator`).
fn ends_with_leading_colons(out: &[TokenTree]) -> bool {
    match out {
        [
            ..,
            before,
            TokenTree::Punct(first),
            TokenTree::Punct(second),
        ] => {
            first.as_char() == ':'
                && first.spacing() == Spacing::Joint
                && second.as_char() == ':'
                && !matches!(before, TokenTree::Ident(_))
        }
        [TokenTree::Punct(first), TokenTree::Punct(second)] => {
            first.as_char() == ':' && first.spacing() == Spacing::Joint && second.as_char() == ':'
        }
        _ => false,
    }
}
