#!/usr/bin/env python3
"""Turns bench/proxy.sh's raw runs into the results tables, for people and machines.

Input: a JSON Lines file with one object per loadgen run (loadgen's line plus "target",
"scheme", "repeat" and "server_cpu_s"), and a JSON file of facts about the run, including the
1 GiB downloads. For every (scheme, connections, target) it keeps the median of the repeats,
separately for requests/s, p50 and p99, prints the tables and writes OUT.json (facts, medians,
every raw run) and OUT.md.

Run: proxy_summarize.py RUNS.jsonl META.json OUT_PREFIX
"""

from __future__ import annotations

import json
import statistics
import sys

from ratios import paired, spread, target_medians, turns

TARGETS = ("tokenproxy", "nginx", "upstream")
PINNED = ("Pinned: the proxies on CPU 0 (nginx with one worker), loadgen and the upstream "
          "(one worker) on CPU 1.")
UNPINNED = "Unpinned: everything shares every CPU (nginx `worker_processes auto`)."


def median_of(runs: list[dict]) -> dict:
    return {
        **target_medians(runs),
        # User space alone (older results lack it): where the servers differ at one connection.
        "user_us_per_request": round(statistics.median(
            r["server_user_s"] * 1e6 / r["requests"] for r in runs if r["requests"]), 1)
        if all("server_user_s" in r for r in runs) else None,
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def medians(runs: list[dict]) -> list[dict]:
    """One row per (scheme, connections): each target's medians and tokenproxy/nginx ratios."""
    rows = []
    for scheme, connections in sorted({(r["scheme"], r["connections"]) for r in runs}):
        row: dict = {"scheme": scheme, "connections": connections}
        for target in TARGETS:
            mine = [r for r in runs if (r["target"], r["scheme"], r["connections"])
                    == (target, scheme, connections)]
            if mine:
                row[target] = median_of(mine)
        tp, ng = row["tokenproxy"], row["nginx"]
        row["ratio_rps"] = ratio(tp["rps"], ng["rps"])
        row["ratio_p99"] = ratio(tp["p99_us"], ng["p99_us"])
        row["ratio_cpu"] = ratio(tp["cpu_us_per_request"], ng["cpu_us_per_request"])
        # Each repeat's own tokenproxy / nginx, whose median the goals read (bench/ratios.py).
        mine = [r for r in runs if (r["scheme"], r["connections"]) == (scheme, connections)]
        row["paired_rps"] = paired(mine, "rps")
        row["paired_p99"] = paired(mine, "p99_us")
        rows.append(row)
    return rows


def load_table(rows: list[dict]) -> list[list[str]]:
    cells = [["upstream", "conns", "tokenproxy rps", "p50 µs", "p99 µs", "nginx rps", "p50 µs",
              "p99 µs", "direct rps", "p50 µs", "p99 µs", "rps tp/nginx", "p99 tp/nginx",
              "paired rps", "paired p99",
              "CPU µs/req tp", "nginx", "CPU tp/nginx", "user µs/req tp", "nginx", "errors"]]
    for row in rows:
        cell = [row["scheme"], str(row["connections"])]
        for target in TARGETS:
            t = row.get(target)
            cell += ([f"{t['rps']:,.0f}", f"{t['p50_us']:.0f}", f"{t['p99_us']:.0f}"] if t
                     else ["-", "-", "-"])
        cell += [f"{row[k]:.2f}" if row[k] is not None else "-" for k in ("ratio_rps", "ratio_p99")]
        cell += [spread(row.get("paired_rps")), spread(row.get("paired_p99"))]
        cell += [f"{row['tokenproxy']['cpu_us_per_request']:.1f}",
                 f"{row['nginx']['cpu_us_per_request']:.1f}",
                 f"{row['ratio_cpu']:.2f}" if row["ratio_cpu"] is not None else "-"]
        cell += [f"{row[t]['user_us_per_request']:.1f}"
                 if row[t].get("user_us_per_request") is not None else "-"
                 for t in ("tokenproxy", "nginx")]
        cell += [str(sum(row[t]["errors"] for t in TARGETS if t in row))]
        cells.append(cell)
    return cells


def downloads(meta: dict) -> tuple[dict, list[list[str]]]:
    """Median MB/s and peak RSS per target for the 1 GiB download, and its table (empty when
    the downloads were skipped)."""
    result = {}
    if not meta["downloads"]:
        return result, []
    for target in TARGETS:
        mine = [d for d in meta["downloads"] if d["target"] == target]
        if mine:
            result[target] = {
                "mb_per_s": round(statistics.median(d["bytes_per_s"] for d in mine) / 1e6, 1),
                "peak_rss_kib": max(d["peak_rss_kib"] for d in mine),
                "repeats": len(mine),
            }
    tp, ng = result["tokenproxy"]["mb_per_s"], result["nginx"]["mb_per_s"]
    result["ratio_mb_per_s"] = ratio(tp, ng)
    cells = [["1 GiB download", "MB/s", "peak RSS KiB during transfer"]]
    names = {"tokenproxy": "tokenproxy", "nginx": "nginx proxy (master + workers)",
             "upstream": "direct from upstream"}
    for target in TARGETS:
        if target in result:
            cells.append([names[target], f"{result[target]['mb_per_s']:,.0f}",
                          f"{result[target]['peak_rss_kib']:,}"])
    cells.append(["tokenproxy / nginx", f"{result['ratio_mb_per_s']:.2f}",
                  f"{result['tokenproxy']['peak_rss_kib'] / result['nginx']['peak_rss_kib']:.2f}"])
    return result, cells


def markdown_table(cells: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---:|" * len(cells[0])]
    return lines + ["| " + " | ".join(row) + " |" for row in cells[1:]]


def plain(cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells)


def markdown(load: list[list[str]], download: list[list[str]], meta: dict) -> str:
    rss = meta["tokenproxy_rss_kib"]
    return "\n".join([
        f"# tokenproxy injecting proxy vs nginx — {meta['date']}",
        "",
        f"`{meta['command']}` at {meta['git_commit']} on {meta['cpu']} ({meta['cpus']} CPUs), "
        f"{meta['kernel']}; {meta['swift']}; nginx {meta['nginx_version']} with "
        f"{meta['nginx_workers']} workers as the injecting reverse proxy, and as the shared "
        f"upstream. tokenproxy with {meta.get('tokenproxy_event_loops') or '?'} event loops had "
        f"{meta['tokenproxy_threads_after_benchmark']} threads after the run. "
        f"{PINNED if meta.get('pinned') else UNPINNED} loadgen: closed loop, keep-alive, "
        f"one thread; {meta['seconds']} s per run, median "
        f"of {meta['repeats']} repeats, {turns(meta)}. Response body {meta['body_bytes']} "
        f"bytes. Load average (1/5/15 min) {meta['load_average_before']} before, "
        f"{meta['load_average_after']} after.",
        "",
        *markdown_table(load),
        "",
        "Latencies in microseconds. `direct` is loadgen against the upstream itself (http only: "
        "loadgen speaks no TLS). Ratios above 1 mean tokenproxy has more requests/s or a longer "
        "tail (p99) or more CPU per request. `paired`: each repeat's own tokenproxy / nginx, "
        "median (lowest–highest); the goals read its median (bench/ratios.py). CPU is user + "
        "system of the proxy's processes "
        "(/proc), per request served; `user` is the user-space part alone (clock ticks of "
        "10 ms: read it over runs of several seconds).",
        "",
        *(markdown_table(download) if download else ["(1 GiB downloads skipped)"]),
        "",
        "curl `-o /dev/null`, `%{speed_download}`, median of 2 (alternating); the upstream serves "
        "a sparse 1 GiB file from the page cache with sendfile. Peak RSS sampled every 50 ms "
        "during each transfer. tokenproxy VmRSS "
        f"{rss['before_download']} KiB before the downloads, {rss['after_download']} KiB after, "
        f"VmHWM {rss['peak_vmhwm']} KiB (whole run).",
        "",
    ])


def main() -> int:
    runs_path, meta_path, prefix = sys.argv[1:4]
    with open(runs_path) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    with open(meta_path) as f:
        meta = json.load(f)
    rows = medians(runs)
    load = load_table(rows)
    download_result, download = downloads(meta)
    print(plain(load))
    print()
    if download:
        print(plain(download))
    with open(prefix + ".json", "w") as f:
        json.dump({**meta, "results": rows, "download_results": download_result, "runs": runs},
                  f, indent=2)
        f.write("\n")
    with open(prefix + ".md", "w") as f:
        f.write(markdown(load, download, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
