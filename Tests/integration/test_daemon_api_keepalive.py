"""What the token API remembers per connection (its fast path) never outlives a change: on one
kept-alive connection, a refreshed token, a reload's new token and a reload's new `allow` rule
all show on the very next request. Callers as other users need root (setpriv); that test is
skipped otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import keys
from conftest import clean_env
from daemon import UnixHTTPConnection, credential_entry, wait_until

ROOT = os.geteuid() == 0
ALICE, BOB = 64121, 64122


class KeptConnection:
    """One Unix-socket connection used for every request (failing if it had to reconnect)."""

    def __init__(self, path):
        self.conn = UnixHTTPConnection(str(path))
        self.conn.connect()
        self.sock = self.conn.sock

    def get(self, target: str) -> tuple[int, bytes]:
        self.conn.request("GET", target)
        response = self.conn.getresponse()
        body = response.read()
        assert self.conn.sock is self.sock, "the connection was not kept alive"
        return response.status, body

    def close(self):
        self.conn.close()


def reloaded(d, count: int) -> None:
    wait_until(lambda: d.log().count("configuration reloaded") >= count, 15, 0.05,
               f"reload #{count} in the log")


def test_a_kept_connection_sees_each_new_token(tokenproxy_daemon, authserver, key_factory):
    k = key_factory("p256", "serviceaccount")
    # 4 s tokens refreshed 2 s before expiry: a new token every ~2 s.
    s = authserver(k, token_lifetime=4)
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer)})
    d.wait_token("svc")
    kept = KeptConnection(d.socket_path)
    try:
        def current() -> str:
            status, body = kept.get("/v1/tokens/svc")
            assert status == 200, body
            return json.loads(body)["access_token"]

        first = current()
        wait_until(lambda: current() != first, 10, 0.05, "a refreshed token on the kept connection")
        # Whatever the kept connection answers now is what a new connection gets.
        assert current() == d.token("svc").json()["access_token"]
        # After a reload with a new key the same connection gets the new key's token.
        before = current()
        new_key = keys.write_key_file(k.path.parent, "p256", "serviceaccount", label="new",
                                      client_id=k.client_id, key_id=k.key_id + "-2")
        s.add_client(new_key.registration())
        config = dict(d.config)
        config["credentials"] = {"svc": credential_entry(new_key, s.issuer, refresh=None)}
        d.reload(config)
        reloaded(d, 1)
        wait_until(lambda: s.stats()["last_token_request_form"]["assertion"]["header"]["kid"]
                   == new_key.key_id, 10, 0.05, "a fetch with the new key")
        def fresh() -> str:
            return d.token("svc").json()["access_token"]

        reloaded_token = wait_until(lambda: (t := fresh()) not in (before, first) and t, 10, 0.02,
                                    "the reloaded token on a new connection")
        # At once (the old store's token is still valid for a second or more): the kept
        # connection must not answer from the API it used before the reload.
        assert current() in (reloaded_token, fresh())
    finally:
        kept.close()


CLIENT = textwrap.dedent("""
    import http.client, socket, sys
    class C(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(10)
            self.sock.connect(sys.argv[1])
    c = C("localhost")
    def get():
        c.request("GET", "/v1/tokens/billing")
        r = c.getresponse()
        r.read()
        return r.status
    c.connect()
    first = c.sock
    print(get(), flush=True)
    sys.stdin.readline()
    print(get(), c.sock is first, flush=True)
""")


@pytest.mark.skipif(not ROOT or shutil.which("setpriv") is None,
                    reason="needs root and setpriv (util-linux) to run a caller as another user")
def test_a_reloaded_allow_rule_applies_to_a_kept_connection(tokenproxy_daemon, authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    d = tokenproxy_daemon()
    os.chmod(d.sockdir, 0o755)
    entry = credential_entry(key, server.issuer, refresh=None)
    d.start({"billing": {**entry, "allow": {"uids": [ALICE]}}},
            api_extra={"socket_mode": "0666"}, level="info")
    d.wait_token("billing")
    client = subprocess.Popen(
        ["setpriv", f"--reuid={ALICE}", f"--regid={ALICE}", "--clear-groups", "--",
         sys.executable, "-c", CLIENT, str(d.socket_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env())
    try:
        assert client.stdout.readline().strip() == "200", "ALICE is allowed at first"
        config = dict(d.config)
        config["credentials"] = {"billing": {**entry, "allow": {"uids": [BOB]}}}
        d.reload(config)
        reloaded(d, 1)
        client.stdin.write("\n")
        client.stdin.flush()
        assert client.stdout.readline().split() == ["403", "True"], \
            "the same connection is refused once the rule no longer names ALICE"
        assert client.wait(timeout=10) == 0
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
