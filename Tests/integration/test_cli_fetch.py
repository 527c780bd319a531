"""`tokenproxy fetch` against the real (Authlib) authorization server.

Interface under test:
  tokenproxy fetch --key FILE --issuer URL [--grant jwt-bearer|client-credentials] [--client-id ID]
                   [--key-id ID] [--scope S]... [--audience URL] [--token-endpoint URL] [--ca-file FILE]
                   [--format json|raw|header]
json = the token response object, raw = the bare token + newline, header = "Authorization: Bearer TOKEN".
Default grant: jwt-bearer for ZITADEL serviceaccount keys, client-credentials for application and PEM keys.
Exit 0 on success; non-zero with a one-paragraph message on stderr otherwise.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading

import pytest

import keys
from keys import JWT_BEARER, KINDS

JWS_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def fetch_args(server, kf: keys.KeyFile, *extra, fmt: str = "raw", issuer: str | None = None) -> list[str]:
    args = ["fetch", "--key", str(kf.path), "--issuer", issuer or server.issuer, "--format", fmt]
    if kf.fmt in ("pkcs1", "pkcs8", "sec1"):
        args += ["--client-id", kf.client_id]
    if server.ca_file and "--ca-file" not in extra:
        args += ["--ca-file", str(server.ca_file)]
    return args + list(extra)


def raw_token(result) -> str:
    assert result.code == 0, f"exit {result.code}; stderr: {result.stderr}"
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, repr(result.stdout)
    token = result.stdout.strip()
    assert token and " " not in token
    assert token not in result.stderr, "the token must not be logged on stderr"
    return token


def assert_token_works(server, token: str, kf: keys.KeyFile):
    r = server.userinfo(token)
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == kf.client_id


def assert_failure(result, *mentions: str, secrets: tuple = ()):
    assert result.code != 0, f"expected failure, got exit 0 with stdout {result.stdout!r}"
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message, "a failure must explain itself on stderr"
    assert "\n\n" not in message, f"expected one paragraph, got: {message!r}"
    for m in mentions:
        assert re.search(m, message, re.IGNORECASE), f"stderr should mention {m!r}: {message!r}"
    assert not JWS_LIKE.search(message), f"stderr must not contain an assertion: {message!r}"
    for s in secrets:
        assert s not in message


@pytest.fixture
def shared_with(shared_authserver):
    """shared_with(*key_files): the module's server, knowing these keys, with fresh stats.
    Cheaper than a new server; only for tests that need no special server options."""

    def prepare(*key_files):
        for kf in key_files:
            shared_authserver.add_client(kf.registration())
        shared_authserver.reset()
        return shared_authserver

    return prepare


# --- both flows, every algorithm -------------------------------------------------------------------

# `fetch` has no --algorithm: each key kind is exercised with its default algorithm.
@pytest.mark.parametrize("kind", KINDS)
def test_jwt_bearer_flow_with_service_account_key(run_cli, shared_with, key_factory, kind):
    kf = key_factory(kind, "serviceaccount")
    s = shared_with(kf)
    token = raw_token(run_cli(*fetch_args(s, kf)))
    assert_token_works(s, token, kf)
    last = s.stats()["last_token_request_form"]
    assert last["grant_type"] == JWT_BEARER
    assert last["assertion"]["header"]["alg"] == keys.DEFAULT_ALG[kind]
    assert last["assertion"]["header"]["kid"] == kf.key_id
    assert last["assertion"]["claims"]["aud"] in (s.issuer, s.token_endpoint, [s.issuer], [s.token_endpoint])


@pytest.mark.parametrize("kind", KINDS)
def test_client_credentials_flow_with_application_key(run_cli, shared_with, key_factory, kind):
    kf = key_factory(kind, "application")
    s = shared_with(kf)
    token = raw_token(run_cli(*fetch_args(s, kf)))
    assert_token_works(s, token, kf)
    last = s.stats()["last_token_request_form"]
    assert last["grant_type"] == "client_credentials"
    assert last["client_assertion_type"] == keys.CLIENT_ASSERTION_TYPE
    assert last["client_assertion"]["claims"]["iss"] == kf.client_id
    assert last["assertion"] is None


@pytest.mark.parametrize("fmt,kind", [("pkcs1", "rsa2048"), ("pkcs8", "p384"), ("sec1", "p256"), ("pkcs8", "ed25519")])
def test_pem_keys_default_to_client_credentials(run_cli, shared_with, key_factory, fmt, kind):
    kf = key_factory(kind, fmt)
    s = shared_with(kf)
    assert_token_works(s, raw_token(run_cli(*fetch_args(s, kf))), kf)
    assert s.stats()["last_token_request_form"]["grant_type"] == "client_credentials"


@pytest.mark.parametrize("grant,expected", [("client-credentials", "client_credentials"), ("jwt-bearer", JWT_BEARER)])
def test_grant_can_be_chosen_explicitly(run_cli, shared_with, key_factory, grant, expected):
    kf = key_factory("p256", "serviceaccount")
    s = shared_with(kf)
    assert_token_works(s, raw_token(run_cli(*fetch_args(s, kf, "--grant", grant))), kf)
    assert s.stats()["last_token_request_form"]["grant_type"] == expected


# --- output formats, scopes, endpoints -------------------------------------------------------------

def test_format_json_prints_the_token_response(run_cli, authserver, key_factory):
    kf = key_factory("rsa2048", "serviceaccount")
    s = authserver(kf, token_lifetime=120)
    result = run_cli(*fetch_args(s, kf, "--scope", "openid", fmt="json"))
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) >= {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 120
    assert body["scope"] == "openid"
    assert_token_works(s, body["access_token"], kf)


def test_format_header_prints_an_authorization_header(run_cli, shared_with, key_factory):
    kf = key_factory("p256", "application")
    s = shared_with(kf)
    result = run_cli(*fetch_args(s, kf, fmt="header"))
    assert result.code == 0, result.stderr
    m = re.fullmatch(r"Authorization: Bearer (\S+)\n", result.stdout)
    assert m, repr(result.stdout)
    assert_token_works(s, m.group(1), kf)


def test_expires_in_sent_as_a_string_is_accepted(run_cli, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf, expires_in_as_string=True, token_lifetime=3600)
    result = run_cli(*fetch_args(s, kf, fmt="json"))
    assert result.code == 0, result.stderr
    assert int(json.loads(result.stdout)["expires_in"]) == 3600


def test_repeated_scopes_are_sent_space_separated(run_cli, shared_with, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = shared_with(kf)
    project = "urn:zitadel:iam:org:project:id:123:aud"
    token = raw_token(run_cli(*fetch_args(s, kf, "--scope", "openid", "--scope", "profile", "--scope", project)))
    assert s.stats()["last_token_request_form"]["scope"] == f"openid profile {project}"
    assert s.userinfo(token).json()["scope"] == f"openid profile {project}"


def test_issuer_discovery_finds_the_token_endpoint(run_cli, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    raw_token(run_cli(*fetch_args(s, kf)))
    stats = s.stats()
    assert stats["discovery_requests"] >= 1
    assert stats["token_requests"] == 1


def test_explicit_token_endpoint_skips_discovery(run_cli, authserver, key_factory):
    kf = key_factory("p256", "application")
    s = authserver(kf)
    raw_token(run_cli(*fetch_args(s, kf, "--token-endpoint", s.token_endpoint)))
    stats = s.stats()
    assert stats["discovery_requests"] == 0
    assert stats["token_requests"] == 1


def test_explicit_audience_is_used(run_cli, shared_with, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = shared_with(kf)
    raw_token(run_cli(*fetch_args(s, kf, "--audience", s.token_endpoint)))
    assert s.stats()["last_token_request_form"]["assertion"]["claims"]["aud"] in (s.token_endpoint,
                                                                                  [s.token_endpoint])


# --- TLS and proxies --------------------------------------------------------------------------------

def test_https_issuer_with_ca_file(run_cli, authserver, key_factory):
    kf = key_factory("rsa2048", "serviceaccount")
    s = authserver(kf, tls=True)
    assert_token_works(s, raw_token(run_cli(*fetch_args(s, kf))), kf)


def test_https_issuer_without_ca_file_fails_naming_the_certificate(run_cli, authserver, key_factory):
    kf = key_factory("rsa2048", "serviceaccount")
    s = authserver(kf, tls=True)
    args = ["fetch", "--key", kf.path, "--issuer", s.issuer, "--format", "raw"]
    assert_failure(run_cli(*args), r"certificate", re.escape(f"127.0.0.1:{s.port}"))
    assert s.stats()["token_requests"] == 0


def test_https_issuer_with_the_wrong_ca_fails(run_cli, authserver, key_factory, tls_material):
    kf = key_factory("rsa2048", "serviceaccount")
    s = authserver(kf, tls=True)
    result = run_cli(*fetch_args(s, kf, "--ca-file", str(tls_material.other_ca_file)))
    assert_failure(result, r"certificate")


class ConnectProxy:
    """A tiny HTTP CONNECT proxy on 127.0.0.1 that records the tunnels it opened."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.tunnels: list[str] = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        with conn:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = request_line.split(" ", 2)
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host.strip("[]") not in ("127.0.0.1", "localhost", "::1"):
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            self.tunnels.append(target)
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = head.split(b"\r\n\r\n", 1)[1]
                if rest:
                    upstream.sendall(rest)
                self._relay(conn, upstream)

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket):
        peers = {a: b, b: a}
        while True:
            readable, _, _ = select.select(list(peers), [], [], 10)
            if not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                peers[s].sendall(data)

    def close(self):
        self.stopping = True
        self.listener.close()


