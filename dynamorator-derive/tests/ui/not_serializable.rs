use dynamorator::Cached;

#[derive(Cached)]
#[cache(ttl_days = 1)]
struct Product {
    asin: String,
}

fn main() {}
