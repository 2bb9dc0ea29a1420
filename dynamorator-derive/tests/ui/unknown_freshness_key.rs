use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_mins = 10, stale_min = 5)]
struct Product {
    asin: String,
}

fn main() {}
