"""The daemon's token API over its Unix socket and loopback TCP listener, the `token` and `status`
commands, reload on SIGHUP, exit on SIGTERM, and the HTTP parser's refusals on the wire."""

from __future__ import annotations

import datetime
import http.client
import json
import re
import signal
import socket
import threading
import time

import pytest

from daemon import (
    FAST_REFRESH,
    UnixHTTPConnection,
    credential_entry,
    metric,
    raw_exchange,
    status_of,
    wait_until,
)

TOKEN_KEYS = {"access_token", "token_type", "expires_in", "expires_at"}


@pytest.fixture
def running(tokenproxy_daemon, shared_authserver, key_factory):
    """A daemon serving credential 'svc' (service account, jwt-bearer) from the shared server,
    with its first token already fetched."""
    key = key_factory("p256", "serviceaccount")
    shared_authserver.add_client(key.registration())
    d = tokenproxy_daemon().start({"svc": credential_entry(key, shared_authserver.issuer)}, tcp=True)
    d.wait_token("svc")
    d.key = key
    return d


def client_requests(server, key) -> int:
    return server.stats()["token_requests_by_client"].get(key.client_id, 0)


def test_token_json_shape_and_headers(running, shared_authserver):
    r = running.token("svc")
    assert r.status == 200, r.text
    assert r.header("Cache-Control") == "no-store"
    assert r.header("Content-Type").startswith("application/json")
    body = r.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and 3000 < body["expires_in"] <= 3600
    assert isinstance(body["expires_at"], int)
    assert abs(body["expires_at"] - (time.time() + body["expires_in"])) <= 3
    info = shared_authserver.userinfo(body["access_token"])
    assert info.status_code == 200 and info.json()["sub"] == running.key.client_id


def test_text_plain_gives_the_bare_token(running):
    token = running.token("svc").json()["access_token"]
    r = running.token("svc", headers={"Accept": "text/plain"})
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/plain")
    assert r.header("Cache-Control") == "no-store"
    assert r.text == token
    # JSON first in Accept keeps JSON
    r = running.token("svc", headers={"Accept": "application/json, text/plain"})
    assert r.json()["access_token"] == token


def test_unknown_credential_is_404(running):
    r = running.token("nope")
    assert r.status == 404
    assert r.json()["error"] == "unknown_credential"
    assert "svc" in r.json()["error_description"]  # names what is configured
    r = running.post("/v1/tokens/nope/refresh")
    assert r.status == 404 and r.json()["error"] == "unknown_credential"


@pytest.mark.parametrize("method,target,allowed", [
    ("POST", "/v1/tokens/svc", {"GET", "HEAD"}),
    ("DELETE", "/v1/tokens/svc", {"GET", "HEAD"}),
    ("GET", "/v1/tokens/svc/refresh", {"POST"}),
    ("PUT", "/v1/tokens", {"GET", "HEAD"}),
    ("POST", "/healthz", {"GET", "HEAD"}),
    ("POST", "/metrics", {"GET", "HEAD"}),
])
def test_wrong_method_is_405_with_allow(running, method, target, allowed):
    r = running.request(method, target, body=b"" if method in ("POST", "PUT") else None)
    assert r.status == 405, r.text
    allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
    assert allow == allowed


def test_unknown_path_is_404(running):
    assert running.get("/v2/tokens/svc").status == 404
    assert running.get("/").status == 404


def test_min_valid_refreshes_only_when_needed(tokenproxy_daemon, authserver, key_factory):
    key = key_factory("rsa2048", "serviceaccount")
    server = authserver(key, token_lifetime=30)
    refresh = {**FAST_REFRESH, "fraction": 0.9}  # keeps the first token ~27 s
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer, refresh=refresh)})
    first = d.wait_token("svc")
    before = client_requests(server, key)
    r = d.get("/v1/tokens/svc?min_valid=10")
    assert r.status == 200 and r.json()["access_token"] == first["access_token"]
    assert client_requests(server, key) == before, "min_valid below what remains must not fetch"
    time.sleep(2.2)  # now less than first["expires_in"] - 1 remains
    wanted = first["expires_in"] - 1
    r = d.get(f"/v1/tokens/svc?min_valid={wanted}")
    assert r.status == 200, r.text
    second = r.json()
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] >= wanted
    assert client_requests(server, key) == before + 1
    for bad in ("-1", "abc", "1.5", "99999999"):
        r = d.get(f"/v1/tokens/svc?min_valid={bad}")
        assert r.status == 400, (bad, r.text)
        assert r.json()["error"] == "invalid_request"


