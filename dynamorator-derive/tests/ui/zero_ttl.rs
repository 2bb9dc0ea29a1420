use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_hours = 0)]
struct Product {
    asin: String,
}

fn main() {}
