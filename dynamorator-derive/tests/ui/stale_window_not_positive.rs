use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(stale_hours = 0)]
struct Product {
    asin: String,
}

#[derive(Serialize, Deserialize, Cached)]
#[cache(stale_mins = -5)]
struct Offer {
    asin: String,
}

fn main() {}
