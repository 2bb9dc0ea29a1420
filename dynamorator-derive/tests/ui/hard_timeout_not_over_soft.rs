use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(soft_timeout_ms = 500, hard_timeout_ms = 200)]
struct Product {
    asin: String,
}

fn main() {}
