"""SIGHUP keeps what did not change: a credential whose settings and key are unchanged keeps its
token and schedule (no IdP request), a changed one keeps serving its old token while a new one is
fetched, one whose key changed gets a new token, and requests waiting during the reload complete.
The IdP counts requests per client."""

from __future__ import annotations

import threading
import time

import keys
from daemon import credential_entry, wait_until

LONG = {"before_expiry": 2, "min_before_expiry": 1, "jitter": 0, "backoff_initial": 0.2,
        "backoff_max": 1}


def by_client(server) -> dict:
    return dict(server.stats()["token_requests_by_client"])


def reloaded(d, count: int) -> None:
    wait_until(lambda: d.log().count("configuration reloaded") >= count, 15, 0.05,
               f"reload #{count} in the log")


def test_sighup_fetches_only_for_the_changed_credential(tokenproxy_daemon, authserver, key_factory):
    ka, kb, kc = (key_factory("p256", "serviceaccount") for _ in range(3))
    s = authserver(ka, kb, kc, token_lifetime=600)
    creds = {name: credential_entry(k, s.issuer, refresh=LONG) for name, k in (("a", ka), ("b", kb), ("c", kc))}
    d = tokenproxy_daemon().start(creds)
    before = {name: d.wait_token(name)["access_token"] for name in creds}
    counts = by_client(s)
    assert counts == {ka.client_id: 1, kb.client_id: 1, kc.client_id: 1}, counts

    # b asks for another scope; a and c are untouched.
    config = dict(d.config)
    config["credentials"] = {**creds, "b": {**creds["b"], "scopes": ["openid", "profile"]}}
    d.reload(config)
    reloaded(d, 1)
    # b's old token keeps serving until the new one arrives: never a 503.
    new_b = wait_until(lambda: (r := d.token("b")).status == 200 and r.json()["access_token"] != before["b"]
                       and r.json()["access_token"], 10, 0.02, "b's new token")
    assert s.stats()["last_token_request_form"]["scope"] == "openid profile"
    for name in ("a", "c"):
        assert d.token(name).json()["access_token"] == before[name], f"{name} lost its token"
    time.sleep(1)  # let a stray fetch (if any) reach the IdP
    after = by_client(s)
    assert after == {ka.client_id: 1, kb.client_id: 2, kc.client_id: 1}, after
    assert d.token("b").json()["access_token"] == new_b

    # A SIGHUP that changes nothing asks the IdP for nothing.
    d.reload(config)
    reloaded(d, 2)
    time.sleep(1)
    assert by_client(s) == after
    for name, token in (("a", before["a"]), ("b", new_b), ("c", before["c"])):
        assert d.token(name).json()["access_token"] == token


def test_sighup_with_a_new_key_replaces_the_token(tokenproxy_daemon, authserver, key_factory):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=600)
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=LONG)})
    old = d.wait_token("svc")["access_token"]
    # The same client gets a second key; the config now points at it.
    new_key = keys.write_key_file(k.path.parent, "p256", "serviceaccount", label="new",
                                  client_id=k.client_id, key_id=k.key_id + "-2")
    s.add_client(new_key.registration())
    config = dict(d.config)
    config["credentials"] = {"svc": credential_entry(new_key, s.issuer, refresh=LONG)}
    d.reload(config)
    reloaded(d, 1)
    token = d.wait_token("svc")["access_token"]
    assert token != old
    assert s.stats()["last_token_request_form"]["assertion"]["header"]["kid"] == new_key.key_id


def test_a_request_waiting_during_sighup_completes(tokenproxy_daemon, authserver, key_factory):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=600)
    s.fault("slow", count=1, delay=2)
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=LONG)})
    result: dict = {}

    def ask():
        r = d.token("svc", timeout=15)
        result["status"], result["body"] = r.status, r.text

    waiter = threading.Thread(target=ask)
    waiter.start()
    time.sleep(0.5)  # the request is parked on the slow first fetch
    d.reload(dict(d.config))
    waiter.join(timeout=20)
    assert result.get("status") == 200, result
    assert d.wait_token("svc")["access_token"]
