"""Proves the test authorization server itself, with assertions signed in Python (joserfc)."""

from __future__ import annotations

import base64
import email.utils
import json
import subprocess
import sys
import threading
import time

import pytest

import keys
from conftest import AUTHSERVER
from keys import ALG_CASES, CLIENT_ASSERTION_TYPE, JWT_BEARER


def jwt_bearer(server, kf, scope="openid", **kw):
    form = {"grant_type": JWT_BEARER, "assertion": keys.sign_assertion(kf, kw.pop("aud", server.issuer), **kw)}
    if scope:
        form["scope"] = scope
    return server.token_request(form)


def client_credentials(server, kf, scope=None, client_id=None, **kw):
    aud = kw.pop("aud", server.token_endpoint)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": keys.sign_assertion(kf, aud, **kw),
    }
    if scope:
        form["scope"] = scope
    if client_id:
        form["client_id"] = client_id
    return server.token_request(form)


def assert_error(response, error, description_part):
    assert response.status_code in (400, 401), response.text
    body = response.json()
    assert body["error"] == error, body
    assert description_part in body.get("error_description", ""), body


@pytest.fixture
def registered(shared_authserver, key_factory):
    """registered(kind, fmt, **kw) -> KeyFile already known to shared_authserver."""

    def make(kind="rsa2048", fmt="serviceaccount", **kw):
        kf = key_factory(kind, fmt, **kw)
        shared_authserver.add_client(kf.registration())
        return kf

    return make


def test_discovery_document_names_endpoints_and_methods(shared_authserver):
    doc = shared_authserver.get("/.well-known/openid-configuration").json()
    iss = shared_authserver.issuer
    assert doc["issuer"] == iss
    assert doc["token_endpoint"] == iss + "/oauth/v2/token"
    assert doc["introspection_endpoint"] == iss + "/oauth/v2/introspect"
    assert doc["userinfo_endpoint"] == iss + "/oidc/v1/userinfo"
    assert doc["jwks_uri"].startswith(iss)
    assert set(doc["grant_types_supported"]) >= {JWT_BEARER, "client_credentials"}
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert {"RS256", "PS256", "ES256", "EdDSA"} <= set(doc["token_endpoint_auth_signing_alg_values_supported"])


@pytest.mark.parametrize("alg,kind", ALG_CASES)
def test_jwt_bearer_grant_succeeds_for_every_algorithm(shared_authserver, registered, alg, kind):
    kf = registered(kind, "serviceaccount")
    r = jwt_bearer(shared_authserver, kf, alg=alg, scope="openid profile")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and isinstance(body["expires_in"], int)
    assert body["scope"] == "openid profile"
    info = shared_authserver.userinfo(body["access_token"])
    assert info.status_code == 200
    assert info.json()["sub"] == kf.client_id


@pytest.mark.parametrize("alg,kind", ALG_CASES)
def test_client_credentials_with_private_key_jwt_succeeds_for_every_algorithm(shared_authserver, registered,
                                                                               alg, kind):
    kf = registered(kind, "application")
    r = client_credentials(shared_authserver, kf, alg=alg, scope="openid")
    assert r.status_code == 200, r.text
    assert shared_authserver.userinfo(r.json()["access_token"]).json()["client_id"] == kf.client_id


@pytest.mark.parametrize("fmt", ["pkcs1", "pkcs8"])
def test_pem_clients_without_kid_are_accepted(shared_authserver, registered, fmt):
    kf = registered("rsa2048", fmt)
    assert client_credentials(shared_authserver, kf).status_code == 200
    assert jwt_bearer(shared_authserver, kf).status_code == 200


def test_both_audiences_and_an_audience_list_are_accepted(shared_authserver, registered):
    kf = registered("p256", "serviceaccount")
    s = shared_authserver
    assert jwt_bearer(s, kf, aud=s.token_endpoint).status_code == 200
    assert jwt_bearer(s, kf, aud=["https://other.example", s.issuer]).status_code == 200
    assert client_credentials(s, kf, aud=s.issuer).status_code == 200
    assert client_credentials(s, kf, aud=s.token_endpoint, client_id=kf.client_id).status_code == 200


