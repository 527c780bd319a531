"""The injecting proxy, forward and reverse form: which requests reach which upstream, with
exactly one valid token and none of the client's credentials, hop-by-hop headers removed both
ways, Via and X-Forwarded-*, routing refusals (403/405), CONNECT tunnels, redirects, keep-alive,
the 401 → refresh → retry path and the refresh header.

Upstreams: nginx (api.test) and the scripted EchoUpstream (echo.test, and /zitadel/ with the
prefix stripped). See proxy_support.py for the environment."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from proxy_support import REFRESH_HEADER, proxy_env, read_response, request_bytes, unique  # noqa: F401

HOP_BY_HOP = ("Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Upgrade", "X-Drop-Me")


def echoed(response) -> dict:
    assert response.status == 200, (response.status, response.text)
    return response.json()


def headers_named(echo: dict, name: str) -> list[str]:
    return [v for n, v in echo["headers"] if n.lower() == name.lower()]


def test_forward_proxy_injects_exactly_one_valid_token(proxy_env):
    """Absolute-form request with the client's own Authorization and Proxy-Authorization: the
    upstream gets one `Authorization: Bearer <token>` valid at the authorization server, and
    neither of the client's values."""
    response = proxy_env.get(f"http://echo.test/{unique('inject-')}", headers=[
        ("Authorization", "Bearer client-supplied-token"), ("Proxy-Authorization", "Basic dXNlcjpwYXNz")])
    echo = echoed(response)
    authorization = headers_named(echo, "Authorization")
    assert len(authorization) == 1, echo["headers"]
    assert "client-supplied-token" not in authorization[0]
    assert proxy_env.valid_at_authserver(authorization[0]), authorization
    assert headers_named(echo, "Proxy-Authorization") == []
    assert "dXNlcjpwYXNz" not in json.dumps(echo)


def test_curl_with_proxy_option_reaches_nginx_with_token(proxy_env):
    """`curl -x http://127.0.0.1:PORT http://api.test/headers`: nginx echoes what it got."""
    done = proxy_env.curl("-x", proxy_env.proxy_url, "-H", "Proxy-Authorization: Basic Zm9vOmJhcg==",
                          "http://api.test/headers")
    assert done.returncode == 0, done.stderr
    authorization, proxy_authorization, via, host = done.stdout.decode().rstrip("\n").split("|")
    assert proxy_env.valid_at_authserver(authorization), done.stdout
    assert proxy_authorization == ""
    assert via, "the proxy must add Via"
    assert host == f"127.0.0.1:{proxy_env.nginx.http_port}"


def test_http_proxy_environment_variable_with_curl(proxy_env):
    """`http_proxy=http://127.0.0.1:PORT curl http://api.test/small.txt` works like -x."""
    done = proxy_env.curl("-f", "http://api.test/small.txt", env={"http_proxy": proxy_env.proxy_url})
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"hello from nginx\n"
    line = proxy_env.nginx.wait_for_line("GET /small.txt ")
    assert line and proxy_env.valid_at_authserver(line.split("|")[1]), line


def test_reverse_proxy_strips_the_prefix_and_adds_forwarded_headers(proxy_env):
    """`curl http://127.0.0.1:PORT/zitadel/v1/users?x=1` arrives as `/v1/users?x=1`, with
    X-Forwarded-For/Proto because the route asks for them."""
    key = unique()
    done = proxy_env.curl(f"{proxy_env.proxy_url}/zitadel/{key}/v1/users?x=1")
    assert done.returncode == 0, done.stderr
    echo = json.loads(done.stdout)
    assert echo["target"] == f"/{key}/v1/users?x=1"
    authorization = headers_named(echo, "Authorization")
    assert len(authorization) == 1 and proxy_env.valid_at_authserver(authorization[0]), echo["headers"]
    assert headers_named(echo, "X-Forwarded-For") == ["127.0.0.1"]
    assert headers_named(echo, "X-Forwarded-Proto") == ["http"]
    assert headers_named(echo, "Host") == [proxy_env.echo.authority]


def test_route_without_forwarded_headers_adds_none(proxy_env):
    echo = echoed(proxy_env.get(f"http://echo.test/{unique('nofwd-')}"))
    assert headers_named(echo, "X-Forwarded-For") == []
    assert headers_named(echo, "X-Forwarded-Proto") == []
    assert headers_named(echo, "Host") == [proxy_env.echo.authority]


def test_unix_socket_listener_routes_by_host(proxy_env):
    """`curl --unix-socket proxy.sock http://echo.test/…` (origin-form, Host: echo.test)."""
    path = f"/{unique('unix-')}"
    done = proxy_env.curl("--unix-socket", proxy_env.daemon.proxy_socket, f"http://echo.test{path}")
    assert done.returncode == 0, done.stderr
    echo = json.loads(done.stdout)
    assert echo["target"] == path
    assert len(headers_named(echo, "Authorization")) == 1


