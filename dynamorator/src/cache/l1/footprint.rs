//! What a decoded value occupies in memory, estimated by walking it with serde: the L1 weighs
//! its entries by this, so its byte bound bounds memory, not stored bytes (JSON `[1,2,3]` is 7
//! bytes stored and a 24-byte `Vec` plus a 48-byte allocation decoded; a short string is a few
//! stored bytes and a 24-byte `String` plus a 32-byte allocation).
//!
//! The value's own inline size is `size_of::<T>()`, exact; the walk adds what serialization
//! reveals of the heap: strings and byte strings, sequences and maps, with the inline size of
//! their elements estimated from how each serializes (serde hands a collection's elements
//! over by reference, so `size_of_val` would see pointers): numbers their width, a string
//! or sequence 24 bytes (`String`, `Vec`), a map 48 (`HashMap`), a struct or tuple the sum of
//! its fields rounded up to 8, a `serde_json::Value` its 32 bytes. The model is the value as `serde_json` decodes it, on glibc's
//! allocator:
//! - a string or byte string owns one allocation of its length;
//! - a sequence is a `Vec` grown one push at a time: its capacity is the next power of two
//!   (at least 4 elements; 8 for bytes), so up to twice its length;
//! - a map is a `hashbrown` table: a power-of-two number of buckets at most 7/8 full, each
//!   bucket a key, a value and a control byte (a `BTreeMap`, half-full nodes after in-order
//!   inserts, occupies about as much);
//! - an allocation of `n` bytes takes `n + 8` rounded up to 16, at least 32 (glibc's chunks;
//!   jemalloc and mimalloc take less, so the estimate errs high there).
//!
//! What serialization hides is missed: the inline size behind a `Box` or an `Arc` (the walk
//! sees the pointee's heap, not its own size), spare capacity a value was built with, an
//! enum's larger variants, and types that serialize as something other than what they hold
//! (a `Uuid` counts as 16 bytes of heap it does not own, which errs high).

use std::fmt;

use serde::Serialize;
use serde::ser::{
    self, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant,
};

/// The heap bytes `value` owns beyond its own inline size, as decoded and allocated.
pub(crate) fn heap_bytes<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut walk = Walk::default();
    // Only a serialization impl that refuses its value fails; what was seen so far stands
    // (such a value could not have been stored either).
    let _ = value.serialize(&mut walk);
    walk.heap
}

/// The bytes the allocator takes for a request of `size` bytes: glibc's chunk, the request
/// plus an 8-byte header rounded up to 16, at least 32; nothing for nothing.
pub(crate) fn allocation(size: usize) -> usize {
    if size == 0 {
        return 0;
    }
    (size.saturating_add(8 + 15) & !15).max(32)
}

/// A `Vec` of `len` elements of `element` bytes grown one push at a time: its buffer.
fn vec_buffer(len: usize, element: usize) -> usize {
    if len == 0 || element == 0 {
        return 0;
    }
    // The standard library's first capacity: 8 for bytes, 4 up to 1 KiB, else 1.
    let first = match element {
        1 => 8,
        2..=1024 => 4,
        _ => 1,
    };
    let capacity = len.checked_next_power_of_two().unwrap_or(len).max(first);
    allocation(capacity.saturating_mul(element))
}

/// A `hashbrown` table of `len` entries of `entry` bytes: its one allocation.
fn table(len: usize, entry: usize) -> usize {
    if len == 0 {
        return 0;
    }
    // Under 8 buckets a table holds one fewer entry than it has buckets; from 8, 7/8 of them.
    let buckets = if len < 8 {
        (len + 1).next_power_of_two().max(4)
    } else {
        (len.saturating_mul(8) / 7)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX / 2)
    };
    // One control byte a bucket, and a group's worth more (16 with SSE2).
    allocation(
        buckets
            .saturating_mul(entry.saturating_add(1))
            .saturating_add(16),
    )
}

/// Inline sizes of the shapes serialization shows.
const STRING: usize = 24;
const VEC: usize = 24;
const HASH_MAP: usize = 48;
/// An enum's tag, with the padding it usually brings.
const TAG: usize = 8;

