"""Helpers for the daemon tests: start `tokenproxy serve` with a generated configuration, talk
HTTP/1.1 to it over its Unix socket (or the loopback TCP listener), read its metrics, signal it.

Parallel-safe: every daemon gets its own short tmp dir under /tmp for the socket (sun_path holds
at most 107 bytes, pytest's tmp paths can be longer), and is stopped by pid.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keys
from conftest import clean_env

PEM_FORMATS = ("pkcs1", "pkcs8", "sec1")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
# Refresh settings for tokens that live a few seconds (authserver --token-lifetime 4):
# refresh 2 s before expiry, back off at most 1 s, no jitter so a run is predictable.
FAST_REFRESH = {"before_expiry": 2, "min_before_expiry": 1, "jitter": 0,
                "backoff_initial": 0.2, "backoff_max": 1}


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05, message: str = "condition"):
    """Polls `predicate` until it returns something truthy (which is returned) or fails."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}; last value: {last!r}")


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the daemon does not report a port-0 bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def short_tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tpd-", dir="/tmp"))


# --- HTTP over a Unix socket ------------------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


@dataclass
class Response:
    status: int
    headers: dict  # lower-case names -> value (last one wins)
    header_list: list  # [(name, value)] as received
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _exchange(conn: http.client.HTTPConnection, method: str, target: str, headers: dict | None,
              body: bytes | None) -> Response:
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        items = r.getheaders()
        return Response(r.status, {k.lower(): v for k, v in items}, items, data)
    finally:
        conn.close()


def unix_request(path, method: str, target: str, headers: dict | None = None, body: bytes | None = None,
                 timeout: float = 10.0) -> Response:
    return _exchange(UnixHTTPConnection(str(path), timeout), method, target, headers, body)


def tcp_request(port: int, method: str, target: str, headers: dict | None = None, body: bytes | None = None,
                timeout: float = 10.0) -> Response:
    return _exchange(http.client.HTTPConnection("127.0.0.1", port, timeout=timeout), method, target, headers, body)


def raw_exchange(path, data: bytes, timeout: float = 10.0) -> tuple[bytes, bool]:
    """Writes `data` to a fresh connection and reads until the server closes it.

    Returns (everything received, closed_by_server). A server that keeps the connection open
    after answering is detected by the read timeout (closed_by_server False)."""
    received = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return received, True
                received += chunk
        except ConnectionResetError:
            return received, True
        except socket.timeout:
            return received, False


def status_of(raw: bytes) -> int | None:
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


# --- Prometheus text --------------------------------------------------------------------------

METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    """[(name, labels, value)] for every sample line; fails on a line that is not Prometheus text."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = dict(LABEL.findall(m.group(3) or ""))
        samples.append((m.group(1), labels, float(m.group(4))))
    return samples


def metric(samples, name: str, **labels) -> float | None:
    """The sum of samples named `name` whose labels include `labels` (None when there is none)."""
    values = [v for n, l, v in samples if n == name and all(l.get(k) == str(x) for k, x in labels.items())]
    return sum(values) if values else None


# --- configuration ----------------------------------------------------------------------------

def credential_entry(key: keys.KeyFile, issuer: str, *, refresh: dict | None = FAST_REFRESH, **overrides) -> dict:
    """A credentials.NAME entry for `key` at `issuer`: JSON key files use their own ids (and the
    jwt-bearer grant for a service account), PEM keys get client_id (and key_id) and the
    client-credentials grant."""
    entry: dict = {"key_file": str(key.path), "issuer": issuer, "scopes": ["openid"]}
    if key.fmt == "serviceaccount":
        entry["grant"] = "jwt-bearer"
    else:
        entry["grant"] = "client-credentials"
    if key.fmt in PEM_FORMATS:
        entry["client_id"] = key.client_id
        if key.key_id:
            entry["key_id"] = key.key_id
    if refresh is not None:
        entry["refresh"] = dict(refresh)
    entry.update(overrides)
    return entry


def daemon_config(socket_path, credentials: dict, *, tcp_port: int | None = None, level: str = "debug",
                  api_extra: dict | None = None) -> dict:
    api: dict = {"socket": str(socket_path), "socket_mode": "0600"}
    if tcp_port is not None:
        api["tcp"] = {"listen": f"127.0.0.1:{tcp_port}", "required_header": "Metadata-Flavor",
                      "required_header_value": "tokenproxy"}
    api.update(api_extra or {})
    return {"api": api, "credentials": credentials, "log": {"level": level}}


LOOP_CONNECTIONS = re.compile(r'^tokenproxy_loop_connections\{loop="(\d+)"\} (\d+)$', re.M)


def wait_loop_connections(metrics, total: int, *, exact: bool = False, timeout: float = 10.0) -> list[int]:
    """Connections per event loop, in loop order, from the /metrics text `metrics()` returns,
    once they add up to at least `total` (exactly `total` with `exact`: a connection closed a
    moment ago may still count) or `timeout` passed. The scrape's own connection counts too."""
    deadline = time.monotonic() + timeout
    while True:
        counts = [int(n) for _, n in sorted(LOOP_CONNECTIONS.findall(metrics()))]
        done = sum(counts) == total if exact else sum(counts) >= total
        if done or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


