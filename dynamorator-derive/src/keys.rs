//! The one table of keys `#[cache(...)]` and `#[memoize(...)]` accept: the parsers refuse any
//! other (listing these in the message), and a test holds the documentation's tables (the
//! `Cached` trait's, `memoize`'s, the README's) to it.

/// Which attribute a key is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Macro {
    /// `#[derive(Cached)]`'s `#[cache(...)]`.
    Cache,
    /// `#[memoize(...)]`.
    Memoize,
}

impl Macro {
    /// The attribute as messages name it.
    pub fn attribute(self) -> &'static str {
        match self {
            Macro::Cache => "#[cache(...)]",
            Macro::Memoize => "#[memoize(...)]",
        }
    }
}

/// The attributes that accept a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    Both,
    CacheOnly,
    MemoizeOnly,
}

/// How a key's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// `key = 7`.
    Number,
    /// `key`, alone.
    Flag,
    /// `key = "text"`.
    Text,
    /// `key = "path::to::crate"`.
    Path,
    /// `key = expression`.
    Expr,
    /// `key(name, ...)`.
    Names,
    /// `key`, or `key(setting = N, ...)`.
    FlagOrSettings,
}

/// One accepted key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub name: &'static str,
    pub value: Value,
    pub accepted: Accepted,
    /// What it sets, in a few words (the documentation's tables say it at length): what the
    /// documentation test asks to be added when a table misses the key.
    #[cfg_attr(not(test), allow(dead_code))]
    pub doc: &'static str,
}

impl KeySpec {
    pub fn accepted_in(&self, attribute: Macro) -> bool {
        match self.accepted {
            Accepted::Both => true,
            Accepted::CacheOnly => attribute == Macro::Cache,
            Accepted::MemoizeOnly => attribute == Macro::Memoize,
        }
    }

    /// How the key is shown in a list of keys.
    fn shown(&self) -> String {
        match self.value {
            Value::Names => format!("{}(...)", self.name),
            _ => self.name.to_owned(),
        }
    }
}

const fn key(name: &'static str, value: Value, accepted: Accepted, doc: &'static str) -> KeySpec {
    KeySpec {
        name,
        value,
        accepted,
        doc,
    }
}

use Accepted::{Both, CacheOnly, MemoizeOnly};
use Value::{Expr, Flag, FlagOrSettings, Names, Number, Path, Text};

/// Every key, in the order messages list them.
pub const KEYS: &[KeySpec] = &[
    key(
        "store",
        Expr,
        MemoizeOnly,
        "the store: an expression giving a `&Store`",
    ),
    key(
        "key",
        Expr,
        MemoizeOnly,
        "a value hashed instead of the arguments",
    ),
    key(
        "skip",
        Names,
        MemoizeOnly,
        "arguments (or `self`) left out of the key",
    ),
    key(
        "in_impl",
        Flag,
        MemoizeOnly,
        "an associated function without `self`",
    ),
    key("ttl_days", Number, Both, "the TTL"),
    key("ttl_hours", Number, Both, "the TTL"),
    key("ttl_mins", Number, Both, "the TTL"),
    key("ttl_secs", Number, Both, "the TTL"),
    key("stale_days", Number, Both, "the stale window"),
    key("stale_hours", Number, Both, "the stale window"),
    key("stale_mins", Number, Both, "the stale window"),
    key("stale_secs", Number, Both, "the stale window"),
    key("fail_safe_days", Number, Both, "the fail-safe window"),
    key("fail_safe_hours", Number, Both, "the fail-safe window"),
    key("fail_safe_mins", Number, Both, "the fail-safe window"),
    key("fail_safe_secs", Number, Both, "the fail-safe window"),
    key(
        "fail_safe_throttle_mins",
        Number,
        Both,
        "the fail-safe throttle",
    ),
    key(
        "fail_safe_throttle_secs",
        Number,
        Both,
        "the fail-safe throttle",
    ),
    key("jitter_mins", Number, Both, "the jitter"),
    key("jitter_secs", Number, Both, "the jitter"),
    key("soft_timeout_ms", Number, Both, "the soft timeout"),
    key("hard_timeout_ms", Number, Both, "the hard timeout"),
    key(
        "refresh_window_ms",
        Number,
        CacheOnly,
        "batch refreshes' window",
    ),
    key(
        "refresh_batch_max",
        Number,
        CacheOnly,
        "batch refreshes' size",
    ),
    key("lease_mins", Number, Both, "the lease length"),
    key("lease_secs", Number, Both, "the lease length"),
    key("fleet_clear_mins", Number, Both, "the fleet-clear poll"),
    key("fleet_clear_secs", Number, Both, "the fleet-clear poll"),
    key("coherent_l1_ms", Number, Both, "the coherent L1's poll"),
    key("compress", Flag, Both, "compression on"),
    key(
        "compress_threshold",
        Number,
        Both,
        "the compression threshold",
    ),
    key("zstd", Flag, Both, "zstd compression"),
    key("zstd_level", Number, Both, "the zstd level"),
    key("split", Flag, Both, "values past 400 KB split"),
    key("split_max_bytes", Number, Both, "the largest split value"),
    key("prefix", Text, Both, "the key prefix"),
    key("version", Number, Both, "the version in stored keys"),
    key("name", Text, Both, "the name in metrics and spans"),
    key("l1", FlagOrSettings, Both, "the in-process L1"),
    key("crate", Path, Both, "the path of the dynamorator crate"),
];

/// The spec of `name` if `attribute` accepts it.
pub fn find(attribute: Macro, name: &str) -> Option<&'static KeySpec> {
    KEYS.iter()
        .find(|key| key.name == name && key.accepted_in(attribute))
}

