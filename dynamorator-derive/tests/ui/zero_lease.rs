use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_hours = 1, lease_secs = 0, lease_mins = 1, name = 7)]
struct Quote {
    price: u64,
}

fn main() {}
