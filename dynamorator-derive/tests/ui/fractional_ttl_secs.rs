use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_secs = 1.5)]
struct Product {
    asin: String,
}

fn main() {}
