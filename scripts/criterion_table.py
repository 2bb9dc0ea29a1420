"""Prints criterion's latest medians (target/criterion/<group>/<bench>/new) as a markdown table.

Usage: python3 scripts/criterion_table.py GROUP_PREFIX...
"""

import json
import pathlib
import sys


def human(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def main():
    root = pathlib.Path("target/criterion")
    print("| benchmark | median |")
    print("|---|---|")
    for prefix in sys.argv[1:]:
        for estimates in sorted(root.glob(f"{prefix}*/**/new/estimates.json")):
            name = "/".join(estimates.parent.parent.relative_to(root).parts)
            median = json.loads(estimates.read_text())["median"]["point_estimate"]
            print(f"| {name} | {human(median)} |")


if __name__ == "__main__":
    main()
