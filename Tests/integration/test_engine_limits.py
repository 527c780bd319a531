"""The engines under hostile or awkward peers (issue 8, "Tests"): slow clients on the token API
and on the proxy do not delay a well-behaved client and are closed by the header deadline; a
TLS upstream that stalls mid-handshake times out; a client that reads slowly holds the daemon's
memory flat (backpressure) while the upstream still has plenty to send.

Bounded: every loop has a count and a deadline. Parallel-safe: every test starts its own daemon
(own tmp dirs, Unix sockets under /tmp, free ports) and its own upstreams in this process, and
closes every socket it opened. Numbers worth quoting (threads, RSS, latencies) are printed; run
with `-s` (or read the captured output of a failure) to see them.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

import keys
from daemon import credential_entry, short_tmpdir, unix_request
from echo_upstream import EchoUpstream
from proxy_support import exchange, proxy_config, request_bytes, start_daemon, unique
from slow_peers import (
    EARLY_SLACK,
    LATE_MARGIN,
    BigBodyUpstream,
    SlowClients,
    StallingTLSUpstream,
    check_closed_by_deadline,
    ensure_own_fd_limit,
    open_files_limit,
    rss_of,
    summary,
    threads_of,
)

# The token API's header deadline is not configurable (Limits.Server.headerReadTimeout, 10 s,
# no `api` key for it), so test 1 waits it out: ~12 s of the file's runtime.
API_HEADER_TIMEOUT = 10.0
API_MAX_CONNECTIONS = 1024  # Limits.Server.maxConnections: one more is closed at once
PROXY_HEADER_TIMEOUT = 2.0  # `proxy.header_read_timeout`, configured below
CONNECT_TIMEOUT = 1.0  # `proxy.connect_timeout`, configured below
GOOD_LATENCY_BOUND = 2.0  # generous: correctness under load, not a benchmark
THREAD_TOLERANCE = 3  # a loaded Dispatch pool may add a worker or two; 1,000 clients must not
RSS_GROWTH_BOUND = 32 << 20
# The proxy runs on the event loops (issue 8): 1,000 slow clients add no threads.
PROXY_SLOW_CLIENTS = 1000
PROXY_MAX_CONNECTIONS = 1024  # Limits.Proxy.maxConnections


# -------------------------------------------------------------------------- 1. the token API


@pytest.fixture
def api_daemon(tokenproxy_daemon, shared_authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    shared_authserver.add_client(key.registration())
    d = tokenproxy_daemon().start({"svc": credential_entry(key, shared_authserver.issuer)}, level="info")
    d.wait_token("svc")
    return d


def test_thousand_slow_clients_on_the_token_api(api_daemon):
    d = api_daemon
    # Size the crowd: 1,000 unless the daemon's open-files limit (inherited from this process;
    # 20,000 on the CI machine) or the API's connection limit (1,024, a connection over it is
    # closed at once) leaves less room. 64 fds stay for the daemon's own files, listeners,
    # loops and IdP connections; 8 connections for the well-behaved client and /healthz.
    daemon_fds = open_files_limit(d.pid)
    count = min(1000, daemon_fds - 64, API_MAX_CONNECTIONS - 8)
    own_fds = ensure_own_fd_limit(count + 256)
    count = min(count, own_fds - 128)
    assert count >= 500, f"fd limits too low for the test (daemon {daemon_fds}, this process {own_fds})"

    for _ in range(3):  # warm-up: the loops and the token response exist before we count threads
        assert d.token("svc").status == 200
    threads_before = threads_of(d.pid)

    def connect() -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(str(d.socket_path))
        except BaseException:
            s.close()
            raise
        return s

    started = time.monotonic()
    slow = SlowClients(connect, count, b"GET /v1/tokens/svc HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    try:
        opened_in = time.monotonic() - started
        # The well-behaved client, each request on a new connection (accept under load too).
        latencies = []
        for _ in range(20):
            t0 = time.monotonic()
            r = unix_request(d.socket_path, "GET", "/v1/tokens/svc", timeout=GOOD_LATENCY_BOUND + 3)
            latencies.append(time.monotonic() - t0)
            assert r.status == 200, r.text
            assert r.json()["access_token"]
            time.sleep(0.05)
            slow.trickle()
        threads_during = threads_of(d.pid)
        slow.closed_early()  # records any early close (check_closed_by_deadline's lower bound fails on it)

        slow.watch(started + API_HEADER_TIMEOUT + LATE_MARGIN + opened_in, trickle_every=1.0)
        times = check_closed_by_deadline(slow, API_HEADER_TIMEOUT, "token API")
    finally:
        slow.close()
    threads_after = threads_of(d.pid)
    assert d.token("svc").status == 200

    print(f"\n[token API] {count} slow clients (daemon NOFILE {daemon_fds}) opened in {opened_in:.2f} s; "
          f"threads before/during/after: {threads_before}/{threads_during}/{threads_after}; "
          f"good client {summary(latencies)} (first {latencies[0] * 1000:.1f} ms); slow clients closed "
          f"{times[0]:.2f}..{times[-1]:.2f} s after connect, {len(slow.received)} with a 408")
    assert max(latencies) <= GOOD_LATENCY_BOUND, summary(latencies)
    assert threads_during <= threads_before + THREAD_TOLERANCE, (threads_before, threads_during)


# ------------------------------------------------------------------------ the proxy daemon


@pytest.fixture
def proxy_daemon(tokenproxy_bin, shared_authserver, tmp_path):
    """Factory: proxy_daemon(routes, **proxy_settings) -> ProxyDaemon with credential 'svc' and
    an `echo.test` route to an EchoUpstream (the well-behaved client's destination), plus
    `routes`. Stopped by pid at teardown with everything else the test started here."""
    cleanup = []

    def make(routes: list[dict], **proxy_settings):
        key = keys.write_key_file(tmp_path / "keys", "p256", "serviceaccount")
        shared_authserver.add_client(key.registration())
        echo = EchoUpstream().start()
        cleanup.append(echo.stop)
        sockdir = short_tmpdir()
        cleanup.append(lambda: shutil.rmtree(sockdir, ignore_errors=True))

        def make_config(port: int) -> dict:
            config = proxy_config(
                issuer=shared_authserver.issuer, key_path=key.path, api_socket=sockdir / "api.sock",
                proxy_port=port, proxy_socket=sockdir / "proxy.sock",
                routes=[{"host": "echo.test", "upstream": echo.url, "credential": "svc"}, *routes], tunnels=[])
            config["log"]["level"] = "info"
            config["proxy"].update(proxy_settings)
            return config

        daemon = start_daemon(tokenproxy_bin, tmp_path, sockdir, make_config)
        cleanup.append(daemon.stop)
        daemon.token()  # the first token is there before anything is measured
        return daemon

    yield make
    for step in reversed(cleanup):
        step()


def good_request(daemon, timeout: float = GOOD_LATENCY_BOUND + 3):
    """One forward-proxy GET to echo.test on a new connection: (status, seconds)."""
    t0 = time.monotonic()
    data = request_bytes("GET", f"http://echo.test/{unique('good-')}", [("Host", "echo.test"), ("Connection", "close")])
    result = exchange(daemon.proxy_port, data, max_responses=1, timeout=timeout, wait_close=False)
    elapsed = time.monotonic() - t0
    assert result.responses, f"no response from the proxy: {result.error}\n{daemon.log()[-2000:]}"
    return result.responses[0].status, elapsed


# ------------------------------------------------------------------------------ 2. the proxy


def test_slow_clients_on_the_proxy(proxy_daemon):
    d = proxy_daemon([], header_read_timeout=PROXY_HEADER_TIMEOUT)
    # Sized as for the token API: the daemon's open-files limit and the proxy's connection
    # limit leave room for the well-behaved client and the upstream connections.
    daemon_fds = open_files_limit(d.pid)
    count = min(PROXY_SLOW_CLIENTS, daemon_fds - 96, PROXY_MAX_CONNECTIONS - 16)
    own_fds = ensure_own_fd_limit(count + 256)
    count = min(count, own_fds - 128)
    assert count >= 500, f"fd limits too low for the test (daemon {daemon_fds}, this process {own_fds})"
    for _ in range(3):
        assert good_request(d)[0] == 200
    threads_before = threads_of(d.pid)

    def connect() -> socket.socket:
        return socket.create_connection(("127.0.0.1", d.proxy_port), timeout=5)

    started = time.monotonic()
    slow = SlowClients(connect, count, b"GET http://echo.test/slow HTTP/1.1\r\nHost: echo.test\r\nX-Slow: ")
    try:
        opened_in = time.monotonic() - started
        latencies = []
        threads_during = threads_before
        # Well inside the header deadline, so every slow client is still open meanwhile.
        while time.monotonic() - started < PROXY_HEADER_TIMEOUT * 0.6 and len(latencies) < 20:
            status, elapsed = good_request(d)
            latencies.append(elapsed)
            assert status == 200
            threads_during = max(threads_during, threads_of(d.pid))
            time.sleep(0.02)
        slow.closed_early()  # records any early close (check_closed_by_deadline's lower bound fails on it)
        slow.watch(started + opened_in + PROXY_HEADER_TIMEOUT + LATE_MARGIN, trickle_every=0.25)
        times = check_closed_by_deadline(slow, PROXY_HEADER_TIMEOUT, "proxy")
    finally:
        slow.close()
    threads_after = threads_of(d.pid)
    assert good_request(d)[0] == 200

    print(f"\n[proxy] {count} slow clients opened in {opened_in:.2f} s; threads before/during/after: "
          f"{threads_before}/{threads_during}/{threads_after} (+{threads_during - threads_before}); "
          f"good client {summary(latencies)}; slow clients closed {times[0]:.2f}..{times[-1]:.2f} s "
          f"after connect, {len(slow.received)} with a 408")
    assert latencies, "the good client got no turn"
    assert max(latencies) <= GOOD_LATENCY_BOUND, summary(latencies)
    assert threads_during <= threads_before + THREAD_TOLERANCE, (threads_before, threads_during)


# -------------------------------------------------------------- 3. a stalled TLS handshake


def test_tls_upstream_stalling_mid_handshake_times_out(proxy_daemon, tls_material):
    stall = StallingTLSUpstream()
    try:
        d = proxy_daemon([{"host": "stall.test", "upstream": f"https://localhost:{stall.port}", "credential": "svc",
                           "ca_file": str(tls_material.ca_file)}], connect_timeout=CONNECT_TIMEOUT)
        outcome: dict = {}

        def stalled_request():
            t0 = time.monotonic()
            data = request_bytes("GET", "http://stall.test/x", [("Host", "stall.test"), ("Connection", "close")])
            outcome["result"] = exchange(d.proxy_port, data, max_responses=1, timeout=CONNECT_TIMEOUT + 10,
                                         wait_close=False)
            outcome["elapsed"] = time.monotonic() - t0

        thread = threading.Thread(target=stalled_request, daemon=True)
        thread.start()
        # While that request waits on the handshake, the proxy serves others.
        meanwhile = [good_request(d) for _ in range(3)]
        thread.join(timeout=CONNECT_TIMEOUT + 15)
        assert not thread.is_alive(), "the stalled request never finished"
        after = good_request(d)
    finally:
        stall.stop()

    result, elapsed = outcome["result"], outcome["elapsed"]
    print(f"\n[tls stall] status {result.statuses} after {elapsed:.2f} s (connect_timeout {CONNECT_TIMEOUT} s); "
          f"meanwhile {[f'{s} {t * 1000:.0f} ms' for s, t in meanwhile]}")
    assert stall.first_bytes and stall.first_bytes[0][:1] == b"\x16", f"no ClientHello reached the upstream: {stall.first_bytes!r}"
    assert result.responses, f"no response for the stalled upstream: {result.error}"
    # ProxyEngineError: connecting (TCP + TLS) longer than connect_timeout is 504.
    assert result.responses[0].status == 504, (result.responses[0].status, result.responses[0].text)
    assert CONNECT_TIMEOUT - EARLY_SLACK <= elapsed <= CONNECT_TIMEOUT + 4, elapsed
    assert all(status == 200 for status, _ in meanwhile), meanwhile
    assert all(t <= GOOD_LATENCY_BOUND for _, t in meanwhile), meanwhile
    assert after[0] == 200


# ---------------------------------------------------------------------------- 4. backpressure


def test_slow_reader_holds_memory_flat(proxy_daemon):
    size = 200 << 20
    big = BigBodyUpstream(size)
    sock = None
    try:
        d = proxy_daemon([{"host": "big.test", "upstream": big.url, "credential": "svc"}])
        assert good_request(d)[0] == 200
        rss_before = rss_of(d.pid)

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # before connect: a small window
        sock.settimeout(5)
        sock.connect(("127.0.0.1", d.proxy_port))
        sock.sendall(request_bytes("GET", "http://big.test/big", [("Host", "big.test")]))
        received = 0
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            assert data, f"the proxy closed before a response head: {head!r}"
            head += data
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        received = len(head) - head.index(b"\r\n\r\n") - 4
        rss_peak = rss_before
        start = time.monotonic()
        reads = 0
        while time.monotonic() - start < 5.0 and reads < 5000:  # ~16 KiB per 10 ms: ~1.6 MB/s at most
            data = sock.recv(16384)
            assert data, "the proxy closed the body early"
            received += len(data)
            reads += 1
            if reads % 25 == 0:
                rss_peak = max(rss_peak, rss_of(d.pid))
            time.sleep(0.01)
        rss_peak = max(rss_peak, rss_of(d.pid))
        sent = big.sent
        in_flight = sent - received
    finally:
        if sock is not None:
            sock.close()
        big.stop()

    print(f"\n[backpressure] client read {received / 2**20:.1f} MiB in 5 s, upstream sent {sent / 2**20:.1f} MiB "
          f"of {size >> 20} MiB (in flight {in_flight / 2**20:.1f} MiB); daemon RSS {rss_before / 2**20:.1f} MiB "
          f"-> peak {rss_peak / 2**20:.1f} MiB (+{(rss_peak - rss_before) / 2**20:.1f} MiB)")
    assert sent < size // 2, "the upstream sent most of the body: nothing held it back"
    assert in_flight < 32 << 20, f"{in_flight} bytes read from the upstream but not by the client"
    assert rss_peak - rss_before < RSS_GROWTH_BOUND, (rss_before, rss_peak)
