//! A memoised function's key: the hex SHA-256 of the canonical JSON of its key arguments (or
//! of `key = ...`'s value). Documented in the README ("Memoised functions") and pinned by a
//! golden test: changing it turns every stored value into a miss.
//!
//! The canonical JSON is compact JSON with every object's keys in byte order. Most arguments
//! (numbers, strings, sequences of them) have no object in them: their JSON, as serde_json
//! writes it, is already canonical, so it goes straight into the hasher, with nothing built
//! on the way. An argument whose JSON has an object (a struct, a map), an `f32` or a 128-bit
//! integer goes the long way: its `serde_json::Value`, which orders keys, floats and range
//! checks as the canonical form was first defined. Both give the same bytes; the short way
//! only stops, and leaves the argument to the long one, where they could differ.

use std::fmt::Write as _;
use std::io;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::Formatter;
use sha2::{Digest as _, Sha256};

use super::{KeyArg, KeyReceiver};
use crate::Error;
use crate::codec::{MAX_DEPTH, check_nesting};

/// A memoised call's key: the 64 lowercase hex digits of the digest, held inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MemoKey([u8; 64]);

impl MemoKey {
    /// The key of the canonical JSON fed to `hasher`.
    fn of(hasher: Sha256) -> Self {
        let mut key = MemoKey([0; 64]);
        let digest = hasher.finalize();
        for (hex, bytes) in key.0.chunks_exact_mut(16).zip(digest.chunks_exact(8)) {
            hex.copy_from_slice(&hex16(bytes.try_into().unwrap_or_default()));
        }
        key
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        // Hex digits only, so always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The 16 lowercase hex digits of 8 bytes, computed a whole word at a time: each nibble is
/// spread into a byte of its own, then made a digit (`'0' + n`, or `'a' + n - 10` from 10).
fn hex16(bytes: [u8; 8]) -> [u8; 16] {
    const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
    let x = u128::from(u64::from_be_bytes(bytes));
    let mut n = ((x & 0xFFFF_FFFF_0000_0000) << 32) | (x & 0xFFFF_FFFF);
    n = ((n & 0x0000_0000_FFFF_0000_0000_0000_FFFF_0000) << 16)
        | (n & 0x0000_0000_0000_FFFF_0000_0000_0000_FFFF);
    n = ((n & 0x0000_FF00_0000_FF00_0000_FF00_0000_FF00) << 8)
        | (n & 0x0000_00FF_0000_00FF_0000_00FF_0000_00FF);
    n = ((n & 0x00F0_00F0_00F0_00F0_00F0_00F0_00F0_00F0) << 4)
        | (n & 0x000F_000F_000F_000F_000F_000F_000F_000F);
    // 1 in each byte whose nibble is 10 or more (no byte carries: n + 6 stays under 22).
    let letters = ((n + 6 * ONES) >> 4) & ONES;
    (n + 0x30 * ONES + 39 * letters).to_be_bytes()
}

impl std::fmt::Debug for MemoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The arguments of one call, hashed as they come, in declaration order, as the elements of
/// one JSON array.
pub struct KeyArgs {
    hasher: Sha256,
    count: usize,
    error: Option<Error>,
}

impl Default for KeyArgs {
    fn default() -> Self {
        KeyArgs::new()
    }
}

impl KeyArgs {
    /// No arguments yet.
    pub fn new() -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"[");
        KeyArgs {
            hasher,
            count: 0,
            error: None,
        }
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
        if self.error.is_some() {
            return;
        }
        if self.count > 0 {
            self.hasher.update(b",");
        }
        self.count += 1;
        if let Err(error) = hash_canonical(value, &mut self.hasher) {
            self.error = Some(error);
        }
    }

    /// The key: the hex SHA-256 of the canonical JSON array of the arguments.
    pub fn finish(mut self) -> Result<MemoKey, Error> {
        match self.error {
            Some(error) => Err(error),
            None => {
                self.hasher.update(b"]");
                Ok(MemoKey::of(self.hasher))
            }
        }
    }
}

