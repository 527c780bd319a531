#!/usr/bin/env python3
"""Measures tokenproxy's footprint and start-up for bench/footprint.sh.

Given a built binary and a configuration (one credential, the API socket, optionally a proxy
listener), it:

1. times exec → READY=1 RUNS times: binds a Unix datagram socket as NOTIFY_SOCKET (what
   systemd does for Type=notify), takes the monotonic clock just before spawning
   `tokenproxy serve`, and again when READY=1 arrives; the daemon is stopped (SIGTERM) after
   each run. Reports the median, min and max;
2. starts one long-lived daemon, waits for READY=1 and the first 200 for the token, waits
   IDLE_SECONDS and reads VmRSS, VmHWM, RssAnon, RssFile and Threads from /proc/PID/status:
   the idle footprint, with footprint_maps.py's breakdown; then again after 100 token
   requests and IDLE_SECONDS (what serving faults back in);
3. opens CONNECTIONS idle client connections (connected, nothing sent) to the token API
   socket, waits SETTLE seconds, reads VmRSS, Threads and the daemon's open descriptors, counts
   how many of the connections the daemon still holds (a connection it refused or closed is
   readable: EOF or a 503), closes them all, waits for the daemon to close its side and
   samples again, then once more LATER seconds after closing (the daemon trims its heap
   every 30 s);
4. the same on the proxy listener (if --proxy HOST:PORT is given);
5. with --nginx, the reference: nginx (one worker, `return 200`) listening on a Unix socket
   and on TCP, its idle RSS and the same idle connections on each (master + worker summed).

Both servers close a connection that sends no request head within their header deadline
(10 s by default), so the sample is taken as soon as every connection is open and SETTLE has
passed, well inside it. Per-connection RSS = (RSS with connections - idle RSS) / held.

Everything this starts it stops by pid; every socket it opens it closes. Prints one JSON
object on stdout. Raises its own RLIMIT_NOFILE to the hard limit, and the daemon's too (the
daemon inherits it).

Run: footprint.py --bin B --config C --api-socket P --token-path /v1/tokens/NAME
         [--proxy 127.0.0.1:PORT] [--runs 20] [--connections 10000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import time

# One GET over the API socket, shared with token-api.sh's start-up timer (same directory).
from startup import token_status


def raise_nofile() -> int:
    """Raises RLIMIT_NOFILE to the hard limit; returns the new soft limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def proc_status(pid: int | list[int]) -> dict[str, int]:
    """The kB and count fields of /proc/PID/status that matter here, summed over the processes
    when given several (nginx's master and worker: shared pages count once per process)."""
    wanted = {"VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads", "VmSize"}
    result: dict[str, int] = {}
    for one in pid if isinstance(pid, list) else [pid]:
        with open(f"/proc/{one}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in wanted:
                    result[key] = result.get(key, 0) + int(value.split()[0])
        result["fds"] = result.get("fds", 0) + len(os.listdir(f"/proc/{one}/fd"))
    return result


class Daemon:
    """One `tokenproxy serve` child with NOTIFY_SOCKET; stopped by pid."""

    def __init__(self, binary: str, config: str, notify_path: str, log_path: str):
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        self.log = open(log_path, "ab")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [binary, "serve", "--config", config], env=env, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=self.log)

    def wait_ready(self, timeout: float = 20) -> float:
        """Milliseconds from spawn to READY=1."""
        deadline = self.started + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                raise RuntimeError(f"no READY=1 (exit status {self.process.poll()})")
            readable, _, _ = select.select([self.notify], [], [], min(remaining, 0.5))
            if readable:
                message = self.notify.recv(4096).decode(errors="replace")
                if "READY=1" in message.splitlines():
                    return (time.monotonic() - self.started) * 1000

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.notify.close()
        self.log.close()


