#!/usr/bin/env python3
"""Pools the paired ratios (bench/ratios.py) of several proxy.sh or token-api.sh results taken
one after another with the same binary and settings, per row: the median, the range, and how
many repeats fell below 1.0× nginx's requests/s or above 1.1× its p99. With `--splits`, also
each tokenproxy run's `loop_split` (connections per loop, from /metrics halfway through the
run; proxy.sh records it). Use it to compare two builds or two settings with more repeats than
one script run holds:

    bench/pooled.py A=a1.json,a2.json,a3.json B=b1.json,b2.json,b3.json

A measurement tool, not a test (bench/README.md, "Placement").
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ratios import paired  # noqa: E402


def rows(files: list[str]) -> dict[tuple[str, int], dict[str, list]]:
    """(scheme, connections) -> the pooled rps and p99 ratios and the tokenproxy runs' splits."""
    pooled: dict[tuple[str, int], dict[str, list]] = {}
    for name in files:
        runs = json.loads(Path(name).read_text())["runs"]
        for key in sorted({(r.get("scheme", "unix"), r["connections"]) for r in runs}):
            row = [r for r in runs if (r.get("scheme", "unix"), r["connections"]) == key]
            entry = pooled.setdefault(key, {"rps": [], "p99": [], "splits": []})
            for field, out in (("rps", "rps"), ("p99_us", "p99")):
                pair = paired(row, field)
                entry[out] += pair["ratios"] if pair else []
            entry["splits"] += [r.get("loop_split", "?") for r in row if r["target"] == "tokenproxy"]
    return pooled


def describe(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main(argv: list[str]) -> int:
    show_splits = "--splits" in argv
    sets = [a for a in argv if a != "--splits"]
    if not sets or any("=" not in a for a in sets):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    print("| set | row | repeats | rps (paired) | below 1.0 | p99 (paired) | above 1.1 |")
    print("|---|---|---|---|---|---|---|")
    for label, _, names in (a.partition("=") for a in sets):
        for (scheme, connections), entry in sorted(rows(names.split(",")).items()):
            rps, p99 = entry["rps"], entry["p99"]
            if not rps:
                continue
            print(f"| {label} | {scheme} c={connections} | {len(rps)} | {describe(rps)}× "
                  f"| {sum(r < 1.0 for r in rps)} | {describe(p99)}× | {sum(p > 1.1 for p in p99)} |")
            if show_splits:
                print(f"|  | splits | {' '.join(entry['splits'])} |  |  |  |  |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
