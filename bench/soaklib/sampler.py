"""Once a second: the daemon's resident memory, open descriptors and threads from /proc, the
load's outcome counts, the least validity left on a served token, and the IdP's request count."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request

from .load import Tally

INTERVAL = 1.0


def read_process(pid: int) -> dict | None:
    """{rss_mib, rss_anon_mib, rss_file_mib, threads, fds} of a live process, None once it is
    gone. RssAnon is heap and stacks (where a leak shows); RssFile is the mapped binary and
    libraries, which grows as code paths run for the first time."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    if status.get("State", "").strip().startswith("Z"):
        return None
    def mib(field: str) -> float:
        return int(status.get(field, "0 kB").split()[0]) / 1024

    return {"rss_mib": mib("VmRSS"), "rss_anon_mib": mib("RssAnon"), "rss_file_mib": mib("RssFile"),
            "threads": int(status["Threads"]), "fds": fds}


class Sampler(threading.Thread):
    """Appends one sample per second to `samples` until `stop` is set or the daemon is gone."""

    def __init__(self, pid: int, tally: Tally, idp_stats_url: str, stop: threading.Event):
        super().__init__(name="soak-sampler", daemon=True)
        self.pid, self.tally, self.idp_stats_url, self.stop = pid, tally, idp_stats_url, stop
        self.samples: list[dict] = []
        self.started = time.monotonic()
        self.daemon_gone_at: float | None = None
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def run(self) -> None:
        tick = 0
        while True:
            process = read_process(self.pid)
            if process is None:
                self.daemon_gone_at = time.monotonic() - self.started
                return
            sample = {"t": round(time.monotonic() - self.started, 3), "wall": time.time(), **process,
                      **self.tally.snapshot(), "idp_token_requests": self.idp_token_requests()}
            self.samples.append(sample)
            tick += 1
            if self.stop.wait(max(0.0, self.started + tick * INTERVAL - time.monotonic())):
                return

    def idp_token_requests(self) -> int | None:
        try:
            with self.opener.open(self.idp_stats_url, timeout=2) as answer:
                return json.load(answer)["token_requests"]
        except (OSError, ValueError, KeyError):
            return None