def read_response(client: socket.socket) -> None:
    """Reads one response with a Content-Length body (the token API's kind)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            raise OSError("closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = client.recv(4096)
        if not chunk:
            raise OSError("closed inside the response body")
        body += chunk


def open_idle(family: int, address: object, count: int,
              request: bytes | None = None) -> tuple[list[socket.socket], int]:
    """Opens up to `count` connections that send nothing (or `request` once, reading its
    response, leaving a keep-alive connection idle between requests); returns them and the
    failures."""
    sockets: list[socket.socket] = []
    failures = 0
    for _ in range(count):
        client = socket.socket(family, socket.SOCK_STREAM)
        # Blocking connect: a Unix socket whose accept queue is full makes a non-blocking (or
        # timeout-mode) connect fail with EAGAIN at once, where a blocking one waits its turn.
        client.setblocking(True)
        try:
            client.connect(address)
            if request is not None:
                client.sendall(request)
                read_response(client)
        except OSError:
            client.close()
            failures += 1
            if failures > 100:
                break
            continue
        sockets.append(client)
    return sockets, failures


def still_open(sockets: list[socket.socket]) -> int:
    """How many connections the server has neither closed nor answered (not readable)."""
    poller = select.poll()
    for client in sockets:
        poller.register(client.fileno(), select.POLLIN)
    readable = {fd for fd, _ in poller.poll(0)}
    return sum(1 for client in sockets if client.fileno() not in readable)


def idle_connections(pid: int | list[int], family: int, address: object, count: int, settle: float,
                     idle: dict[str, int], later: float,
                     request: bytes | None = None) -> dict[str, object]:
    """Opens `count` idle connections, samples the daemon, closes them."""
    started = time.monotonic()
    sockets, failures = open_idle(family, address, count, request)
    open_seconds = time.monotonic() - started
    time.sleep(settle)
    sample = proc_status(pid)
    # Held = open on both sides: not closed or answered by the daemon (still_open) AND accepted
    # (a descriptor in the daemon). A connection still in the listen backlog is open on the
    # client's side but costs the daemon nothing yet, so it must not dilute the per-connection
    # figure.
    not_readable = still_open(sockets)
    accepted = max(0, sample["fds"] - idle["fds"])
    held = min(not_readable, accepted)
    for client in sockets:
        client.close()
    closed_at = time.monotonic()
    # Wait for the daemon to close its side (descriptors back near the idle count).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc_status(pid)["fds"] > idle["fds"] + 8:
        time.sleep(0.2)
    time.sleep(1)
    after = proc_status(pid)
    # The daemon returns freed heap to the kernel periodically (malloc_trim every 30 s).
    time.sleep(max(0.0, closed_at + later - time.monotonic()))
    settled = proc_status(pid)
    growth = sample["VmRSS"] - idle["VmRSS"]
    return {
        "requested": count, "connected": len(sockets), "connect_failures": failures,
        "held_by_daemon": held, "not_closed_by_daemon": not_readable,
        "accepted_by_daemon": accepted, "open_seconds": round(open_seconds, 2),
        "rss_kib": sample["VmRSS"], "rss_anon_kib": sample.get("RssAnon"),
        "threads": sample["Threads"], "daemon_fds": sample["fds"],
        "rss_growth_kib": growth,
        "rss_per_held_connection_bytes": round(growth * 1024 / held) if held else None,
        "after_close": {"rss_kib": after["VmRSS"], "threads": after["Threads"],
                        "daemon_fds": after["fds"]},
        "later_after_close": {"seconds": later, "rss_kib": settled["VmRSS"],
                              "threads": settled["Threads"], "daemon_fds": settled["fds"]},
    }


def nginx_reference(nginx: str, work: str, connections: int, settle: float) -> dict[str, object]:
    """The same idle figures for nginx (one worker, `return 200` on a Unix socket and on TCP):
    its master and worker's RSS summed, idle and with `connections` idle connections on each
    listener. nginx's client_header_timeout is 60 s, so every connection is still held; its
    worker_connections is twice the count, because nginx starts closing connections that wait
    for a request head once fewer than 1/16 of its connection slots are free."""
    root = os.path.join(work, "nginx-footprint")
    os.makedirs(root, exist_ok=True)
    unix_path = os.path.join(root, "nginx.sock")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = os.path.join(root, "nginx.conf")
    with open(config, "w") as f:
        f.write(f"""worker_processes 1;