def test_unsatisfiable_min_valid_does_not_fetch_on_every_request(tokenproxy_daemon, authserver, key_factory):
    """min_valid longer than the IdP's whole token lifetime can never be met: instead of one
    IdP request per API request, the daemon asks for half the lifetime."""
    key = key_factory("rsa2048", "serviceaccount")
    server = authserver(key, token_lifetime=30)
    refresh = {**FAST_REFRESH, "fraction": 0.9}
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer, refresh=refresh)})
    d.wait_token("svc")
    before = client_requests(server, key)
    for _ in range(5):
        r = d.get("/v1/tokens/svc?min_valid=600")
        assert r.status == 200, r.text
    assert client_requests(server, key) == before, "a fresh 30 s token already has half its lifetime"


def test_post_refresh_forces_a_new_token(running, shared_authserver):
    old = running.token("svc").json()["access_token"]
    before = client_requests(shared_authserver, running.key)
    r = running.post("/v1/tokens/svc/refresh", body=b"")
    assert r.status == 200, r.text
    assert r.header("Cache-Control") == "no-store"
    new = r.json()
    assert set(new) == TOKEN_KEYS and new["access_token"] != old
    assert client_requests(shared_authserver, running.key) == before + 1
    assert running.token("svc").json()["access_token"] == new["access_token"]
    r = running.post("/v1/tokens/svc/refresh", headers={"Accept": "text/plain"}, body=b"")
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain")
    assert r.text == running.token("svc").json()["access_token"]


def test_list_shows_state_never_a_token(running):
    token = running.token("svc").json()["access_token"]
    r = running.get("/v1/tokens")
    assert r.status == 200
    assert r.header("Cache-Control") == "no-store"
    assert token not in r.text and "access_token" not in r.text
    items = r.json()["credentials"]
    assert [c["name"] for c in items] == ["svc"]
    item = items[0]
    for field in ("name", "state", "valid", "expires_in", "consecutive_failures", "next_refresh_in"):
        assert field in item, item
    assert item["valid"] is True and item["consecutive_failures"] == 0
    assert 0 < item["expires_in"] <= 3600
    assert isinstance(item["next_refresh_in"], int) and item["next_refresh_in"] < item["expires_in"]
    assert "last_error" not in item


def test_health_ready_and_metrics(running):
    r = running.get("/healthz")
    assert r.status == 200
    assert running.get("/readyz").status == 200
    running.token("svc")
    r = running.get("/metrics")
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain")
    samples = running.metrics()
    assert metric(samples, "tokenproxy_token_expiry_seconds", credential="svc") > 3000
    assert metric(samples, "tokenproxy_token_fetches_total", credential="svc", outcome="success") >= 1
    assert metric(samples, "tokenproxy_idp_request_duration_seconds_count", credential="svc") >= 1
    assert metric(samples, "tokenproxy_api_requests_total", code="200") >= 1
    assert metric(samples, "tokenproxy_credential_rejected", credential="svc") == 0
    assert running.token("svc").json()["access_token"] not in r.text


