"""The Python side of scripts/bench-cold-start: one fresh interpreter's way to its first answer.

Usage: cold_start_python.py TABLE KEY    (AWS_ENDPOINT_URL points at the server)
Prints one JSON object of seconds since this script began: after `import dynamorator`, after
the constructor (a boto3 client and a DescribeTable), after the first `get` answered. The time
before the script began (the interpreter's own start) is in the driver's wall time, not here.
"""

import json
import sys
import time

began = time.perf_counter()

from dynamorator import DynamoDBStore  # noqa: E402  (the import is what is timed)

imported = time.perf_counter()


def main():
    table, key = sys.argv[1], sys.argv[2]
    store = DynamoDBStore(table_name=table, silent=True, region_name="us-east-1")
    built = time.perf_counter()
    value = store.get(key)
    answered = time.perf_counter()
    assert value is not None, f"{key} not found in {table}"
    print(json.dumps({
        "import": imported - began,
        "build": built - began,
        "get": answered - began,
    }), flush=True)


if __name__ == "__main__":
    main()
