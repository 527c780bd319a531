"""The IdP goes away and comes back; the IdP rejects the key. The daemon keeps serving the valid
token through an outage, never serves it past its expiry, answers 503 with Retry-After after
that, recovers within one backoff step, and shows what happened in /v1/tokens, /readyz and
/metrics."""

from __future__ import annotations

import time

import pytest

import keys
from daemon import FAST_REFRESH, credential_entry, kill_authserver, metric, restart_authserver, wait_until

LIFETIME = 6
BACKOFF_MAX = 1


def failed_fetches(d, samples=None) -> float:
    samples = samples if samples is not None else d.metrics()
    return sum(v for n, l, v in samples if n == "tokenproxy_token_fetches_total"
               and l.get("credential") == "svc" and l.get("outcome") != "success")


def test_outage_serves_cached_token_until_expiry_then_503_then_recovers(
        tokenproxy_daemon, authserver, key_factory, tmp_path):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key, token_lifetime=LIFETIME)
    refresh = {**FAST_REFRESH, "backoff_max": BACKOFF_MAX}
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer, refresh=refresh)})
    first = d.wait_token("svc")
    got = time.time()
    token = first["access_token"]
    # The daemon's own expiry for this token lies before got + expires_in + 1 (expires_in is
    # rounded down); a request sent after that must not get it.
    latest_expiry = got + first["expires_in"] + 1
    assert first["expires_in"] >= LIFETIME - 2
    kill_authserver(server)
    outage_started = time.time()

    # Phase 1: the cached token until it expires; phase 2: 503.
    served_during_outage = 0
    unavailable = None
    while time.time() < latest_expiry + LIFETIME + 5:
        sent = time.time()
        r = d.token("svc")
        if r.status == 200:
            body = r.json()
            assert body["access_token"] == token, "a new token while the IdP is down?"
            assert sent < latest_expiry, f"served {sent - latest_expiry:.2f} s after its expiry: {body}"
            assert body["expires_in"] >= 0
            served_during_outage += 1
        else:
            unavailable = r
            break
        time.sleep(0.05)
    assert served_during_outage > 0, "the still-valid token was not served during the outage"
    assert unavailable is not None, f"no 503 after the token expired\n{d.log()[-3000:]}"
    assert unavailable.status == 503, unavailable.text
    # The token may only disappear near its expiry: it is refreshed 1-2 s before (min_before_expiry)
    # and is served until the daemon's clock says it expired.
    assert time.time() >= latest_expiry - 3, "the cached token stopped being served long before its expiry"
    err = unavailable.json()
    assert err["error"] == "token_unavailable"
    assert err["error_description"]
    assert isinstance(err["retry_after"], int) and err["retry_after"] >= 1
    assert err["category"] == "unavailable"
    assert unavailable.header("Retry-After") == str(err["retry_after"])
    assert token not in unavailable.text
    # It stays 503 (never the expired token) while the IdP is down.
    for _ in range(5):
        r = d.token("svc")
        assert r.status == 503 and token not in r.text
        time.sleep(0.1)
    # Many callers, few attempts: the daemon backs off instead of asking the IdP per request.
    failures_before = failed_fetches(d)
    hammer_started = time.monotonic()
    for _ in range(100):
        assert d.token("svc").status == 503
    hammer = time.monotonic() - hammer_started
    attempts = failed_fetches(d) - failures_before
    assert attempts <= hammer / refresh["backoff_initial"] + 2, f"{attempts} IdP attempts for 100 requests"

    # What operators see.
    assert d.get("/readyz").status == 503
    entry = d.credentials()["svc"]
    assert entry["valid"] is False
    assert entry["consecutive_failures"] >= 1
    assert entry.get("last_error"), entry
    assert entry.get("last_error_category") == "unavailable", entry
    samples = d.metrics()
    failed = failed_fetches(d, samples)
    assert failed >= 1
    outage = time.time() - outage_started
    assert failed <= outage / refresh["backoff_initial"] + 5, (failed, outage)
    assert metric(samples, "tokenproxy_token_expiry_seconds", credential="svc") in (None, 0)
    # The API stops handing out a token a second before it expires; the expiry itself (and
    # its counter) follows within that second.
    deadline = time.monotonic() + 5
    while (metric(samples, "tokenproxy_token_expired_total", credential="svc") or 0) < 1:
        assert time.monotonic() < deadline, "tokenproxy_token_expired_total never counted the expiry"
        time.sleep(0.1)
        samples = d.metrics()
    assert metric(samples, "tokenproxy_credential_rejected", credential="svc") == 0
    assert metric(samples, "tokenproxy_api_requests_total", code="503") >= 1

    # The IdP returns on the same port: recovery within one backoff step.
    revived = restart_authserver(server, tmp_path / "authserver-revived", token_lifetime=LIFETIME)
    try:
        back = time.monotonic()
        recovered = wait_until(lambda: d.token("svc").status == 200, BACKOFF_MAX + 6, 0.05,
                               "a token after the IdP came back")
        waited = time.monotonic() - back
        new = d.token("svc").json()
        assert new["access_token"] != token
        assert revived.userinfo(new["access_token"]).status_code == 200
        assert waited <= BACKOFF_MAX + 5, f"recovery took {waited:.1f} s with backoff_max {BACKOFF_MAX}"
        assert recovered
        wait_until(lambda: d.get("/readyz").status == 200, 5, 0.05, "/readyz 200 after recovery")
        entry = d.credentials()["svc"]
        assert entry["valid"] is True and entry["consecutive_failures"] == 0, entry
        assert metric(d.metrics(), "tokenproxy_token_expiry_seconds", credential="svc") > 0
    finally:
        revived.stop()
    assert time.time() - outage_started < 60