/// Fields laid side by side: their sum, rounded up to 8 once it reaches 8.
fn laid_out(sum: usize) -> usize {
    if sum >= 8 {
        sum.saturating_add(7) & !7
    } else {
        sum.next_power_of_two()
    }
}

/// The inline size of a collection's element or entry part whose serialization gave
/// `estimate`: exact for `serde_json::Value` (32 bytes, however small what it holds), whose
/// arrays and objects are the common collections of untyped JSON.
fn element_size<T: ?Sized>(estimate: usize) -> usize {
    let name = std::any::type_name::<T>();
    if name.trim_start_matches('&') == std::any::type_name::<serde_json::Value>() {
        std::mem::size_of::<serde_json::Value>()
    } else {
        estimate
    }
}

/// The running estimate of heap bytes. Serializing a value through it returns the value's
/// estimated inline size; it never fails by itself.
#[derive(Default)]
struct Walk {
    heap: usize,
}

impl Walk {
    fn owns(&mut self, bytes: usize) {
        self.heap = self.heap.saturating_add(bytes);
    }
}

/// A sequence being walked: its elements' inline sizes make its buffer.
struct Seq<'a> {
    walk: &'a mut Walk,
    len: usize,
    inline: usize,
}

/// A map being walked: its entries' inline sizes make its table.
struct Map<'a> {
    walk: &'a mut Walk,
    len: usize,
    inline: usize,
}

/// A struct, tuple or variant being walked: its fields sit side by side.
struct Fields<'a> {
    walk: &'a mut Walk,
    inline: usize,
    /// Added for an enum variant's tag.
    tag: usize,
}

impl<'a> Fields<'a> {
    fn new(walk: &'a mut Walk, tag: usize) -> Self {
        Fields {
            walk,
            inline: 0,
            tag,
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), fmt::Error> {
        let inline = value.serialize(&mut *self.walk)?;
        self.inline = self.inline.saturating_add(inline);
        Ok(())
    }

    fn end(self) -> usize {
        laid_out(self.inline.saturating_add(self.tag))
    }
}

impl<'a> ser::Serializer for &'a mut Walk {
    type Ok = usize;
    type Error = fmt::Error;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Fields<'a>;
    type SerializeTupleStruct = Fields<'a>;
    type SerializeTupleVariant = Fields<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Fields<'a>;

