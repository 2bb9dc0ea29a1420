use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(crate = dynamorator)]
struct Product {
    asin: String,
}

fn main() {}
