use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(l1(ttl_secs = 40000000000))]
struct Product {
    asin: String,
}

fn main() {}
