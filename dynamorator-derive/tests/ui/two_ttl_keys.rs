use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_days = 7, ttl_hours = 2)]
struct Product {
    asin: String,
}

fn main() {}