def test_readyz_is_503_until_the_first_token(tokenproxy_daemon, authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    server.fault("slow", delay=3, count=1)
    d = tokenproxy_daemon().start({"svc": credential_entry(key, server.issuer)})
    r = d.get("/readyz")
    assert r.status == 503 and "svc" in r.text
    assert d.get("/healthz").status == 200
    wait_until(lambda: d.get("/readyz").status == 200, 15, 0.1, "/readyz 200")


# --- the CLI against the daemon -------------------------------------------------------------

def test_token_command_formats(running, run_cli):
    sock = running.socket_path
    token = running.token("svc").json()["access_token"]
    raw = run_cli("token", "svc", "--socket", sock)
    assert raw.code == 0, raw.stderr
    assert raw.stdout.strip() == token
    header = run_cli("token", "svc", "--socket", sock, "--format", "header")
    assert header.code == 0 and header.stdout.strip() == f"Authorization: Bearer {token}"
    js = run_cli("token", "svc", "--socket", sock, "--format", "json")
    assert js.code == 0
    body = json.loads(js.stdout)
    assert set(body) == TOKEN_KEYS and body["access_token"] == token
    ec = run_cli("token", "svc", "--socket", sock, "--format", "exec-credential", "--min-valid", "60")
    assert ec.code == 0, ec.stderr
    cred = json.loads(ec.stdout)
    assert cred["apiVersion"] == "client.authentication.k8s.io/v1"
    assert cred["kind"] == "ExecCredential"
    assert set(cred["status"]) == {"token", "expirationTimestamp"}
    assert cred["status"]["token"] == token
    stamp = datetime.datetime.fromisoformat(cred["status"]["expirationTimestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None
    assert abs(stamp.timestamp() - body["expires_at"]) <= 2
    env_sock = run_cli("token", "svc", env={"TOKENPROXY_SOCKET": str(sock)})
    assert env_sock.code == 0 and env_sock.stdout.strip() == token


def test_token_command_failures(running, run_cli, tmp_path):
    unknown = run_cli("token", "nope", "--socket", running.socket_path)
    assert unknown.code != 0 and unknown.stdout == ""
    assert "nope" in unknown.stderr
    nosock = run_cli("token", "svc", "--socket", tmp_path / "absent.sock")
    assert nosock.code != 0 and nosock.stdout == ""
    assert "absent.sock" in nosock.stderr


def test_status_command_table(running, run_cli):
    token = running.token("svc").json()["access_token"]
    r = run_cli("status", "--socket", running.socket_path)
    assert r.code == 0, r.stderr
    assert token not in r.stdout
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["CREDENTIAL", "STATE"]
    assert "EXPIRES IN" in lines[0] and "LAST ERROR" in lines[0]
    assert len(lines) == 2 and lines[1].split()[0] == "svc"


# --- signals --------------------------------------------------------------------------------

def test_sighup_adds_a_credential_and_refuses_a_broken_config(running, shared_authserver, key_factory):
    other = key_factory("ed25519", "pkcs8")
    shared_authserver.add_client(other.registration())
    config = dict(running.config)
    config["credentials"] = {**config["credentials"], "other": credential_entry(other, shared_authserver.issuer)}
    running.reload(config)
    wait_until(lambda: "other" in running.credentials(), 15, 0.1, "'other' in /v1/tokens after SIGHUP")
    token = running.wait_token("other")["access_token"]
    assert shared_authserver.userinfo(token).json()["client_id"] == other.client_id
    assert running.wait_token("svc")

    # A broken file: the old configuration (both credentials) keeps serving.
    running.config_path.write_text('{"credentials": {"svc": {"key_file": "relative.json",, }')
    running.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in running.log() or "refused" in running.log().split("reloaded")[-1],
               10, 0.1, "the refused reload in the log")
    assert running.proc.poll() is None
    assert set(running.credentials()) == {"svc", "other"}
    assert running.token("other").status == 200 and running.token("svc").status == 200

    # Removing a credential by reload: it disappears.
    config["credentials"] = {"other": config["credentials"]["other"]}
    running.reload(config)
    wait_until(lambda: set(running.credentials()) == {"other"}, 15, 0.1, "only 'other' after SIGHUP")
    assert running.token("svc").status == 404


def test_sigterm_exits_0_and_stops_accepting(running):
    sock = running.socket_path
    assert running.terminate() == 0
    if sock.exists():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            with pytest.raises(OSError):
                s.connect(str(sock))


# --- the parser on the wire -----------------------------------------------------------------

MALFORMED = [
    ("bad header line", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", {400}),
    ("space before colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", {400}),
    ("garbage request line", b"HELLO\r\n\r\n", {400}),
    ("obs-fold", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", {400}),
    ("CL and TE", b"POST /v1/tokens/svc/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {400}),
    ("two Content-Lengths", b"POST /v1/tokens/svc/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                            b"Content-Length: 2\r\n\r\nab", {400}),
    ("64 KiB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n", {431}),
    ("missing Host", b"GET /healthz HTTP/1.1\r\n\r\n", {400}),
    ("NUL in a field value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", {400}),
    ("bare LF line ends", b"GET /healthz HTTP/1.1\nHost: x\n\n", {400}),
    ("HTTP/2.0 request line", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", {505}),
    ("huge chunked body", b"POST /v1/tokens/svc/refresh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"100000\r\n" + b"x" * 70000, {413}),
    ("body over the limit", b"POST /v1/tokens/svc/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n"
                            + b"x" * 70000, {413}),
    ("huge body", b"POST /v1/tokens/svc/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"
                  + b"x" * 1024, {413}),
]


@pytest.mark.parametrize("name,data,codes", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_request_is_refused_and_closed(running, name, data, codes):
    # A second client on its own keep-alive connection, before and after.
    keep = UnixHTTPConnection(str(running.socket_path))
    try:
        keep.request("GET", "/v1/tokens/svc")
        first = keep.getresponse()
        token = json.loads(first.read())["access_token"]
        received, closed = raw_exchange(running.socket_path, data, timeout=10)
        assert status_of(received) in codes, received[:300]
        assert closed, f"{name}: the connection stayed open after {received[:40]!r}"
        assert received.count(b"HTTP/1.1 ") == 1
        keep.request("GET", "/v1/tokens/svc")
        again = keep.getresponse()
        assert again.status == 200 and json.loads(again.read())["access_token"] == token
    finally:
        keep.close()


def test_malformed_flood_does_not_disturb_other_clients(running):
    """Bad requests on many connections while another client keeps asking for tokens."""
    stop = threading.Event()
    results: list[int] = []

    def poll():
        conn = UnixHTTPConnection(str(running.socket_path))
        try:
            while not stop.is_set():
                conn.request("GET", "/v1/tokens/svc")
                r = conn.getresponse()
                r.read()
                results.append(r.status)
        except (OSError, http.client.HTTPException) as e:
            results.append(repr(e))
        finally:
            conn.close()

    t = threading.Thread(target=poll)
    t.start()
    try:
        for _ in range(3):
            for _, data, codes in MALFORMED:
                received, closed = raw_exchange(running.socket_path, data, timeout=10)
                assert status_of(received) in codes and closed
    finally:
        stop.set()
        t.join(timeout=15)
    assert results and all(r == 200 for r in results), [r for r in results if r != 200][:5]


# --- loopback TCP ---------------------------------------------------------------------------

def test_pipelined_requests_are_answered_in_order(running):
    data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /v1/tokens/svc HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n"
            b"GET /v1/tokens/nope HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /v1/tokens HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    received, closed = raw_exchange(running.socket_path, data)
    assert closed, "Connection: close was not honoured"
    codes = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)]
    assert codes == [200, 200, 404, 200], received[:500]
    assert running.token("svc").json()["access_token"].encode() in received


def test_http_1_0_and_head(running):
    received, closed = raw_exchange(running.socket_path, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert status_of(received) == 200 and closed
    r = running.request("HEAD", "/v1/tokens/svc")
    assert r.status == 200 and r.body == b"" and r.header("Cache-Control") == "no-store"


def test_expires_at_is_stable_for_one_token(running):
    """expires_at names a fixed instant: asking again for the same token gives the same value."""
    seen = {}
    for _ in range(12):
        body = running.token("svc").json()
        seen.setdefault(body["access_token"], set()).add(body["expires_at"])
        time.sleep(0.1)
    assert all(len(v) == 1 for v in seen.values()), seen


def test_tcp_listener_requires_the_header_and_refuses_forwarded(running):
    good = {"Metadata-Flavor": "tokenproxy"}
    r = running.tcp("GET", "/v1/tokens/svc")
    assert r.status == 403 and r.json()["error"] == "access_denied"
    r = running.tcp("GET", "/v1/tokens/svc", {"Metadata-Flavor": "other"})
    assert r.status == 403
    r = running.tcp("GET", "/v1/tokens/svc", {**good, "X-Forwarded-For": "10.0.0.1"})
    assert r.status == 403 and r.json()["error"] == "access_denied"
    r = running.tcp("GET", "/v1/tokens/svc", {**good, "Forwarded": "for=10.0.0.1"})
    assert r.status == 403
    r = running.tcp("GET", "/v1/tokens/svc", good)
    assert r.status == 200, r.text
    assert r.json()["access_token"] == running.token("svc").json()["access_token"]
    r = running.tcp("GET", "/v1/tokens", good)
    assert r.status == 200 and [c["name"] for c in r.json()["credentials"]] == ["svc"]
