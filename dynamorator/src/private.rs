//! What `#[derive(Cached)]` and `#[memoize]` expand to reach the crate through here, and nothing else. Not
//! public API.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Ttl;

/// The bounds a cached value needs, in one name for the generated `where` clause. An unmet one
/// is one error on the type's name, with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached: it must implement serde's `Serialize` and \
               `DeserializeOwned`, and be `Send + Sync + 'static`",
    label = "`{Self}` is not a cacheable value",
    note = "derive serde's traits beside it: `#[derive(Serialize, Deserialize, Cached)]`",
    note = "each field's type must implement them too, be shareable between threads (`Arc`, \
            `Mutex`; not `Rc`, `Cell`, `RefCell`) and own its data (no references)"
)]
pub trait CacheValue: Serialize + DeserializeOwned + Send + Sync + 'static {}

// Not recommended: an unmet bound is reported as `CacheValue`, once, rather than as each bound
// here, each with notes through this module.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> CacheValue for T {}

/// Compiles only when `T` is a [`CacheValue`], and otherwise fails with its message: the
/// derive's check of a type without generic parameters, `const _: () =
/// assert_cache_value::<Product>();` spanned on the type's name.
pub const fn assert_cache_value<T: CacheValue>() {}

/// A TTL of `secs` seconds in a `const`, so a value out of range is a compile error raised
/// by [`Ttl`]'s own check: the derive and the runtime share one limit.
pub const fn ttl_secs(secs: u64) -> Ttl {
    Ttl::secs(secs)
}

/// `#[memoize]`'s runtime: keys, the per-function cache, calls and the companion's functions.
pub mod memoize {
    pub use crate::cache::memoize::{
        KeyArg, KeyArgs, KeyReceiver, MemoCache, MemoError, MemoKey, MemoReceiver, Site, cache,
        call_result, call_value, fresh, invalidate, key_of, method_prefix, owned_receiver, stats,
        stored_key,
    };
}
