//! The runtime of `#[memoize]`: a memoised function's key (`key`: the SHA-256 of its
//! arguments' canonical JSON), its cache (`handle`: one per stored prefix per store, kept in
//! the store's extensions, and a handle of it kept at each call site), and its calls (`call`), which read through that cache with the
//! function's body as the loader; here, the bounds generated code meets, each with the
//! message an unmet one gives.
//!
//! Reached by the macro's expansion through `__private::memoize`; not public API. The key
//! encoding is documented in the README ("Memoised functions") and pinned by a golden test:
//! changing it turns every stored value into a miss.

mod call;
mod handle;
mod key;

use std::any::type_name;
use std::fmt::Display;

use serde::Serialize;

use crate::Error;

pub use call::{call_result, call_value};
pub use handle::{MemoCache, Site, cache, fresh, invalidate, stats, stored_key};
pub use key::{KeyArgs, MemoKey, key_of};

/// An argument that is part of a memoised function's key. An unmet bound is one error on the
/// argument's type, with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a memoised function's key: it must implement serde's \
               `Serialize`",
    label = "this argument is hashed into the key",
    note = "leave a handle (an HTTP client, a connection pool) out of the key with \
            `#[memoize(skip(name))]`, or give the key yourself with `#[memoize(key = ...)]`"
)]
pub trait KeyArg: Serialize {}

#[diagnostic::do_not_recommend]
impl<A: Serialize + ?Sized> KeyArg for A {}

/// The receiver of a memoised method when it is part of the key (not `skip(self)`). An unmet
/// bound is one error on the `&self` token, with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of this memoised method's key: `self` is hashed into the \
               key unless skipped, so it must implement serde's `Serialize`",
    label = "`self` is hashed into the key",
    note = "a service handle (clients, pools, the store) does not decide the value: leave it \
            out of the key with `#[memoize(skip(self))]`",
    note = "when its fields decide the value, derive `Serialize` on it"
)]
pub trait KeyReceiver: Serialize {}

#[diagnostic::do_not_recommend]
impl<S: Serialize + ?Sized> KeyReceiver for S {}

/// The receiver of a memoised method: the body may run after the call returned (a stale
/// value's refresh), so it gets a clone of `self`. An unmet bound is one error on the `&self`
/// token, with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must be `Clone + Send + Sync + 'static` to have a memoised method: the \
               body may run after the call returned (a stale value's refresh), so it gets a \
               clone of `self`",
    label = "the body gets a clone of `self`",
    note = "a service handle is usually cheap to clone (an `Arc` inside, as `Store` and \
            `reqwest::Client` are): derive `Clone`, or keep the state in an `Arc`"
)]
pub trait MemoReceiver: Clone + Send + Sync + 'static {}

#[diagnostic::do_not_recommend]
impl<S: Clone + Send + Sync + 'static> MemoReceiver for S {}

/// The clone of `self` a memoised method's body runs with.
pub fn owned_receiver<S: MemoReceiver>(receiver: &S) -> S {
    receiver.clone()
}

/// A memoised method's default prefix: the path of `Self`, as `type_name` spells it, and the
/// method's name (`my_crate::shop::Catalog::price`). Generic types spell their parameters
/// (`my_crate::Repo<u32>`), so each instantiation of a generic impl has its own keys.
pub fn method_prefix<S: ?Sized>(method: &str) -> String {
    format!("{}::{method}", type_name::<S>())
}

/// The error type of a memoised function returning `Result<T, E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a memoised function: it must implement \
               `Display`, `From<dynamorator::Error>`, `Send` and `'static`",
    label = "the error type of this memoised function",
    note = "the function's own error comes back by value; a caller that waited for another \
            caller's failed load, or a load past `hard_timeout_ms`, gets \
            `E::from(dynamorator::Error)`",
    note = "`anyhow::Error`, `std::io::Error` and `Box<dyn Error + Send + Sync>` implement it; \
            for your own enum add a variant `Cache(#[from] dynamorator::Error)`"
)]
pub trait MemoError: Display + From<Error> + Send + 'static {}

#[diagnostic::do_not_recommend]
impl<E: Display + From<Error> + Send + 'static> MemoError for E {}
