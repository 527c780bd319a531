"""Paired ratios of tokenproxy to nginx (and each target's medians), shared by bench/summarize.py and
bench/proxy_summarize.py.

Each repeat loads tokenproxy and nginx in turns of 50 ms (`loadgen -i`, BENCH_INTERLEAVE_MS)
until each has had its seconds, or, with BENCH_INTERLEAVE_MS=0, back to back (the order
alternating), so the two runs of one repeat share whatever the machine was doing then. On this 2-vCPU VM that matters: a whole
repeat can run 20 % slow for both (run-2026-12-05-0133, pinned repeat 2). The ratio of each
repeat's pair cancels such a stretch; the ratio of two medians taken apart does not, since the
medians may come from different repeats. So the goal's verdict (bench/run_report.py) reads the
median of the paired ratios, and the spread (lowest and highest pair) says how far one run can
be trusted.
"""

from __future__ import annotations

import statistics


def turns(meta: dict) -> str:
    """How a repeat's two servers shared the time, for the results' header line."""
    interleave = meta.get("interleave_ms") or 0
    if interleave:
        gap = meta.get("turn_gap_ms") or 0
        pause = f", {gap:g} ms apart" if gap else ""
        return f"both servers loaded in turns of {interleave:g} ms{pause} within each repeat"
    return "the servers one after the other, the order alternating"


def paired(runs: list[dict], key: str, mine: str = "tokenproxy", theirs: str = "nginx") -> dict | None:
    """The median, lowest and highest of `mine[key] / theirs[key]` over the repeats that ran
    both targets (runs already filtered to one row: scheme and connection count), or None when
    no repeat has both."""
    by_repeat: dict[int, dict[str, float]] = {}
    for run in runs:
        if run["target"] in (mine, theirs):
            by_repeat.setdefault(run["repeat"], {})[run["target"]] = run[key]
    ratios = [pair[mine] / pair[theirs] for _, pair in sorted(by_repeat.items())
              if mine in pair and theirs in pair and pair[theirs]]
    if not ratios:
        return None
    return {"median": round(statistics.median(ratios), 3), "low": round(min(ratios), 3),
            "high": round(max(ratios), 3), "pairs": len(ratios),
            "ratios": [round(r, 3) for r in ratios]}


def spread(pair: dict | None) -> str:
    """A paired ratio for a table cell: `median (lowest–highest)`, or `-`."""
    return f"{pair['median']:.2f} ({pair['low']:.2f}–{pair['high']:.2f})" if pair else "-"


def target_medians(mine: list[dict]) -> dict:
    """One target's runs of one row: median rps, p50, p99 and CPU µs per request."""
    return {
        "rps": round(statistics.median(r["rps"] for r in mine), 1),
        "p50_us": statistics.median(r["p50_us"] for r in mine),
        "p99_us": statistics.median(r["p99_us"] for r in mine),
        "cpu_us_per_request": round(statistics.median(
            r["server_cpu_s"] * 1e6 / r["requests"] for r in mine if r["requests"]), 1),
        "errors": sum(r["errors"] for r in mine),
        "repeats": len(mine),
    }
