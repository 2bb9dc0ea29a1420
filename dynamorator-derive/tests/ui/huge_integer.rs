use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(l1(max_bytes = 99999999999999999999999))]
struct Product {
    asin: String,
}

fn main() {}
