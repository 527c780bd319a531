"""Local validation of JWT access tokens (`introspection.mode` `jwt` and `jwt+introspect`):
signature with the issuer's JWKS from discovery's `jwks_uri`, `iss`, `aud`, `exp`, the
algorithm allow-list (`none` and HS256-with-the-public-key refused), key rotation picked up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from daemon import credential_entry, metric

AUD = "orders-project"


def mint(server, client_id: str, *, lifetime: int = 600, aud=AUD, scope: str = "orders.read",
         fmt: str = "jwt") -> str:
    r = server.post("/_test/mint", json={"client_id": client_id, "lifetime": lifetime, "scope": scope,
                                          "aud": aud, "format": fmt})
    r.raise_for_status()
    return r.json()["access_token"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, claims: dict, key: bytes | None) -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


@pytest.fixture
def start(authserver, key_factory, tokenproxy_daemon):
    api_key = key_factory("rsa2048", "application")
    caller = key_factory("p256", "application")
    server = authserver(api_key, caller)

    def run(mode: str, **extra):
        entry = credential_entry(api_key, server.issuer)
        entry["introspection"] = {"mode": mode, "token_audience": AUD, **extra}
        d = tokenproxy_daemon().start({"api": entry})
        d.server, d.caller = server, caller
        return d

    return run


def ask(d, token: str):
    r = d.post("/v1/introspect/api", body=json.dumps({"token": token}).encode(),
               headers={"Content-Type": "application/json"})
    assert r.status == 200, r.text
    return r.json()


def stats(d) -> dict:
    return d.server.stats()


def test_jwt_mode_validates_locally_without_introspection(start):
    d = start("jwt")
    token = mint(d.server, d.caller.client_id)
    before = stats(d)["introspection_requests"]
    body = ask(d, token)
    assert body["active"] is True and body["client_id"] == d.caller.client_id
    assert body["scope"] == "orders.read" and body["aud"] == AUD
    assert stats(d)["introspection_requests"] == before
    assert stats(d)["jwks_requests"] == 1
    # Opaque tokens still go to introspection.
    opaque = mint(d.server, d.caller.client_id, fmt="opaque")
    assert ask(d, opaque)["active"] is True
    assert stats(d)["introspection_requests"] == before + 1
    samples = d.metrics()
    assert metric(samples, "tokenproxy_jwt_validations_total", credential="api", result="valid") == 1


def test_jwt_refusals_are_inactive(start, key_factory):
    d = start("jwt", inactive_ttl=0)
    server = d.server
    good = mint(server, d.caller.client_id)
    header = json.loads(base64.urlsafe_b64decode(good.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(good.split(".")[1] + "=" * (-len(good.split(".")[1]) % 4)))
    jwks = server.get("/oauth/v2/keys").json()["keys"][0]
    assert ask(d, good)["active"] is True

    # alg none: an empty signature.
    assert ask(d, forged({"alg": "none", "typ": "at+jwt"}, claims, None)) == {"active": False}
    # HS256 keyed with the issuer's public key (the classic confusion attack): the JWKS key
    # material is public, so such a token must never verify.
    public_material = json.dumps(jwks, sort_keys=True).encode()
    assert ask(d, forged({"alg": "HS256", "kid": header["kid"]}, claims, public_material)) == {"active": False}
    # Tampered claims under the real header: the signature no longer matches.
    tampered = good.split(".")[0] + "." + b64(json.dumps({**claims, "scope": "admin"}).encode()) + "." + good.split(".")[2]
    assert ask(d, tampered) == {"active": False}
    # Wrong audience, expired.
    assert ask(d, mint(server, d.caller.client_id, aud="someone-else")) == {"active": False}
    expired = mint(server, d.caller.client_id, lifetime=-120)
    assert ask(d, expired) == {"active": False}
    assert stats(d)["introspection_requests"] == 0
    samples = d.metrics()
    assert metric(samples, "tokenproxy_jwt_validations_total", credential="api", result="invalid") == 5


def test_key_rotation_is_picked_up(start):
    d = start("jwt")
    server = d.server
    assert ask(d, mint(server, d.caller.client_id))["active"] is True
    assert stats(d)["jwks_requests"] == 1
    server.post("/_test/rotate").raise_for_status()
    assert ask(d, mint(server, d.caller.client_id))["active"] is True
    assert stats(d)["jwks_requests"] == 2
    # A made-up kid right after: no further JWKS request within the refetch interval.
    token = mint(server, d.caller.client_id)
    head, body, sig = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    fake = b64(json.dumps({**header, "kid": "made-up"}).encode()) + "." + body + "." + sig
    assert ask(d, fake) == {"active": False}
    assert stats(d)["jwks_requests"] == 2


def test_jwt_plus_introspect_catches_revocation(start):
    d = start("jwt+introspect", cache_ttl=0)
    server = d.server
    token = mint(server, d.caller.client_id)
    assert ask(d, token)["active"] is True
    assert stats(d)["introspection_requests"] == 1
    server.post("/_test/revoke", json={"token": token}).raise_for_status()
    assert ask(d, token) == {"active": False}
    # An invalid JWT never reaches the IdP.
    before = stats(d)["introspection_requests"]
    assert ask(d, mint(server, d.caller.client_id, aud="someone-else")) == {"active": False}
    assert stats(d)["introspection_requests"] == before


def test_jwt_mode_requires_token_audience(tokenproxy_bin, tmp_path, run_cli, key_factory):
    key = key_factory("rsa2048", "application")
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"credentials": {"api": {
        "key_file": str(key.path), "issuer": "http://127.0.0.1:1", "introspection": {"mode": "jwt"}}}}))
    r = run_cli("check", "--config", config)
    assert r.code == 78
    assert "credentials.api.introspection.token_audience" in r.stderr + r.stdout
