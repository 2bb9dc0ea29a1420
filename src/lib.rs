//! Test and benchmark tooling of the dynamorator workspace (not published).
//!
//! [`proxy`]: a loopback TCP proxy between a client and a DynamoDB-compatible server that adds
//! network latency and injects faults, for benchmarks at a given round-trip time and for the
//! chaos tests.
//!
//! [`fuzz_input`]: the item decoder's fuzz input, shared by `fuzz/` and the regression test.

pub mod fuzz_input;
pub mod proxy;
