"""A scripted HTTP/1.1 upstream for tokenproxy's proxy tests, on raw sockets.

Unlike http.server it records the exact bytes every connection delivered, and the requests it
parsed from them, so tests can assert what reached the upstream (one Authorization header, no
hop-by-hop headers, nothing at all after a smuggling attempt, one upstream connection for
several client requests). It runs in the test's process, on 127.0.0.1 port 0.

What it answers depends on the request path (the query string is ignored):

| path | answer |
|---|---|
| `/hang…` | nothing: reads until the peer closes (for response timeouts) |
| `/status/NNN` | status NNN, `Location: http://elsewhere.test/landing` for 3xx |
| `/reject-first-token/KEY…` | 401 to the first Authorization value seen for KEY (every time), 200 echo to others |
| `/chunked` | 200 with a chunked body `alpha` `beta` `gamma` |
| `/until-close` | 200 without Content-Length, body, then close |
| `/zeros/N` | 200 with N zero bytes, streamed |
| `/hop-headers` | 200 echo plus `Connection: X-Secret-Hop`, `X-Secret-Hop`, `Keep-Alive`, `Upgrade`, `X-End-To-End` |
| `/upgrade` | with `Connection: upgrade` + `Upgrade`: 101, then echoes bytes; else 426 |
| anything else | 200, JSON echo of the request (see `echo_json`) |

`raw=True` makes it a plain TCP echo server (a CONNECT tunnel's far end) that records bytes.

Standalone: `python3 echo_upstream.py [--raw]` prints its port and serves until interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field

MAX_HEAD = 1 << 20
IO_TIMEOUT = 60.0


@dataclass
class Request:
    """One request as the upstream parsed it."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    framing: str  # "chunked", "length" or "none"
    connection_id: int
    index: int  # position on its connection, from 0

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class Connection:
    """One accepted connection: every byte received, and the requests parsed from them."""

    id: int
    raw: bytearray = field(default_factory=bytearray)
    requests: list[Request] = field(default_factory=list)
    closed: bool = False


class ParseError(Exception):
    pass


class EchoUpstream:
    """A threaded scripted upstream. Use as a context manager or call start()/stop()."""

    def __init__(self, raw: bool = False, host: str = "127.0.0.1"):
        self.raw_mode = raw
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections: list[Connection] = []
        self.first_tokens: dict[str, str] = {}
        self.ids = itertools.count(1)
        self.sockets: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"

    def __enter__(self) -> EchoUpstream:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> EchoUpstream:
        thread = threading.Thread(target=self._accept_loop, name=f"echo-accept-{self.port}", daemon=True)
        thread.start()
        self.threads.append(thread)
        return self

    def stop(self) -> None:
        self.stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() does not
        except OSError:
            pass
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            sockets = list(self.sockets)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=5)

    # What tests read.

    def snapshot(self) -> tuple[int, int]:
        """(connections accepted, bytes received): compare before/after to prove nothing arrived."""
        with self.lock:
            return len(self.connections), sum(len(c.raw) for c in self.connections)

    def all_requests(self) -> list[Request]:
        with self.lock:
            return [r for c in self.connections for r in c.requests]

    def requests_under(self, prefix: str) -> list[Request]:
        return [r for r in self.all_requests() if r.target.startswith(prefix)]

    def bytes_received(self) -> bytes:
        with self.lock:
            return b"".join(bytes(c.raw) for c in self.connections)

    def wait_for_requests(self, prefix: str, count: int, timeout: float = 10.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests_under(prefix)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        return self.requests_under(prefix)

    # Serving.

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            conn = Connection(next(self.ids))
            with self.lock:
                self.connections.append(conn)
                self.sockets.add(sock)
            thread = threading.Thread(target=self._serve, args=(sock, conn), daemon=True,
                                      name=f"echo-conn-{conn.id}")
            thread.start()
            self.threads.append(thread)

    def _serve(self, sock: socket.socket, conn: Connection) -> None:
        sock.settimeout(IO_TIMEOUT)
        reader = _Reader(sock, conn, self.lock)
        try:
            if self.raw_mode:
                while data := reader.recv():
                    sock.sendall(data)
                return
            index = 0
            while not self.stopping.is_set():
                if not reader.fill_until(b"\r\n\r\n", MAX_HEAD, allow_eof=True):
                    return
                try:
                    request = _parse_request(reader, conn.id, index)
                except ParseError as e:
                    sock.sendall(_response(400, str(e).encode(), close=True))
                    return
                with self.lock:
                    conn.requests.append(request)
                index += 1
                if not self._respond(sock, reader, request):
                    return
                connection = ",".join(request.header_values("Connection")).lower()
                if "close" in connection or request.version == "HTTP/1.0":
                    return
        except OSError:
            return
        finally:
            with self.lock:
                conn.closed = True
                self.sockets.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _respond(self, sock: socket.socket, reader: _Reader, request: Request) -> bool:
        """Sends the scripted answer; False when the connection must end afterwards."""
        path = request.path
        if path.startswith("/hang"):
            while reader.recv():
                pass
            return False
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            extra = [("Location", "http://elsewhere.test/landing")] if 300 <= code < 400 else []
            sock.sendall(_response(code, f"status {code}\n".encode(), extra))
            return True
        if path.startswith("/reject-first-token/"):
            key = path.split("/")[2]
            token = request.header("Authorization") or ""
            with self.lock:
                first = self.first_tokens.setdefault(key, token)
            if token == first:
                sock.sendall(_response(401, b"token rejected\n",
                                       [("WWW-Authenticate", 'Bearer error="invalid_token"')]))
                return True
        if path == "/chunked":
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (b"alpha", b"beta", b"gamma"))
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + chunks + b"0\r\n\r\n")
            return True
        if path == "/until-close":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                         + b"delimited by close\n" * 100)
            return False
        if path.startswith("/zeros/"):
            size = int(path.split("/")[2])
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % size)
            block = bytes(65536)
            while size > 0:
                n = min(size, len(block))
                sock.sendall(block[:n])
                size -= n
            return True
        if path == "/hop-headers":
            extra = [("Connection", "X-Secret-Hop"), ("X-Secret-Hop", "1"), ("Keep-Alive", "timeout=9"),
                     ("Upgrade", "bogus/1"), ("Proxy-Connection", "keep-alive"), ("X-End-To-End", "yes")]
            sock.sendall(_response(200, echo_json(request), extra, content_type="application/json"))
            return True
        if path == "/upgrade":
            connection = ",".join(request.header_values("Connection")).lower()
            if "upgrade" not in connection or not request.header("Upgrade"):
                sock.sendall(_response(426, b"upgrade required\n"))
                return True
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "
                         + request.header("Upgrade").encode("latin-1") + b"\r\n\r\n")
            if reader.buffer:
                sock.sendall(bytes(reader.buffer))
                reader.buffer.clear()
            while data := reader.recv():
                sock.sendall(data)
            return False
        sock.sendall(_response(200, echo_json(request), content_type="application/json"))
        return True