def test_outage_status_command_exit_code(tokenproxy_daemon, authserver, key_factory, run_cli):
    """`tokenproxy status` lists the failing credential with its error and exits 75 (EX_TEMPFAIL)."""
    key = key_factory("p256", "pkcs8")
    server = authserver(key)
    kill_authserver(server)
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer, refresh={"backoff_max": 1})})
    wait_until(lambda: d.credentials()["svc"]["consecutive_failures"] >= 1, 10, 0.1, "a failed fetch")
    r = run_cli("status", "--socket", d.socket_path)
    assert r.code == 75, (r.code, r.stdout, r.stderr)
    row = [line for line in r.stdout.splitlines() if line.startswith("svc")]
    assert row and len(row[0].split()) > 4, r.stdout
    t = run_cli("token", "svc", "--socket", d.socket_path)
    assert t.code == 75 and t.stdout == "", (t.code, t.stdout, t.stderr)
    assert "svc" in t.stderr


@pytest.mark.parametrize("fmt", ["serviceaccount", "pkcs8"], ids=["jwt-bearer", "client-credentials"])
def test_revoked_key_shows_as_credential_rejected(tokenproxy_daemon, authserver, key_factory, fmt):
    key = key_factory("rsa2048", fmt)
    server = authserver(key)
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer)})
    token = d.wait_token("svc")["access_token"]

    # The key is replaced at the IdP (revoked, a new one registered for the same client).
    other = keys.write_key_file(key.path.parent, "rsa2048", fmt, label="replacement",
                                client_id=key.client_id, key_id=key.key_id)
    server.add_client(other.registration())
    r = d.post("/v1/tokens/svc/refresh", body=b"")
    # The old token is still valid, so a failed forced refresh may answer with it or with 503.
    assert r.status in (200, 503), r.text
    if r.status == 200:
        assert r.json()["access_token"] == token

    entry = wait_until(lambda: (e := d.credentials()["svc"]).get("last_error") and e, 10, 0.1, "last_error")
    expected_error = "invalid_grant" if fmt == "serviceaccount" else "invalid_client"
    assert entry["consecutive_failures"] >= 1
    assert expected_error in entry["last_error"], entry
    assert entry["last_error_category"] == "credential_rejected", entry
    assert entry["valid"] is True, "the still-valid token stays valid"
    assert d.token("svc").json()["access_token"] == token
    samples = d.metrics()
    assert metric(samples, "tokenproxy_credential_rejected", credential="svc") == 1
    assert metric(samples, "tokenproxy_token_fetches_total", credential="svc", outcome="credential_rejected") >= 1

    # The right key registered again: the next forced refresh works and the flag clears.
    server.add_client(key.registration())
    r = d.post("/v1/tokens/svc/refresh", body=b"")
    assert r.status == 200, r.text
    assert r.json()["access_token"] != token
    assert metric(d.metrics(), "tokenproxy_credential_rejected", credential="svc") == 0
    assert d.credentials()["svc"]["consecutive_failures"] == 0


def test_wrong_key_from_the_start_gives_503_credential_rejected(tokenproxy_daemon, authserver, key_factory):
    registered = key_factory("p256", "serviceaccount")
    wrong = keys.write_key_file(registered.path.parent, "p256", "serviceaccount", label="wrong",
                                client_id=registered.client_id, key_id=registered.key_id)
    server = authserver(registered)
    d = tokenproxy_daemon().start({"svc": credential_entry(wrong, server.issuer)})
    wait_until(lambda: d.credentials()["svc"]["consecutive_failures"] >= 1, 10, 0.1, "a failed fetch")
    r = d.token("svc")
    assert r.status == 503, r.text
    err = r.json()
    assert err["error"] == "token_unavailable"
    assert err["category"] == "credential_rejected", err
    assert "invalid_grant" in err["error_description"], err
    assert r.header("Retry-After") == str(err["retry_after"])
    assert d.get("/readyz").status == 503
    assert metric(d.metrics(), "tokenproxy_credential_rejected", credential="svc") == 1


TOKEN_WAIT = 10  # Limits.TokenAPI.maxTokenWait


def test_a_stalled_idp_gets_token_callers_a_503_in_bounded_time(tokenproxy_daemon, authserver, key_factory):
    # Found by bench/soak: a caller parked on a fetch waited as long as the IdP held it (up to
    # the IdP client's 30 s timeout). Now it gets 503 + Retry-After after TOKEN_WAIT seconds,
    # and the fetch, still going, serves the next request once the IdP answers.
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    server.fault("slow", count=1, delay=TOKEN_WAIT + 6)
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer)})
    started = time.monotonic()
    r = d.token("svc", timeout=TOKEN_WAIT + 20)
    waited = time.monotonic() - started
    assert r.status == 503, r.text
    assert r.header("Retry-After") == "1"
    assert r.json()["error"] == "token_unavailable" and f"within {TOKEN_WAIT} s" in r.json()["error_description"]
    assert TOKEN_WAIT - 1 <= waited < TOKEN_WAIT + 4, waited
    assert d.wait_token("svc", timeout=20)["access_token"]
    assert server.stats()["token_requests"] == 1  # the stalled fetch delivered; no second one
