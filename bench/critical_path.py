#!/usr/bin/env python3
"""Where one proxied request's time goes at one connection, from perf traces: the server's
own time on the request's path against the time it waits, and how long each woken thread
takes to run. A measurement tool (bench/README.md, "One connection: where the time goes").

Two kinds of trace, both `perf record` while `BENCH_PIN=1 BENCH_CONNECTIONS=1 bench/proxy.sh`
runs the server being looked at:

    perf record -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -p PID -o A.data -- sleep 2
    bench/critical_path.py syscalls tokenproxy=A.data nginx=B.data

splits each request of the busiest thread of PID (the event loop, nginx's worker) into the
segments between its system calls (the request is told from the response by its shorter
read, true of proxy.sh's GET of a 128-byte body): epoll wait → read the client → (user) → write upstream →
wait for the upstream → read it → (user) → write the client → wait for the next request.
Only requests whose six calls come in that order count (nginx's `getsockopt` before the
upstream write is skipped).

    perf record -m 4096 -a -e sched:sched_switch,sched:sched_wakeup -o C.data -- sleep 2
    bench/critical_path.py wakeups tokenproxy=C.data nginx=D.data

gives, per thread woken on an idle CPU, the time from its wake-up (recorded on that CPU) to
running: what the CPU's way out of idle costs.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

SYSCALL = re.compile(r"\s*(\d+)\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit):\s+NR (\d+)(?: = (-?\d+))?")
SCHED = re.compile(r"\s*.+?\s+\d+\s+\[(\d+)\]\s+([\d.]+):\s+sched:(sched_wakeup|sched_switch):\s+(.*)")
# x86-64 numbers: the calls an event-loop proxy makes per request.
NAMES = {0: "read", 1: "write", 20: "writev", 44: "send", 45: "recv", 55: "getsockopt",
         232: "epoll", 281: "epoll"}
SEGMENTS = ["wake → read client", "read client", "user: request", "write upstream",
            "→ epoll", "wait for upstream", "wake → read upstream", "read upstream",
            "user: response", "write client", "→ epoll ", "wait for next request"]


def perf_script(path: str, fields: str) -> list[str]:
    return subprocess.run(["perf", "script", "-i", path, "-F", fields], capture_output=True,
                          text=True, check=True).stdout.splitlines()


def syscall_segments(path: str) -> tuple[int, dict[str, list[float]]]:
    """Requests found and each segment's durations (µs) on the trace's busiest thread."""
    events = []
    for line in perf_script(path, "tid,time,event,trace"):
        match = SYSCALL.match(line)
        if match:
            tid, time, kind, number, result = match.groups()
            events.append((int(tid), float(time) * 1e6, kind, NAMES.get(int(number), number),
                           int(result or 0)))
    busiest = Counter(e[0] for e in events).most_common(1)[0][0]
    calls, entered = [], None
    for tid, time, kind, name, result in events:
        if tid != busiest:
            continue
        if kind == "enter":
            entered = (name, time)
        elif entered:
            calls.append((entered[0], entered[1], time, result))
            entered = None
    calls = [c for c in calls if c[0] != "getsockopt"]
    shape = ["epoll", "recv", "send", "epoll", "recv", "send", "epoll"]
    segments: dict[str, list[float]] = {name: [] for name in SEGMENTS}
    requests, i = 0, 0
    while i + len(shape) <= len(calls):
        window = calls[i:i + len(shape)]
        names = [("send" if c[0] in ("send", "writev", "write") else
                  "recv" if c[0] in ("recv", "read") else c[0]) for c in window]
        # The client's request is the shorter read (a bodyless GET against the upstream's
        # head and 128-byte body): that is how the two reads are told apart.
        if names != shape or window[1][3] >= window[4][3]:
            i += 1
            continue
        spans = []
        for before, call in zip(window, window[1:]):
            spans += [call[1] - before[2], call[2] - call[1]]  # the gap, then the call
        for name, value in zip(SEGMENTS, spans):
            segments[name].append(value)
        requests += 1
        i += len(shape) - 1
    return requests, segments


def wake_latencies(path: str) -> dict[str, list[float]]:
    """Per thread (comm/pid@cpu): µs from sched_wakeup to the switch from idle to it."""
    pending: dict[int, float] = {}
    latencies: dict[str, list[float]] = defaultdict(list)
    for line in perf_script(path, "comm,tid,cpu,time,event,trace"):
        match = SCHED.match(line)
        if not match:
            continue
        cpu, time, event, rest = match.groups()
        at = float(time) * 1e6
        if event == "sched_wakeup":
            pending[int(re.search(r" pid=(\d+)", rest).group(1))] = at
            continue
        switch = re.search(r"prev_comm=(.+?) prev_pid=\d+ .*==> next_comm=(.+?) next_pid=(\d+)", rest)
        previous, name, pid = switch.group(1), switch.group(2), int(switch.group(3))
        woke = pending.pop(pid, None)
        if woke is not None and previous.startswith("swapper"):
            latencies[f"{name}/{pid}@cpu{cpu}"].append(at - woke)
    return latencies


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("syscalls", "wakeups") or any("=" not in a for a in argv[1:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    traces = [a.partition("=")[::2] for a in argv[1:]]
    if argv[0] == "wakeups":
        for label, path in traces:
            rows = sorted(wake_latencies(path).items(), key=lambda kv: -len(kv[1]))[:4]
            print(f"{label}: " + "; ".join(f"{k} {statistics.mean(v):.1f} µs (n={len(v)})" for k, v in rows))
        return 0
    found = {label: syscall_segments(path) for label, path in traces}
    print("| segment (mean µs) | " + " | ".join(found) + " |")
    print("|---|" + "---|" * len(found))
    print("| requests | " + " | ".join(str(n) for n, _ in found.values()) + " |")
    for name in SEGMENTS:
        print(f"| {name.strip()} | " + " | ".join(f"{statistics.mean(s[name]):.1f}" for _, s in found.values()) + " |")
    for title, picked in (("user on the path", [0, 2, 6, 8]), ("calls on the path", [1, 3, 7, 9]),
                          ("whole cycle", range(len(SEGMENTS)))):
        print(f"| **{title}** | " + " | ".join(
            f"{sum(statistics.mean(s[SEGMENTS[k]]) for k in picked):.1f}" for _, s in found.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
