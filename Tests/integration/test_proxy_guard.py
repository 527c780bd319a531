"""The proxy's guard route (`proxy.routes[].guard`): the caller's bearer token is introspected
at Authlib (with an application key, `private_key_jwt`) before anything reaches the upstream.
401/403 with the RFC 6750 §3 challenge, identity headers forwarded and client-sent copies
removed, nothing forwarded for an invalid token, guard + inject on one route."""

from __future__ import annotations

import base64
import http.client
import json
import threading

import pytest

from daemon import credential_entry, free_port, metric
from echo_upstream import EchoUpstream

CLAIMS = {"sub": "X-Auth-Subject", "client_id": "X-Auth-Client", "scope": "X-Auth-Scope"}
SPOOFED = [("X-Auth-Subject", "admin"), ("x-auth-client", "root"), ("X-Auth-Scope", "everything")]


def mint(server, client_id: str, *, lifetime: int = 600, scope: str = "orders.read") -> str:
    r = server.post("/_test/mint", json={"client_id": client_id, "lifetime": lifetime, "scope": scope})
    r.raise_for_status()
    return r.json()["access_token"]


class Guarded:
    def __init__(self, daemon, server, echo, caller, port):
        self.daemon, self.server, self.echo, self.caller, self.port = daemon, server, echo, caller, port

    def request(self, path: str, headers: list[tuple[str, str]] | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.putrequest("GET", path, skip_accept_encoding=True)
            for name, value in headers or []:
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            body = response.read()
            return response.status, response.headers, body
        finally:
            conn.close()

    def bearer(self, path: str, token: str, extra: list | None = None):
        return self.request(path, [("Authorization", f"Bearer {token}"), *(extra or [])])

    def reached(self, marker: str) -> list:
        return [r for r in self.echo.all_requests() if marker in r.target]


@pytest.fixture
def guarded(authserver, key_factory, tokenproxy_daemon):
    api_key = key_factory("rsa2048", "application")
    caller = key_factory("p256", "application")
    server = authserver(api_key, caller)
    echo = EchoUpstream().start()
    port = free_port()
    upstream = echo.url
    routes = [
        {"path_prefix": "/orders/", "upstream": upstream,
         "guard": {"credential": "api", "require_scopes": ["orders.read"], "forward_claims": CLAIMS}},
        {"path_prefix": "/pass/", "upstream": upstream,
         "guard": {"credential": "api", "forward_token": True}},
        {"path_prefix": "/both/", "upstream": upstream, "credential": "api",
         "guard": {"credential": "api", "forward_claims": {"sub": "X-Auth-Subject"}}},
        {"path_prefix": "/aud/", "upstream": upstream,
         "guard": {"credential": "api", "require_audience": "https://orders.example"}},
        {"path_prefix": "/jwt/", "upstream": upstream,
         "guard": {"credential": "jwt-api", "require_scopes": ["orders.read"], "forward_claims": CLAIMS}},
    ]
    d = tokenproxy_daemon()
    d.write_config({
        "api": {"socket": str(d.socket_path), "socket_mode": "0600"},
        "credentials": {
            "api": credential_entry(api_key, server.issuer),
            # The same application key, validating JWT access tokens locally; it fetches no tokens.
            "jwt-api": {"key_file": str(api_key.path), "issuer": server.issuer, "fetch_tokens": False,
                        "introspection": {"mode": "jwt", "token_audience": "orders-project"}},
        },
        "log": {"level": "debug"},
        "proxy": {"listen": [f"127.0.0.1:{port}"], "routes": routes},
    })
    d.launch()
    yield Guarded(d, server, echo, caller, port)
    echo.stop()


def test_valid_token_forwards_identity_headers_and_removes_spoofed_copies(guarded):
    token = mint(guarded.server, guarded.caller.client_id, scope="orders.read orders.write")
    status, headers, body = guarded.bearer("/orders/list-1", token, SPOOFED)
    assert status == 200, body
    echo = json.loads(body)
    names = [(n.lower(), v) for n, v in echo["headers"]]
    assert ("x-auth-subject", guarded.caller.client_id) in names
    assert ("x-auth-client", guarded.caller.client_id) in names
    assert ("x-auth-scope", "orders.read orders.write") in names
    for spoofed_name, spoofed_value in SPOOFED:
        assert (spoofed_name.lower(), spoofed_value) not in names
    assert sum(1 for n, _ in names if n == "x-auth-subject") == 1
    # forward_token false and no credential: the caller's token does not go upstream.
    assert not any(n == "authorization" for n, _ in names)
    assert token not in body.decode()


def test_missing_token_is_401_with_bare_bearer_challenge(guarded):
    status, headers, body = guarded.request("/orders/none-1", SPOOFED)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="tokenproxy"'
    assert guarded.reached("none-1") == []
    status, headers, _ = guarded.request("/orders/basic-1", [("Authorization", "Basic dXNlcjpwYXNz")])
    assert status == 401 and "error=" not in headers["WWW-Authenticate"]


def test_invalid_tokens_get_invalid_token_and_nothing_is_forwarded(guarded):
    expired = mint(guarded.server, guarded.caller.client_id, lifetime=1)
    revoked = mint(guarded.server, guarded.caller.client_id)
    guarded.server.post("/_test/revoke", json={"token": revoked}).raise_for_status()
    import time
    time.sleep(1.2)
    for index, token in enumerate(["unknown-token", expired, revoked]):
        status, headers, body = guarded.bearer(f"/orders/invalid-{index}", token, SPOOFED)
        assert status == 401, body
        challenge = headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="tokenproxy", error="invalid_token"'), challenge
        assert json.loads(body)["error"] == "invalid_token"
        assert token not in challenge and token not in body.decode()
        assert guarded.reached(f"invalid-{index}") == []
    status, headers, _ = guarded.request("/orders/malformed", [("Authorization", "Bearer a b")])
    assert status == 400 and 'error="invalid_request"' in headers["WWW-Authenticate"]


def test_missing_scope_is_403_insufficient_scope(guarded):
    token = mint(guarded.server, guarded.caller.client_id, scope="profile")
    status, headers, body = guarded.bearer("/orders/scope-1", token)
    assert status == 403, body
    challenge = headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="orders.read"' in challenge
    assert guarded.reached("scope-1") == []


def test_wrong_audience_is_invalid_token(guarded):
    token = mint(guarded.server, guarded.caller.client_id)
    status, headers, _ = guarded.bearer("/aud/x-1", token)
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
    assert guarded.reached("x-1") == []


def test_forward_token_passes_the_callers_token(guarded):
    token = mint(guarded.server, guarded.caller.client_id)
    status, _, body = guarded.bearer("/pass/p-1", token)
    assert status == 200
    names = [(n.lower(), v) for n, v in json.loads(body)["headers"]]
    assert ("authorization", f"Bearer {token}") in names


def test_guard_and_inject_on_one_route(guarded):
    token = mint(guarded.server, guarded.caller.client_id)
    status, _, body = guarded.bearer("/both/b-1", token)
    assert status == 200, body
    names = [(n.lower(), v) for n, v in json.loads(body)["headers"]]
    authorization = [v for n, v in names if n == "authorization"]
    assert len(authorization) == 1 and authorization[0] != f"Bearer {token}"
    # The injected token is tokenproxy's own, valid at the IdP.
    assert guarded.server.userinfo(authorization[0].split(" ", 1)[1]).status_code == 200
    assert ("x-auth-subject", guarded.caller.client_id) in names


def test_warm_cache_and_concurrent_requests_cost_one_idp_request(guarded):
    token = mint(guarded.server, guarded.caller.client_id)
    before = guarded.server.stats()["introspection_requests"]
    guarded.server.post("/_test/introspection", json={"delay": 0.5}).raise_for_status()
    statuses = []

    def one(i):
        statuses.append(guarded.bearer(f"/orders/c-{i}", token)[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for i in range(6, 20):
        one(i)
    assert statuses == [200] * 20
    assert guarded.server.stats()["introspection_requests"] == before + 1


def test_idp_down_is_503_never_forwarded(guarded):
    token = mint(guarded.server, guarded.caller.client_id)
    guarded.server.post("/_test/introspection", json={"status": 503}).raise_for_status()
    status, headers, body = guarded.bearer("/orders/down-1", token)
    assert status == 503, body
    assert headers["Retry-After"] == "2"
    assert guarded.reached("down-1") == []
    assert token not in body.decode()


def test_jwt_guard_validates_locally(guarded):
    r = guarded.server.post("/_test/mint", json={"client_id": guarded.caller.client_id, "scope": "orders.read",
                                                  "aud": "orders-project", "format": "jwt"})
    token = r.json()["access_token"]
    before = guarded.server.stats()["introspection_requests"]
    for index in range(3):
        status, _, body = guarded.bearer(f"/jwt/ok-{index}", token, SPOOFED)
        assert status == 200, body
        names = [(n.lower(), v) for n, v in json.loads(body)["headers"]]
        assert ("x-auth-subject", guarded.caller.client_id) in names
        assert ("x-auth-subject", "admin") not in names
    assert guarded.server.stats()["introspection_requests"] == before
    head, claims, _ = token.split(".")
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode() + "." + claims + "."
    status, headers, _ = guarded.bearer("/jwt/none-1", unsigned)
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
    assert guarded.reached("none-1") == []
