"""The proxy toward its upstreams: HTTPS with a private CA (and the 502 without it), mutual TLS
with a route client certificate, upstream failures (502 refused, 504 hanging), chunked uploads,
and a 1 GiB download that must stream with flat memory."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from proxy_support import BIG_FILE, RESPONSE_TIMEOUT, proxy_env, unique  # noqa: F401

MEMORY_BOUND = 64 << 20  # peak RSS growth allowed while relaying the big download


def test_https_upstream_with_the_route_ca_file(proxy_env):
    """secure.test → https://localhost:PORT (nginx, certificate from the throwaway test CA)."""
    done = proxy_env.curl("-x", proxy_env.proxy_url, "http://secure.test/headers")
    assert done.returncode == 0, done.stderr
    authorization, proxy_authorization, via, host = done.stdout.decode().rstrip("\n").split("|")
    assert proxy_env.valid_at_authserver(authorization), done.stdout
    assert host == f"localhost:{proxy_env.nginx.https_port}"


def test_mutual_tls_upstream_gets_the_route_client_certificate(proxy_env):
    """mtls.test → nginx that requires a client certificate: the route's client_key (loaded
    like every key file) signs the handshake, and the token is injected as usual."""
    done = proxy_env.curl("-x", proxy_env.proxy_url, "http://mtls.test/client")
    assert done.returncode == 0, done.stderr
    verify, subject, authorization = done.stdout.decode().rstrip("\n").split("|")
    assert verify == "SUCCESS", done.stdout
    assert subject == "CN=tokenproxy-test-client", done.stdout
    assert proxy_env.valid_at_authserver(authorization), done.stdout


def test_https_upstream_without_ca_file_is_a_502_naming_route_and_certificate(proxy_env):
    """untrusted.test points at the same nginx without ca_file: verification fails, 502 with a
    body that names the route and says it is about the certificate; nginx logs nothing."""
    before = len(proxy_env.nginx.access_lines())
    response = proxy_env.get("http://untrusted.test/headers")
    assert response.status == 502, (response.status, response.text)
    body = response.text.lower()
    assert "untrusted.test" in body, response.text
    assert "certificate" in body or "verif" in body, response.text
    assert "bearer" not in body
    assert len(proxy_env.nginx.access_lines()) == before


def test_upstream_refusing_connections_is_a_502(proxy_env):
    response = proxy_env.get("http://down.test/anything")
    assert response.status == 502, (response.status, response.text)
    assert "down.test" in response.text.lower(), response.text


def test_upstream_hanging_is_a_504(proxy_env):
    """The echo upstream reads the request and never answers: 504 once response_timeout
    (5 s here) has passed. Bounded by the client's own 30 s timeout, not a timing assertion."""
    path = f"/hang/{unique()}"
    response = proxy_env.get(f"http://echo.test{path}", timeout=RESPONSE_TIMEOUT + 25)
    assert response.status == 504, (response.status, response.text)
    assert len(proxy_env.echo.requests_under(path)) == 1


@pytest.mark.parametrize("size", [1000, 300_000])
def test_chunked_upload_arrives_intact(proxy_env, size):
    """`curl -T - -H 'Transfer-Encoding: chunked'`: the body arrives byte for byte, whether it
    fits the replay buffer (64 KiB) or streams past it."""
    data = os.urandom(size)
    path = f"/upload/{unique()}"
    done = proxy_env.curl("-x", proxy_env.proxy_url, "-f", "-T", "-", "-H", "Transfer-Encoding: chunked", "-H", "Expect:",
                          f"http://echo.test{path}", input=data)
    assert done.returncode == 0, done.stderr
    requests = proxy_env.echo.requests_under(path)
    assert len(requests) == 1
    assert requests[0].method == "PUT"
    assert len(requests[0].body) == size
    assert hashlib.sha256(requests[0].body).digest() == hashlib.sha256(data).digest()
    assert len(requests[0].header_values("Authorization")) == 1


def test_streamed_response_from_the_echo_upstream(proxy_env):
    size = 8 << 20
    done = proxy_env.curl("-x", proxy_env.proxy_url, "-f", "-o", "/dev/null", "-w", "%{size_download}",
                          f"http://echo.test/zeros/{size}")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == size


def test_one_gibibyte_download_streams_with_flat_memory(proxy_env):
    """1 GiB from nginx (a sparse file) through the proxy to curl: the daemon's resident set
    (VmRSS sampled from /proc during the transfer, and VmHWM after) grows by less than 64 MiB."""
    warm = proxy_env.curl("-x", proxy_env.proxy_url, "-f", "http://api.test/small.txt")
    assert warm.returncode == 0, warm.stderr
    baseline = proxy_env.daemon.memory()
    peak = [baseline["VmRSS"]]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], proxy_env.daemon.memory()["VmRSS"])
            except (OSError, KeyError):
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        done = proxy_env.curl("-x", proxy_env.proxy_url, "-f", "-o", "/dev/null", "-w", "%{size_download}",
                              f"http://api.test/{BIG_FILE}", timeout=90)
    finally:
        stop.set()
        sampler.join(timeout=5)
    after = proxy_env.daemon.memory()
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == proxy_env.big_file_size
    line = proxy_env.nginx.wait_for_line(f"GET /{BIG_FILE} ")
    assert line and proxy_env.valid_at_authserver(line.split("|")[1]), line
    # VmHWM counts only if it rose during the transfer (it also remembers start-up peaks).
    high_water = after["VmHWM"] if after["VmHWM"] > baseline["VmHWM"] else 0
    growth = max(peak[0], high_water) - baseline["VmRSS"]
    print(f"RSS growth {growth / 2**20:.1f} MiB (baseline {baseline}, sampled peak {peak[0]}, after {after})")
    assert growth < MEMORY_BOUND, (
        f"resident memory grew by {growth / 2**20:.1f} MiB relaying {proxy_env.big_file_size >> 20} MiB "
        f"(baseline {baseline}, sampled peak {peak[0]}, after {after})")
