use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(stale_days = 400000)]
struct Product {
    asin: String,
}

fn main() {}
