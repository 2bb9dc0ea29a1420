//! The client side: an http-cache [`CacheManager`](http_cache::CacheManager) on a store.

mod entry;
mod manager;
mod options;
mod stats;

pub use manager::DynamoratorManager;
pub use options::ManagerOptions;
pub use stats::ManagerStats;