/// The key of `#[memoize(key = expr)]`: the hex SHA-256 of the value's canonical JSON.
pub fn key_of<K: KeyArg + ?Sized>(key: &K) -> Result<MemoKey, Error> {
    let mut hasher = Sha256::new();
    hash_canonical(key, &mut hasher)?;
    Ok(MemoKey::of(hasher))
}

/// Feeds `value`'s canonical JSON to `hasher`: written straight in when it has no object, else
/// through its `Value`.
fn hash_canonical<A: Serialize + ?Sized>(value: &A, hasher: &mut Sha256) -> Result<(), Error> {
    // The hasher as it was, to start again from if the short way stops part-way.
    let before = hasher.clone();
    let mut writer =
        serde_json::Serializer::with_formatter(Hashing(&mut *hasher), Plain { depth: 0 });
    if value.serialize(&mut writer).is_ok() {
        return Ok(());
    }
    *hasher = before;
    // Checked first: `to_value` and the canonical JSON recurse once per level.
    check_nesting(value)?;
    let value = serde_json::to_value(value).map_err(|error| Error::Serialize(Arc::new(error)))?;
    let mut text = String::new();
    canonical_json(&value, &mut text);
    hasher.update(text.as_bytes());
    Ok(())
}

/// Bytes written into the hasher.
struct Hashing<'a>(&'a mut Sha256);

