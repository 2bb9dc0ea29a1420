use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(soft_timeout_ms = 1.5)]
struct Product {
    asin: String,
}

fn main() {}