def test_jwt_bearer_rejections_say_why(shared_authserver, registered, key_factory):
    s = shared_authserver
    kf = registered("rsa2048", "serviceaccount")
    other = keys.private_key("rsa2048", "other")
    wrong = keys.KeyFile(kf.path, kf.fmt, kf.kind, kf.client_id, kf.key_id, kf.public_key_pem, other)
    assert_error(jwt_bearer(s, wrong), "invalid_grant", "signature verification failed")
    assert_error(jwt_bearer(s, kf, aud="http://127.0.0.1:1"), "invalid_grant", "aud mismatch")
    assert_error(jwt_bearer(s, kf, issued_at=int(time.time()) - 400, lifetime=120), "invalid_grant",
                 "assertion expired")
    assert_error(jwt_bearer(s, kf, lifetime=7200), "invalid_grant", "lifetime")
    assert_error(jwt_bearer(s, kf, issued_at=int(time.time()) - 7300, lifetime=7400), "invalid_grant", "iat")
    assert_error(jwt_bearer(s, kf, sub="someone-else"), "invalid_grant", "sub")
    assert_error(jwt_bearer(s, kf, jti=None), "invalid_grant", "jti")
    assert_error(jwt_bearer(s, kf, iat=None), "invalid_grant", "iat")
    assert_error(jwt_bearer(s, kf, kid="unknown-kid"), "invalid_grant", "kid")
    assert_error(jwt_bearer(s, kf, kid=None), "invalid_grant", "kid")
    assert_error(jwt_bearer(s, kf, iss="nobody", sub="nobody"), "invalid_grant", "unknown issuer")
    stranger = key_factory("p256", "serviceaccount")
    assert_error(jwt_bearer(s, stranger), "invalid_grant", "unknown issuer")


def test_jwt_bearer_replayed_jti_is_rejected(shared_authserver, registered):
    s = shared_authserver
    kf = registered("ed25519", "serviceaccount")
    assertion = keys.sign_assertion(kf, s.issuer)
    form = {"grant_type": JWT_BEARER, "assertion": assertion}
    assert s.token_request(form).status_code == 200
    assert_error(s.token_request(form), "invalid_grant", "jti reused")


