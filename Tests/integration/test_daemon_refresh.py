"""Short-lived tokens are refreshed before they expire: over several lifetimes every answer
carries a token the authorization server still accepts, the token changes, and the daemon asks
the IdP about once per refresh interval — not once per request."""

from __future__ import annotations

import time

from daemon import credential_entry, metric

LIFETIME = 4  # authserver --token-lifetime
RUN = 3.5 * LIFETIME
POLL = 0.05


def test_tokens_are_refreshed_before_expiry_and_never_served_expired(tokenproxy_daemon, authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key, token_lifetime=LIFETIME)
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer)})
    d.wait_token("svc")
    start_requests = server.stats()["token_requests"]

    served: list[str] = []
    problems: list[str] = []
    answers = 0
    started = time.monotonic()
    while time.monotonic() - started < RUN:
        r = d.token("svc")
        answers += 1
        if r.status != 200:
            problems.append(f"t={time.monotonic() - started:.2f}: HTTP {r.status} {r.text}")
        else:
            body = r.json()
            token = body["access_token"]
            if body["expires_in"] <= 0 or body["expires_at"] < time.time() - 1:
                problems.append(f"t={time.monotonic() - started:.2f}: served an expired token: {body}")
            # The authorization server is the judge: is this token still valid there?
            check = server.userinfo(token)
            if check.status_code != 200:
                problems.append(f"t={time.monotonic() - started:.2f}: userinfo {check.status_code} for a "
                                f"token served with expires_in={body['expires_in']}")
            if not served or served[-1] != token:
                served.append(token)
        time.sleep(POLL)
    elapsed = time.monotonic() - started
    requests_made = server.stats()["token_requests"] - start_requests

    assert not problems, "\n".join(problems[:10]) + f"\n--- daemon log ---\n{d.log()[-4000:]}"
    assert len(served) == len(set(served)), "an old token came back after a newer one"
    # The token changed at least once per lifetime ...
    assert len(served) >= int(elapsed / LIFETIME) + 1, (len(served), elapsed)
    # ... because the daemon refreshed on its own schedule, not per request.
    assert answers > 10 * requests_made, (answers, requests_made)
    assert requests_made >= int(elapsed / LIFETIME), (requests_made, elapsed)
    assert requests_made <= int(elapsed / 1.0) + 2, f"{requests_made} IdP requests in {elapsed:.1f} s"

    samples = d.metrics()
    assert metric(samples, "tokenproxy_token_fetches_total", credential="svc", outcome="success") >= requests_made
    assert not metric(samples, "tokenproxy_token_expired_total", credential="svc")
    entry = d.credentials()["svc"]
    assert entry["valid"] is True and entry["consecutive_failures"] == 0


def test_two_credentials_refresh_independently(tokenproxy_daemon, authserver, key_factory):
    """A jwt-bearer service account and a client-credentials PEM key at the same IdP."""
    sa = key_factory("rsa2048", "serviceaccount")
    pem = key_factory("p384", "sec1")
    server = authserver(sa, pem, token_lifetime=LIFETIME)
    d = tokenproxy_daemon().start({
        "sa": credential_entry(sa, server.issuer),
        "pem": credential_entry(pem, server.issuer),
    })
    seen: dict[str, set] = {"sa": set(), "pem": set()}
    started = time.monotonic()
    while time.monotonic() - started < 2.5 * LIFETIME:
        for name in seen:
            r = d.token(name)
            if r.status == 200:
                token = r.json()["access_token"]
                info = server.userinfo(token)
                assert info.status_code == 200, f"{name}: served token rejected by the IdP"
                seen[name].add(token)
            else:
                assert time.monotonic() - started < 10, f"{name}: {r.status} {r.text}\n{d.log()[-3000:]}"
        time.sleep(0.1)
    by_client = server.stats()["token_requests_by_client"]
    for name, key in (("sa", sa), ("pem", pem)):
        assert len(seen[name]) >= 2, f"{name} never changed its token"
        assert by_client.get(key.client_id, 0) >= 2
    # Debug-level logs of many refreshes: no token, and no key material, ever reaches them.
    log = d.log()
    leaked = [token for tokens in seen.values() for token in tokens if token in log]
    assert not leaked, f"{len(leaked)} served tokens appear in the daemon's log"
    assert "PRIVATE KEY" not in log
    assert server.stats()["last_token_request_form"]["grant_type"] in (
        "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials")
