"""scripts/bench-embedded-file's orchestrator: the embedded file against Python's diskcache.

For each value size (JSON of about 100 B, 1 KB and 10 KB) and for 1 and 4 processes on one
file: every process writes its own range of keys one call at a time (`set`), then fresh
processes read them back (`get`, values decoded); a rate is all the calls of a phase over the
time from the first process's start to the last one's end. Then a file of 100,000 items of
1 KB: its size on disk, and the time a fresh process takes to open it and answer one get.

Both sides run the same way: worker processes started beside each other, told to start by a
file, each printing its start, end and call count. The Rust workers are bench-file (built by
the script); the Python ones are this file run again as `worker`.

    python bench_file.py measure --rust target/release/bench-file [--ops 10000] [--out F]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SIZES = [("100 B", 100), ("1 KB", 1024), ("10 KB", 10 * 1024)]


def value_text(size):
    """A JSON object of about `size` bytes, shaped like an API response."""
    base = {"id": 12345, "name": "Widget", "active": True, "price": 19.99,
            "tags": ["a", "b", "c"], "text": ""}
    overhead = len(json.dumps(base, separators=(",", ":")))
    base["text"] = "lorem ipsum " * max(0, (size - overhead) // 12)
    return json.dumps(base, separators=(",", ":"))


def python_worker(args):
    import diskcache
    value = json.loads(open(args.value).read())
    if args.role == "open":
        started = time.perf_counter()
        cache = diskcache.Cache(args.file)
        first = cache.get("k0")
        seconds = time.perf_counter() - started
        assert first is not None
        print(json.dumps({"open_seconds": seconds}), flush=True)
        return
    cache = diskcache.Cache(args.file)
    keys = ["k%d" % i for i in range(args.offset, args.offset + args.ops)]
    print("ready", flush=True)
    if args.go:
        for _ in range(60000):
            if os.path.exists(args.go):
                break
            time.sleep(0.001)
    start = time.time()
    found = 0
    if args.role == "set":
        for key in keys:
            cache.set(key, value, expire=3600)
    else:
        for key in keys:
            read = cache.get(key)
            found += read == value
    end = time.time()
    print(json.dumps({"start": start, "end": end, "ops": len(keys), "found": found}), flush=True)


def run_phase(command_of, processes, ops, go):
    """Starts `processes` workers, lets them go together, returns calls per second."""
    workers = [subprocess.Popen(command_of(i * ops), stdout=subprocess.PIPE, text=True)
               for i in range(processes)]
    for worker in workers:
        line = worker.stdout.readline().strip()
        assert line == "ready", line
    open(go, "w").close()
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, worker.returncode
        results.append(json.loads(out.strip().splitlines()[-1]))
    os.remove(go)
    total = sum(r["ops"] for r in results)
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return total / seconds, results


def size_of(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f))
                   for d, _, files in os.walk(path) for f in files)
    return sum(os.path.getsize(p) for p in [path, path + "-wal", path + "-shm"]
               if os.path.exists(p))


def measure(args):
    work = tempfile.mkdtemp(prefix="dynamorator-bench-file-",
                            dir=os.environ.get("DYNAMORATOR_BENCH_DIR"))
    me = os.path.abspath(__file__)
    sides = {
        "dynamorator": lambda file, role, value, offset, ops, go: [
            args.rust, "--file", file, "--role", role, "--value", value,
            "--offset", str(offset), "--ops", str(ops)] + (["--go", go] if go else []),
        "diskcache": lambda file, role, value, offset, ops, go: [
            sys.executable, me, "worker", "--file", file, "--role", role, "--value", value,
            "--offset", str(offset), "--ops", str(ops)] + (["--go", go] if go else []),
    }
    rows = []
    try:
        for label, size in SIZES:
            value = os.path.join(work, "value-%d.json" % size)
            with open(value, "w") as f:
                f.write(value_text(size))
            for processes in (1, 4):
                row = {"size": label, "processes": processes}
                for side, command in sides.items():
                    file = os.path.join(work, "%s-%d-%d" % (side, size, processes))
                    if side == "dynamorator":
                        file += ".db"
                    go = os.path.join(work, "go")
                    per = args.ops // processes
                    set_rate, _ = run_phase(
                        lambda offset: command(file, "set", value, offset, per, go),
                        processes, per, go)
                    get_rate, results = run_phase(
                        lambda offset: command(file, "get", value, offset, per, go),
                        processes, per, go)
                    found = sum(r["found"] for r in results)
                    assert found == per * processes, (side, found)
                    row[side] = {"set": set_rate, "get": get_rate}
                    print("%s %s x%d: set %.0f/s, get %.0f/s" % (
                        side, label, processes, set_rate, get_rate), file=sys.stderr)
                    if os.path.isdir(file):
                        shutil.rmtree(file)
                    else:
                        for p in [file, file + "-wal", file + "-shm"]:
                            if os.path.exists(p):
                                os.remove(p)
                rows.append(row)
        # 100,000 items of 1 KB: file size and a fresh process's open plus first get.
        value = os.path.join(work, "value-1024.json")
        opened = {}
        for side, command in sides.items():
            file = os.path.join(work, side + "-open" + (".db" if side == "dynamorator" else ""))
            go = os.path.join(work, "go")
            run_phase(lambda offset: command(file, "set", value, offset, 25_000, go),
                      4, 25_000, go)
            times = []
            for _ in range(5):
                out = subprocess.run(command(file, "open", value, 0, 1, None),
                                     capture_output=True, text=True, check=True).stdout
                times.append(json.loads(out.strip().splitlines()[-1])["open_seconds"])
            opened[side] = {"open_ms": sorted(times)[len(times) // 2] * 1000,
                            "bytes": size_of(file)}
            print("%s open at 100,000 items: %.1f ms, %d bytes" % (
                side, opened[side]["open_ms"], opened[side]["bytes"]), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = ["| value | processes | dynamorator set/s | diskcache set/s | set ratio |"
             " dynamorator get/s | diskcache get/s | get ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        d, p = row["dynamorator"], row["diskcache"]
        lines.append("| %s | %d | %s | %s | **%.1f×** | %s | %s | **%.1f×** |" % (
            row["size"], row["processes"], "{:,.0f}".format(d["set"]),
            "{:,.0f}".format(p["set"]), d["set"] / p["set"], "{:,.0f}".format(d["get"]),
            "{:,.0f}".format(p["get"]), d["get"] / p["get"]))
    lines.append("")
    lines.append("| 100,000 items of 1 KB | dynamorator | diskcache |")
    lines.append("|---|---:|---:|")
    lines.append("| open + first get (median of 5, fresh process) | %.1f ms | %.1f ms |" % (
        opened["dynamorator"]["open_ms"], opened["diskcache"]["open_ms"]))
    lines.append("| on disk | %.1f MB | %.1f MB |" % (
        opened["dynamorator"]["bytes"] / 1e6, opened["diskcache"]["bytes"] / 1e6))
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--rust", required=True)
    m.add_argument("--ops", type=int, default=10000)
    m.add_argument("--out")
    w = sub.add_parser("worker")
    w.add_argument("--file", required=True)
    w.add_argument("--role", choices=["set", "get", "open"], required=True)
    w.add_argument("--value", required=True)
    w.add_argument("--offset", type=int, default=0)
    w.add_argument("--ops", type=int, default=10000)
    w.add_argument("--go")
    args = parser.parse_args()
    if args.mode == "measure":
        measure(args)
    else:
        python_worker(args)


if __name__ == "__main__":
    main()
