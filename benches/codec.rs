//! The codec alone: encode and decode of 100 B, 1 KB, 10 KB and 100 KB JSON values, plain and
//! compressed (gzip + base64). `benches/compression.rs` compares gzip with zstd.
//!
//!     cargo bench --bench codec                          # zlib-rs, the default gzip backend
//!     cargo bench --bench codec --no-default-features    # miniz_oxide

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dynamorator::__bench::{Form, decode, encode};
use serde_json::{Value, json};

/// A JSON value of about `bytes` bytes, shaped like an API response (repetitive, so it
/// compresses as real ones do).
fn value_of(bytes: usize) -> Value {
    let rows = (bytes / 70).max(1);
    json!({
        "rows": (0..rows).map(|i| json!({"id": i, "name": format!("item {i}"), "ok": i % 2 == 0}))
            .collect::<Vec<_>>()
    })
}

fn codec(c: &mut Criterion) {
    for (label, bytes) in [
        ("100B", 100),
        ("1KB", 1_000),
        ("10KB", 10_000),
        ("100KB", 100_000),
    ] {
        let value = value_of(bytes);
        let size = serde_json::to_string(&value).map_or(bytes, |s| s.len());
        let mut group = c.benchmark_group(format!("codec_{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        for (name, form) in [("plain", Form::Json), ("compressed", Form::Gzip)] {
            group.bench_function(BenchmarkId::new("encode", name), |b| {
                b.iter(|| black_box(encode(black_box(&value), form)))
            });
            let Ok(encoded) = encode(&value, form) else {
                panic!("the value encodes");
            };
            group.bench_function(BenchmarkId::new("decode", name), |b| {
                b.iter(|| black_box(decode::<Value>(black_box(&encoded))))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
