#!/usr/bin/env python3
"""Driver of bench/guard.sh: the Authlib test IdP with an API application key and a caller,
`tokenproxy serve` with three proxy routes to the same upstream, loadgen runs, results.

Routes: /inject/ (credential only: the unguarded baseline), /guard/ (guard only, forwards
sub/client_id/scope as headers), /both/ (guard + inject). One opaque caller token with scope
orders.read; its first request fills the cache (cache_ttl 60 s), so the runs measure the warm
path. The IdP's introspection counter before and after the guarded runs gives the IdP requests
per 10,000 guarded requests."""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Tests" / "integration"))

import keys  # noqa: E402
from conftest import start_authserver  # noqa: E402

ROUTES = ["inject", "guard", "both"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, token: str | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", path, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("bin", "loadgen", "work", "upstream"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--seconds", type=float, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--connections", default="1 16 64")
    p.add_argument("--out", help="write OUT.json and OUT.md (default bench/results/guard-DATE)")
    args = p.parse_args()
    work = Path(args.work)
    counts = [int(c) for c in args.connections.split()]

    api_key = keys.write_key_file(work / "keys", "rsa2048", "application")
    caller = keys.write_key_file(work / "keys", "p256", "application", label="caller")
    os.environ["AUTHSERVER_QUIET"] = "1"
    server = start_authserver(work / "idp", [api_key.registration(), caller.registration()],
                              token_lifetime=3600)
    daemon = None
    try:
        token = server.post("/_test/mint", json={"client_id": caller.client_id, "scope": "orders.read",
                                                 "lifetime": 3600}).json()["access_token"]
        port = free_port()
        guard = {"credential": "api", "require_scopes": ["orders.read"],
                 "forward_claims": {"sub": "X-Auth-Subject", "client_id": "X-Auth-Client",
                                    "scope": "X-Auth-Scope"}}
        config = {
            "api": {"socket": str(work / "api.sock"), "socket_mode": "0600"},
            "credentials": {"api": {"key_file": str(api_key.path), "issuer": server.issuer,
                                    "grant": "client-credentials",
                                    "introspection": {"cache_ttl": 60}}},
            "log": {"level": "warning"},
            "proxy": {"listen": [f"127.0.0.1:{port}"], "max_connections": 4096, "routes": [
                {"path_prefix": "/inject/", "upstream": args.upstream, "credential": "api"},
                {"path_prefix": "/guard/", "upstream": args.upstream, "guard": guard},
                {"path_prefix": "/both/", "upstream": args.upstream, "credential": "api", "guard": guard},
            ]},
        }
        (work / "config.json").write_text(json.dumps(config))
        log = open(work / "daemon.log", "wb")
        daemon = subprocess.Popen([args.bin, "serve", "--config", str(work / "config.json")],
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(port, "/inject/x", None) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise SystemExit("tokenproxy did not serve:\n" + (work / "daemon.log").read_text())
            time.sleep(0.1)
        for route in ("guard", "both"):
            assert get(port, f"/{route}/x", token) == 200, route
            assert get(port, f"/{route}/x", None) == 401, route
        idp_before = server.stats()["introspection_requests"]

        def run(route: str, connections: int, seconds: float) -> dict:
            cpu_before = cpu_seconds(daemon.pid)
            out = subprocess.run([args.loadgen, f"tcp:127.0.0.1:{port}", str(connections), str(seconds),
                                  f"/{route}/x", f"Authorization: Bearer {token}"],
                                 capture_output=True, text=True, check=True, timeout=seconds + 60)
            result = json.loads(out.stdout)
            result["cpu_us_per_request"] = (cpu_seconds(daemon.pid) - cpu_before) * 1e6 / max(1, result["requests"])
            return result

        for route in ROUTES:  # warm-up
            run(route, 16, 1)
        raw: list[dict] = []
        for repeat in range(args.repeats):
            order = ROUTES if repeat % 2 == 0 else list(reversed(ROUTES))
            for connections in counts:
                for route in order:
                    result = run(route, connections, args.seconds)
                    result.update(route=route, repeat=repeat)
                    raw.append(result)
                    print(f"{route:7} c={connections:<3} {result['rps']:>9.0f} rps  p99 {result['p99_us']} µs",
                          file=sys.stderr)
        idp_requests = server.stats()["introspection_requests"] - idp_before
        # The measured runs only (the warm-up runs' guarded requests are not counted, so the
        # figure errs high).
        guarded = sum(r["requests"] for r in raw if r["route"] != "inject")
    finally:
        if daemon and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
        server.stop()

    rows = []
    for connections in counts:
        row = {"connections": connections}
        for route in ROUTES:
            runs = [r for r in raw if r["route"] == route and r["connections"] == connections]
            row[route] = {
                "rps": statistics.median(r["rps"] for r in runs),
                "p99_us": statistics.median(r["p99_us"] for r in runs),
                "cpu_us_per_request": statistics.median(r["cpu_us_per_request"] for r in runs),
            }
        rows.append(row)
    per_10k = idp_requests * 10_000 / max(1, guarded)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"guard-{stamp}"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {"date": stamp, "commit": commit, "machine": platform.machine(), "cpus": os.cpu_count(),
                "seconds": args.seconds, "repeats": args.repeats, "rows": rows, "raw": raw,
                "idp_introspection_requests": idp_requests, "guarded_requests": guarded,
                "idp_requests_per_10000_guarded": per_10k}
    out.with_name(out.name + ".json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [f"# guard benchmark {stamp} (commit {commit}, {os.cpu_count()} CPUs, "
             f"{args.seconds:g} s × {args.repeats})", "",
             "| connections | route | rps | p99 µs | CPU µs/request | rps vs inject |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        for route in ROUTES:
            cell = row[route]
            ratio = cell["rps"] / row["inject"]["rps"] if row["inject"]["rps"] else 0
            lines.append(f"| {row['connections']} | {route} | {cell['rps']:.0f} | {cell['p99_us']:.0f} | "
                         f"{cell['cpu_us_per_request']:.1f} | {ratio:.2f} |")
    lines += ["", f"IdP introspection requests during {guarded} guarded requests (one token, warm cache, "
              f"cache_ttl 60 s): {idp_requests} = {per_10k:.3f} per 10,000 guarded requests.", ""]
    out.with_name(out.name + ".md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
