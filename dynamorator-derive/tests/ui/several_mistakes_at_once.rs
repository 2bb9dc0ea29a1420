use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_days = 0, prefix = 1, colour = "blue")]
struct Product {
    asin: String,
}

fn main() {}