/// The keys `attribute` accepts, for "unknown key" messages.
pub fn list(attribute: Macro) -> String {
    KEYS.iter()
        .filter(|key| key.accepted_in(attribute))
        .map(KeySpec::shown)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use quote::quote;

    use super::{KEYS, KeySpec, Macro, Value};
    use crate::attr::TTL_KEYS;

    /// The keys a documentation table (`| key | value | default |`) names, after `heading`:
    /// each backticked word of the first column, `family_*` standing for its TTL keys and
    /// `skip(a, b)` for `skip`.
    fn documented(text: &str, heading: &str) -> BTreeSet<String> {
        let start = text
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading:?}"));
        let rows = text[start..]
            .lines()
            .map(|line| {
                line.trim_start_matches("///")
                    .trim_start_matches("//!")
                    .trim()
            })
            .skip_while(|line| !line.starts_with("| key |"))
            .skip(2)
            .take_while(|line| line.starts_with('|'));
        let mut keys = BTreeSet::new();
        for row in rows {
            let first = row.split('|').nth(1).unwrap_or_default();
            for word in first.split('`').skip(1).step_by(2) {
                let word = word.split('(').next().unwrap_or_default();
                match word.strip_suffix('*') {
                    Some(family) => keys.extend(
                        TTL_KEYS
                            .iter()
                            .filter(|key| {
                                key.name.strip_prefix(family).is_some_and(|unit| {
                                    ["days", "hours", "mins", "secs"].contains(&unit)
                                })
                            })
                            .map(|key| key.name.to_owned()),
                    ),
                    None => {
                        keys.insert(word.to_owned());
                    }
                }
            }
        }
        keys
    }

    fn accepted(attribute: Macro) -> BTreeSet<String> {
        KEYS.iter()
            .filter(|key| key.accepted_in(attribute))
            .map(|key| key.name.to_owned())
            .collect()
    }

    /// `documented` equals the table's keys for `attribute`; else which rows to add or remove.
    fn assert_documents(documented: &BTreeSet<String>, attribute: Macro, place: &str) {
        let accepted = accepted(attribute);
        let missing: Vec<String> = KEYS
            .iter()
            .filter(|key| accepted.contains(key.name) && !documented.contains(key.name))
            .map(|key| format!("`{}` ({})", key.name, key.doc))
            .collect();
        let extra: Vec<&String> = documented.difference(&accepted).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{place}'s table of {} keys: add {missing:?}, remove {extra:?}",
            attribute.attribute()
        );
    }

    #[test]
    fn the_documentation_tables_list_exactly_the_accepted_keys() {
        let cached = include_str!("../../dynamorator/src/cache/cached.rs");
        let lib = include_str!("../../dynamorator/src/lib.rs");
        let readme = include_str!("../../README.md");
        let docs = [
            (
                documented(cached, "configure it with"),
                Macro::Cache,
                "Cached",
            ),
            (
                documented(lib, "/// Memoises an `async fn`"),
                Macro::Memoize,
                "memoize",
            ),
            (
                documented(readme, "### `#[cache(...)]` reference"),
                Macro::Cache,
                "README",
            ),
            (
                documented(readme, "`stats()`, taking the arguments"),
                Macro::Memoize,
                "README",
            ),
        ];
        for (documented, attribute, place) in &docs {
            assert_documents(documented, *attribute, place);
        }
    }

    #[test]
    fn every_ttl_key_is_in_the_table() {
        for ttl in TTL_KEYS {
            assert!(KEYS.iter().any(|key| key.name == ttl.name), "{}", ttl.name);
        }
    }

    /// The key written with a value of its kind.
    fn written(key: &KeySpec) -> proc_macro2::TokenStream {
        // `crate` is a keyword: not an identifier `Ident::new` makes.
        let name = match key.name {
            "crate" => quote!(crate),
            name => {
                let name = syn::Ident::new(name, proc_macro2::Span::call_site());
                quote!(#name)
            }
        };
        match key.value {
            Value::Number => quote!(#name = 1),
            Value::Flag | Value::FlagOrSettings => quote!(#name),
            Value::Text | Value::Path => quote!(#name = "x"),
            Value::Expr => quote!(#name = x),
            Value::Names => quote!(#name(x)),
        }
    }

    fn errors_of(attribute: Macro, key: &KeySpec) -> Vec<String> {
        let written = written(key);
        let mut errors = Vec::new();
        match attribute {
            Macro::Cache => {
                let attrs: Vec<syn::Attribute> = vec![syn::parse_quote!(#[cache(#written)])];
                crate::attr::parse(&attrs, &mut errors);
            }
            Macro::Memoize => {
                crate::memoize::attrs::parse(written, &mut errors);
            }
        }
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_key_parses_where_the_table_accepts_it_and_only_there() {
        for attribute in [Macro::Cache, Macro::Memoize] {
            for key in KEYS {
                let errors = errors_of(attribute, key);
                let refused = errors.iter().any(|error| error.starts_with("unknown key"));
                let batch_only = errors
                    .iter()
                    .any(|error| error.contains("batch read-through"));
                assert_eq!(
                    refused || batch_only,
                    !key.accepted_in(attribute),
                    "`{}` in {}: {errors:?}",
                    key.name,
                    attribute.attribute()
                );
            }
        }
    }

    #[test]
    fn an_unknown_key_lists_the_accepted_ones() {
        let bogus = KeySpec {
            name: "bogus",
            ..KEYS[0]
        };
        let errors = errors_of(Macro::Memoize, &bogus);
        assert!(errors[0].contains("expected one of: store, key, skip(...), in_impl, ttl_days"));
        assert!(errors[0].ends_with("name, l1, crate"));
    }
}