worker_rlimit_nofile {2 * connections + 1024};
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections {2 * connections}; }}
http {{
    access_log off;
    client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
    server {{
        listen unix:{unix_path};
        listen 127.0.0.1:{port};
        location / {{ return 200 'ok'; }}
    }}
}}
""")
    master = subprocess.Popen([nginx, "-p", root, "-e", f"{root}/error.log", "-c", config],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        workers: list[int] = []
        while time.monotonic() < deadline and not (os.path.exists(unix_path) and workers):
            time.sleep(0.1)
            children = f"/proc/{master.pid}/task/{master.pid}/children"
            workers = [int(p) for p in open(children).read().split()] if os.path.exists(children) else []
        if not workers:
            raise RuntimeError("nginx did not start")
        pids = [master.pid, *workers]
        time.sleep(1)
        idle = proc_status(pids)
        result: dict[str, object] = {"processes": len(pids), "idle": {
            "rss_kib": idle["VmRSS"], "rss_anon_kib": idle.get("RssAnon"),
            "rss_file_kib": idle.get("RssFile"), "threads": idle["Threads"],
            "daemon_fds": idle["fds"]}}
        for key, family, address in (("idle_connections_api", socket.AF_UNIX, unix_path),
                                     ("idle_connections_proxy", socket.AF_INET,
                                      ("127.0.0.1", port))):
            idle = proc_status(pids)
            result[key] = idle_connections(pids, family, address, connections, settle, idle, 0)
        return result
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(10)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--api-socket", required=True)
    parser.add_argument("--token-path", required=True)
    parser.add_argument("--proxy", help="HOST:PORT of the proxy listener")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--idle-seconds", type=float, default=2)
    parser.add_argument("--quiet-seconds", type=float, default=12)
    parser.add_argument("--settle", type=float, default=2)
    parser.add_argument("--later", type=float, default=35,
                        help="seconds after closing the connections for a last sample")
    parser.add_argument("--work", default="/tmp")
    parser.add_argument("--nginx", help="an nginx binary: measure the same idle figures for it")
    options = parser.parse_args()

    nofile = raise_nofile()
    notify_path = os.path.join(options.work, "footprint-notify.sock")
    log_path = os.path.join(options.work, "footprint-tokenproxy.log")
    result: dict[str, object] = {"nofile_limit": nofile}

    # 1. exec → READY=1
    ready: list[float] = []
    for _ in range(options.runs):
        daemon = Daemon(options.bin, options.config, notify_path, log_path)
        try:
            ready.append(daemon.wait_ready())
        finally:
            daemon.stop()
    print(f"footprint: exec → READY=1 over {len(ready)} runs: median "
          f"{statistics.median(ready):.1f} ms", file=sys.stderr)
    result["ready_ms"] = {
        "runs": len(ready), "median": round(statistics.median(ready), 1),
        "min": round(min(ready), 1), "max": round(max(ready), 1),
        "all": [round(value, 1) for value in ready]}

    # 2. idle footprint, 3./4. idle connections, on one long-lived daemon
    daemon = Daemon(options.bin, options.config, notify_path, log_path)
    try:
        daemon.wait_ready()
        deadline = time.monotonic() + 30
        while token_status(options.api_socket, options.token_path) != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("no token within 30 s of READY")
            time.sleep(0.05)
        time.sleep(options.idle_seconds)
        pid = daemon.process.pid
        idle = proc_status(pid)
        result["idle"] = {"rss_kib": idle["VmRSS"], "hwm_kib": idle["VmHWM"],
                          "rss_anon_kib": idle.get("RssAnon"),
                          "rss_file_kib": idle.get("RssFile"), "threads": idle["Threads"],
                          "vm_size_kib": idle.get("VmSize"), "daemon_fds": idle["fds"]}
        print(f"footprint: idle {idle['VmRSS']} KiB RSS "
              f"(anon {idle.get('RssAnon')}, file {idle.get('RssFile')}), "
              f"{idle['Threads']} threads", file=sys.stderr)
        # Where the idle RSS is: per mapping, and the binary's resident pages per section.
        maps = subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(__file__), "footprint_maps.py"),
             str(pid), "--top", "15"], capture_output=True, text=True)
        result["idle_maps"] = maps.stdout if maps.returncode == 0 else maps.stderr
        # Idle again after serving: 100 token requests, then 2 s. The code that serving runs
        # is resident again (the start-up pages dropped after READY are not).
        for _ in range(100):
            token_status(options.api_socket, options.token_path)
        time.sleep(options.idle_seconds)
        served = proc_status(pid)
        result["idle_after_requests"] = {
            "requests": 100, "rss_kib": served["VmRSS"], "rss_anon_kib": served.get("RssAnon"),
            "rss_file_kib": served.get("RssFile"), "threads": served["Threads"]}
        print(f"footprint: idle after 100 token requests {served['VmRSS']} KiB RSS "
              f"(anon {served.get('RssAnon')}, file {served.get('RssFile')})", file=sys.stderr)
        maps = subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(__file__), "footprint_maps.py"),
             str(pid), "--top", "15"], capture_output=True, text=True)
        result["served_maps"] = maps.stdout if maps.returncode == 0 else maps.stderr
        # And once the daemon noticed it is quiet: the memory trimmer drops the file pages
        # serving faulted back in (IdleMemoryRelease: a 2 s check, at most every 10 s).
        time.sleep(options.quiet_seconds)
        quiet = proc_status(pid)
        result["quiet_after_requests"] = {
            "seconds": options.idle_seconds + options.quiet_seconds, "rss_kib": quiet["VmRSS"],
            "rss_anon_kib": quiet.get("RssAnon"), "rss_file_kib": quiet.get("RssFile"),
            "threads": quiet["Threads"]}
        print(f"footprint: quiet {options.idle_seconds + options.quiet_seconds:g} s after the "
              f"requests {quiet['VmRSS']} KiB RSS (anon {quiet.get('RssAnon')}, "
              f"file {quiet.get('RssFile')})", file=sys.stderr)
        if options.connections > 0:
            api = idle_connections(pid, socket.AF_UNIX, options.api_socket,
                                   options.connections, options.settle, idle,
                                   options.later)
            result["idle_connections_api"] = api
            print(f"footprint: {api['held_by_daemon']} idle API connections: "
                  f"{api['rss_kib']} KiB RSS, {api['threads']} threads", file=sys.stderr)
            # The same after one keep-alive token request each: what an idle client that
            # already asked costs (parser, response and Date buffers must all be gone).
            idle = proc_status(pid)
            request = (f"GET {options.token_path} HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       .encode())
            used = idle_connections(pid, socket.AF_UNIX, options.api_socket,
                                    options.connections, options.settle, idle,
                                    options.later, request)
            result["idle_connections_api_after_request"] = used
            print(f"footprint: {used['held_by_daemon']} API connections idle after a request: "
                  f"{used['rss_kib']} KiB RSS, {used['threads']} threads", file=sys.stderr)
            if options.proxy:
                host, _, port = options.proxy.rpartition(":")
                idle = proc_status(pid)
                proxy = idle_connections(pid, socket.AF_INET, (host, int(port)),
                                         options.connections, options.settle, idle,
                                   options.later)
                result["idle_connections_proxy"] = proxy
                print(f"footprint: {proxy['held_by_daemon']} idle proxy connections: "
                      f"{proxy['rss_kib']} KiB RSS, {proxy['threads']} threads",
                      file=sys.stderr)
    finally:
        daemon.stop()
    if options.nginx and options.connections > 0:
        result["nginx"] = nginx_reference(options.nginx, options.work, options.connections,
                                          options.settle)
        print(f"footprint: nginx idle {result['nginx']['idle']['rss_kib']} KiB RSS", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
