//! Guides to the decisions a user makes, one page each: documentation only (modules with no
//! items). Their Rust examples are doctests: each compiles, and runs unless it is marked
//! `no_run` because it needs a DynamoDB table.
//!
//! | guide | read it when |
//! |---|---|
//! | [`choosing`] | starting: `Store`, `Cache<T>` or `#[memoize]`; DynamoDB or the embedded backend |
//! | [`freshness`] | deciding how old a value may be, and what answers when the source fails |
//! | [`l1_sizing`] | giving a cache an in-process L1: bytes or entries, what the bound means in memory |
//! | [`fleet`] | running many processes on one table: leases, clear, what each one sees |
//! | [`costs`] | estimating the DynamoDB bill: units per operation, what compression and the L1 save |
//! | [`migrating`] | moving from, or sharing a table with, the Python package |
//! | [`http`] | caching HTTP: reqwest's cache and axum responses on a store (crate `dynamorator-http`) |

#[doc = include_str!("choosing.md")]
pub mod choosing {}

#[doc = include_str!("freshness.md")]
pub mod freshness {}

#[doc = include_str!("l1_sizing.md")]
pub mod l1_sizing {}

#[doc = include_str!("fleet.md")]
pub mod fleet {}

#[doc = include_str!("costs.md")]
pub mod costs {}

#[doc = include_str!("migrating.md")]
pub mod migrating {}

#[doc = include_str!("http.md")]
pub mod http {}
