use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(crate = "dynamorater")]
struct Product {
    asin: String,
}

fn main() {}
