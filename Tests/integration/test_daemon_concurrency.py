"""Concurrent callers share one IdP request: 200 clients on a cold start (the first fetch still
in flight because the IdP is slow) all get the same token, and the authorization server sees
exactly one token request per credential."""

from __future__ import annotations

import json
import threading

from daemon import UnixHTTPConnection, credential_entry, wait_until

CLIENTS = 200
IDP_DELAY = 2.0  # seconds the authserver sleeps before answering a token request


def test_cold_start_stampede_makes_one_request_per_credential(tokenproxy_daemon, authserver, key_factory):
    sa = key_factory("rsa2048", "serviceaccount")  # ZITADEL service account, jwt-bearer
    pem = key_factory("p256", "pkcs8")  # bare PEM key, client-credentials
    server = authserver(sa, pem)
    server.fault("slow", delay=IDP_DELAY)
    # Refresh settings of the default kind: nothing but the start-up fetch happens in this test.
    d = tokenproxy_daemon().start({
        "sa": credential_entry(sa, server.issuer, refresh=None),
        "pem": credential_entry(pem, server.issuer, refresh=None),
    })
    # Cold: the start-up fetches are in flight (or about to be), no token yet.
    listed = d.credentials()
    assert not listed["sa"]["valid"] and not listed["pem"]["valid"], listed

    barrier = threading.Barrier(CLIENTS)
    results: list = [None] * CLIENTS
    names = ["sa" if i % 2 == 0 else "pem" for i in range(CLIENTS)]

    def client(i: int):
        conn = UnixHTTPConnection(str(d.socket_path), timeout=30)
        try:
            conn.connect()  # connected before the barrier, so the requests arrive together
            barrier.wait(timeout=30)
            conn.request("GET", f"/v1/tokens/{names[i]}")
            r = conn.getresponse()
            results[i] = (r.status, r.read())
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = ("error", repr(e))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "clients still waiting after 60 s"

    failures = [(names[i], r) for i, r in enumerate(results) if r is None or r[0] != 200]
    assert not failures, f"{len(failures)} failed, e.g. {failures[:3]}\n{d.log()[-3000:]}"
    tokens: dict[str, set] = {"sa": set(), "pem": set()}
    for i, (_, body) in enumerate(results):
        tokens[names[i]].add(json.loads(body)["access_token"])
    assert len(tokens["sa"]) == 1, f"{len(tokens['sa'])} different tokens for 'sa'"
    assert len(tokens["pem"]) == 1, f"{len(tokens['pem'])} different tokens for 'pem'"

    stats = server.stats()
    assert stats["token_requests_by_client"] == {sa.client_id: 1, pem.client_id: 1}, stats
    assert stats["token_requests"] == 2

    server.fault("none")
    for name, key in (("sa", sa), ("pem", pem)):
        token = next(iter(tokens[name]))
        info = server.userinfo(token)
        assert info.status_code == 200 and info.json()["client_id"] == key.client_id
    wait_until(lambda: d.get("/readyz").status == 200, 10, 0.1, "/readyz 200")


def test_forced_refreshes_in_parallel_share_one_request(tokenproxy_daemon, authserver, key_factory):
    """50 simultaneous POST /refresh while the IdP is slow join one fetch (after the first token)."""
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer, refresh=None)})
    first = d.wait_token("svc")["access_token"]
    before = server.stats()["token_requests"]
    server.fault("slow", delay=IDP_DELAY)
    n = 50
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def client(i: int):
        conn = UnixHTTPConnection(str(d.socket_path), timeout=30)
        try:
            conn.connect()
            barrier.wait(timeout=30)
            conn.request("POST", "/v1/tokens/svc/refresh", body=b"")
            r = conn.getresponse()
            results[i] = (r.status, r.read())
        except Exception as e:  # noqa: BLE001
            results[i] = ("error", repr(e))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None and r[0] == 200 for r in results), [r for r in results if not r or r[0] != 200][:3]
    tokens = {json.loads(body)["access_token"] for _, body in results}
    assert first not in tokens
    requests_made = server.stats()["token_requests"] - before
    # All 50 arrive within a fraction of the 2 s the IdP takes: one shared fetch. Allow a second
    # one for a straggler that arrives after the first completed (a forced refresh may not join
    # a finished fetch).
    assert 1 <= requests_made <= 2 and len(tokens) == requests_made, (requests_made, len(tokens))
