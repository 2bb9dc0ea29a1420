use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_mins = 10, stale_hours = 1, stale_secs = 30)]
struct Product {
    asin: String,
}

fn main() {}
