use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(prefix = "a", prefix = "b")]
struct Product {
    asin: String,
}

fn main() {}
