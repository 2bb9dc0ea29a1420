use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(l1(max_bytes = 1048576))]
struct Product {
    asin: String,
}

fn main() {}
