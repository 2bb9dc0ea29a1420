//! A loopback HTTP/1.1 proxy for DynamoDB-compatible servers: adds a one-way delay to each
//! direction and injects faults at a seeded rate, one decision per request.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use dynamorator_testkit::proxy::{Faults, Proxy};
//!
//! let proxy = Proxy::start("127.0.0.1:8000".parse().unwrap())
//!     .latency(Duration::from_millis(1))   // 2 ms round trip
//!     .faults(Faults::all(0.10, 42))      // 10 % of requests, reproducibly
//!     .spawn()
//!     .await?;
//! println!("point the client at {}", proxy.url());
//! # Ok(()) }
//! ```

mod faults;
mod http;
mod server;

pub use faults::{Fault, Faults};
pub use server::{Proxy, ProxyBuilder, ProxyStats};
