//! Stampede protection: how a cache makes sure that, in one process, a key that many callers
//! miss at once is read from the store once and loaded once.
//!
//! Three mechanisms, one per kind of call:
//!
//! | call | mechanism | shares |
//! |---|---|---|
//! | an L1 miss in `get`, `get_arc` | [`Coalescer`] of store reads, inside the L1 | the read's result (`Arc<T>` or the error) |
//! | `get_or_insert_with`, `get_arc_or_insert_with` | [`Coalescer`] of loads, per key | the loaded `Arc<T>`, or the loader's error |
//! | `get_many_or_insert_with` | [`KeyClaims`], per key of a batch | the stored values, read back from the L1 or the store |
//!
//! **Coalescer.** The first caller for a key runs its future; callers that arrive while it
//! runs wait and get a clone of its result. If the running caller is cancelled, a waiting one
//! takes over with its own future. The result is not kept: the next call starts afresh (and
//! reads what the load stored).
//!
//! **Key claims.** A batch loader takes a set of keys, and calls overlap in any pattern, so a
//! whole-call coalescer cannot work. Instead each call claims, in one atomic step, every
//! missing key that no call holds, and notes which call holds each of the others. Then:
//!
//! 1. It waits for the holders of the others. Every claim gets a ticket in claim order, and a
//!    call only ever waits for keys held by older tickets, so waits cannot form a cycle: the
//!    oldest call waits for no one, and every call ends within the loads of the calls older
//!    than it.
//! 2. A holder that stored its values tells its waiters "stored": they read the values back
//!    (L1, then store). A holder whose load failed, did not return a key, or could not store
//!    it hands the key to its oldest waiter, which then holds it: no newcomer can take the key
//!    in between, and the hand-over keeps every wait pointing at an older ticket.
//! 3. It calls its loader once, with exactly the keys it holds, stores what it returns, and
//!    releases them as above. A caller that is cancelled releases what it holds the same way.
//!
//! So a key is never with two loaders at once, however calls overlap; no call gives up after a
//! number of rounds; and a call never loads a key another call holds. The one case where a
//! call leaves a key out of its answer rather than load it: the holder reported "stored", the
//! read back failed (the store is failing), and a newer call has claimed the key since; it is
//! logged.

mod batch;
mod single;

pub(crate) use batch::{Claims, KeyClaims};
pub(crate) use single::Coalescer;
