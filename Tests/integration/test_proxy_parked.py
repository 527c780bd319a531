"""A proxied request that waits for a token is parked on its event loop, not a blocked thread
(issue 8): it completes when the token service delivers, and gets 503 with Retry-After when
the fetch fails. Each test has its own IdP (faults are per server), daemon and upstream.

A forced refresh (`X-Tokenproxy-Refresh`) is how a request is made to wait: it skips a cached
token older than 5 s (Limits.Proxy.minimumForcedRefreshInterval), hence the short sleep.
"""

from __future__ import annotations

import shutil
import threading
import time

import keys
from daemon import short_tmpdir
from echo_upstream import EchoUpstream
from proxy_support import REFRESH_HEADER, exchange, proxy_config, request_bytes, start_daemon, unique
from slow_peers import threads_of

FORCED_REFRESH_INTERVAL = 5.0
IDP_DELAY = 1.5


def start(tokenproxy_bin, authserver, tmp_path):
    key = keys.write_key_file(tmp_path / "keys", "p256", "serviceaccount")
    idp = authserver(key)
    echo = EchoUpstream().start()
    sockdir = short_tmpdir()

    def make_config(port: int) -> dict:
        config = proxy_config(
            issuer=idp.issuer, key_path=key.path, api_socket=sockdir / "api.sock", proxy_port=port,
            proxy_socket=sockdir / "proxy.sock",
            routes=[{"host": "echo.test", "upstream": echo.url, "credential": "svc"}], tunnels=[])
        config["log"]["level"] = "info"
        return config

    daemon = start_daemon(tokenproxy_bin, tmp_path, sockdir, make_config)
    first = daemon.token()
    time.sleep(FORCED_REFRESH_INTERVAL + 0.2)  # the cached token is now old enough to be skipped

    def stop():
        daemon.stop()
        echo.stop()
        shutil.rmtree(sockdir, ignore_errors=True)

    return idp, echo, daemon, first, stop


def get(daemon, path: str, *headers: tuple[str, str], timeout: float = 15):
    data = request_bytes("GET", f"http://echo.test{path}",
                         [("Host", "echo.test"), ("Connection", "close"), *headers])
    t0 = time.monotonic()
    result = exchange(daemon.proxy_port, data, max_responses=1, timeout=timeout, wait_close=False)
    assert result.responses, f"no response: {result.error}\n{daemon.log()[-2000:]}"
    return result.responses[0], time.monotonic() - t0


def test_a_parked_request_completes_when_the_token_arrives(tokenproxy_bin, authserver, tmp_path):
    idp, echo, daemon, first, stop = start(tokenproxy_bin, authserver, tmp_path)
    try:
        idp.fault("slow", count=1, delay=IDP_DELAY)
        threads_before = threads_of(daemon.pid)
        outcome: dict = {}

        def parked():
            outcome["response"], outcome["elapsed"] = get(daemon, f"/{unique('parked-')}", (REFRESH_HEADER, "1"))

        thread = threading.Thread(target=parked, daemon=True)
        thread.start()
        time.sleep(0.3)
        # Meanwhile the proxy serves others from the cached token, at once.
        meanwhile, elapsed = get(daemon, f"/{unique('meanwhile-')}")
        threads_during = threads_of(daemon.pid)
        thread.join(timeout=IDP_DELAY + 10)
        assert not thread.is_alive(), "the parked request never finished"
    finally:
        stop()
    response = outcome["response"]
    print(f"\n[parked] {response.status} after {outcome['elapsed']:.2f} s (IdP delay {IDP_DELAY} s); "
          f"meanwhile {meanwhile.status} in {elapsed * 1000:.0f} ms; threads {threads_before} -> {threads_during}")
    assert meanwhile.status == 200 and elapsed < 1.0, (meanwhile.status, elapsed)
    assert response.status == 200, response.text
    assert outcome["elapsed"] >= IDP_DELAY - 0.2, outcome["elapsed"]
    seen = echo.requests_under("/parked-")
    assert len(seen) == 1
    authorization = seen[0].header_values("Authorization")
    assert len(authorization) == 1 and authorization[0].startswith("Bearer ")
    assert authorization[0] != f"Bearer {first}", "the parked request got the old token, not the fetched one"


def test_a_parked_request_gets_503_when_the_fetch_fails(tokenproxy_bin, authserver, tmp_path):
    idp, echo, daemon, _, stop = start(tokenproxy_bin, authserver, tmp_path)
    try:
        idp.fault("text_503")
        response, elapsed = get(daemon, f"/{unique('refused-')}", (REFRESH_HEADER, "1"))
        idp.fault("none")
        after, _ = get(daemon, f"/{unique('after-')}")
    finally:
        stop()
    print(f"\n[parked, failed fetch] {response.status} after {elapsed:.2f} s, Retry-After "
          f"{response.header('Retry-After')}")
    assert response.status == 503, response.text
    assert response.header("Retry-After"), response.text
    assert "echo.test" in response.text and "svc" in response.text
    assert echo.requests_under("/refused-") == []
    assert after.status == 200
