#!/usr/bin/env python3
"""Pools the paired ratios (bench/ratios.py) of several proxy.sh or token-api.sh results taken
one after another with the same binary and settings, per row: the median with its 95 %
confidence interval, the range, and how many repeats fell below 1.0× nginx's requests/s or
above 1.1× its p99. With `--splits`, also each tokenproxy run's `loop_split` (connections per
loop, from /metrics halfway through the run; proxy.sh records it). Use it to compare two builds
or two settings with more repeats than one script run holds:

    bench/pooled.py A=a1.json,a2.json,a3.json B=b1.json,b2.json,b3.json

A full run's JSON (`bench/run`'s `run-DATE.json`) counts as each of its load parts, its rows
named by part (`pinned/proxy http c=1`): pooling the runs of the same sources asks whether a
row that met its goal in some runs and missed it in others is ahead, behind or at parity:

    bench/pooled.py e7b8265=bench/results/run-2026-12-05-0623.json,...

A measurement tool, not a test (bench/README.md, "Placement").
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ratios import paired  # noqa: E402


def load_parts(name: str) -> list[tuple[str, list[dict]]]:
    """(prefix, raw runs) of one result file: a script's JSON is one part, a full run's is each
    of its parts that has raw runs (`pinned/proxy`, `unpinned/token-api`, …)."""
    data = json.loads(Path(name).read_text())
    if "runs" in data:
        return [("", data["runs"])]
    return [(f"{part} ", body["runs"]) for part, body in sorted(data.get("parts", {}).items())
            if isinstance(body, dict) and body.get("runs")]


def rows(files: list[str]) -> dict[tuple[str, int], dict[str, list]]:
    """(row name, connections) -> the pooled rps and p99 ratios and the tokenproxy runs' splits."""
    pooled: dict[tuple[str, int], dict[str, list]] = {}
    for name in files:
        for prefix, runs in load_parts(name):
            pool_part(pooled, prefix, runs)
    return pooled


def pool_part(pooled: dict[tuple[str, int], dict[str, list]], prefix: str, runs: list[dict]) -> None:
    # Paced runs (loadgen -r, with a "rate") answer at the offered rate, not as fast as they
    # can: no throughput ratio to pool.
    runs = [r for r in runs if "rate" not in r]
    # token-api.sh's runs have no scheme (a Unix socket); quickack.sh's neither (plain http).
    default = "http" if prefix.startswith("quickack") else "unix"
    for scheme, connections in sorted({(r.get("scheme", default), r["connections"]) for r in runs}):
        row = [r for r in runs if (r.get("scheme", default), r["connections"]) == (scheme, connections)]
        entry = pooled.setdefault((prefix + scheme, connections), {"rps": [], "p99": [], "splits": []})
        for field, out in (("rps", "rps"), ("p99_us", "p99")):
            pair = paired(row, field)
            entry[out] += pair["ratios"] if pair else []
        entry["splits"] += [r.get("loop_split", "?") for r in row if r["target"] == "tokenproxy"]


def median_interval(values: list[float]) -> tuple[float, float] | None:
    """A distribution-free 95 % confidence interval for the median: the order statistics k and
    n+1-k, with k the largest rank such that P(Binomial(n, ½) < k) ≤ 2.5 %. None below six
    values, where no such interval reaches 95 %."""
    n = len(values)
    ordered = sorted(values)
    below, k = 0.0, 0
    while True:
        below += math.comb(n, k) / 2**n
        if below > 0.025:
            break
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k >= 1 else None


def describe(values: list[float]) -> str:
    interval = median_interval(values)
    within = f", 95 % CI {interval[0]:.2f}–{interval[1]:.2f}" if interval else ""
    return f"{statistics.median(values):.2f}{within} ({min(values):.2f}–{max(values):.2f})"


def main(argv: list[str]) -> int:
    show_splits = "--splits" in argv
    sets = [a for a in argv if a != "--splits"]
    if not sets or any("=" not in a for a in sets):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    print("| set | row | repeats | rps (paired) | below 1.0 | p99 (paired) | above 1.1 |")
    print("|---|---|---|---|---|---|---|")
    for label, _, names in (a.partition("=") for a in sets):
        for (name, connections), entry in sorted(rows(names.split(",")).items()):
            rps, p99 = entry["rps"], entry["p99"]
            if not rps:
                continue
            print(f"| {label} | {name} c={connections} | {len(rps)} | {describe(rps)}× "
                  f"| {sum(r < 1.0 for r in rps)} | {describe(p99)}× | {sum(p > 1.1 for p in p99)} |")
            if show_splits:
                print(f"|  | splits | {' '.join(entry['splits'])} |  |  |  |  |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
