//! A memoised function's key: the hex SHA-256 of the canonical JSON of its key arguments (or
//! of `key = ...`'s value). Documented in the README ("Memoised functions") and pinned by a
//! golden test: changing it turns every stored value into a miss.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::{KeyArg, KeyReceiver};
use crate::Error;
use crate::codec::check_nesting;
use crate::store::sha256_hex;

/// The arguments of one call, gathered in declaration order, then hashed.
#[derive(Default)]
pub struct KeyArgs {
    values: Vec<Value>,
    error: Option<Error>,
}

impl KeyArgs {
    /// No arguments yet.
    pub fn new() -> Self {
        KeyArgs::default()
    }

    /// Adds the next key argument.
    pub fn arg<A: KeyArg + ?Sized>(&mut self, arg: &A) {
        self.push(arg);
    }

    /// Adds a method's receiver, the first element of the key.
    pub fn receiver<S: KeyReceiver + ?Sized>(&mut self, receiver: &S) {
        self.push(receiver);
    }

    fn push<A: Serialize + ?Sized>(&mut self, value: &A) {
        // Checked first: `to_value` and the canonical JSON recurse once per level.
        if let Err(error) = check_nesting(value) {
            self.error.get_or_insert(error);
            return;
        }
        match serde_json::to_value(value) {
            Ok(value) => self.values.push(value),
            Err(error) => {
                self.error.get_or_insert(Error::Serialize(Arc::new(error)));
            }
        }
    }

    /// The key: the hex SHA-256 of the canonical JSON array of the arguments.
    pub fn finish(self) -> Result<String, Error> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(digest(&Value::Array(self.values))),
        }
    }
}

/// The key of `#[memoize(key = expr)]`: the hex SHA-256 of the value's canonical JSON.
pub fn key_of<K: KeyArg + ?Sized>(key: &K) -> Result<String, Error> {
    check_nesting(key)?;
    serde_json::to_value(key)
        .map(|value| digest(&value))
        .map_err(|error| Error::Serialize(Arc::new(error)))
}

/// The hex SHA-256 of `value`'s canonical JSON.
fn digest(value: &Value) -> String {
    let mut text = String::new();
    canonical_json(value, &mut text);
    sha256_hex(text.as_bytes())
}

/// Compact JSON with every object's keys in byte order, whatever the map type's order (or
/// serde_json's `preserve_order` feature): equal values give equal text.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", Value::String(key.clone()));
                out.push(':');
                canonical_json(item, out);
            }
            out.push('}');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyArgs, canonical_json, key_of};
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_object_keys_at_every_depth() {
        let mut text = String::new();
        canonical_json(
            &json!({"b": [1, {"z": null, "a": "x\"y"}], "a": 1.5}),
            &mut text,
        );
        assert_eq!(text, r#"{"a":1.5,"b":[1,{"a":"x\"y","z":null}]}"#);
    }

    #[test]
    fn the_key_is_the_sha256_of_the_canonical_json_array() {
        let mut args = KeyArgs::new();
        args.arg(&42u64);
        args.arg("pear");
        // sha256(`[42,"pear"]`)
        let key = args.finish().unwrap();
        assert_eq!(key.len(), 64);
        assert_eq!(key, key_of(&(42u64, "pear")).unwrap());
    }

    #[test]
    fn an_argument_that_does_not_serialise_is_an_error() {
        let mut args = KeyArgs::new();
        args.arg(&std::collections::HashMap::from([((1, 2), 3)]));
        assert!(args.finish().is_err());
    }
}
