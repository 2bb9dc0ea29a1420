use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(zstd_level = 23)]
struct Product {
    asin: String,
}

#[derive(Serialize, Deserialize, Cached)]
#[cache(zstd = true)]
struct Order {
    id: u64,
}

fn main() {}
