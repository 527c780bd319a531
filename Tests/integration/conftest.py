"""Fixtures for tokenproxy's integration tests: the real authorization server, keys, the CLI.

Parallel-safe: every server listens on 127.0.0.1 port 0, every test has its own tmp dir,
servers are stopped by pid at teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest
import requests

import keys

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
AUTHSERVER = HERE / "authserver.py"
START_TIMEOUT = 30.0
CLI_TIMEOUT = 30.0
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

CliResult = namedtuple("CliResult", "code stdout stderr")


def clean_env(extra: dict | None = None) -> dict:
    """The caller's environment without proxy variables (tests set them explicitly)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}
    env["AUTHSERVER_QUIET"] = "1"
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


class AuthServer:
    """A running authserver.py subprocess and helpers to talk to it."""

    def __init__(self, proc: subprocess.Popen, ready: dict, workdir: Path, ca_file: Path | None):
        self.proc = proc
        self.pid = proc.pid
        self.workdir = workdir
        self.ca_file = ca_file
        self.issuer = ready["issuer"]
        self.port = ready["port"]
        self.token_endpoint = ready["token_endpoint"]
        self.introspection_endpoint = ready["introspection_endpoint"]
        self.userinfo_endpoint = ready["userinfo_endpoint"]
        self.log_path = workdir / "authserver.log"
        self.http = requests.Session()
        self.http.trust_env = False  # never through a proxy from the environment
        self.http.verify = str(ca_file) if ca_file else True

    def url(self, path: str) -> str:
        return self.issuer + path

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.url(path), timeout=10, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.http.post(self.url(path), timeout=30, **kw)

    def stats(self) -> dict:
        return self.get("/_test/stats").json()

    def fault(self, mode: str = "none", count: int | None = None, delay: float | None = None,
              date_offset: int | None = None, retry_after: str | None = None) -> None:
        body: dict = {"mode": mode}
        if retry_after is not None:
            body["retry_after"] = retry_after
        if count is not None:
            body["count"] = count
        if delay is not None:
            body["delay"] = delay
        if date_offset is not None:
            body["date_offset"] = date_offset
        self.post("/_test/fault", json=body).raise_for_status()

    def issued(self) -> set:
        return set(self.get("/_test/issued").json()["tokens"])

    def reset(self) -> None:
        self.post("/_test/reset").raise_for_status()

    def add_client(self, registration: dict) -> None:
        self.post("/_test/clients", json=registration).raise_for_status()

    def token_request(self, form: dict) -> requests.Response:
        return self.post("/oauth/v2/token", data=form)

    def userinfo(self, token: str) -> requests.Response:
        return self.get("/oidc/v1/userinfo", headers={"Authorization": f"Bearer {token}"})

    def introspect(self, token: str, key_file: keys.KeyFile, audience: str | None = None) -> requests.Response:
        assertion = keys.sign_assertion(key_file, audience or self.introspection_endpoint)
        return self.post("/oauth/v2/introspect", data={
            "token": token,
            "client_assertion_type": keys.CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
        })

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.http.close()


