"""How tokenproxy classifies the token endpoint's answers (RFC 6749 §5.2, RFC 9110 §15.5):
a request the client must change (400 invalid_scope, an empty 400, 404, 405) is a configuration
problem — exit 78, slow schedule, category request_rejected; a refused credential (empty 401/403)
exits 77 with a checklist built from what was sent; 503 and 429 are transient — fast backoff, but
never faster than the server's Retry-After. Requests are counted at the IdP."""

from __future__ import annotations

import re
import time

import pytest

from daemon import credential_entry, metric, wait_until
from test_cli_fetch import fetch_args


@pytest.mark.parametrize("mode,status,code", [
    ("invalid_scope400", 400, 78), ("empty400", 400, 78), ("empty404", 404, 78),
    ("empty405", 405, 78), ("empty403", 403, 77), ("empty401", 401, 77), ("retry503", 503, 69),
    ("retry429", 429, 69),
])
def test_fetch_exit_status_follows_the_answer(run_cli, authserver, key_factory, mode, status, code):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault(mode)
    result = run_cli(*fetch_args(s, kf, "--token-endpoint", s.token_endpoint))
    assert result.code == code, (result.code, result.stderr)
    assert re.search(rf"\b{status}\b", result.stderr), result.stderr
    message = result.stderr.strip()
    assert ".." not in message, message
    assert s.stats()["token_requests"] == 1, "a one-shot fetch asks once"


def test_empty_403_gets_a_checklist_from_what_was_sent(run_cli, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault("empty403")
    # No --scope, no --audience: aud is the issuer, our default.
    result = run_cli(*fetch_args(s, kf, "--token-endpoint", s.token_endpoint))
    assert result.code == 77, result.stderr
    text = " ".join(result.stderr.split())
    assert "this server may require a scope" in text, text
    assert "some servers require the token endpoint URL as audience" in text, text
    assert f"--audience {s.token_endpoint}" in text, text
    assert f"key id '{kf.key_id}'" in text, text
    assert "clock" in text, text

    # With a scope and the token endpoint as audience, those two items are gone.
    result = run_cli(*fetch_args(s, kf, "--token-endpoint", s.token_endpoint, "--scope", "openid",
                                 "--audience", s.token_endpoint))
    assert result.code == 77, result.stderr
    text = " ".join(result.stderr.split())
    assert "may require a scope" not in text and "as audience" not in text, text
    assert "registered at the IdP" in text, text


def slow(backoff_max: float) -> dict:
    return {"before_expiry": 2, "min_before_expiry": 1, "jitter": 0, "backoff_initial": 0.1,
            "backoff_max": backoff_max}


def requests_during(s, seconds: float) -> int:
    before = s.stats()["token_requests"]
    time.sleep(seconds)
    return s.stats()["token_requests"] - before


@pytest.mark.parametrize("mode", ["invalid_scope400", "empty400", "empty404", "empty405"])
def test_rejected_requests_go_to_the_slow_schedule(tokenproxy_daemon, authserver, key_factory, run_cli,
                                                   mode):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault(mode)
    d = tokenproxy_daemon().start({"svc": credential_entry(kf, s.issuer, refresh=slow(4))})
    entry = wait_until(lambda: (e := d.credentials()["svc"]).get("last_error") and e, 10, 0.05,
                       "the first failure")
    assert entry["last_error_category"] == "request_rejected", entry
    # Slow schedule: every retry waits backoff_max/2 .. backoff_max = 2 .. 4 s, so at most
    # 3 requests in 6 s (the fast schedule's waits are at most 0.1, 0.2, 0.4 … s: 6 or more).
    assert requests_during(s, 6) <= 3
    r = d.token("svc")
    assert r.status == 503 and r.json()["category"] == "request_rejected", r.text
    assert metric(d.metrics(), "tokenproxy_request_rejected", credential="svc") == 1
    # `tokenproxy token` says: fix the configuration.
    t = run_cli("token", "svc", "--socket", str(d.socket_path))
    assert t.code == 78, (t.code, t.stderr)


def test_unavailable_backs_off_fast_without_retry_after(tokenproxy_daemon, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault("html502")  # a failing gateway, no Retry-After
    d = tokenproxy_daemon().start({"svc": credential_entry(kf, s.issuer, refresh=slow(4))})
    wait_until(lambda: d.credentials()["svc"].get("last_error"), 10, 0.05, "the first failure")
    assert d.credentials()["svc"]["last_error_category"] == "unavailable"
    # Full-jitter waits are at most 0.1, 0.2, 0.4, 0.8, 1.6, 3.2 s: 6 retries fit in 6.5 s.
    assert requests_during(s, 6.5) >= 5


@pytest.mark.parametrize("mode", ["retry503", "retry429"])
def test_retry_after_is_honoured(tokenproxy_daemon, authserver, key_factory, mode):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault(mode, retry_after="3")
    d = tokenproxy_daemon().start({"svc": credential_entry(kf, s.issuer, refresh=slow(4))})
    entry = wait_until(lambda: (e := d.credentials()["svc"]).get("last_error") and e, 10, 0.05,
                       "the first failure")
    assert entry["last_error_category"] == "unavailable", entry
    assert entry["next_refresh_in"] >= 2, entry
    # Without Retry-After the fast schedule would send 5 or more in 7 s; with it, every retry
    # waits at least 3 s.
    assert requests_during(s, 7) <= 3
    # Once the IdP recovers, the token comes on the next attempt.
    s.fault("none")
    assert d.wait_token("svc", timeout=10)["access_token"]


def test_a_wrong_issuer_path_is_a_configuration_problem(run_cli, tokenproxy_daemon, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    wrong = s.issuer + "/realms/nope"  # discovery there answers 404
    result = run_cli(*fetch_args(s, kf, issuer=wrong))
    assert result.code == 78, (result.code, result.stderr)
    text = " ".join(result.stderr.split())
    assert "HTTP 404" in text and "Check the issuer URL" in text and ".." not in text, text
    d = tokenproxy_daemon().start({"svc": credential_entry(kf, wrong, refresh=slow(4))})
    entry = wait_until(lambda: (e := d.credentials()["svc"]).get("last_error") and e, 10, 0.05,
                       "the first failure")
    assert entry["last_error_category"] == "request_rejected", entry
    before = s.stats()["discovery_requests"]
    time.sleep(4)
    assert s.stats()["discovery_requests"] - before <= 2, "retried on the slow schedule"
