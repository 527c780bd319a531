#!/usr/bin/env python3
"""Cold-start fan-in, for bench/run: many callers ask for a token that is not fetched yet.

Starts the Authlib test IdP (one service-user key, tokens valid 3600 s) with its first token
answer held back DELAY seconds (fault mode "slow", count 1), then `tokenproxy serve` with one
credential and NOTIFY_SOCKET. The moment READY=1 arrives it opens CALLERS connections to the
token API socket and sends `GET /v1/tokens/NAME` on each (non-blocking, one epoll loop), then
reads every answer. The daemon starts its fetch at start-up and READY does not wait for it, so
the callers park on the one fetch in flight and are all answered when it completes.

Reports: the IdP's token requests during the run (the goal is exactly 1: callers join the
fetch in flight instead of starting their own), how many requests were sent before the first
answer (parked), the statuses, whether every caller got the same token, READY → all answered,
and the spread first → last answer (the fan-out: waking every parked caller and writing its
answer). Prints one JSON object on stdout; every process it starts it stops by pid.

Run: fanin.py --bin B --work DIR [--callers 1000] [--delay 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Tests" / "integration"))

import keys  # noqa: E402
from conftest import start_authserver  # noqa: E402

NAME = "fanin"


def wait_ready(notify: socket.socket, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        readable, _, _ = select.select([notify], [], [], 0.2)
        if readable and "READY=1" in notify.recv(4096).decode(errors="replace").splitlines():
            return
    raise RuntimeError(f"tokenproxy sent no READY=1 (exit status {process.poll()})")


def fan_in(socket_path: str, callers: int, timeout: float) -> dict:
    """Connects and sends on every caller, then collects the answers; times in monotonic s."""
    request = f"GET /v1/tokens/{NAME} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    poller = select.epoll()
    conns: dict[int, tuple[socket.socket, bytearray]] = {}
    started = time.monotonic()
    for _ in range(callers):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(socket_path)  # blocking: waits its turn in a full accept queue
        client.sendall(request)
        client.setblocking(False)
        conns[client.fileno()] = (client, bytearray())
        poller.register(client.fileno(), select.EPOLLIN)
    all_sent = time.monotonic()
    answers: list[tuple[float, bytes]] = []
    deadline = started + timeout
    while conns and time.monotonic() < deadline:
        for fd, _ in poller.poll(0.5):
            client, buffer = conns[fd]
            chunk = client.recv(65536)
            if chunk:
                buffer += chunk
                continue
            answers.append((time.monotonic(), bytes(buffer)))  # closed: the answer is complete
            poller.unregister(fd)
            client.close()
            del conns[fd]
    for client, _ in conns.values():
        client.close()
    poller.close()
    times = sorted(t for t, _ in answers)
    statuses: dict[str, int] = {}
    tokens = set()
    for _, data in answers:
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "none"
        statuses[status] = statuses.get(status, 0) + 1
        if status == "200":
            tokens.add(json.loads(data.partition(b"\r\n\r\n")[2])["access_token"])
    return {
        "callers": callers, "answered": len(answers), "unanswered": len(conns),
        "statuses": statuses, "distinct_tokens": len(tokens),
        "sent_before_first_answer": callers if not times or times[0] >= all_sent
        else None,  # some answers came while requests were still being sent
        "send_all_ms": round((all_sent - started) * 1000, 1),
        "first_answer_ms": round((times[0] - started) * 1000, 1) if times else None,
        "all_answered_ms": round((times[-1] - started) * 1000, 1) if times else None,
        "spread_first_to_last_ms": round((times[-1] - times[0]) * 1000, 1) if times else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=1.0,
                        help="seconds the IdP holds back its first token answer")
    options = parser.parse_args()
    work = Path(options.work)
    work.mkdir(parents=True, exist_ok=True)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    key = keys.write_key_file(work / "keys", "rsa2048", "application")
    os.environ["AUTHSERVER_QUIET"] = "1"
    server = start_authserver(work / "idp", [key.registration()], token_lifetime=3600)
    daemon = None
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        server.fault("slow", count=1, delay=options.delay)
        api = str(work / "api.sock")
        config = {"api": {"socket": api, "socket_mode": "0600",
                          "max_connections": options.callers + 64},
                  "credentials": {NAME: {"key_file": str(key.path), "issuer": server.issuer,
                                         "grant": "client-credentials"}},
                  "log": {"level": "warning"}}
        (work / "config.json").write_text(json.dumps(config))
        notify.bind(str(work / "notify.sock"))
        log = open(work / "daemon.log", "wb")
        spawned = time.monotonic()
        daemon = subprocess.Popen(
            [options.bin, "serve", "--config", str(work / "config.json")], stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(os.environ, NOTIFY_SOCKET=str(work / "notify.sock")))
        log.close()
        wait_ready(notify, daemon, 20)
        ready_ms = (time.monotonic() - spawned) * 1000
        result = fan_in(api, options.callers, timeout=options.delay + 30)
        result.update(idp_token_requests=server.stats()["token_requests"],
                      idp_delay_s=options.delay, exec_to_ready_ms=round(ready_ms, 1))
    finally:
        if daemon and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
        notify.close()
        server.stop()
    print(json.dumps(result))
    ok = (result["answered"] == options.callers and result["statuses"] == {"200": options.callers}
          and result["distinct_tokens"] == 1)
    if not ok:
        print("fan-in: not every caller got the token: " + json.dumps(result), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
