"""Request smuggling and malformed HTTP through the proxy, on raw sockets.

Every ambiguous or malformed request gets one error response (400; 501 for an unknown
transfer coding; 413/414/431 for limits), the connection is closed, and the upstream records
nothing at all — not a byte. Valid pipelined requests reach the upstream exactly as sent: never
one request split in two, never two merged."""

from __future__ import annotations

import socket
import time

import pytest

from proxy_support import exchange, proxy_env, read_response, request_bytes, unique  # noqa: F401

SETTLE = 0.2  # lets stray bytes reach the upstream before we check it got none (not asserted on)


def post(path: str, extra_headers: str, body: bytes) -> bytes:
    return (f"POST http://echo.test{path} HTTP/1.1\r\nHost: echo.test\r\n{extra_headers}\r\n").encode("latin-1") + body


def get(path: str, extra_headers: str = "", host: str = "echo.test") -> bytes:
    return f"GET http://echo.test{path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}\r\n".encode("latin-1")


def chunked(path: str, body: bytes) -> bytes:
    return post(path, "Transfer-Encoding: chunked\r\n", body)


SECOND = b"GET http://echo.test/smuggled HTTP/1.1\r\nHost: echo.test\r\n\r\n"

# name -> (request bytes for a given unique path, allowed statuses)
MALFORMED = {
    "content-length-and-transfer-encoding": (
        lambda p: post(p, "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\nX"), {400}),
    "transfer-encoding-and-content-length": (
        lambda p: post(p, "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n", b"0\r\n\r\nX"), {400}),
    "two-different-content-lengths": (
        lambda p: post(p, "Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), {400}),
    "content-length-list": (lambda p: post(p, "Content-Length: 5, 6\r\n", b"hello!"), {400}),
    "content-length-with-plus": (lambda p: post(p, "Content-Length: +5\r\n", b"hello"), {400}),
    "content-length-negative": (lambda p: post(p, "Content-Length: -1\r\n", b"hello"), {400}),
    "content-length-hex": (lambda p: post(p, "Content-Length: 0x5\r\n", b"hello"), {400}),
    "transfer-encoding-chunked-identity": (
        lambda p: post(p, "Transfer-Encoding: chunked, identity\r\n", b"5\r\nhello\r\n0\r\n\r\n"), {400, 501}),
    "transfer-encoding-identity": (
        lambda p: post(p, "Transfer-Encoding: identity\r\n", b"5\r\nhello\r\n0\r\n\r\n"), {400, 501}),
    "transfer-encoding-unknown": (
        lambda p: post(p, "Transfer-Encoding: xchunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), {400, 501}),
    "transfer-encoding-chunked-twice": (
        lambda p: post(p, "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
        {400, 501}),
    "space-before-colon": (
        lambda p: post(p, "Transfer-Encoding : chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), {400}),
    "obs-fold-continuation": (lambda p: get(p, "X-Folded: a\r\n  continued\r\n"), {400}),
    "obs-fold-transfer-encoding": (
        lambda p: post(p, "Transfer-Encoding:\r\n chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), {400}),
    "bare-cr-in-header": (lambda p: get(p, "X-Cr: a\rb\r\n"), {400}),
    "nul-in-header-value": (lambda p: get(p, "X-Nul: a\x00b\r\n"), {400}),
    "header-name-with-space": (lambda p: get(p, "X Bad: 1\r\n"), {400}),
    "duplicate-host": (lambda p: get(p, "Host: echo.test\r\n"), {400}),
    "duplicate-host-different": (lambda p: get(p, "Host: api.test\r\n"), {400}),
    "chunk-size-invalid": (lambda p: chunked(p, b"zz\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk-size-with-plus": (lambda p: chunked(p, b"+5\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk-size-hex-prefix": (lambda p: chunked(p, b"0x5\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk-size-overflow": (lambda p: chunked(p, b"1" + b"0" * 20 + b"\r\nhello\r\n0\r\n\r\n"), {400, 413}),
    "chunk-size-overflow-wraps-to-small": (
        lambda p: chunked(p, b"10000000000000005\r\nhello\r\n0\r\n\r\n"), {400, 413}),
    "chunk-data-without-crlf": (lambda p: chunked(p, b"5\r\nhelloXX0\r\n\r\n"), {400}),
    "chunk-size-line-too-long": (lambda p: chunked(p, b"5;" + b"x" * 8192 + b"\r\nhello\r\n0\r\n\r\n"), {400, 431}),
    "pipelined-first-malformed": (lambda p: get(p, "X Bad: 1\r\n") + SECOND, {400}),
    "pipelined-first-ambiguous-length": (
        lambda p: post(p, "Content-Length: 5\r\nContent-Length: 4\r\n", b"hello") + SECOND, {400}),
    "http-1.0-with-chunked": (
        lambda p: f"POST http://echo.test{p} HTTP/1.0\r\nHost: echo.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        .encode() + b"5\r\nhello\r\n0\r\n\r\n", {400, 501}),
    "request-line-extra-spaces": (lambda p: f"GET  http://echo.test{p}  HTTP/1.1\r\nHost: echo.test\r\n\r\n".encode(),
                                  {400}),
    "invalid-version": (lambda p: f"GET http://echo.test{p} HTTP/1.2x\r\nHost: echo.test\r\n\r\n".encode(), {400, 505}),
    "head-too-large": (lambda p: get(p, "X-Big: " + "a" * 128 * 1024 + "\r\n"), {431, 400}),
    "too-many-fields": (lambda p: get(p, "".join(f"X-F{i}: {i}\r\n" for i in range(2000))), {431, 400}),
    "request-target-too-long": (lambda p: get(p + "?" + "q" * 64 * 1024), {414, 431, 400}),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_request_is_refused_closed_and_never_forwarded(proxy_env, name):
    make, allowed = MALFORMED[name]
    path = f"/smuggle/{unique()}"
    before = proxy_env.echo.snapshot()
    result = exchange(proxy_env.port, make(path), max_responses=2, timeout=10)
    time.sleep(SETTLE)
    assert result.statuses and result.statuses[0] in allowed, (name, result)
    assert len(result.responses) == 1, f"{name}: more than one response: {result.statuses}"
    assert result.closed, f"{name}: the proxy kept the connection open after {result.statuses[0]}"
    assert proxy_env.echo.snapshot() == before, (
        f"{name}: bytes reached the upstream: {proxy_env.echo.bytes_received()[-2000:]!r}")


def test_absolute_form_target_decides_over_a_different_host_header(proxy_env):
    """RFC 9112 §3.2.2: a proxy receiving an absolute-form target ignores the Host header and
    uses the target's authority. The request goes to the echo route (the target), and the
    upstream sees the upstream's own Host, never the client's conflicting one."""
    path = f"/absolute/{unique()}"
    result = exchange(proxy_env.port, get(path, extra_headers="Connection: close\r\n", host="api.test"),
                      max_responses=1, timeout=10)
    assert result.statuses == [200], result
    seen = proxy_env.echo.requests_under(path)
    assert len(seen) == 1, seen
    hosts = [value for name, value in seen[0].headers if name.lower() == "host"]
    assert len(hosts) == 1 and hosts[0] != "api.test", seen[0].headers


def test_body_shorter_than_its_content_length_is_never_forwarded_complete(proxy_env):
    """Content-Length promises 200 bytes; 60 arrive (holding a request line), then the client
    half-closes. No complete request may reach the upstream, and nothing for /smuggled."""
    path = f"/smuggle/{unique()}"
    data = post(path, "Content-Length: 200\r\n", SECOND)
    result = exchange(proxy_env.port, data, max_responses=1, timeout=10, shut_write=True)
    time.sleep(SETTLE)
    assert result.statuses in ([], [400]), result
    assert result.closed, result
    assert proxy_env.echo.requests_under(path) == []
    assert proxy_env.echo.requests_under("/smuggled") == []


def test_valid_pipelined_requests_arrive_exactly_as_sent(proxy_env):
    """Three requests in one write, the second with a body that looks like a request: three
    responses in order; the upstream parsed exactly those three requests."""
    key = f"/pipe/{unique()}"
    fake = b"GET http://echo.test/smuggled HTTP/1.1\r\nHost: echo.test\r\n\r\n"
    data = (request_bytes("GET", f"http://echo.test{key}/1", [("Host", "echo.test")])
            + request_bytes("POST", f"http://echo.test{key}/2", [("Host", "echo.test"),
                                                                 ("Content-Length", str(len(fake)))], fake)
            + request_bytes("GET", f"http://echo.test{key}/3", [("Host", "echo.test"), ("Connection", "close")]))
    result = exchange(proxy_env.port, data, max_responses=3, timeout=15)
    assert result.statuses == [200, 200, 200], result
    assert [r.json()["target"] for r in result.responses] == [f"{key}/1", f"{key}/2", f"{key}/3"]
    seen = proxy_env.echo.requests_under(key)
    assert [(r.method, r.target, r.body) for r in seen] == [
        ("GET", f"{key}/1", b""), ("POST", f"{key}/2", fake), ("GET", f"{key}/3", b"")]
    assert proxy_env.echo.requests_under("/smuggled") == []


def test_body_longer_than_content_length_is_the_next_request(proxy_env):
    """`Content-Length: 5` then `hello` and a second request: two requests, as the proxy
    framed them, each answered; the upstream never sees the second inside the first's body."""
    key = f"/pipe/{unique()}"
    second = request_bytes("GET", f"http://echo.test{key}/second", [("Host", "echo.test"), ("Connection", "close")])
    data = post(f"{key}/first", "Content-Length: 5\r\n", b"hello") + second
    result = exchange(proxy_env.port, data, max_responses=2, timeout=15)
    assert result.statuses == [200, 200], result
    seen = proxy_env.echo.requests_under(key)
    assert [(r.target, r.body) for r in seen] == [(f"{key}/first", b"hello"), (f"{key}/second", b"")]


# --- Upgrade is an allow-list: h2c never reaches the upstream --------------------------------

H2C_SETTINGS = "AAMAAABkAAQAAP__"


def h2c_request(path: str, upgrade: str = "h2c", close: bool = False) -> bytes:
    connection = "Upgrade, HTTP2-Settings" + (", close" if close else "")
    return get(path, f"Connection: {connection}\r\nUpgrade: {upgrade}\r\nHTTP2-Settings: {H2C_SETTINGS}\r\n")


def test_h2c_upgrade_is_removed_and_the_request_forwarded_as_plain_http(proxy_env):
    """h2c smuggling: after a 101 to h2c the upstream would speak HTTP/2 on a connection the
    proxy only relays, and the requests that follow would bypass routing and token injection.
    The proxy removes `Upgrade: h2c`, `HTTP2-Settings` and their `Connection` tokens and sends a
    plain HTTP/1.1 request; the connection stays HTTP/1.1, so the next request is routed too.
    The upstream's raw bytes never contain h2c or the settings."""
    key = f"/no-switch/{unique()}"
    result = exchange(proxy_env.port, h2c_request(f"{key}/1") + get(f"{key}/2", "Connection: close\r\n"),
                      max_responses=2, timeout=10)
    assert result.statuses == [200, 200], result
    seen = proxy_env.echo.wait_for_requests(key, 2)
    assert [r.target for r in seen] == [f"{key}/1", f"{key}/2"]
    for request in seen:
        assert request.header_values("Upgrade") == [], request.headers
        assert request.header_values("HTTP2-Settings") == [], request.headers
        assert all("upgrade" not in v.lower() for v in request.header_values("Connection")), request.headers
        assert len(request.header_values("Authorization")) == 1
    raw = proxy_env.echo.bytes_received().lower()
    assert b"h2c" not in raw and H2C_SETTINGS.lower().encode() not in raw and b"http2-settings" not in raw


def test_h2c_to_an_upstream_that_would_switch_gets_its_normal_answer(proxy_env):
    """/upgrade on the echo upstream answers 101 to any Upgrade it sees, else 426. Offered
    h2c it answers 426: it never saw the offer. Offered `h2c, websocket` on a websocket route,
    only websocket arrives and the tunnel opens."""
    result = exchange(proxy_env.port, h2c_request("/upgrade", close=True), max_responses=1, timeout=10)
    assert result.statuses == [426], result
    with socket.create_connection(("127.0.0.1", proxy_env.port), timeout=10) as sock:
        sock.sendall(h2c_request("/upgrade", upgrade="h2c, websocket"))
        f = sock.makefile("rb")
        response = read_response(f)
        assert response.status == 101, (response.status, response.text)
        assert response.header("Upgrade") == "websocket"
        sock.sendall(b"ping")
        assert f.read(4) == b"ping"
    raw = proxy_env.echo.bytes_received().lower()
    assert b"h2c" not in raw and b"http2-settings" not in raw


def test_websocket_upgrade_still_tunnels(proxy_env):
    """The default allow-list: a WebSocket handshake gets the upstream's 101 and bytes flow
    both ways; the upstream saw exactly `Connection: Upgrade` and `Upgrade: websocket`."""
    with socket.create_connection(("127.0.0.1", proxy_env.port), timeout=10) as sock:
        sock.sendall(get("/upgrade", "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"))
        f = sock.makefile("rb")
        response = read_response(f)
        assert response.status == 101, (response.status, response.text)
        assert response.header("Upgrade") == "websocket"
        sock.sendall(b"\x81\x05hello")
        assert f.read(7) == b"\x81\x05hello"
    upgraded = [r for r in proxy_env.echo.requests_under("/upgrade") if r.header_values("Sec-WebSocket-Key")]
    assert upgraded and upgraded[-1].header_values("Upgrade") == ["websocket"]
    assert upgraded[-1].header_values("Connection") == ["Upgrade"]


def test_a_route_with_no_upgrades_forwards_websocket_as_plain_http(proxy_env):
    """`"upgrades": []`: even websocket is removed; the upstream answers the plain request
    (426 here) and never sees an Upgrade."""
    # By identity, not by position: the list is in upstream-connection order, and the request
    # may travel on an older pooled connection.
    before = {(r.connection_id, r.index) for r in proxy_env.echo.requests_under("/upgrade")}
    data = (b"GET http://no-upgrade.test/upgrade HTTP/1.1\r\nHost: no-upgrade.test\r\n"
            b"Connection: Upgrade, close\r\nUpgrade: websocket\r\n\r\n")
    result = exchange(proxy_env.port, data, max_responses=1, timeout=10)
    assert result.statuses == [426], result
    seen = [r for r in proxy_env.echo.requests_under("/upgrade") if (r.connection_id, r.index) not in before]
    assert len(seen) == 1 and seen[0].header_values("Upgrade") == [], seen
