//! Compression of API-response JSON of about 1 KB, 10 KB and 100 KB: stored bytes, encode and
//! decode time, plain JSON against gzip + base64 (the Python package's form) and zstd in a
//! binary attribute, and what the sizes cost in DynamoDB's write and read units.
//!
//!     cargo bench --bench compression
//!
//! The size table (deterministic) is printed first; criterion then times encode (value →
//! item) and decode (item → `serde_json::Value`) for each form.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dynamorator::__bench::{Encoded, Form, decode, encode};
use serde_json::{Value, json};

/// The forms compared: the Python package's two, and zstd at its default level and at 19.
const FORMS: [(&str, Form); 4] = [
    ("plain", Form::Json),
    ("gzip+base64", Form::Gzip),
    ("zstd-3", Form::Zstd(3)),
    ("zstd-19", Form::Zstd(19)),
];

const SIZES: [(&str, usize); 3] = [("1KB", 1_000), ("10KB", 10_000), ("100KB", 100_000)];

/// A page of orders as an API returns them, of about `bytes` bytes of JSON: ids, names,
/// e-mail addresses, timestamps, prices and URLs, varied by a seeded generator so it
/// compresses like real responses do, not like a repeated row.
fn api_response(bytes: usize) -> Value {
    let mut rng = fastrand::Rng::with_seed(7);
    let first = [
        "Ana", "Bo", "Chen", "Dara", "Emil", "Fatou", "Goran", "Hana",
    ];
    let last = [
        "Silva", "Novak", "Okafor", "Larsen", "Ito", "Moreau", "Kaya",
    ];
    let statuses = ["pending", "paid", "shipped", "delivered", "refunded"];
    let mut orders = Vec::new();
    let mut page = json!({});
    while page.to_string().len() < bytes {
        let id = rng.u64(..);
        let name = format!(
            "{} {}",
            rng.choice(first).unwrap_or(""),
            rng.choice(last).unwrap_or("")
        );
        let lines: Vec<Value> = (0..rng.usize(1..4))
            .map(|_| {
                json!({
                    "sku": format!("SKU-{:05}", rng.u32(..100_000)),
                    "quantity": rng.u8(1..5),
                    "unit_price": f64::from(rng.u32(100..20_000)) / 100.0,
                })
            })
            .collect();
        orders.push(json!({
            "id": format!("{id:016x}"),
            "status": rng.choice(statuses).unwrap_or(""),
            "created_at": format!("2026-{:02}-{:02}T{:02}:{:02}:{:02}Z", rng.u8(1..13), rng.u8(1..29), rng.u8(..24), rng.u8(..60), rng.u8(..60)),
            "customer": {
                "id": rng.u32(..1_000_000),
                "name": name,
                "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
            },
            "lines": lines,
            "total": f64::from(rng.u32(100..100_000)) / 100.0,
            "url": format!("https://api.example.com/v1/orders/{id:016x}"),
        }));
        page = json!({"orders": orders, "page": 1, "has_more": true});
    }
    page
}

/// DynamoDB's write units for an item of `bytes`: one per KB, rounded up.
fn write_units(bytes: usize) -> usize {
    bytes.div_ceil(1024)
}

/// DynamoDB's read units for an eventually consistent read of an item of `bytes`: half a
/// unit per 4 KB, rounded up (BatchGetItem rounds each item on its own).
fn read_units(bytes: usize) -> f64 {
    bytes.div_ceil(4096) as f64 / 2.0
}

fn print_sizes() {
    println!("| value | form | stored item | vs plain | write units | read units (eventual) |");
    println!("|---|---|---|---|---|---|");
    for (label, bytes) in SIZES {
        let value = api_response(bytes);
        let mut plain = 0;
        for (name, form) in FORMS {
            let Ok(encoded) = encode(&value, form) else {
                panic!("the value encodes");
            };
            let stored = encoded.stored_bytes();
            if matches!(form, Form::Json) {
                plain = stored;
            }
            println!(
                "| {label} ({} B of JSON) | {name} | {stored} B | {:.0} % | {} | {} |",
                value.to_string().len(),
                100.0 * stored as f64 / plain as f64,
                write_units(stored),
                read_units(stored),
            );
        }
    }
    println!();
}

fn compression(c: &mut Criterion) {
    print_sizes();
    for (label, bytes) in SIZES {
        let value = api_response(bytes);
        let size = value.to_string().len();
        let mut group = c.benchmark_group(format!("compression_{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        for (name, form) in FORMS {
            group.bench_function(BenchmarkId::new("encode", name), |b| {
                b.iter(|| black_box(encode(black_box(&value), form)))
            });
            let Ok(encoded): Result<Encoded, _> = encode(&value, form) else {
                panic!("the value encodes");
            };
            group.bench_function(BenchmarkId::new("decode", name), |b| {
                b.iter(|| black_box(decode::<Value>(black_box(&encoded))))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, compression);
criterion_main!(benches);
