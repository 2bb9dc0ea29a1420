use std::cell::Cell;

use dynamorator::Cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_days = 1)]
struct Counter {
    hits: Cell<u32>,
}

fn main() {}