@pytest.fixture
def connect_proxy():
    proxy = ConnectProxy()
    yield proxy
    proxy.close()


def test_https_proxy_is_used_for_the_idp(run_cli, authserver, key_factory, connect_proxy):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf, tls=True)
    result = run_cli(*fetch_args(s, kf), env={"HTTPS_PROXY": f"http://127.0.0.1:{connect_proxy.port}"})
    assert_token_works(s, raw_token(result), kf)
    assert f"127.0.0.1:{s.port}" in connect_proxy.tunnels


# --- failures a user must understand ----------------------------------------------------------------

@pytest.mark.parametrize("fmt,error", [("serviceaccount", "invalid_grant"), ("application", "invalid_client")])
def test_wrong_key_is_reported_with_file_endpoint_status_and_error(run_cli, authserver, key_factory, fmt, error):
    kf = key_factory("rsa2048", fmt)
    registered = kf.registration()
    registered["public_key_pem"] = keys.public_pem(keys.private_key("rsa2048", "someone-else"))
    s = authserver(registered)
    result = run_cli(*fetch_args(s, kf))
    assert_failure(result, re.escape(kf.path.name), re.escape(s.token_endpoint), r"\b400\b", error)


def test_unknown_service_user_is_reported(run_cli, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver()  # knows nobody
    assert_failure(run_cli(*fetch_args(s, kf)), r"\b400\b", "invalid_grant")


@pytest.mark.parametrize("mode,status", [("html500", 500), ("empty401", 401), ("text_503", 503)])
def test_server_faults_give_a_clear_message_with_the_status(run_cli, authserver, key_factory, mode, status):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault(mode)  # every token request, so retries (if any) fail the same way
    result = run_cli(*fetch_args(s, kf, "--token-endpoint", s.token_endpoint))
    assert_failure(result, rf"\b{status}\b", re.escape(s.token_endpoint))


def test_server_clock_skew_is_reported(run_cli, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount")
    s = authserver(kf)
    s.fault("none", date_offset=600)
    result = run_cli(*fetch_args(s, kf))
    token = raw_token(result)
    assert re.search(r"clock", result.stderr, re.IGNORECASE), f"expected a clock warning: {result.stderr!r}"
    assert token not in result.stderr


def test_unreachable_issuer_names_the_address(run_cli, key_factory):
    kf = key_factory("p256", "serviceaccount")
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    result = run_cli("fetch", "--key", kf.path, "--issuer", issuer, "--format", "raw", timeout=60)
    assert_failure(result, re.escape(f"127.0.0.1:{port}"))


def test_group_readable_key_is_refused_before_any_request(run_cli, authserver, key_factory):
    kf = key_factory("p256", "serviceaccount", mode=0o640)
    s = authserver(kf)
    assert_failure(run_cli(*fetch_args(s, kf)), r"chmod 0?600")
    assert s.stats()["token_requests"] == 0
