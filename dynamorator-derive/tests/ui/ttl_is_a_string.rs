use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_days = "7")]
struct Product {
    asin: String,
}

fn main() {}
