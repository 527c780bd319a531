#!/usr/bin/env python3
"""Turns bench/token-api.sh's raw loadgen runs into the results table, for people and machines.

Input: a JSON Lines file with one object per loadgen run (loadgen's own line plus "target" and
"repeat"), and a JSON file of facts about the run (machine, versions, start-up figures).
For every (target, connections) it keeps the median of the repeats, separately for requests/s,
p50 and p99, prints a table and writes OUT.json (facts, medians, every raw run) and OUT.md.
Paced runs (those with a "rate": loadgen -r, BENCH_RATES) get their own table: per rate, each
server's CPU time per request and share of a CPU at that steady load.

Run: summarize.py RUNS.jsonl META.json OUT_PREFIX
"""

from __future__ import annotations

import json
import statistics
import sys

from ratios import paired, spread, target_medians, turns

TARGETS = ("tokenproxy", "nginx")
PINNED = "Pinned: the servers on CPU 0 (nginx with one worker), loadgen on CPU 1."
UNPINNED = "Unpinned: servers and loadgen share every CPU (nginx `worker_processes auto`)."


def medians(runs: list[dict]) -> list[dict]:
    """One row per connection count: each target's median rps/p50/p99 and the ratios."""
    rows = []
    runs = [r for r in runs if "rate" not in r]
    for connections in sorted({run["connections"] for run in runs}):
        row: dict = {"connections": connections}
        for target in TARGETS:
            row[target] = target_medians(
                [r for r in runs if r["target"] == target and r["connections"] == connections])
        tp, ng = row["tokenproxy"], row["nginx"]
        row["ratio_rps"] = round(tp["rps"] / ng["rps"], 3) if ng["rps"] else None
        row["ratio_p99"] = round(tp["p99_us"] / ng["p99_us"], 3) if ng["p99_us"] else None
        # Each repeat's own tokenproxy / nginx, whose median the goals read (bench/ratios.py).
        mine = [r for r in runs if r["connections"] == connections]
        row["paired_rps"] = paired(mine, "rps")
        row["paired_p99"] = paired(mine, "p99_us")
        rows.append(row)
    return rows


def paced(runs: list[dict]) -> list[dict]:
    """One row per offered rate (paced runs only): each target's median achieved rps, p50,
    p99, CPU µs per request and CPU share (server CPU seconds over the run's seconds)."""
    rows = []
    for rate in sorted({r["rate"] for r in runs if "rate" in r}):
        row: dict = {"rate": rate}
        for target in TARGETS:
            mine = [r for r in runs if r.get("rate") == rate and r["target"] == target]
            row[target] = target_medians(mine)
            row[target]["cpu_percent"] = round(statistics.median(
                100 * r["server_cpu_s"] / r["seconds"] for r in mine if r["seconds"]), 1)
        tp, ng = row["tokenproxy"]["cpu_us_per_request"], row["nginx"]["cpu_us_per_request"]
        row["ratio_cpu"] = round(tp / ng, 2) if ng else None
        rows.append(row)
    return rows


def paced_table(rows: list[dict]) -> list[list[str]]:
    cells = [["offered rps", "tokenproxy rps", "p99 µs", "CPU µs/request", "CPU %",
              "nginx rps", "p99 µs", "CPU µs/request", "CPU %", "CPU tp/nginx"]]
    for row in rows:
        tp, ng = row["tokenproxy"], row["nginx"]
        cells.append([
            f"{row['rate']:,.0f}",
            f"{tp['rps']:,.0f}", f"{tp['p99_us']:.0f}", f"{tp['cpu_us_per_request']:.1f}",
            f"{tp['cpu_percent']:.1f}",
            f"{ng['rps']:,.0f}", f"{ng['p99_us']:.0f}", f"{ng['cpu_us_per_request']:.1f}",
            f"{ng['cpu_percent']:.1f}",
            f"{row['ratio_cpu']:.2f}" if row["ratio_cpu"] is not None else "-",
        ])
    return cells


def table(rows: list[dict]) -> list[list[str]]:
    """The table as text cells, header first."""
    cells = [[
        "connections", "tokenproxy rps", "p50 µs", "p99 µs",
        "nginx rps", "p50 µs", "p99 µs", "rps tp/nginx", "p99 tp/nginx", "paired rps",
        "paired p99",
    ]]
    for row in rows:
        tp, ng = row["tokenproxy"], row["nginx"]
        cells.append([
            str(row["connections"]),
            f"{tp['rps']:,.0f}", f"{tp['p50_us']:.0f}", f"{tp['p99_us']:.0f}",
            f"{ng['rps']:,.0f}", f"{ng['p50_us']:.0f}", f"{ng['p99_us']:.0f}",
            f"{row['ratio_rps']:.2f}" if row["ratio_rps"] is not None else "-",
            f"{row['ratio_p99']:.2f}" if row["ratio_p99"] is not None else "-",
            spread(row.get("paired_rps")), spread(row.get("paired_p99")),
        ])
    return cells