def test_algorithm_not_fitting_the_key_is_rejected(shared_authserver, registered):
    kf = registered("rsa2048", "serviceaccount")
    # An HS256 token "signed" with the public key PEM as the HMAC secret: the classic confusion.
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "kid": kf.key_id}).encode())
    claims = b64(json.dumps({"iss": kf.client_id, "sub": kf.client_id, "aud": shared_authserver.issuer,
                             "iat": now, "exp": now + 60, "jti": "x" * 22}).encode())
    mac = hmac.new(kf.public_key_pem.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{claims}.{b64(mac)}"
    r = shared_authserver.token_request({"grant_type": JWT_BEARER, "assertion": forged})
    assert_error(r, "invalid_grant", "algorithm not allowed")


def test_client_assertion_rejections_say_why(shared_authserver, registered):
    s = shared_authserver
    kf = registered("p384", "application")
    other = keys.private_key("p384", "other")
    wrong = keys.KeyFile(kf.path, kf.fmt, kf.kind, kf.client_id, kf.key_id, kf.public_key_pem, other)
    assert_error(client_credentials(s, wrong), "invalid_client", "signature verification failed")
    assert_error(client_credentials(s, kf, aud=s.introspection_endpoint), "invalid_client", "aud mismatch")
    assert_error(client_credentials(s, kf, issued_at=int(time.time()) - 400, lifetime=120), "invalid_client",
                 "assertion expired")
    assert_error(client_credentials(s, kf, client_id="someone-else"), "invalid_client", "client_id")
    assert_error(client_credentials(s, kf, sub="someone-else"), "invalid_client", "")
    assertion = keys.sign_assertion(kf, s.token_endpoint)
    form = {"grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion}
    assert s.token_request(form).status_code == 200
    assert_error(s.token_request(form), "invalid_client", "jti reused")


def test_grant_type_and_scope_errors(shared_authserver, registered):
    s = shared_authserver
    kf = registered("p256", "serviceaccount")
    r = s.token_request({"grant_type": "password", "username": "u", "password": "p"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    assert_error(jwt_bearer(s, kf, scope="openid admin"), "invalid_scope", "admin")
    only_cc = kf.registration(grant_types=["client_credentials"])
    only_cc["client_id"] = kf.client_id + "-cc"
    s.add_client(only_cc)
    r = jwt_bearer(s, kf, iss=only_cc["client_id"], sub=only_cc["client_id"])
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client", r.text


def test_introspection_reports_active_and_inactive_tokens(shared_authserver, registered):
    s = shared_authserver
    user = registered("rsa2048", "serviceaccount")
    api = registered("p256", "application")
    token = jwt_bearer(s, user, scope="openid email").json()["access_token"]
    body = s.introspect(token, api).json()
    assert body["active"] is True
    assert body["scope"] == "openid email"
    assert body["client_id"] == body["sub"] == user.client_id
    assert body["iss"] == s.issuer and body["token_type"] == "Bearer"
    assert body["exp"] - body["iat"] == 3600
    assert s.introspect(token, api, audience=s.issuer).json()["active"] is True
    assert s.introspect("unknown-token", api).json() == {"active": False}
    r = s.introspect(token, api, audience=s.token_endpoint)
    assert_error(r, "invalid_client", "aud mismatch")
    r = s.post("/oauth/v2/introspect", data={"token": token})
    assert r.status_code in (400, 401) and r.json()["error"] == "invalid_client"


def test_expired_tokens_are_inactive_and_refused_at_userinfo(authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf, token_lifetime=1)
    body = jwt_bearer(s, kf).json()
    assert body["expires_in"] == 1
    deadline = time.monotonic() + 10
    while s.introspect(body["access_token"], kf).json()["active"]:
        assert time.monotonic() < deadline, "token never expired"
        time.sleep(0.2)
    assert s.userinfo(body["access_token"]).status_code == 401


def test_userinfo_requires_a_known_bearer_token(shared_authserver):
    assert shared_authserver.userinfo("made-up").status_code == 401
    assert shared_authserver.get("/oidc/v1/userinfo").status_code == 401


def test_expires_in_can_be_sent_as_a_string(authserver, key_factory):
    kf = key_factory("rsa2048", "serviceaccount")
    s = authserver(kf, expires_in_as_string=True, token_lifetime=3600)
    assert jwt_bearer(s, kf).json()["expires_in"] == "3600"


def test_stats_record_the_last_request_without_secrets(authserver, key_factory):
    kf = key_factory("p521", "serviceaccount")
    app = key_factory("p256", "application")
    s = authserver(kf, app)
    jwt_bearer(s, kf, scope="openid profile")
    client_credentials(s, app)
    client_credentials(s, app)
    stats = s.stats()
    assert stats["token_requests"] == 3
    assert stats["token_requests_by_client"] == {kf.client_id: 1, app.client_id: 2}
    last = stats["last_token_request_form"]
    assert last["grant_type"] == "client_credentials"
    assert last["client_assertion"]["header"]["alg"] == "ES256"
    assert last["client_assertion"]["claims"]["iss"] == app.client_id
    assert "client_assertion" in last["keys"]
    s.reset()
    assert s.stats()["token_requests"] == 0


@pytest.mark.parametrize("mode,status,content_type", [
    ("html500", 500, "text/html"),
    ("html502", 502, "text/html"),
    ("empty401", 401, None),
    ("empty403", 403, None),
    ("json_error_400", 400, "application/json"),
    ("text_503", 503, "text/plain"),
    ("invalid_scope400", 400, "application/json"),
    ("empty400", 400, None),
    ("empty404", 404, None),
    ("empty405", 405, None),
    ("retry503", 503, None),
    ("retry429", 429, None),
])
def test_fault_modes_shape_the_token_response(authserver, key_factory, mode, status, content_type):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault(mode, count=2)
    for _ in range(2):
        r = jwt_bearer(s, kf)
        assert r.status_code == status
        if content_type:
            assert r.headers["Content-Type"].startswith(content_type)
        else:
            assert r.content == b""
    assert jwt_bearer(s, kf).status_code == 200  # count exhausted
    assert s.stats()["token_requests"] == 3
    s.fault(mode)  # unlimited
    assert jwt_bearer(s, kf).status_code == status
    s.reset()
    assert jwt_bearer(s, kf).status_code == 200


def test_slow_fault_delays_then_answers(authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault("slow", count=1, delay=0.5)
    started = time.monotonic()
    assert jwt_bearer(s, kf).status_code == 200
    assert time.monotonic() - started >= 0.5


def test_date_offset_shifts_the_date_header(authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault("none", date_offset=600)
    r = jwt_bearer(s, kf)
    assert r.status_code == 200
    server_date = email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp()
    assert 540 < server_date - time.time() < 660


def test_unknown_fault_mode_is_refused(shared_authserver):
    assert shared_authserver.post("/_test/fault", json={"mode": "explode"}).status_code == 400


def test_tls_server_with_throwaway_ca(authserver, key_factory):
    kf = key_factory("rsa2048", "serviceaccount")
    s = authserver(kf, tls=True)
    assert s.issuer.startswith("https://127.0.0.1:")
    doc = s.get("/.well-known/openid-configuration").json()
    assert doc["token_endpoint"].startswith("https://")
    assert jwt_bearer(s, kf).status_code == 200
    import requests

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(s.issuer + "/.well-known/openid-configuration", timeout=5)


def test_many_concurrent_token_requests_succeed(shared_authserver, registered):
    kf = registered("p256", "serviceaccount")
    results = []
    lock = threading.Lock()

    def one():
        r = jwt_bearer(shared_authserver, kf)
        with lock:
            results.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [200] * 40


# --- chaos knobs (bench/soak) -----------------------------------------------------------------

def test_chaos_fails_the_configured_share_with_transient_errors(authserver, key_factory):
    kf = key_factory()
    server = authserver(kf, extra_args=("--fail-rate", "0.5", "--chaos-seed", "7"))
    statuses = [jwt_bearer(server, kf).status_code for _ in range(40)]
    failed = [s for s in statuses if s != 200]
    assert 10 <= len(failed) <= 30, statuses  # seeded: the same draws every run
    assert set(failed) <= {500, 502, 503, 429}, statuses
    events = server.get("/_test/chaos").json()["events"]
    assert [e["kind"] for e in events] == ["fail"] * len(failed)
    assert {e["mode"] for e in events} <= {"html500", "html502", "text_503", "retry429"}


def test_chaos_stall_holds_a_minted_token_back(authserver, key_factory):
    kf = key_factory()
    server = authserver(kf, token_lifetime=5, extra_args=("--stall-rate", "1", "--stall-seconds", "1",
                                                          "--jwt-access-tokens"))
    before = time.time()
    response = jwt_bearer(server, kf)
    after = time.time()
    assert response.status_code == 200, response.text
    assert 0.5 <= after - before < 5
    (event,) = server.get("/_test/chaos").json()["events"]
    assert event["kind"] == "stall" and 0.5 <= event["seconds"] <= 1.0
    # The token was minted before the stall: its exp counts from then, not from the answer.
    payload = response.json()["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert before <= claims["exp"] - 5 <= event["start"] + 0.01
    assert claims["exp"] != int(claims["exp"])  # an exact, fractional NumericDate


def test_chaos_rates_are_checked(tmp_path):
    (tmp_path / "c.json").write_text('{"clients": []}')
    done = subprocess.run([sys.executable, str(AUTHSERVER), "--clients", str(tmp_path / "c.json"),
                           "--fail-rate", "0.8", "--stall-rate", "0.5"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "at most 1" in done.stderr
