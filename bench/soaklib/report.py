"""The soak's files: `STEM.json` (everything, every sample), `STEM.md` (the checks and the
figures) and `STEM.png` (RSS, descriptors and threads over time)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

from .peers import REPO
from .plot import write_plot


def machine() -> dict:
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {"commit": commit + ("+changes" if dirty else ""), "kernel": platform.release(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg()}


def write(record: dict, out_dir: Path, stem: str, renderer: str = "auto") -> dict:
    """Writes the three files; returns their paths (and the plot's renderer)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record["machine"] = machine()
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("json", "md", "png")}
    title = (f"TOKENPROXY SOAK {record['duration_s']:.0f} S  {'PASS' if record['passed'] else 'FAIL'}  "
             f"{record['machine']['commit']}")
    record["plot_renderer"] = write_plot(paths["png"], record["samples"], record["sighups"], title, renderer)
    paths["json"].write_text(json.dumps(record, indent=1) + "\n")
    paths["md"].write_text(markdown(record, paths["png"].name))
    return {**{k: str(v) for k, v in paths.items()}, "renderer": record["plot_renderer"]}


def markdown(record: dict, png_name: str) -> str:
    options, totals, idp = record["options"], record["totals"], record["idp"]
    lines = [
        f"# Soak: {'PASS' if record['passed'] else 'FAIL'}",
        "",
        f"Commit {record['machine']['commit']}, `{options['binary']}`, {record['machine']['cpus']} CPUs "
        f"(load average at the end {record['machine']['load_average'][0]:.1f}), kernel {record['machine']['kernel']}.",
        f"{record['duration_s']:.0f} s of load: {options['clients']} token-API and {options['clients']} proxy clients, "
        f"{options['rate']:.0f} requests/s together; {options['token_lifetime']} s tokens; a SIGHUP every "
        f"{options['sighup_every']:.0f} s ({len(record['sighups'])} in all); the IdP failed "
        f"{options['fail_rate']:.0%} of token requests and held {options['stall_rate']:.0%} back for up to "
        f"{options['stall_seconds']:.0f} s (seed {options['seed']}).",
        "",
        "| check | figure | |",
        "|---|---|---|",
        *(f"| {c['check']} | {c['figure']} | {'ok' if c['passed'] else '**FAIL**'} |" for c in record["checks"]),
        "",
        "| requests | token API | proxy |",
        "|---|---|---|",
        *(f"| {label} | {totals['token.' + key]} | {totals['proxy.' + key]} |" for key, label in (
            ("ok", "200, token valid"), ("unavailable", "503 + Retry-After (IdP failing)"),
            ("expired", "200, token expired"), ("bad", "other answer"), ("lost", "no answer"))),
        "",
        f"Least validity left on a served token when its answer arrived: "
        + (f"{record['least_margin_s']:.3f} s." if record["least_margin_s"] is not None else "none served."),
        f"IdP: {idp['token_requests']} token requests, {idp['failures_injected']} failed on purpose, "
        f"{idp['stalls_injected']} stalled (longest {idp['longest_stall_s']:.1f} s).",
        "",
        "| resource (after warm-up) | min | max | median 1st → 2nd → 3rd third | slope per min |",
        "|---|---|---|---|---|",
    ]
    for key, figures in record["growth"].items():
        if figures["grew"] is None:
            lines.append(f"| {key} | | | {figures['reason']} | |")
        else:
            lines.append(f"| {key} | {figures['min']:.2f} | {figures['max']:.2f} | {figures['first_third']:.2f} → "
                         f"{figures['second_third']:.2f} → {figures['last_third']:.2f} | "
                         f"{figures['slope_per_min']:+.3f} |")
    lines += ["", f"![RSS, open descriptors and threads over time]({png_name})", ""]
    if record["daemon"]["metrics"]:
        lines += ["Daemon counters at the end:", "", "```", *record["daemon"]["metrics"], "```", ""]
    if record["failures"]:
        lines += ["Failed requests (first 50; times are wall-clock seconds):", ""]
        lines += [f"- {f['kind']} {f['outcome']} at {f['sent']:.3f}: {f['detail']}" for f in record["failures"]]
        lines.append("")
    if record["unexplained_unavailable"]:
        lines += ["503s no IdP failure or stall explains (send time, kind):", ""]
        lines += [f"- {sent:.3f} {kind}" for sent, kind in record["unexplained_unavailable"]]
        lines.append("")
    return "\n".join(lines)