def test_hop_by_hop_request_headers_are_removed(proxy_env):
    """Connection, the names it lists, Keep-Alive, Proxy-Connection, Upgrade and
    Proxy-Authorization stop at the proxy; `Connection: Authorization` does not remove the
    injected Authorization; end-to-end headers pass."""
    echo = echoed(proxy_env.get(f"http://echo.test/{unique('hop-')}", headers=[
        ("Connection", "keep-alive, X-Drop-Me, Authorization"), ("X-Drop-Me", "1"), ("Keep-Alive", "timeout=5"),
        ("Proxy-Connection", "keep-alive"), ("Upgrade", "websocket"), ("Proxy-Authorization", "Basic eDp5"),
        ("Authorization", "Basic Y2xpZW50OnNlY3JldA=="), ("X-End-To-End", "kept")]))
    names = {n.lower() for n, _ in echo["headers"]}
    for name in ("X-Drop-Me", "Keep-Alive", "Proxy-Connection", "Upgrade", "Proxy-Authorization"):
        assert name.lower() not in names, (name, echo["headers"])
    for value in headers_named(echo, "Connection"):
        assert "x-drop-me" not in value.lower() and "authorization" not in value.lower(), value
    assert headers_named(echo, "X-End-To-End") == ["kept"]
    authorization = headers_named(echo, "Authorization")
    assert len(authorization) == 1 and proxy_env.valid_at_authserver(authorization[0]), authorization


def test_connection_authorization_does_not_strip_the_injected_token(proxy_env):
    echo = echoed(proxy_env.get(f"http://echo.test/{unique('connauth-')}",
                                headers=[("Connection", "Authorization")]))
    authorization = headers_named(echo, "Authorization")
    assert len(authorization) == 1 and proxy_env.valid_at_authserver(authorization[0]), echo["headers"]


def test_hop_by_hop_response_headers_are_removed(proxy_env):
    response = proxy_env.get("http://echo.test/hop-headers")
    assert response.status == 200
    for name in ("X-Secret-Hop", "Keep-Alive", "Upgrade", "Proxy-Connection"):
        assert response.header(name) is None, (name, response.headers)
    for value in response.header_values("Connection"):
        assert "x-secret-hop" not in value.lower(), value
    assert response.header("X-End-To-End") == "yes"


def test_via_is_added_to_the_forwarded_request(proxy_env):
    echo = echoed(proxy_env.get(f"http://echo.test/{unique('via-')}"))
    via = headers_named(echo, "Via")
    assert len(via) == 1 and via[0].startswith("1.1 "), echo["headers"]


def test_via_is_added_to_the_response(proxy_env):
    response = proxy_env.get(f"http://echo.test/{unique('via-')}")
    assert response.status == 200
    assert any(v.startswith("1.1 ") for v in response.header_values("Via")), response.headers


@pytest.mark.parametrize("form", ["absolute", "origin"])
def test_unknown_host_is_refused_with_403_and_nothing_is_forwarded(proxy_env, form):
    before, nginx_before = proxy_env.echo.snapshot(), len(proxy_env.nginx.access_lines())
    tunnel_before = proxy_env.tunnel.snapshot()
    host = f"{unique('nowhere-')}.test"
    target = f"http://{host}/v1/things" if form == "absolute" else "/v1/things"
    result = proxy_env.raw(request_bytes("GET", target, [("Host", host), ("Connection", "close")]), max_responses=1)
    assert result.statuses == [403], result
    assert host in result.responses[0].text
    assert proxy_env.echo.snapshot() == before
    assert len(proxy_env.nginx.access_lines()) == nginx_before
    assert proxy_env.tunnel.snapshot() == tunnel_before


def test_connect_to_a_host_not_allow_listed_is_refused_with_405(proxy_env):
    before = proxy_env.echo.snapshot()
    result = proxy_env.raw(b"CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n", max_responses=1,
                           methods=["CONNECT"], wait_close=False)
    assert result.statuses == [405], result
    body = result.responses[0].text.lower()
    assert "evil.test" in body or "tunnel" in body or "connect" in body, body
    assert proxy_env.echo.snapshot() == before


def test_connect_to_the_allow_listed_tunnel_relays_bytes_untouched(proxy_env):
    """CONNECT to the tunnel (a raw TCP echo): 200, then bytes both ways, no token anywhere."""
    payload = b"GET /inner HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 64
    before = proxy_env.tunnel.bytes_received()
    authority = proxy_env.tunnel.authority
    with socket.create_connection(("127.0.0.1", proxy_env.port), timeout=10) as sock:
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            assert chunk, f"proxy closed before answering CONNECT: {head!r}"
            head += chunk
        assert head.split(b" ")[1] == b"200", head
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            assert chunk, f"tunnel closed after {len(received)} of {len(payload)} bytes"
            received += chunk
    assert received == payload
    assert proxy_env.tunnel.bytes_received()[len(before):] == payload


