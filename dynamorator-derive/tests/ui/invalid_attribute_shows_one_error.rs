use dynamorator::{Cached, Store};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Cached)]
#[cache(ttl_days = "seven")]
struct Product {
    asin: String,
}

fn main() {
    // No error below: an invalid #[cache(...)] still expands to a `Cached` impl.
    let store = Store::embedded();
    let _products = Product::cache(&store);
    let _config = Product::config();
}
