use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(l1(max_megabytes = 64))]
struct Product {
    asin: String,
}

fn main() {}