def test_redirects_are_passed_back_not_followed(proxy_env):
    before = len(proxy_env.echo.requests_under("/status/302"))
    done = proxy_env.curl("-x", proxy_env.proxy_url, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                          "http://echo.test/status/302")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "302 http://elsewhere.test/landing"
    assert len(proxy_env.echo.requests_under("/status/302")) == before + 1


def test_upstream_401_causes_one_refresh_and_one_retry(proxy_env):
    """The echo upstream rejects the first token it sees on this path: the proxy refreshes the
    token once (authorization-server stats), replays the request once, and the client only
    sees the upstream's 200."""
    key = unique()
    before = proxy_env.authserver.stats()["token_requests"]
    response = proxy_env.get(f"http://echo.test/reject-first-token/{key}")
    echo = echoed(response)
    attempts = proxy_env.echo.requests_under(f"/reject-first-token/{key}")
    assert len(attempts) == 2, [r.target for r in attempts]
    first, second = (a.header_values("Authorization") for a in attempts)
    assert len(first) == 1 and len(second) == 1 and first != second
    assert headers_named(echo, "Authorization") == second
    assert proxy_env.valid_at_authserver(second[0])
    assert proxy_env.authserver.stats()["token_requests"] - before == 1


def test_upstream_401_replays_a_small_body(proxy_env):
    key = unique()
    body = os.urandom(4000)
    response = proxy_env.get(f"http://echo.test/reject-first-token/{key}", method="POST", body=body,
                             headers=[("Content-Type", "application/octet-stream")])
    echoed(response)
    attempts = proxy_env.echo.requests_under(f"/reject-first-token/{key}")
    assert [a.body for a in attempts] == [body, body]


def test_refresh_header_forces_a_new_token_and_is_not_forwarded(proxy_env):
    """The refresh header makes the proxy fetch a new token (exactly one token request). The
    proxy may ignore it while its token is very fresh (so clients cannot hammer the IdP):
    such absorbed requests cost no token request, and within 15 s one takes effect."""
    first = headers_named(echoed(proxy_env.get(f"http://echo.test/{unique('r1-')}")), "Authorization")
    before = proxy_env.authserver.stats()["token_requests"]
    deadline = time.monotonic() + 15
    while True:
        echo = echoed(proxy_env.get(f"http://echo.test/{unique('r2-')}", headers=[(REFRESH_HEADER, "1")]))
        second = headers_named(echo, "Authorization")
        assert headers_named(echo, REFRESH_HEADER) == []
        if second != first:
            break
        assert proxy_env.authserver.stats()["token_requests"] == before, "a token request that changed nothing"
        assert time.monotonic() < deadline, "the refresh header never produced a new token within 15 s"
        time.sleep(0.5)
    assert proxy_env.authserver.stats()["token_requests"] - before == 1
    assert len(second) == 1 and proxy_env.valid_at_authserver(second[0])


def test_a_burst_of_refresh_headers_causes_at_most_one_token_request(proxy_env):
    before = proxy_env.authserver.stats()["token_requests"]
    for _ in range(5):
        echoed(proxy_env.get(f"http://echo.test/{unique('burst-')}", headers=[(REFRESH_HEADER, "1")]))
    assert proxy_env.authserver.stats()["token_requests"] - before <= 1


def test_keep_alive_client_requests_share_one_upstream_connection(proxy_env):
    """Three requests on one client connection, one after the other: all answered on that
    connection, and the upstream saw them on a single connection."""
    key = unique("ka-")
    with socket.create_connection(("127.0.0.1", proxy_env.port), timeout=10) as sock:
        f = sock.makefile("rb")
        for i in range(3):
            sock.sendall(request_bytes("GET", f"http://echo.test/{key}/{i}", [("Host", "echo.test")]))
            assert read_response(f).status == 200
    requests = proxy_env.echo.requests_under(f"/{key}/")
    assert [r.target for r in requests] == [f"/{key}/{i}" for i in range(3)]
    assert len({r.connection_id for r in requests}) == 1, [r.connection_id for r in requests]


@pytest.mark.parametrize("path, expected", [
    ("/chunked", b"alphabetagamma"),
    ("/until-close", b"delimited by close\n" * 100),
])
def test_response_framings_arrive_intact(proxy_env, path, expected):
    done = proxy_env.curl("-x", proxy_env.proxy_url, "-f", f"http://echo.test{path}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_upgrade_is_relayed_or_cleanly_refused(proxy_env):
    """Not specified whether the proxy supports Upgrade: either 101 and then bytes flow both
    ways, or one complete non-101 answer; never a hang."""
    with socket.create_connection(("127.0.0.1", proxy_env.port), timeout=10) as sock:
        sock.sendall(request_bytes("GET", "http://echo.test/upgrade", [
            ("Host", "echo.test"), ("Connection", "Upgrade"), ("Upgrade", "echo-test/1")]))
        f = sock.makefile("rb")
        response = read_response(f)
        if response.status != 101:
            return
        sock.sendall(b"ping")
        assert f.read(4) == b"ping"