impl io::Write for Hashing<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.update(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// serde_json's compact formatter, stopping (with an error) at whatever the canonical form
/// writes otherwise: an object, whose keys it orders; an `f32`, which it writes as the `f64`
/// it widens to; a 128-bit integer, which it refuses out of `i64`/`u64` range; a raw or
/// arbitrary-precision number; and nesting deeper than the codec reads back.
struct Plain {
    depth: usize,
}

fn not_plain() -> io::Error {
    io::Error::other("not written as it is")
}

impl Formatter for Plain {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(not_plain());
        }
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        writer.write_all(b"]")
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Err(not_plain())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, _: &mut W, _: f32) -> io::Result<()> {
        Err(not_plain())
    }

    fn write_i128<W: ?Sized + io::Write>(&mut self, _: &mut W, _: i128) -> io::Result<()> {
        Err(not_plain())
    }

    fn write_u128<W: ?Sized + io::Write>(&mut self, _: &mut W, _: u128) -> io::Result<()> {
        Err(not_plain())
    }

    fn write_number_str<W: ?Sized + io::Write>(&mut self, _: &mut W, _: &str) -> io::Result<()> {
        Err(not_plain())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(&mut self, _: &mut W, _: &str) -> io::Result<()> {
        Err(not_plain())
    }
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
    use std::collections::{BTreeMap, HashMap};

    use serde::Serialize;
    use serde_json::json;

    use super::{KeyArgs, canonical_json, key_of};
    use crate::format::split::sha256_hex;

    #[test]
    fn hex_digits_are_lowercase_in_byte_order() {
        let bytes = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        assert_eq!(&super::hex16(bytes), b"0123456789abcdef");
        assert_eq!(
            &super::hex16([0xff, 0, 0x0a, 0xa0, 9, 0x90, 0x5f, 0xf5]),
            b"ff000aa009905ff5"
        );
    }

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
        let key = args.finish().unwrap();
        // Pinned: a stored key that changed would miss every value stored before.
        assert_eq!(
            key.as_str(),
            "b339fd1080d94d2548b8a406e0d9fb4418e80d1b7a5e347f720ba9c7bafdcd64"
        );
        assert_eq!(key.as_str(), sha256_hex(br#"[42,"pear"]"#));
        assert_eq!(key, key_of(&(42u64, "pear")).unwrap());
    }

    /// The canonical JSON of `value`, the long way (through its `Value`).
    fn long_way<T: Serialize + ?Sized>(value: &T) -> String {
        let mut text = String::new();
        canonical_json(&serde_json::to_value(value).unwrap(), &mut text);
        text
    }

    #[derive(Serialize)]
    struct Query {
        zone: &'static str,
        after: Option<u32>,
        at: (i8, f64),
    }

    #[derive(Serialize)]
    enum Shape {
        Dot,
        Square(u16),
        Rect { w: u8, h: u8 },
    }

    #[test]
    fn written_straight_or_through_a_value_the_key_is_the_same() {
        let mut map = HashMap::new();
        map.insert("b".to_owned(), 2);
        map.insert("a".to_owned(), 1);
        let cases: Vec<(Box<dyn erased::Key>, &str)> = vec![
            (Box::new(7u8), "7"),
            (Box::new(-3i64), "-3"),
            (Box::new(1.5f64), "1.5"),
            (Box::new(0.1f32), "f32 widened"),
            (Box::new(f64::NAN), "null"),
            (Box::new(u128::from(u64::MAX)), "u64::MAX as u128"),
            (Box::new("quote \" tab \t é \u{1}"), "escapes"),
            (Box::new('x'), "char"),
            (Box::new(()), "unit"),
            (Box::new(None::<u8>), "none"),
            (Box::new(vec![vec![1, 2], vec![]]), "nested"),
            (Box::new((true, "x", [0u8; 3])), "tuple"),
            (Box::new(Shape::Dot), "unit variant"),
            (Box::new(Shape::Square(4)), "newtype variant"),
            (Box::new(Shape::Rect { w: 1, h: 2 }), "struct variant"),
            (
                Box::new(Query {
                    zone: "eu",
                    after: None,
                    at: (1, 2.0),
                }),
                "struct",
            ),
            (Box::new(map), "map"),
            (
                Box::new(BTreeMap::from([(2, "b"), (10, "a")])),
                "integer keys",
            ),
            (Box::new(vec![json!({"z": 1, "a": [1.25]})]), "value"),
            (Box::new("long ".repeat(100)), "longer than a hash block"),
            (
                Box::new(("long ".repeat(100), BTreeMap::from([("k", 1)]))),
                "an object after a hash block",
            ),
        ];
        for (value, case) in cases {
            let expected = sha256_hex(value.long_way().as_bytes());
            assert_eq!(value.key().as_str(), expected, "{case}");
        }
    }

    /// Keys of values of different types, side by side.
    mod erased {
        use super::super::{MemoKey, key_of};

        pub trait Key {
            fn key(&self) -> MemoKey;
            fn long_way(&self) -> String;
        }

        impl<T: serde::Serialize> Key for T {
            fn key(&self) -> MemoKey {
                key_of(self).unwrap()
            }

            fn long_way(&self) -> String {
                super::long_way(self)
            }
        }
    }

    #[test]
    fn a_long_argument_list_is_one_array_too() {
        let long = "y".repeat(250);
        let mut args = KeyArgs::new();
        args.arg(&long);
        args.arg(&json!({"b": 2, "a": 1}));
        args.arg(&3u8);
        let expected = format!(r#"["{long}",{{"a":1,"b":2}},3]"#);
        assert_eq!(
            args.finish().unwrap().as_str(),
            sha256_hex(expected.as_bytes())
        );
    }

    #[test]
    fn a_receiver_and_arguments_are_one_array() {
        let mut args = KeyArgs::new();
        args.receiver(&json!({"region": "eu"}));
        args.arg("kettle");
        assert_eq!(
            args.finish().unwrap().as_str(),
            sha256_hex(br#"[{"region":"eu"},"kettle"]"#)
        );
    }

    #[test]
    fn an_argument_that_does_not_serialise_is_an_error() {
        let mut args = KeyArgs::new();
        args.arg(&std::collections::HashMap::from([((1, 2), 3)]));
        assert!(args.finish().is_err());
        // Out of the range the canonical form has numbers in, as before.
        assert!(key_of(&u128::MAX).is_err());
    }
}