def start_authserver(workdir: Path, registrations: list[dict], *, tls: keys.TLSMaterial | None = None,
                     token_lifetime: int | None = None, expires_in_as_string: bool = False,
                     extra_args: tuple = ()) -> AuthServer:
    workdir.mkdir(parents=True, exist_ok=True)
    clients = workdir / "clients.json"
    clients.write_text(json.dumps({"clients": registrations}, indent=2))
    ready_file = workdir / "ready.json"
    args = [sys.executable, str(AUTHSERVER), "--clients", str(clients), "--host", "127.0.0.1",
            "--port", "0", "--ready-file", str(ready_file)]
    if tls:
        args += ["--tls-cert", str(tls.cert_file), "--tls-key", str(tls.key_file)]
    if token_lifetime is not None:
        args += ["--token-lifetime", str(token_lifetime)]
    if expires_in_as_string:
        args.append("--expires-in-as-string")
    args += list(extra_args)
    log = open(workdir / "authserver.log", "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=clean_env(), cwd=workdir)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while not ready_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            text = (workdir / "authserver.log").read_text(errors="replace")
            raise RuntimeError(f"authserver did not start (exit {proc.returncode}):\n{text}")
        time.sleep(0.02)
    return AuthServer(proc, json.loads(ready_file.read_text()), workdir, tls.ca_file if tls else None)


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory) -> keys.TLSMaterial:
    return keys.make_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def authserver(tmp_path, tls_material):
    """Factory: authserver(*key_files_or_registrations, tls=False, token_lifetime=None,
    expires_in_as_string=False) starts a fresh server and returns an AuthServer."""
    started: list[AuthServer] = []

    def start(*clients, tls: bool = False, token_lifetime: int | None = None,
              expires_in_as_string: bool = False, extra_args: tuple = ()) -> AuthServer:
        regs = [c.registration() if isinstance(c, keys.KeyFile) else c for c in clients]
        server = start_authserver(tmp_path / f"authserver-{len(started)}", regs,
                                  tls=tls_material if tls else None, token_lifetime=token_lifetime,
                                  expires_in_as_string=expires_in_as_string, extra_args=extra_args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_authserver(tmp_path_factory, tls_material):
    """One plain-HTTP server per test module, for tests that only add clients and read tokens.
    Register clients with shared_authserver.add_client(key_file.registration())."""
    server = start_authserver(tmp_path_factory.mktemp("shared-authserver"), [])
    yield server
    server.stop()


@pytest.fixture
def key_factory(tmp_path):
    """key_factory(kind='rsa2048', fmt='serviceaccount', **kw) -> keys.KeyFile in this test's tmp dir."""
    directory = tmp_path / "keys"

    def make(kind: str = "rsa2048", fmt: str = "serviceaccount", **kw) -> keys.KeyFile:
        return keys.write_key_file(directory, kind, fmt, **kw)

    return make


@pytest.fixture(scope="session")
def tokenproxy_bin() -> Path:
    """The CLI under test: $TOKENPROXY_BIN, else <repo>/.build/debug/tokenproxy."""
    configured = os.environ.get("TOKENPROXY_BIN")
    path = Path(configured) if configured else REPO / ".build" / "debug" / "tokenproxy"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"tokenproxy binary not found at {path}: run `swift build` in {REPO} "
                    "or set TOKENPROXY_BIN=/path/to/tokenproxy")
    return path


@pytest.fixture
def run_cli(tokenproxy_bin, tmp_path):
    """run_cli(*args, env=None, timeout=30, input=None) -> CliResult(code, stdout, stderr).

    Runs with the caller's environment minus proxy variables, HOME in the test's tmp dir;
    `env` entries are added (None removes one)."""

    def run(*args, env: dict | None = None, timeout: float = CLI_TIMEOUT, input: str | None = None) -> CliResult:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        full_env = clean_env({"HOME": str(home), **(env or {})})
        try:
            done = subprocess.run([str(tokenproxy_bin), *map(str, args)], capture_output=True, text=True,
                                  timeout=timeout, env=full_env, input=input, cwd=tmp_path)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"tokenproxy {' '.join(map(str, args))} did not finish within {timeout} s; "
                        f"stderr so far: {e.stderr!r}")
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def tokenproxy_daemon(tokenproxy_bin, tmp_path):
    """Factory: tokenproxy_daemon(env=None) -> daemon.Daemon, not yet started (call .start(credentials)).
    Every daemon made here is stopped by pid at teardown."""
    import daemon as daemon_helpers  # here, not at the top: daemon.py imports this module

    made = []

    def make(env: dict | None = None):
        d = daemon_helpers.Daemon(tokenproxy_bin, tmp_path / f"daemon-{len(made)}", env)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()
