use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(version = 0)]
struct Product {
    asin: String,
}

fn main() {}
