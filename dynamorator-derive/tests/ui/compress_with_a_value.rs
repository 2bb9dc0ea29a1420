use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(compress = true)]
struct Product {
    asin: String,
}

fn main() {}