def echo_json(request: Request) -> bytes:
    """The default answer: what arrived, as JSON."""
    body = {
        "connection": request.connection_id,
        "index": request.index,
        "method": request.method,
        "target": request.target,
        "version": request.version,
        "headers": [[n, v] for n, v in request.headers],
        "framing": request.framing,
        "body_length": len(request.body),
        "body_sha256": hashlib.sha256(request.body).hexdigest(),
    }
    return json.dumps(body).encode() + b"\n"


def _response(status: int, body: bytes, extra: list | None = None, *, close: bool = False,
              content_type: str = "text/plain") -> bytes:
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 426: "Upgrade Required"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{n}: {v}" for n, v in (extra or [])]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Reader:
    """Buffered reads that record every received byte on the connection."""

    def __init__(self, sock: socket.socket, conn: Connection, lock: threading.Lock):
        self.sock = sock
        self.conn = conn
        self.lock = lock
        self.buffer = bytearray()

    def recv(self) -> bytes:
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, OSError):
            return b""
        with self.lock:
            self.conn.raw += data
        return data

    def fill(self, n: int) -> None:
        while len(self.buffer) < n:
            data = self.recv()
            if not data:
                raise ParseError("connection closed in the middle of a request")
            self.buffer += data

    def fill_until(self, marker: bytes, limit: int, allow_eof: bool = False) -> bool:
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                raise ParseError("head too large")
            data = self.recv()
            if not data:
                if allow_eof and not self.buffer:
                    return False
                raise ParseError("connection closed in the middle of a request")
            self.buffer += data
        return True

    def take(self, n: int) -> bytes:
        self.fill(n)
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def line(self) -> bytes:
        self.fill_until(b"\r\n", MAX_HEAD)
        i = self.buffer.index(b"\r\n")
        out = bytes(self.buffer[:i])
        del self.buffer[: i + 2]
        return out


def _parse_request(reader: _Reader, connection_id: int, index: int) -> Request:
    end = reader.buffer.index(b"\r\n\r\n")
    head = bytes(reader.buffer[:end]).decode("latin-1")
    del reader.buffer[: end + 4]
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise ParseError(f"bad request line {lines[0]!r}")
    method, target, version = parts
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ParseError(f"bad header line {line!r}")
        headers.append((name, value.strip(" \t")))
    request = Request(method, target, version, headers, b"", "none", connection_id, index)
    te = ",".join(request.header_values("Transfer-Encoding")).lower()
    lengths = request.header_values("Content-Length")
    if te:
        if lengths:
            raise ParseError("both Transfer-Encoding and Content-Length")
        if te.replace(" ", "") != "chunked":
            raise ParseError(f"unsupported Transfer-Encoding {te!r}")
        request.body = _read_chunked(reader)
        request.framing = "chunked"
    elif lengths:
        if len(lengths) != 1 or not lengths[0].isdigit():
            raise ParseError(f"bad Content-Length {lengths!r}")
        request.body = reader.take(int(lengths[0]))
        request.framing = "length"
    return request


def _read_chunked(reader: _Reader) -> bytes:
    body = bytearray()
    while True:
        size_text = reader.line().split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ParseError(f"bad chunk size {size_text!r}") from None
        if size == 0:
            while reader.line():  # trailers
                pass
            return bytes(body)
        body += reader.take(size)
        if reader.take(2) != b"\r\n":
            raise ParseError("chunk not followed by CRLF")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", action="store_true", help="plain TCP echo instead of HTTP")
    args = parser.parse_args()
    server = EchoUpstream(raw=args.raw).start()
    print(server.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