# --- the daemon -------------------------------------------------------------------------------

class Daemon:
    """One `tokenproxy serve` process with its configuration, socket and log in its own dirs."""

    def __init__(self, binary: Path, workdir: Path, env: dict | None = None):
        self.binary = binary
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.sockdir = short_tmpdir()
        self.socket_path = self.sockdir / "api.sock"
        self.config_path = workdir / "config.json"
        self.stderr_path = workdir / "daemon.stderr"
        self.env = clean_env(env)
        self.proc: subprocess.Popen | None = None
        self.config: dict | None = None
        self.tcp_port: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def write_config(self, config: dict) -> None:
        self.config = config
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2))
        os.replace(tmp, self.config_path)

    def start(self, credentials: dict, *, tcp: bool = False, wait: bool = True, level: str = "debug",
              api_extra: dict | None = None) -> "Daemon":
        self.tcp_port = free_port() if tcp else None
        self.write_config(daemon_config(self.socket_path, credentials, tcp_port=self.tcp_port, level=level,
                                        api_extra=api_extra))
        return self.launch(wait=wait)

    def launch(self, wait: bool = True) -> "Daemon":
        err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([str(self.binary), "serve", "--config", str(self.config_path)],
                                     stdout=err, stderr=err, stdin=subprocess.DEVNULL, env=self.env,
                                     cwd=self.workdir)
        err.close()
        if wait:
            self.wait_serving()
        return self

    def wait_serving(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tokenproxy serve exited with {self.proc.returncode}:\n{self.log()}")
            if self.socket_path.exists():
                try:
                    if self.get("/healthz", timeout=2).status == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"tokenproxy serve did not answer /healthz within {timeout} s:\n{self.log()}")

    # requests

    def request(self, method: str, target: str, headers: dict | None = None, body: bytes | None = None,
                timeout: float = 10.0) -> Response:
        return unix_request(self.socket_path, method, target, headers, body, timeout)

    def get(self, target: str, **kw) -> Response:
        return self.request("GET", target, **kw)

    def post(self, target: str, **kw) -> Response:
        return self.request("POST", target, **kw)

    def tcp(self, method: str, target: str, headers: dict | None = None, **kw) -> Response:
        assert self.tcp_port is not None, "start(..., tcp=True) first"
        return tcp_request(self.tcp_port, method, target, headers, **kw)

    def token(self, name: str, **kw) -> Response:
        return self.get(f"/v1/tokens/{name}", **kw)

    def wait_token(self, name: str, timeout: float = 15.0) -> dict:
        """The first 200 answer's JSON for credential `name`."""
        def ok():
            r = self.token(name)
            return r.json() if r.status == 200 else None
        return wait_until(ok, timeout, 0.05, f"a token for {name}")

    def credentials(self) -> dict:
        """/v1/tokens as {name: entry}."""
        r = self.get("/v1/tokens")
        assert r.status == 200, r.text
        return {c["name"]: c for c in r.json()["credentials"]}

    def metrics(self) -> list:
        r = self.get("/metrics")
        assert r.status == 200, r.text
        return parse_metrics(r.text)

    # lifecycle

    def reload(self, config: dict) -> None:
        self.write_config(config)
        self.proc.send_signal(signal.SIGHUP)

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError(f"tokenproxy serve ignored SIGTERM for {timeout} s:\n{self.log()}")
        return self.proc.returncode

    def stop(self) -> None:
        """Teardown: SIGTERM, then SIGKILL; never raises."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def log(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""


# --- the authorization server, again ---------------------------------------------------------

def kill_authserver(server) -> None:
    """An IdP outage: SIGKILL, no goodbye (open connections just die)."""
    if server.proc.poll() is None:
        os.kill(server.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)


def restart_authserver(server, workdir: Path, *, token_lifetime: int | None = None):
    """A new authserver process on the same port (so the same issuer URL) with the same clients.
    The caller stops it (`.stop()`)."""
    from conftest import start_authserver

    registrations = json.loads((server.workdir / "clients.json").read_text())["clients"]
    return start_authserver(workdir, registrations, token_lifetime=token_lifetime,
                            extra_args=("--port", str(server.port)))
