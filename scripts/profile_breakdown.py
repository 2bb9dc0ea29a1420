"""Where a profile's samples go, by part of the stack: reads `perf script` output on stdin and
prints each part's share of the samples. scripts/profile runs it on each operation's profile.

Each sample goes to the part of its innermost frame that names one (walking from the leaf to the
root); frames of no part (the allocator, memcpy, std) take their caller's. Samples whose leaf is
in the kernel are the kernel's (system calls, the scheduler, loopback TCP)."""

import re
import sys

PARTS = [
    ("SigV4 signing", r"aws_sigv4|aws_runtime::auth|sigv4"),
    ("endpoint resolution", r"endpoint_lib|resolve_endpoint|ResolveEndpoint|::endpoint::|endpoint_resolver"),
    ("credentials and identity", r"identity|credentials|IdentityCache|LazyCache"),
    ("response parse and decode (library)", r"dynamorator::backend::dynamodb::(response_json|item_fields|body_tap)|dynamorator::codec|serde_json::de"),
    ("request build (library and SDK serialisers)", r"dynamorator::backend::dynamodb::(attributes|batch_get_request|condition)|aws_sdk_dynamodb::protocol_serde|serde_json::ser|aws_smithy_json::serialize"),
    ("SDK deserialisers", r"aws_sdk_dynamodb::protocol_serde|aws_smithy_json::deserialize"),
    ("hyper and the connection pool", r"hyper::|hyper_util::|http_body|h2::"),
    ("runtime components and config bag", r"runtime_components|config_bag|type_erasure|RuntimePlugin|runtime_plugin"),
    ("orchestrator, interceptors, retries", r"aws_smithy_runtime|aws_runtime|aws_smithy_runtime_api|aws_sdk_dynamodb::"),
    ("tracing", r"^tracing|tracing_core"),
    ("tokio (scheduler, I/O driver, timers)", r"tokio::|mio::"),
    ("dynamorator (other)", r"dynamorator"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in PARTS]
FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def part_of(frames):
    if frames and "kernel" in frames[0][1]:
        return "kernel (system calls, scheduler, loopback TCP)"
    for symbol, _ in frames:
        for name, pattern in COMPILED:
            if pattern.search(symbol):
                return name
    return "other (allocator, std, unresolved)"


def samples(lines):
    frames = []
    for line in lines:
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        match = FRAME.match(line)
        if match:
            frames.append((match.group(1), match.group(2)))
    if frames:
        yield frames


def main():
    counts = {}
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        part = part_of(frames)
        counts[part] = counts.get(part, 0) + 1
    if total == 0:
        print("no samples")
        return
    for part, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"{100.0 * count / total:6.1f}%  {part}")
    print(f"({total} samples)")


if __name__ == "__main__":
    main()
