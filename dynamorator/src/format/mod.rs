//! The table format, shared byte for byte with the Python package where it overlaps: the
//! attribute names, the item as every backend keeps it, the forms a value is stored in, split
//! values, and the conditions a write may require of the item it replaces. Everything above
//! (codec, store, backends) speaks it; it depends on nothing of theirs.

pub(crate) mod attr;
pub(crate) mod condition;
pub(crate) mod feed;
mod item;
pub(crate) mod split;

pub(crate) use item::{MAX_ITEM_BYTES, Payload, StoredItem};
pub(crate) use split::{Joined, JoinedForm, MAX_PARTS, PART_BYTES, Part, SplitHead};
