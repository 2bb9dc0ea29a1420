use dynamorator::Cached;

#[derive(Cached)]
#[cache(ttl_days = 1)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
