#!/usr/bin/env python3
"""Times tokenproxy's start-up for bench/token-api.sh: a stand-in for systemd's notify socket.

Binds a Unix datagram socket (the daemon's NOTIFY_SOCKET, as systemd sets it for Type=notify),
then waits for the script to start the daemon and write the start moment (bash's
$EPOCHREALTIME, taken just before the exec) to --started-file. Measures, on the same clock:

* ready_ms: until the daemon sends READY=1 (its listeners are open);
* first_token_ms: until GET TOKEN_PATH on the API socket first answers 200. This includes the
  fetch from the test IdP, a Python/Flask server: most of it is the IdP's time.

The script owns the daemon process (it is the script's child, so it can be waited for and
cleaned up by pid); this helper only listens and polls. Prints one JSON line and exits 0, or
exits 1 after --timeout seconds.

Run: startup.py --notify-socket P --api-socket P --token-path /v1/tokens/NAME
         --started-file P [--timeout S]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import sys
import time


def token_status(api_socket: str, path: str) -> int | None:
    """One GET over the API socket; the HTTP status, or None while nobody answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(api_socket)
            client.sendall(
                f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    break
                head += chunk
            parts = head.split(b" ", 2)
            return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    except OSError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notify-socket", required=True)
    parser.add_argument("--api-socket", required=True)
    parser.add_argument("--token-path", required=True)
    parser.add_argument("--started-file", required=True)
    parser.add_argument("--timeout", type=float, default=30)
    options = parser.parse_args()

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(options.notify_socket)
    ready_at = token_at = None
    status_text = None
    deadline = time.monotonic() + options.timeout
    while ready_at is None or token_at is None:
        if time.monotonic() > deadline:
            print(f"startup: no READY=1 and first token within {options.timeout:g} s "
                  f"(READY seen: {ready_at is not None}, token seen: {token_at is not None})",
                  file=sys.stderr)
            return 1
        readable, _, _ = select.select([notify], [], [], 0.002)
        if readable:
            message = notify.recv(4096).decode(errors="replace")
            received = time.time()
            for line in message.splitlines():
                if line == "READY=1" and ready_at is None:
                    ready_at = received
                elif line.startswith("STATUS="):
                    status_text = line[len("STATUS="):]
        if token_at is None and os.path.exists(options.api_socket):
            if token_status(options.api_socket, options.token_path) == 200:
                token_at = time.time()

    notify.close()
    with open(options.started_file) as f:
        started = float(f.read().strip())
    print(json.dumps({
        "ready_ms": round((ready_at - started) * 1000, 1),
        "first_token_ms": round((token_at - started) * 1000, 1),
        "status": status_text,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
