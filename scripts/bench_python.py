"""The Python side of scripts/bench: times dynamorator 0.1.7 on data the Rust side loaded.

Usage: bench_python.py TABLE OP RUNS    (AWS_ENDPOINT_URL points at the server or the proxy)
Prints one JSON object: {"op": ..., "runs": [{"wall": s, "cpu": s, "items": n}, ...]}.
CPU is this process's user + system time (time.process_time), not the server's.
"""

import json
import sys
import time

from dynamorator import DynamoDBStore

SMALL = 10_000
LARGE = 1_000


def small_key(i):
    return f"small-{i:05}"


def large_key(i):
    return f"large-{i:04}"


def run(store, op):
    """Runs one measured pass of `op`; returns how many items it handled."""
    if op == "batch_get":
        found = store.batch_get([small_key(i) for i in range(SMALL)])
        assert len(found) == SMALL, len(found)
        return SMALL
    if op == "get":
        for i in range(1_000):
            assert store.get(small_key(i)) is not None
        return 1_000
    if op == "put":
        for i in range(1_000):
            store.put(f"put-{i:04}", {"i": i, "name": f"item {i}", "tags": ["a", "b"]}, ttl_days=1)
        return 1_000
    if op == "get_compressed":
        for i in range(LARGE):
            assert store.get(large_key(i)) is not None
        return LARGE
    raise SystemExit(f"unknown op {op}")


def main():
    table, op, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = DynamoDBStore(table_name=table, silent=True, compress=True, region_name="us-east-1")
    run(store, op)  # warm-up: connections, imports, first-call costs
    results = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        items = run(store, op)
        results.append({
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "items": items,
        })
    print(json.dumps({"op": op, "runs": results}))


if __name__ == "__main__":
    main()
