"""Peers that misbehave on purpose, for test_engine_limits.py: slow clients that send part of a
request head and trickle the rest, a TLS upstream that stalls mid-handshake, an upstream with a
body far larger than anyone reads; and the /proc readings the tests compare (threads, RSS,
open-files limit).

Everything runs in the test's process on 127.0.0.1 port 0 (or the daemon's Unix socket), and
every socket is closed by `close()`/`stop()`.
"""

from __future__ import annotations

import resource
import selectors
import socket
import statistics
import threading
import time
from pathlib import Path

EARLY_SLACK = 0.3  # a deadline may fire this much before its nominal time (timer rounding)
LATE_MARGIN = 6.0  # ... and this much after it, on a loaded 2-core machine

# --------------------------------------------------------------------------- /proc readings


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"no Threads: line in /proc/{pid}/status")


def rss_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS: line in /proc/{pid}/status")


def open_files_limit(pid: int) -> int:
    """The soft RLIMIT_NOFILE of process `pid` (from /proc/PID/limits)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft = line.split()[3]
            return 1 << 30 if soft == "unlimited" else int(soft)
    raise AssertionError(f"no 'Max open files' in /proc/{pid}/limits")


def ensure_own_fd_limit(needed: int) -> int:
    """Raises this process's soft RLIMIT_NOFILE towards `needed` (never above the hard limit);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


# ------------------------------------------------------------------------------ slow clients


class SlowClients:
    """`count` connections that each sent a partial request head; half of them trickle one
    more header byte now and then (a deadline re-armed per read would never fire for those).

    `watch` waits, bounded, until the server closed every one, recording when (relative to its
    own connect, which is never after the server's accept) and what it sent before closing."""

    def __init__(self, connect, count: int, partial_head: bytes):
        self.sockets: list[socket.socket] = []
        self.connected_at: dict[int, float] = {}
        self.closed_after: dict[int, float] = {}
        self.received: dict[int, bytes] = {}
        try:
            for _ in range(count):
                s = connect()
                self.connected_at[s.fileno()] = time.monotonic()
                self.sockets.append(s)
                s.sendall(partial_head)
                s.setblocking(False)
        except BaseException:
            self.close()
            raise

    def trickle(self) -> None:
        for s in self.sockets[::2]:
            if s.fileno() not in self.closed_after:
                try:
                    s.send(b"a")
                except OSError:
                    pass  # closed by the server meanwhile: `watch` sees the EOF

    def closed_early(self) -> int:
        """How many the server has closed (or answered) so far, without blocking."""
        self._poll(0)
        return len(self.closed_after)

    def watch(self, deadline: float, trickle_every: float | None = None) -> None:
        next_trickle = time.monotonic() + (trickle_every or 0)
        while len(self.closed_after) < len(self.sockets) and time.monotonic() < deadline:
            if trickle_every and time.monotonic() >= next_trickle:
                self.trickle()
                next_trickle = time.monotonic() + trickle_every
            self._poll(0.1)

    def _poll(self, timeout: float) -> None:
        with selectors.DefaultSelector() as selector:  # epoll: fds above 1024 are fine
            for s in self.sockets:
                if s.fileno() not in self.closed_after:
                    selector.register(s, selectors.EVENT_READ)
            if not selector.get_map():
                return
            for key, _ in selector.select(timeout):
                s = key.fileobj
                fd = s.fileno()
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    self.received[fd] = self.received.get(fd, b"") + data
                    continue  # EOF follows
                self.closed_after[fd] = time.monotonic() - self.connected_at[fd]

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        self.sockets.clear()


def check_closed_by_deadline(slow: SlowClients, timeout: float, what: str) -> list[float]:
    count = len(slow.sockets)
    missing = count - len(slow.closed_after)
    assert missing == 0, f"{missing} of {count} slow {what} clients still open {timeout + LATE_MARGIN:.0f} s after connecting"
    times = sorted(slow.closed_after.values())
    assert times[0] >= timeout - EARLY_SLACK, f"a slow {what} client was closed {times[0]:.2f} s after connecting, before the {timeout} s header deadline"
    assert times[-1] <= timeout + LATE_MARGIN, f"slowest close {times[-1]:.2f} s after connecting"
    statuses = {data[:12] for data in slow.received.values()}
    assert statuses <= {b"HTTP/1.1 408"}, f"slow {what} clients got {statuses} (expected 408 or a silent close)"
    return times


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"n={len(ordered)} min={ordered[0] * 1000:.1f} ms median={statistics.median(ordered) * 1000:.1f} ms "
            f"max={ordered[-1] * 1000:.1f} ms")


# ------------------------------------------------------------------------------- upstreams


class StallingTLSUpstream:
    """Accepts TCP, reads the ClientHello and never answers: a TLS upstream stuck mid-handshake.
    Records the first bytes of every connection (a TLS handshake record starts with 0x16)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.first_bytes: list[bytes] = []
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="stalling-tls")
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.held.append(sock)
            sock.settimeout(2)
            try:
                self.first_bytes.append(sock.recv(16384))
            except OSError:
                self.first_bytes.append(b"")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()
        for sock in self.held:
            sock.close()


class BigBodyUpstream:
    """Answers every request with `size` zero bytes (Content-Length), written 64 KiB at a time
    through a small send buffer, and counts what the kernel accepted (`sent`). Stops writing
    when the peer goes away or at `stop()`."""

    CHUNK = 64 * 1024

    def __init__(self, size: int):
        self.size = size
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.connections: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True, name="big-body")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.CHUNK)
            self.connections.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True, name="big-body-conn")
            thread.start()
            self.threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(0.5)
        chunk = bytes(self.CHUNK)
        try:
            head = b""
            while b"\r\n\r\n" not in head and not self.stopping.is_set():
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                head += data
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % self.size)
            remaining = self.size
            view = memoryview(chunk)
            while remaining > 0 and not self.stopping.is_set():
                piece = view[:min(remaining, self.CHUNK)]
                try:
                    n = sock.send(piece)
                except socket.timeout:
                    continue  # the proxy is not reading: that is the point
                self.sent += n
                remaining -= n
        except OSError:
            return

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for thread in self.threads:
            thread.join(timeout=5)
        self.listener.close()
        for sock in self.connections:
            sock.close()