def cpu_table(rows: list[dict]) -> list[list[str]]:
    """Server CPU time (user + system, from /proc) per request: efficiency apart from loadgen."""
    cells = [["connections", "tokenproxy CPU µs/request", "nginx CPU µs/request", "tp/nginx"]]
    for row in rows:
        tp = row["tokenproxy"]["cpu_us_per_request"]
        ng = row["nginx"]["cpu_us_per_request"]
        cells.append([str(row["connections"]), f"{tp:.1f}", f"{ng:.1f}",
                      f"{tp / ng:.1f}" if ng else "-"])
    return cells


def markdown_table(cells: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---:|" * len(cells[0])]
    return lines + ["| " + " | ".join(row) + " |" for row in cells[1:]]


def plain(cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells)


def markdown(cells: list[list[str]], cpu: list[list[str]], meta: dict,
             pace: list[list[str]] | None = None) -> str:
    start = meta.get("startup", {})
    facts = [
        f"# tokenproxy token API vs nginx — {meta['date']}",
        "",
        f"`{meta['command']}` at {meta['git_commit']} on {meta['cpu']} "
        f"({meta['cpus']} CPUs), {meta['kernel']}; {meta['swift']}; nginx {meta['nginx_version']} "
        f"with {meta['nginx_workers']} workers (tokenproxy with "
        f"{meta.get('tokenproxy_event_loops') or '?'} event loops had "
        f"{meta['tokenproxy_threads_after_benchmark']} threads after the run). "
        f"{PINNED if meta.get('pinned') else UNPINNED} loadgen: closed loop, "
        f"keep-alive, one thread; {meta['seconds']} s per run, "
        f"median of {meta['repeats']} repeats, {turns(meta)}. Response body "
        f"{meta['body_bytes']} bytes from both. Load average (1/5/15 min) "
        f"{meta['load_average_before']} before the measurements, {meta['load_average_after']} "
        f"after: other work on the machine shifts absolute numbers.",
        "",
        *markdown_table(cells),
        "",
        "Latencies in microseconds. Ratios above 1 mean tokenproxy has more requests/s "
        "(rps) or a longer tail (p99). `paired`: each repeat's own tokenproxy / nginx, median "
        "(lowest–highest); the goals read its median (bench/ratios.py).",
        "",
        *markdown_table(cpu),
        "",
        "Server CPU time (user + system of all its processes, from /proc) per request served, "
        "median of the repeats.",
        "",
        *(["Paced (loadgen -r, one server after the other, "
           f"{meta.get('rate_connections')} connections): each server's CPU time at a steady "
           "load below its capacity; CPU % of one CPU over the run.", "",
           *markdown_table(pace), ""] if pace and len(pace) > 1 else []),
        "| start-up | value |",
        "|---|---:|",
        f"| exec → READY=1 | {start.get('ready_ms')} ms |",
        f"| exec → first token served (includes the fetch from the Python test IdP) "
        f"| {start.get('first_token_ms')} ms |",
        f"| VmRSS idle after start-up | {meta['rss_kib']['after_startup']} KiB |",
        f"| VmRSS idle after the benchmark | {meta['rss_kib']['after_benchmark']} KiB |",
        f"| VmHWM (peak RSS) after the benchmark | {meta['rss_kib']['peak']} KiB |",
        "",
    ]
    return "\n".join(facts)


def main() -> int:
    runs_path, meta_path, prefix = sys.argv[1:4]
    with open(runs_path) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    with open(meta_path) as f:
        meta = json.load(f)
    rows = medians(runs)
    cells = table(rows)
    cpu = cpu_table(rows)
    paced_rows = paced(runs)
    pace = paced_table(paced_rows)
    print(plain(cells))
    print()
    print(plain(cpu))
    if paced_rows:
        print()
        print(plain(pace))
    with open(prefix + ".json", "w") as f:
        json.dump({**meta, "results": rows, "paced": paced_rows, "runs": runs}, f, indent=2)
        f.write("\n")
    with open(prefix + ".md", "w") as f:
        f.write(markdown(cells, cpu, meta, pace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
