#!/usr/bin/env python3
"""Samples the summed VmRSS of some processes every 50 ms until SIGTERM, then prints the peak.

bench/proxy.sh runs one per proxy during the 1 GiB download: VmHWM alone would also count the
load runs before it, and nginx's peak is the sum over its master and workers at one instant.

Run: proxy_rss.py PID [PID...]   (prints one integer, KiB, on SIGTERM)
"""

from __future__ import annotations

import signal
import sys
import time


def rss_kib(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    pids = sys.argv[1:]
    peak = 0
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    while running:
        peak = max(peak, sum(rss_kib(pid) for pid in pids))
        time.sleep(0.05)
    print(peak, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
