use dynamorator::Cached;
use serde::{Deserialize, Serialize};

// 213503982334602 days fit in a u64; their seconds do not, and are refused, not wrapped.
#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_days = 213503982334602)]
struct Product {
    asin: String,
}

fn main() {}
