"""Key lifecycle without SIGHUP: a key file replaced on disk is picked up (inotify, or the
periodic stat) and no request fails meanwhile; a broken key file keeps the old key in service and
the log says why."""

from __future__ import annotations

import os
import threading
import time

import keys
from daemon import credential_entry, wait_until

LONG = {"before_expiry": 2, "min_before_expiry": 1, "jitter": 0, "backoff_initial": 0.2,
        "backoff_max": 1}


class Hammer:
    """Asks the daemon for the token in a loop and records every status."""

    def __init__(self, d, name="svc"):
        self.d, self.name = d, name
        self.statuses: list[int] = []
        self.tokens: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            r = self.d.token(self.name, timeout=15)
            self.statuses.append(r.status)
            if r.status == 200:
                self.tokens.add(r.json()["access_token"])
            time.sleep(0.01)

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=20)
        return self.statuses


def replace_atomically(path, content: bytes):
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(content)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def test_a_key_replaced_on_disk_is_used_without_sighup_or_a_failed_request(
        tokenproxy_daemon, authserver, key_factory, tmp_path):
    old = key_factory("p256", "serviceaccount")
    new = keys.write_key_file(tmp_path / "staging", "p256", "serviceaccount", label="rotated",
                              client_id=old.client_id, key_id=old.key_id + "-2")
    s = authserver(old, token_lifetime=600)
    d = tokenproxy_daemon().start({"svc": credential_entry(old, s.issuer, refresh=LONG)})
    first = d.wait_token("svc")["access_token"]
    hammer = Hammer(d)
    time.sleep(0.3)
    # Rotation as an operator does it: register the new key at the IdP (old revoked), then
    # replace the file in place.
    s.add_client({**old.registration(), "public_key_pem": new.public_key_pem, "kid": new.key_id})
    replace_atomically(old.path, new.path.read_bytes())
    wait_until(lambda: (f := s.stats()["last_token_request_form"]) and
               f["assertion"]["header"]["kid"] == new.key_id, 10, 0.05, "a token request signed by the new key")
    wait_until(lambda: len(hammer.tokens) >= 2, 10, 0.05, "the new key's token served")
    statuses = hammer.finish()
    assert statuses and all(status == 200 for status in statuses), sorted(set(statuses))
    assert first in hammer.tokens and len(hammer.tokens) == 2
    assert "key file changed on disk" in d.log()
    assert d.proc.poll() is None


def test_a_broken_key_file_keeps_the_old_key_and_says_why(tokenproxy_daemon, authserver, key_factory):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=600)
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=LONG)})
    token = d.wait_token("svc")["access_token"]
    good = k.path.read_bytes()
    replace_atomically(k.path, b'{"type": "serviceaccount", "keyId": "x"')
    log = wait_until(lambda: t if "reload refused" in (t := d.log()) else None, 10, 0.05,
                     "the refused reload in the log")
    assert str(k.path) in log.split("reload refused")[-1], log[-1500:]
    assert d.token("svc").json()["access_token"] == token
    # Forcing a refresh still works: the old key is still in service.
    r = d.post("/v1/tokens/svc/refresh", body=b"")
    assert r.status == 200 and r.json()["access_token"] != token, r.text
    # The key fixed again: no error, nothing new fetched (same key).
    requests = s.stats()["token_requests"]
    replace_atomically(k.path, good)
    wait_until(lambda: d.log().count("key file changed on disk") >= 2, 10, 0.05, "the second change")
    time.sleep(0.5)
    assert s.stats()["token_requests"] == requests


def test_two_key_rotation_without_a_failed_request(tokenproxy_daemon, authserver, key_factory, tmp_path):
    from daemon import metric

    old = key_factory("p256", "serviceaccount")
    new = keys.write_key_file(tmp_path / "next", "p256", "serviceaccount", label="next",
                              client_id=old.client_id, key_id=old.key_id + "-next")
    s = authserver(old, token_lifetime=3)
    entry = credential_entry(old, s.issuer, refresh=LONG, next_key={"key_file": str(new.path)})
    d = tokenproxy_daemon().start({"svc": entry})
    d.wait_token("svc")
    # Phase 1: the new key is not registered yet: the old one is used, the refusal reported.
    listed = wait_until(lambda: (e := d.credentials()["svc"]).get("key_rejected") and e, 10, 0.05,
                        "key_rejected in /v1/tokens")
    assert "the key may have been deleted or expired in the IdP" in listed["key_rejected"], listed
    assert f"key id '{new.key_id}'" in listed["key_rejected"], listed
    assert listed["valid"] is True
    assert metric(d.metrics(), "tokenproxy_key_rejected", credential="svc") == 1
    ready = d.get("/readyz")
    assert ready.status == 200 and new.key_id in ready.text, ready.text
    assert s.stats()["last_token_request_form"]["assertion"]["header"]["kid"] == old.key_id

    # Phase 2, mid-run: the IdP gets the new key and revokes the old one at the same moment.
    hammer = Hammer(d)
    time.sleep(0.5)
    s.add_client({"client_id": old.client_id, "public_keys": [
        {"kid": new.key_id, "public_key_pem": new.public_key_pem}]})
    wait_until(lambda: s.stats()["last_token_request_form"]["assertion"]["header"]["kid"] == new.key_id,
               10, 0.05, "a refresh signed by the new key")
    time.sleep(3.5)  # at least one more refresh, with the new key only
    statuses = hammer.finish()
    assert statuses and all(status == 200 for status in statuses), sorted(set(statuses))
    assert "key_rejected" not in d.credentials()["svc"]
    assert metric(d.metrics(), "tokenproxy_key_rejected", credential="svc") == 0
    assert d.get("/readyz").text == "ready\n"
    assert "the key may have been deleted or expired in the IdP" in d.log()
