//! JSON written with a nesting limit. serde_json's reader reads at most 127 levels of arrays
//! and objects (its recursion limit of 128 is met at the 128th), so a value nested deeper could
//! never be read back; and its writer recurses once
//! per level, so a value nested thousands deep would overflow the caller's stack before it
//! was written. Counting the levels in the writer's formatter refuses such a value once the
//! limit is passed: the recursion never goes deeper than that.

use std::io;
use std::sync::Arc;

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::Error;

/// The deepest nesting of arrays and objects that is written: what serde_json's reader reads.
pub(crate) const MAX_DEPTH: usize = 127;

/// The compact formatter (serde_json's default), counting levels.
struct Limited {
    depth: usize,
}

impl Limited {
    fn enter(&mut self) -> io::Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(io::Error::other(format!(
                "it nests arrays and objects more than {MAX_DEPTH} levels deep, which no reader \
                 reads back"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

impl Formatter for Limited {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.enter()?;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.leave();
        writer.write_all(b"]")
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.enter()?;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.leave();
        writer.write_all(b"}")
    }
}

/// Writes `value` as compact JSON into `out`, refusing one nested deeper than [`MAX_DEPTH`].
fn write<V: Serialize + ?Sized, W: io::Write>(value: &V, out: W) -> Result<(), Error> {
    let mut serializer = serde_json::Serializer::with_formatter(out, Limited { depth: 0 });
    value
        .serialize(&mut serializer)
        .map_err(|error| Error::Serialize(Arc::new(error)))
}

/// `value`'s compact JSON text, as `serde_json::to_string` writes it; an error for a value
/// nested deeper than [`MAX_DEPTH`].
pub(crate) fn to_json<V: Serialize + ?Sized>(value: &V) -> Result<String, Error> {
    let mut bytes = Vec::with_capacity(128);
    write(value, &mut bytes)?;
    // serde_json writes UTF-8 only; should it not, that is an error, never a panic.
    String::from_utf8(bytes)
        .map_err(|error| Error::Serialize(Arc::new(serde_json::Error::io(io::Error::other(error)))))
}

/// An error if `value` is nested deeper than [`MAX_DEPTH`] (or does not serialise at all),
/// checked before anything else walks it recursively.
pub(crate) fn check_nesting<V: Serialize + ?Sized>(value: &V) -> Result<(), Error> {
    write(value, io::sink())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// `[[[...]]]`, `levels` deep, built without recursion.
    fn nested(levels: usize) -> Value {
        let mut value = json!(1);
        for _ in 0..levels {
            value = Value::Array(vec![value]);
        }
        value
    }

    /// Takes a nested value apart level by level, so dropping it does not recurse.
    fn dismantle(mut value: Value) {
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn writes_what_serde_json_writes_up_to_the_limit_and_refuses_past_it() {
        let deepest = nested(MAX_DEPTH);
        assert_eq!(to_json(&deepest).unwrap(), deepest.to_string());
        let text = to_json(&deepest).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            deepest,
            "reads back"
        );
        // Objects beside arrays: the innermost array is the last level.
        let mut object = json!(1);
        for _ in 0..MAX_DEPTH - 1 {
            object = json!({ "a": object, "b": [1, "x"] });
        }
        assert_eq!(to_json(&object).unwrap(), object.to_string());
        let deeper = nested(MAX_DEPTH + 1);
        let error = to_json(&deeper).unwrap_err();
        assert!(format!("{:?}", error).contains("127 levels"), "{error:?}");
        assert!(check_nesting(&deeper).is_err());
        assert!(check_nesting(&deepest).is_ok());
        dismantle(deeper);
    }

    #[test]
    fn a_value_nested_ten_thousand_deep_is_an_error_on_a_small_stack() {
        let deep = nested(10_000);
        // A thread with a small stack: refusing the value must not need a deep one.
        let outcome = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let refused = to_json(&deep).is_err() && check_nesting(&deep).is_err();
                dismantle(deep);
                refused
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(outcome);
    }
}
