"""Token introspection (RFC 7662) for local APIs: `POST /v1/introspect/{credential}` on the
daemon's socket and `tokenproxy introspect`, against Authlib's introspection endpoint with
`private_key_jwt` client authentication from a ZITADEL application key JSON."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from daemon import credential_entry, metric, wait_until


# Tokens are random base64url: one in 64 starts with "-", which the CLI would read as an
# option, so the tests pass them after "--" as a user must (or on stdin with "-").
def mint(server, client_id: str, *, lifetime: int = 600, scope: str = "orders.read") -> str:
    r = server.post("/_test/mint", json={"client_id": client_id, "lifetime": lifetime, "scope": scope})
    r.raise_for_status()
    return r.json()["access_token"]


def introspections(server) -> int:
    return server.stats()["introspection_requests"]


def set_introspection(server, delay: float = 0, status: int | None = None) -> None:
    server.post("/_test/introspection", json={"delay": delay, "status": status}).raise_for_status()


@pytest.fixture
def setup(authserver, key_factory, tokenproxy_daemon):
    """An Authlib server with an API application ('api', the introspecting client) and a caller
    client whose tokens are introspected; start(**introspection) runs a daemon with credential
    'api' (the application key JSON) and returns it."""
    api_key = key_factory("rsa2048", "application")
    caller = key_factory("p256", "application")
    server = authserver(api_key, caller)

    def start(**introspection):
        entry = credential_entry(api_key, server.issuer)
        if introspection:
            entry["introspection"] = introspection
        d = tokenproxy_daemon().start({"api": entry})
        d.server, d.caller = server, caller
        return d

    start.server, start.api_key, start.caller = server, api_key, caller
    return start


def ask(d, token: str, *, as_json: bool = False, name: str = "api", timeout: float = 10.0):
    if as_json:
        return d.post(f"/v1/introspect/{name}", body=json.dumps({"token": token}).encode(),
                      headers={"Content-Type": "application/json"}, timeout=timeout)
    return d.post(f"/v1/introspect/{name}", body=f"token={token}&token_type_hint=access_token".encode(),
                  headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=timeout)


# --- one shot -----------------------------------------------------------------------------------

def test_cli_one_shot_active_inactive_revoked(setup, run_cli):
    server, api_key = setup.server, setup.api_key
    token = mint(server, setup.caller.client_id, scope="orders.read orders.write")
    base = ["introspect", "--key", api_key.path, "--issuer", server.issuer]

    r = run_cli(*base, "--", token)
    assert r.code == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["active"] is True
    assert body["client_id"] == setup.caller.client_id and body["sub"] == setup.caller.client_id
    assert body["scope"] == "orders.read orders.write"
    assert body["exp"] > time.time() and body["iss"] == server.issuer

    r = run_cli(*base, "-", input=token + "\n")  # from stdin: not in ps
    assert r.code == 0 and json.loads(r.stdout)["active"] is True

    server.post("/_test/revoke", json={"token": token}).raise_for_status()
    r = run_cli(*base, "--", token)
    assert r.code == 1 and json.loads(r.stdout) == {"active": False}

    r = run_cli(*base, "no-such-token")
    assert r.code == 1 and json.loads(r.stdout) == {"active": False}

    expired = mint(server, setup.caller.client_id, lifetime=1)
    time.sleep(1.2)
    r = run_cli(*base, "--", expired)
    assert r.code == 1 and json.loads(r.stdout) == {"active": False}


def test_cli_one_shot_wrong_key_names_credential_endpoint_status(setup, run_cli, key_factory):
    server = setup.server
    token = mint(server, setup.caller.client_id)
    # The right client id and key id, but a key the IdP does not know: invalid_client.
    wrong = key_factory("rsa2048", "application", client_id=setup.api_key.client_id,
                        key_id=setup.api_key.key_id, label="other")
    r = run_cli("introspect", "--key", wrong.path, "--issuer", server.issuer, "--", token)
    assert r.code == 77, (r.code, r.stderr)
    assert wrong.path.name in r.stderr
    assert server.introspection_endpoint in r.stderr
    assert re.search(r"HTTP 40[01] invalid_client", r.stderr), r.stderr
    assert token not in r.stderr + r.stdout


def test_cli_usage_errors(run_cli):
    r = run_cli("introspect")
    assert r.code == 64
    r = run_cli("introspect", "--key", "/nonexistent.json", "tok")
    assert r.code == 64 and "--issuer" in r.stderr


# --- the daemon ---------------------------------------------------------------------------------

def test_route_form_and_json_bodies_and_cache(setup):
    d = setup()
    server = d.server
    token = mint(server, d.caller.client_id)
    before = introspections(server)
    r = ask(d, token)
    assert r.status == 200, r.text
    assert r.header("Cache-Control") == "no-store"
    body = r.json()
    assert body["active"] is True and body["client_id"] == d.caller.client_id
    assert body["scope"] == "orders.read"
    r = ask(d, token, as_json=True)
    assert r.status == 200 and r.json()["active"] is True
    assert introspections(server) == before + 1  # the second answer came from the cache
    samples = d.metrics()
    assert metric(samples, "tokenproxy_introspection_cache_lookups_total", credential="api", result="hit") == 1
    assert metric(samples, "tokenproxy_introspection_cache_lookups_total", credential="api", result="miss") == 1
    assert metric(samples, "tokenproxy_introspection_requests_total", credential="api", outcome="active") == 1
    assert token not in d.get("/metrics").text
    assert token not in d.log()


def test_unknown_and_inactive_tokens(setup):
    d = setup()
    r = ask(d, "not-a-token")
    assert r.status == 200 and r.json() == {"active": False}
    expired = mint(d.server, d.caller.client_id, lifetime=1)
    time.sleep(1.2)
    r = ask(d, expired)
    assert r.status == 200 and r.json() == {"active": False}


def test_revocation_seen_after_cache_ttl(setup):
    d = setup(cache_ttl=1, inactive_ttl=0)
    token = mint(d.server, d.caller.client_id)
    assert ask(d, token).json()["active"] is True
    d.server.post("/_test/revoke", json={"token": token}).raise_for_status()
    assert ask(d, token).json()["active"] is True  # cached for up to cache_ttl (RFC 7662 §4)
    time.sleep(1.1)
    assert ask(d, token).json() == {"active": False}


def test_ttl_zero_asks_every_time(setup):
    d = setup(cache_ttl=0)
    token = mint(d.server, d.caller.client_id)
    before = introspections(d.server)
    for _ in range(3):
        assert ask(d, token).json()["active"] is True
    assert introspections(d.server) == before + 3


def test_cache_never_outlives_exp(setup):
    d = setup(cache_ttl=3600, inactive_ttl=0)
    token = mint(d.server, d.caller.client_id, lifetime=2)
    assert ask(d, token).json()["active"] is True
    before = introspections(d.server)
    assert ask(d, token).json()["active"] is True
    assert introspections(d.server) == before
    time.sleep(2.2)
    assert ask(d, token).json() == {"active": False}
    assert introspections(d.server) == before + 1


def test_concurrent_identical_introspections_share_one_request(setup):
    d = setup()
    token = mint(d.server, d.caller.client_id)
    set_introspection(d.server, delay=1.0)
    before = introspections(d.server)
    results = []

    def one():
        results.append(ask(d, token, timeout=20))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8
    assert all(r.status == 200 and r.json()["active"] is True for r in results)
    assert introspections(d.server) == before + 1
    shared = metric(d.metrics(), "tokenproxy_introspection_cache_lookups_total", credential="api",
                    result="shared") or 0
    hits = metric(d.metrics(), "tokenproxy_introspection_cache_lookups_total", credential="api",
                  result="hit") or 0
    assert shared + hits == 7


def test_idp_down_is_503_with_retry_after_never_active(setup):
    d = setup(cache_ttl=0)
    token = mint(d.server, d.caller.client_id)
    set_introspection(d.server, status=500)
    r = ask(d, token)
    assert r.status == 503, r.text
    assert r.header("Retry-After") == "2"
    body = r.json()
    assert body["error"] == "introspection_unavailable"
    assert "'api'" in body["error_description"] and d.server.introspection_endpoint in body["error_description"]
    assert "HTTP 500" in body["error_description"]
    assert token not in r.text
    set_introspection(d.server)
    assert ask(d, token).json()["active"] is True


def test_rejected_client_is_502_naming_credential_endpoint_status(setup, key_factory):
    d = setup()
    # Replace the registration of the api client with another key: the IdP now refuses ours.
    other = key_factory("rsa2048", "application", client_id=setup.api_key.client_id,
                        key_id=setup.api_key.key_id, label="other")
    d.server.add_client(other.registration())
    token = mint(d.server, d.caller.client_id)
    r = ask(d, token)
    assert r.status == 502, r.text
    text = r.json()["error_description"]
    assert "'api'" in text and d.server.introspection_endpoint in text and re.search(r"HTTP 40[01] invalid_client", text)
    assert token not in r.text


def test_request_errors(setup):
    d = setup()
    r = d.post("/v1/introspect/nope", body=b"token=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 404 and "api" in r.json()["error_description"]
    r = d.get("/v1/introspect/api")
    assert r.status == 405 and r.header("Allow") == "POST"
    r = d.post("/v1/introspect/api", body=b"", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 400 and "token" in r.json()["error_description"]
    r = d.post("/v1/introspect/api", body=b"[1]", headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = d.post("/v1/introspect/api", body=b"token=%zz", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 400


def test_cli_through_daemon(setup, run_cli):
    d = setup()
    token = mint(d.server, d.caller.client_id)
    env = {"TOKENPROXY_SOCKET": str(d.socket_path)}
    r = run_cli("introspect", "api", "--", token, env=env)
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["active"] is True
    r = run_cli("introspect", "api", "-", env=env, input="dead-token\n")
    assert r.code == 1 and json.loads(r.stdout) == {"active": False}
    r = run_cli("introspect", "nope", "--", token, env=env)
    assert r.code == 64 and "nope" in r.stderr