    // In memory a value is what it holds, not its text: `IpAddr` and friends serialize their
    // parts, not a string, when the format is not human-readable.
    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, _: bool) -> Result<usize, fmt::Error> {
        Ok(1)
    }
    fn serialize_i8(self, _: i8) -> Result<usize, fmt::Error> {
        Ok(1)
    }
    fn serialize_i16(self, _: i16) -> Result<usize, fmt::Error> {
        Ok(2)
    }
    fn serialize_i32(self, _: i32) -> Result<usize, fmt::Error> {
        Ok(4)
    }
    fn serialize_i64(self, _: i64) -> Result<usize, fmt::Error> {
        Ok(8)
    }
    fn serialize_i128(self, _: i128) -> Result<usize, fmt::Error> {
        Ok(16)
    }
    fn serialize_u8(self, _: u8) -> Result<usize, fmt::Error> {
        Ok(1)
    }
    fn serialize_u16(self, _: u16) -> Result<usize, fmt::Error> {
        Ok(2)
    }
    fn serialize_u32(self, _: u32) -> Result<usize, fmt::Error> {
        Ok(4)
    }
    fn serialize_u64(self, _: u64) -> Result<usize, fmt::Error> {
        Ok(8)
    }
    fn serialize_u128(self, _: u128) -> Result<usize, fmt::Error> {
        Ok(16)
    }
    fn serialize_f32(self, _: f32) -> Result<usize, fmt::Error> {
        Ok(4)
    }
    fn serialize_f64(self, _: f64) -> Result<usize, fmt::Error> {
        Ok(8)
    }
    fn serialize_char(self, _: char) -> Result<usize, fmt::Error> {
        Ok(4)
    }
    fn serialize_str(self, text: &str) -> Result<usize, fmt::Error> {
        self.owns(allocation(text.len()));
        Ok(STRING)
    }
    fn serialize_bytes(self, bytes: &[u8]) -> Result<usize, fmt::Error> {
        self.owns(allocation(bytes.len()));
        Ok(VEC)
    }
    // The type inside is not shown: a pointer's worth.
    fn serialize_none(self) -> Result<usize, fmt::Error> {
        Ok(8)
    }
    // Strings, collections and structs holding them have a niche for `None`; smaller values
    // take a tag as wide as they are.
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<usize, fmt::Error> {
        let inline = value.serialize(self)?;
        Ok(if inline >= STRING {
            inline
        } else {
            laid_out(inline.saturating_add(inline.min(8)))
        })
    }
    fn serialize_unit(self) -> Result<usize, fmt::Error> {
        Ok(0)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<usize, fmt::Error> {
        Ok(0)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<usize, fmt::Error> {
        Ok(1)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<usize, fmt::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<usize, fmt::Error> {
        Ok(laid_out(value.serialize(self)?.saturating_add(TAG)))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, fmt::Error> {
        Ok(Seq {
            walk: self,
            len: 0,
            inline: 0,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<Fields<'a>, fmt::Error> {
        Ok(Fields::new(self, 0))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, fmt::Error> {
        Ok(Fields::new(self, 0))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Fields<'a>, fmt::Error> {
        Ok(Fields::new(self, TAG))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>, fmt::Error> {
        Ok(Map {
            walk: self,
            len: 0,
            inline: 0,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, fmt::Error> {
        Ok(Fields::new(self, 0))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Fields<'a>, fmt::Error> {
        Ok(Fields::new(self, TAG))
    }
}

impl SerializeSeq for Seq<'_> {
    type Ok = usize;
    type Error = fmt::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), fmt::Error> {
        let inline = element_size::<T>(value.serialize(&mut *self.walk)?);
        self.len += 1;
        self.inline = self.inline.saturating_add(inline);
        Ok(())
    }
    fn end(self) -> Result<usize, fmt::Error> {
        let element = self.inline.checked_div(self.len).unwrap_or(0);
        self.walk.owns(vec_buffer(self.len, element));
        Ok(VEC)
    }
}

impl SerializeMap for Map<'_> {
    type Ok = usize;
    type Error = fmt::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), fmt::Error> {
        let inline = element_size::<T>(key.serialize(&mut *self.walk)?);
        self.len += 1;
        self.inline = self.inline.saturating_add(inline);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), fmt::Error> {
        let inline = element_size::<T>(value.serialize(&mut *self.walk)?);
        self.inline = self.inline.saturating_add(inline);
        Ok(())
    }
    fn end(self) -> Result<usize, fmt::Error> {
        let entry = laid_out(self.inline.checked_div(self.len).unwrap_or(0));
        self.walk.owns(table(self.len, entry));
        Ok(HASH_MAP)
    }
}

/// The traits of structs, tuples and variants: each field is one more side by side.
macro_rules! fields {
    ($($trait:ident :: $method:ident($($name:ty)?)),* $(,)?) => {$(
        impl $trait for Fields<'_> {
            type Ok = usize;
            type Error = fmt::Error;
            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $(_: $name,)?
                value: &T,
            ) -> Result<(), fmt::Error> {
                self.field(value)
            }
            fn end(self) -> Result<usize, fmt::Error> {
                Ok(Fields::end(self))
            }
        }
    )*};
}

fields!(
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(&'static str),
    SerializeStructVariant::serialize_field(&'static str),
);

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Serialize;

    use super::*;

    #[test]
    fn allocations_follow_glibc_chunks() {
        assert_eq!(allocation(0), 0);
        assert_eq!(allocation(1), 32);
        assert_eq!(allocation(24), 32);
        assert_eq!(allocation(25), 48);
        assert_eq!(allocation(1000), 1008);
    }

    #[test]
    fn numbers_own_nothing_and_strings_their_allocation() {
        assert_eq!(heap_bytes(&7u64), 0);
        assert_eq!(heap_bytes(&String::new()), 0);
        assert_eq!(heap_bytes(&"x".repeat(100)), allocation(100));
        assert_eq!(heap_bytes(&Some("abc".to_owned())), 32);
    }

    #[test]
    fn a_sequence_owns_a_power_of_two_buffer_of_its_elements_and_their_heap() {
        // Five u64s: a buffer of eight; 200 u32s: of 256.
        assert_eq!(heap_bytes(&vec![1u64; 5]), allocation(8 * 8));
        assert_eq!(heap_bytes(&vec![1u32; 200]), allocation(256 * 4));
        // Bytes start at eight.
        assert_eq!(heap_bytes(&vec![1u8; 3]), allocation(8));
        // Three strings: a buffer of four `String`s, and each string's allocation.
        let tags = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(heap_bytes(&tags), allocation(4 * 24) + 3 * 32);
        // Pairs of a u32 and a u64: 16 bytes each, as laid out.
        assert_eq!(heap_bytes(&vec![(1u32, 2u64); 4]), allocation(4 * 16));
        assert_eq!(heap_bytes(&Vec::<u64>::new()), 0);
    }

    #[test]
    fn a_record_is_its_strings_buffers_and_tables() {
        #[derive(Serialize)]
        struct Listing {
            id: u64,
            title: String,
            point: (u32, u32),
            tags: Vec<String>,
            prices: Vec<u32>,
            attributes: HashMap<String, String>,
        }
        let listing = Listing {
            id: 1,
            title: "t".repeat(40),
            point: (1, 2),
            tags: (0..48).map(|i| format!("tag-{i}")).collect(),
            prices: (0..200).collect(),
            attributes: (0..12)
                .map(|i| (format!("k{i}"), format!("v{i}")))
                .collect(),
        };
        // Fields are inline (the cache adds `size_of::<Listing>()`); their heap counts:
        let title = allocation(40);
        let tags = allocation(64 * 24) + 48 * 32;
        let prices = allocation(256 * 4);
        // Twelve entries of two `String`s: 16 buckets of 48 bytes and a control byte.
        let attributes = allocation(16 * 49 + 16) + 24 * 32;
        assert_eq!(heap_bytes(&listing), title + tags + prices + attributes);
    }

    #[test]
    fn a_map_owns_its_table_and_its_entries_heap() {
        let map: HashMap<u32, u32> = (0..3).map(|i| (i, i)).collect();
        // Three entries: four buckets of 8 bytes and a control byte, plus a group.
        assert_eq!(heap_bytes(&map), allocation(4 * 9 + 16));
        let big: HashMap<u64, u64> = (0..100).map(|i| (i, i)).collect();
        // 100 entries need 115 buckets at 7/8: 128.
        assert_eq!(heap_bytes(&big), allocation(128 * 17 + 16));
    }

    #[test]
    fn options_and_enums_are_laid_out_with_their_tags() {
        // A vector of four `Option<u32>`s: 8 bytes each.
        assert_eq!(heap_bytes(&vec![Some(1u32); 4]), allocation(4 * 8));
        // `Option<String>` has a niche: 24 bytes each, and the strings' allocations.
        let names = vec![Some("a".to_owned()); 4];
        assert_eq!(heap_bytes(&names), allocation(4 * 24) + 4 * 32);
    }

    #[test]
    fn json_values_are_walked_as_what_they_hold() {
        let value = serde_json::json!({"a": [1, 2], "b": "text"});
        let value_size = std::mem::size_of::<serde_json::Value>();
        // The two keys and the string; the array, a buffer of four `Value`s; the object, a
        // table of two entries of a `String` and a `Value`.
        let expected =
            3 * 32 + allocation(4 * value_size) + allocation(4 * (24 + value_size + 1) + 16);
        assert_eq!(heap_bytes(&value), expected);
    }
}
