#!/usr/bin/env python3
"""bench/run's one table: every part's results side by side with nginx, the ratio, and the
goal from issue 8 next to each, with whether it is met.

Input: the directory bench/run filled (PARTS): unpinned/ and pinned/ token-api.json and
proxy.json, guard.json, fanin.json, footprint.json, quickack.json, callgrind-*.txt, and
meta.json (commit, machine, knobs, which parts failed). A part that is missing (skipped or
failed) leaves its rows out and is named under the table. Writes OUT.md and OUT.json and
prints the Markdown.

Run: run_report.py PARTS OUT_PREFIX
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ratios import turns

MIB = 1024


def load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}×" if value is not None else "—"


def pair_range(pair: dict | None) -> str:
    """` (lowest–highest of N)` of a paired ratio: how far one repeat strayed."""
    return (f" ({pair['low']:.2f}–{pair['high']:.2f} of {pair['pairs']})"
            if pair and pair["pairs"] > 1 else "")


def met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def rps_text(t: dict) -> str:
    return (f"{t['rps']:,.0f} rps · p50 {t['p50_us']:,.0f} / p99 {t['p99_us']:,.0f} µs · "
            f"{t['cpu_us_per_request']:.1f} CPU µs/req")


class Table:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, what: str, tp_text: str, nginx_text: str, ratio_text: str, goal: str,
            ok: bool | None, **data: object) -> None:
        self.rows.append({"measurement": what, "tokenproxy": tp_text, "nginx": nginx_text,
                          "ratio": ratio_text, "goal": goal, "met": met(ok), "data": data})

    def load_rows(self, label: str, results: list[dict], p99_limit: float, mode: str,
                  scheme: str | None = None) -> None:
        """One row per connection count: rps, latency and CPU; goal rps ≥ 1.0×, p99 ≤ limit."""
        for row in results:
            if scheme is not None and row.get("scheme") != scheme:
                continue
            tp, ng = row["tokenproxy"], row["nginx"]
            # The median of each repeat's own ratio (bench/ratios.py: it cancels a stretch
            # that slowed both targets of one repeat), with its spread; results written
            # before the pairs were recorded fall back to the ratio of the medians.
            pair_rps, pair_p99 = row.get("paired_rps"), row.get("paired_p99")
            r_rps = pair_rps["median"] if pair_rps else ratio(tp["rps"], ng["rps"])
            r_p99 = pair_p99["median"] if pair_p99 else ratio(tp["p99_us"], ng["p99_us"])
            r_cpu = ratio(tp["cpu_us_per_request"], ng["cpu_us_per_request"])
            errors = tp.get("errors", 0) + ng.get("errors", 0)
            ok = (r_rps is not None and r_p99 is not None and r_rps >= 1.0
                  and r_p99 <= p99_limit and errors == 0)
            self.add(f"{label} c={row['connections']} {mode}", rps_text(tp), rps_text(ng),
                     f"rps {fmt_ratio(r_rps)}{pair_range(pair_rps)} · p99 {fmt_ratio(r_p99)}"
                     f"{pair_range(pair_p99)} · CPU {fmt_ratio(r_cpu)}"
                     + (f" · {errors} errors" if errors else ""),
                     f"rps ≥ 1.0×, p99 ≤ {p99_limit:.1f}×", ok, ratio_rps=r_rps, ratio_p99=r_p99,
                     ratio_cpu=r_cpu, paired_rps=pair_rps, paired_p99=pair_p99,
                     ratio_of_medians_rps=ratio(tp["rps"], ng["rps"]),
                     ratio_of_medians_p99=ratio(tp["p99_us"], ng["p99_us"]), tokenproxy=tp,
                     nginx=ng)

    def paced_rows(self, label: str, results: list[dict], mode: str) -> None:
        """One row per offered rate (BENCH_RATES, loadgen -r): each server's CPU at a steady
        load below its capacity — what a loop's polling costs where it buys no throughput.
        No goal: a measure of the price of `api.busy_poll_us`, next to the rows it wins."""
        for row in results:
            tp, ng = row["tokenproxy"], row["nginx"]
            r_cpu = ratio(tp["cpu_us_per_request"], ng["cpu_us_per_request"])
            text = lambda t: (f"{t['rps']:,.0f} rps · p99 {t['p99_us']:,.0f} µs · "  # noqa: E731
                              f"{t['cpu_us_per_request']:.1f} CPU µs/req · "
                              f"{t['cpu_percent']:.0f} % of a CPU")
            self.add(f"{label} paced at {row['rate']:,.0f} requests/s {mode}", text(tp), text(ng),
                     f"CPU {fmt_ratio(r_cpu)} · p99 {fmt_ratio(ratio(tp['p99_us'], ng['p99_us']))}",
                     "— (the poll's price at a steady load)", None, ratio_cpu=r_cpu,
                     tokenproxy=tp, nginx=ng, rate=row["rate"])


def build(parts: Path) -> tuple[Table, list[str]]:
    table, notes = Table(), []
    for mode in ("unpinned", "pinned"):
        api = load(parts / mode / "token-api.json")
        if api:
            table.load_rows("token API", api["results"], 1.0, mode)
            table.paced_rows("token API", api.get("paced", []), mode)
            notes.append(f"token API {mode}: tokenproxy ran {api.get('tokenproxy_event_loops')} "
                         f"event loop(s), nginx {api['nginx_workers']} worker(s)")
    for mode in ("unpinned", "pinned"):
        proxy = load(parts / mode / "proxy.json")
        if proxy:
            table.load_rows("proxy http", proxy["results"], 1.1, mode, scheme="http")
            table.load_rows("proxy https upstream", proxy["results"], 1.1, mode, scheme="https")
            notes.append(f"proxy {mode}: tokenproxy ran {proxy.get('tokenproxy_event_loops')} "
                         f"event loop(s), nginx {proxy['nginx_workers']} worker(s)")
    guard = load(parts / "guard.json")
    if guard:
        for row in guard["rows"]:
            g, i = row["guard"], row["inject"]
            table.add(f"guard route (introspection, warm cache) c={row['connections']}",
                      f"{g['rps']:,.0f} rps · p99 {g['p99_us']:,.0f} µs · "
                      f"{g['cpu_us_per_request']:.1f} CPU µs/req", "—",
                      f"{fmt_ratio(ratio(g['rps'], i['rps']))} of the inject-only route", "—",
                      None, guard=g, inject=i)
        table.add("guard: IdP introspections per 10,000 guarded requests",
                  f"{guard['idp_requests_per_10000_guarded']:.3f}", "—", "—", "—", None)
    proxy = load(parts / "unpinned" / "proxy.json")
    downloads = proxy.get("download_results") if proxy else None
    if downloads:
        tp, ng = downloads["tokenproxy"], downloads["nginx"]
        before = proxy["tokenproxy_rss_kib"]["before_download"]
        growth = tp["peak_rss_kib"] - before
        r = ratio(tp["mb_per_s"], ng["mb_per_s"])
        table.add("1 GiB through the proxy (unpinned)",
                  f"{tp['mb_per_s']:,.0f} MB/s · peak RSS {tp['peak_rss_kib'] / MIB:.1f} MiB "
                  f"({growth / MIB:+.1f} over before)",
                  f"{ng['mb_per_s']:,.0f} MB/s · peak RSS {ng['peak_rss_kib'] / MIB:.1f} MiB",
                  f"MB/s {fmt_ratio(r)}", "≥ 0.9×, RSS flat (≤ +8 MiB)",
                  r is not None and r >= 0.9 and growth <= 8 * MIB, tokenproxy=tp, nginx=ng,
                  rss_growth_kib=growth)
    footprint = load(parts / "footprint.json")
    if footprint:
        idle = footprint["idle"]
        nginx = footprint.get("nginx") or {}
        ng_idle = nginx.get("idle")
        table.add("idle RSS (one token cached)",
                  f"{idle['rss_kib'] / MIB:.1f} MiB (anon {idle['rss_anon_kib'] / MIB:.1f}, file "
                  f"{idle['rss_file_kib'] / MIB:.1f}) · {idle['threads']} threads",
                  f"{ng_idle['rss_kib'] / MIB:.1f} MiB (anon {ng_idle['rss_anon_kib'] / MIB:.1f}, "
                  f"file {ng_idle['rss_file_kib'] / MIB:.1f}; {nginx['processes']} processes)"
                  if ng_idle else "—",
                  fmt_ratio(ratio(idle["rss_kib"], ng_idle["rss_kib"])) if ng_idle else "—",
                  "≤ 12 MiB", idle["rss_kib"] <= 12 * MIB, idle=idle, nginx=ng_idle)
        served, quiet = footprint.get("idle_after_requests"), footprint.get("quiet_after_requests")
        if served and quiet:
            table.add("RSS after 100 token requests: 2 s later · once quiet",
                      f"{served['rss_kib'] / MIB:.1f} MiB · {quiet['rss_kib'] / MIB:.1f} MiB "
                      f"({quiet['seconds']:g} s, file {quiet['rss_file_kib'] / MIB:.1f})", "—", "—",
                      "≤ 12 MiB once quiet", quiet["rss_kib"] <= 12 * MIB, served=served,
                      quiet=quiet)
        for key, label in (("idle_connections_api", "token API"),
                           ("idle_connections_proxy", "proxy")):
            c = footprint.get(key)
            if not c:
                continue
            per = c["rss_per_held_connection_bytes"]
            ok = (per is not None and per <= 4096 and c["threads"] <= idle["threads"] + 2
                  and c["held_by_daemon"] >= 0.99 * c["requested"])
            n = nginx.get(key)
            n_per = n["rss_per_held_connection_bytes"] if n else None
            table.add(f"{c['requested']:,} idle connections, {label}",
                      f"{c['held_by_daemon']:,} held · {per if per is not None else '—'} B RSS "
                      f"per connection · {c['threads']} threads (idle {idle['threads']})",
                      f"{n['held_by_daemon']:,} held · {n_per} B RSS per connection "
                      f"({'Unix socket' if key.endswith('api') else 'TCP'})" if n else "—",
                      fmt_ratio(ratio(per, n_per)), "≤ 4 KiB per connection, threads do not grow",
                      ok, tokenproxy=c, nginx=n)
        ready = footprint["ready_ms"]
        table.add("exec → READY=1 (median)",
                  f"{ready['median']} ms (min {ready['min']}, max {ready['max']}, "
                  f"{ready['runs']} runs)", "—", "—", "≤ 50 ms", ready["median"] <= 50, **ready)
    fanin = load(parts / "fanin.json")
    if fanin:
        ok = (fanin["idp_token_requests"] == 1 and fanin["statuses"] == {"200": fanin["callers"]}
              and fanin["distinct_tokens"] == 1)
        table.add(f"cold-start fan-in: {fanin['callers']:,} callers, token not fetched yet",
                  f"{fanin['idp_token_requests']} IdP request(s) · all answered "
                  f"{fanin['all_answered_ms']} ms after the first request (IdP held "
                  f"{fanin['idp_delay_s']:g} s) · first → last answer "
                  f"{fanin['spread_first_to_last_ms']} ms", "—", "—",
                  "1 IdP request, every caller 200 with the same token", ok, **fanin)
    quick = load(parts / "quickack.json")
    if quick:
        by = {row["target"]: row for row in quick["summary"]}
        tp, ng, new = by["tokenproxy"], by["nginx"], by["direct-new-connection"]
        r = ratio(tp["ms_per_request"], ng["ms_per_request"])
        table.add("two-send upstream (http.server), c=1: ms per request",
                  f"{tp['ms_per_request']:.2f} ms (without TCP_QUICKACK "
                  f"{by['tokenproxy-no-quickack']['ms_per_request']:.2f})",
                  f"{ng['ms_per_request']:.2f} ms", f"{fmt_ratio(r)} (lower is better)",
                  "no delayed-ACK stall: within 2 ms of the upstream's own "
                  f"{new['ms_per_request']:.2f} ms",
                  tp["ms_per_request"] <= new["ms_per_request"] + 2, tokenproxy=tp, nginx=ng)
    for kind, label in (("token-api", "token API"), ("proxy", "proxy")):
        tp = callgrind(parts / f"callgrind-tokenproxy-{kind}.txt")
        ng = callgrind(parts / f"callgrind-nginx-{kind}.txt")
        if tp is not None or ng is not None:
            r = ratio(tp, ng)
            table.add(f"{label}: instructions per request (callgrind, 1 client)",
                      f"{tp:,.0f}" if tp else "—", f"{ng:,.0f}" if ng else "—", fmt_ratio(r),
                      "≤ 1.0× (nginx's CPU per request)", None if r is None else r <= 1.0,
                      tokenproxy=tp, nginx=ng)
        tp = callgrind(parts / f"callgrind-tokenproxy-{kind}.txt", ATOMICS)
        ng = callgrind(parts / f"callgrind-nginx-{kind}.txt", ATOMICS)
        if tp is not None:
            table.add(f"{label}: atomic instructions per request (callgrind, 1 client)",
                      f"{tp:,.1f}", f"{ng:,.1f}" if ng is not None else "—", "—",
                      "— (what one connection's user time follows: bench/README.md)", None,
                      tokenproxy=tp, nginx=ng)
    return table, notes


INSTRUCTIONS = r"^(\d+) instructions per"
ATOMICS = r"^([\d.]+) atomic instructions per"


def callgrind(path: Path, pattern: str = INSTRUCTIONS) -> float | None:
    try:
        match = re.search(pattern, path.read_text(), re.M)
    except OSError:
        return None
    return float(match.group(1)) if match else None


def markdown(table: Table, notes: list[str], meta: dict) -> str:
    columns = ("measurement", "tokenproxy", "nginx", "ratio", "goal", "met")
    lines = [f"# tokenproxy vs nginx, one run — {meta['date']}", "",
             f"`bench/run` at {meta['git_commit']} ({meta['build']}) on {meta['cpu']} "
             f"({meta['cpus']} CPUs), {meta['kernel']}; {meta['swift']}; nginx "
             f"{meta['nginx_version']}. Mode: {meta['mode']} ({meta['knobs']}). Load average "
             f"{meta['load_before']} before, {meta['load_after']} after: other work on the "
             "machine moves absolute numbers; the ratios pair the two servers of each repeat "
             f"({meta.get('turns', 'in turns')}).", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in table.rows:
        lines.append("| " + " | ".join(str(row[c]) for c in columns) + " |")
    met_rows = [r for r in table.rows if r["met"] != "—"]
    lines += ["", f"Goals met: {sum(r['met'] == 'yes' for r in met_rows)} of {len(met_rows)}.",
              "", "Ratios are tokenproxy / nginx: above 1 is more requests/s, a longer tail, "
              "more CPU per request. rps and p99: the median of each repeat's own ratio (the "
              "two targets loaded in turns), in brackets the lowest and highest repeat. "
              "Pinned: the servers measured on CPU 0 (nginx one worker), "
              "loadgen (and the proxy's upstream) on CPU 1; unpinned: all share every CPU "
              "(nginx `worker_processes auto`). CPU µs/req is the server's user + system time "
              "per request. Details: bench/README.md.", ""]
    lines += [f"- {n}" for n in notes]
    if meta.get("failed"):
        lines.append(f"- parts that could not run (their rows are missing): "
                     f"{', '.join(meta['failed'])}; see the logs named in bench/run's output")
    return "\n".join(lines) + "\n"


def main() -> int:
    parts, out = Path(sys.argv[1]), sys.argv[2]
    meta = json.loads((parts / "meta.json").read_text())
    table, notes = build(parts)
    # How the load parts shared the time (from the first that ran): turns, their gap.
    for rel in ("unpinned/token-api.json", "pinned/token-api.json", "unpinned/proxy.json",
                "pinned/proxy.json"):
        if (part := load(parts / rel)) is not None:
            meta["turns"] = turns(part)
            break
    text = markdown(table, notes, meta)
    Path(out + ".md").write_text(text)
    Path(out + ".json").write_text(json.dumps(
        {**meta, "notes": notes, "rows": table.rows,
         "parts": {p.stem if p.parent == parts else f"{p.parent.name}/{p.stem}": load(p)
                   for p in sorted(parts.rglob("*.json")) if p.name != "meta.json"}},
        indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
