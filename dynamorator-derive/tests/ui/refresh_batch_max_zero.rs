use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(refresh_batch_max = 0)]
struct Product {
    asin: String,
}

fn main() {}
