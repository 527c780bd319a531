"""Fixtures and helpers for the proxy suites (test_proxy*.py): nginx and echo upstreams, a
tokenproxy daemon with a `proxy` section, a raw HTTP/1.1 client and a curl wrapper.

One environment per test module (`proxy_env`): the authorization server, nginx (HTTP + HTTPS
with the throwaway test CA), an EchoUpstream, a raw TCP echo for the CONNECT tunnel and the
daemon. Tests that count things take deltas (EchoUpstream.snapshot(), authserver stats) and
use unique paths, so they do not depend on each other. Everything is on 127.0.0.1 or in
Unix sockets under a private /tmp directory; processes are stopped by pid.

The whole module skips, with the reason, when the binary has no proxy yet (`check` rejects
the section, or `serve` accepts it but never listens on the proxy address).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import keys
from conftest import AuthServer, clean_env, start_authserver
from echo_upstream import EchoUpstream

START_TIMEOUT = 20.0
PROXY_GRACE = 3.0  # after the token API is ready, how long the proxy listener may take
_NO_PROXY: list[str] = []  # the skip reason, once a daemon showed it has no proxy
REFRESH_HEADER = "X-Tokenproxy-Refresh"
RESPONSE_TIMEOUT = 5
BIG_FILE = "big.bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (callers retry on EADDRINUSE)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused_port() -> socket.socket:
    """A socket bound but not listening: connecting to its port is refused, and nobody else
    can take the port while the socket lives."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# ----------------------------------------------------------------------------------- nginx

NGINX_CONF = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    log_format upstream '$request|$http_authorization|$http_proxy_authorization|$http_via|$http_host';
    access_log {prefix}/access.log upstream;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    sendfile on;
    keepalive_requests 10000;
    server {{
        listen 127.0.0.1:{http_port};
        listen 127.0.0.1:{https_port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {prefix}/www;
        location = /headers {{
            default_type text/plain;
            return 200 "$http_authorization|$http_proxy_authorization|$http_via|$http_host\\n";
        }}
        location / {{ }}
    }}
    server {{
        listen 127.0.0.1:{mtls_port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        location = /client {{
            default_type text/plain;
            return 200 "$ssl_client_verify|$ssl_client_s_dn|$http_authorization\n";
        }}
    }}
}}
"""


@dataclass
class Nginx:
    proc: subprocess.Popen
    prefix: Path
    http_port: int
    https_port: int
    mtls_port: int  # HTTPS that requires a client certificate from the test CA

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def access_lines(self) -> list[str]:
        try:
            return self.access_log.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def wait_for_line(self, prefix: str, timeout: float = 5.0) -> str | None:
        """The last access-log line starting with `prefix` (nginx logs after responding)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.access_lines() if line.startswith(prefix)]
            if found or time.monotonic() > deadline:
                return found[-1] if found else None
            time.sleep(0.02)

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGQUIT)


def start_nginx(prefix: Path, tls: keys.TLSMaterial, big_file_size: int) -> Nginx:
    """nginx in the foreground (single process) with HTTP and HTTPS listeners; www/big.bin is
    a sparse file of `big_file_size` bytes, www/small.txt a short text."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    for attempt in range(5):
        for d in ("www", "tmp"):
            (prefix / d).mkdir(parents=True, exist_ok=True)
        (prefix / "www" / "small.txt").write_text("hello from nginx\n")
        with open(prefix / "www" / BIG_FILE, "wb") as f:
            f.truncate(big_file_size)
        http_port, https_port, mtls_port = free_port(), free_port(), free_port()
        (prefix / "nginx.conf").write_text(NGINX_CONF.format(
            prefix=prefix, http_port=http_port, https_port=https_port, mtls_port=mtls_port,
            cert=tls.cert_file, key=tls.key_file, ca=tls.ca_file))
        (prefix / "error.log").write_text("")
        proc = subprocess.Popen(
            ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log"),
             "-g", "daemon off; master_process off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=clean_env())
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if _connects(http_port) and _connects(https_port) and _connects(mtls_port):
                return Nginx(proc, prefix, http_port, https_port, mtls_port)
            time.sleep(0.05)
        stop_process(proc)
        errors = (prefix / "error.log").read_text(errors="replace")
        if "Address already in use" not in errors:
            raise RuntimeError(f"nginx did not start (exit {proc.returncode}):\n{errors}")
    raise RuntimeError("nginx: no free ports after 5 attempts")


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# ------------------------------------------------------------------------- raw HTTP client


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    raw_head: bytes = b""

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class Closed(Exception):
    """The peer closed the connection before a complete response head (`partial`: what came)."""

    def __init__(self, partial: bytes):
        super().__init__(f"connection closed after {partial!r}")
        self.partial = partial


def read_response(f, method: str = "GET") -> Response:
    """One response from a buffered socket file; 1xx other than 101 are skipped."""
    while True:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = f.readline(65536)
            if not line:
                raise Closed(head)
            head += line
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        response = Response(status, parts[2] if len(parts) > 2 else "", headers, b"", head)
        if 100 <= status < 200 and status != 101:
            continue
        break
    if method == "HEAD" or status in (101, 204, 304) or method == "CONNECT" and 200 <= status < 300:
        return response
    te = ",".join(response.header_values("Transfer-Encoding")).lower()
    length = response.header("Content-Length")
    if "chunked" in te:
        body = bytearray()
        while True:
            size = int(f.readline(1024).split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline(65536) not in (b"\r\n", b""):
                    pass
                break
            body += f.read(size)
            f.read(2)
        response.body = bytes(body)
    elif length is not None:
        response.body = f.read(int(length))
    else:
        response.body = f.read()
    return response


@dataclass
class Exchange:
    """What came back on one raw connection."""

    responses: list[Response]
    closed: bool  # the proxy closed the connection (EOF) after the last response
    leftover: bytes = b""  # bytes after the last complete response (should be none)
    error: str | None = None  # why reading stopped early

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]


def exchange(address, data: bytes, *, max_responses: int = 10, timeout: float = 10.0,
             shut_write: bool = False, methods: list[str] | None = None, wait_close: bool = True) -> Exchange:
    """Sends `data` raw, reads up to `max_responses` responses, then (with `wait_close`) waits
    up to `timeout` to see whether the peer closes. `address` is a port on 127.0.0.1 or a Unix
    socket path."""
    if isinstance(address, int):
        sock = socket.create_connection(("127.0.0.1", address), timeout=timeout)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(str(address))
    with sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the proxy may answer and close before reading everything; read what it sent
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        f = sock.makefile("rb")
        responses: list[Response] = []
        error = None
        try:
            while len(responses) < max_responses:
                method = (methods or [])[len(responses)] if methods and len(responses) < len(methods) else "GET"
                responses.append(read_response(f, method))
        except Closed as e:
            return Exchange(responses, True, error=e.partial and f"closed inside a response head: {e.partial!r}")
        except (socket.timeout, TimeoutError):
            return Exchange(responses, False, error="timed out waiting for a response")
        except (OSError, ValueError) as e:
            return Exchange(responses, True, error=f"{type(e).__name__}: {e}")
        if not wait_close:
            return Exchange(responses, False, error=error)
        try:
            rest = f.read1(65536) if hasattr(f, "read1") else f.read(65536)
            return Exchange(responses, rest == b"", leftover=rest, error=error)
        except (socket.timeout, TimeoutError):
            return Exchange(responses, False, error=error)
        except OSError:
            return Exchange(responses, True, error=error)


def request_bytes(method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    return head.encode("latin-1") + body


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:12]


# ---------------------------------------------------------------------------------- daemon


@dataclass
class ProxyDaemon:
    proc: subprocess.Popen
    config_path: Path
    log_path: Path
    api_socket: Path
    proxy_port: int
    proxy_socket: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, method: str, target: str) -> Response:
        data = request_bytes(method, target, [("Host", "localhost"), ("Connection", "close")])
        result = exchange(self.api_socket, data, max_responses=1)
        if not result.responses:
            raise RuntimeError(f"token API gave no response to {method} {target}: {result.error}")
        return result.responses[0]

    def token(self) -> str:
        response = self.api("GET", "/v1/tokens/svc")
        assert response.status == 200, response.text
        return response.json()["access_token"]

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the daemon in bytes, from /proc/PID/status."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024
        return values

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM, timeout=15)


def proxy_config(*, issuer: str, key_path: Path, api_socket: Path, proxy_port: int, proxy_socket: Path,
                 routes: list[dict], tunnels: list[str]) -> dict:
    return {
        "api": {"socket": str(api_socket), "socket_mode": "0600"},
        "credentials": {"svc": {"key_file": str(key_path), "issuer": issuer, "scopes": ["openid"]}},
        "log": {"level": "debug"},
        "proxy": {
            "listen": [f"127.0.0.1:{proxy_port}", f"unix:{proxy_socket}"],
            "routes": routes,
            "tunnels": tunnels,
            "refresh_header": REFRESH_HEADER,
            "max_replay_body_bytes": 65536,
            "response_timeout": RESPONSE_TIMEOUT,
        },
    }


def start_daemon(tokenproxy_bin: Path, workdir: Path, sockdir: Path, make_config) -> ProxyDaemon:
    """Writes the configuration (`make_config(proxy_port)` -> dict), checks it, runs `serve`
    and waits until the token API is ready and the proxy listens. Skips the caller when the
    binary has no proxy."""
    if _NO_PROXY:
        pytest.skip(_NO_PROXY[0])
    api_socket, proxy_socket = sockdir / "api.sock", sockdir / "proxy.sock"
    for attempt in range(4):
        port = free_port()
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(make_config(port), indent=2))
        check = subprocess.run([str(tokenproxy_bin), "check", "--config", str(config_path)], capture_output=True,
                               text=True, timeout=30, env=clean_env({"HOME": str(workdir)}))
        if check.returncode != 0:
            if "proxy" in (check.stdout + check.stderr).lower():
                pytest.skip(f"this tokenproxy has no proxy: `check` rejects the proxy section "
                            f"(exit {check.returncode}): {(check.stderr or check.stdout).strip()[:500]}")
            raise RuntimeError(f"tokenproxy check failed (exit {check.returncode}):\n{check.stdout}{check.stderr}")
        for path in (api_socket, proxy_socket):
            path.unlink(missing_ok=True)
        log_path = workdir / f"daemon-{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([str(tokenproxy_bin), "serve", "--config", str(config_path)],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=clean_env({"HOME": str(workdir)}), cwd=workdir)
        daemon = ProxyDaemon(proc, config_path, log_path, api_socket, port, proxy_socket)
        outcome = _wait_ready(daemon)
        if outcome == "ready":
            return daemon
        daemon.stop()
        text = daemon.log()
        if outcome == "no proxy":
            _NO_PROXY.append(f"this tokenproxy has no proxy: `serve` accepted the proxy section and its token API "
                             f"became ready, but nothing listened on 127.0.0.1:{port} {PROXY_GRACE:.0f} s later")
            pytest.skip(_NO_PROXY[0])
        if "in use" not in text.lower():
            raise RuntimeError(f"tokenproxy serve did not become ready ({outcome}):\n{text}")
    raise RuntimeError("tokenproxy serve: no free proxy port after 4 attempts")


def _wait_ready(daemon: ProxyDaemon) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    api_up = proxy_up = False
    api_up_at = 0.0
    while time.monotonic() < deadline:
        if api_up and not proxy_up and time.monotonic() > api_up_at + PROXY_GRACE:
            break
        if daemon.proc.poll() is not None:
            return f"exited with {daemon.proc.returncode}"
        if not api_up and daemon.api_socket.exists():
            try:
                api_up = daemon.api("GET", "/readyz").status == 200
                api_up_at = time.monotonic()
            except (OSError, RuntimeError):
                pass
        if not proxy_up:
            proxy_up = _connects(daemon.proxy_port)
        if api_up and proxy_up:
            return "ready"
        time.sleep(0.05)
    if api_up and not proxy_up:
        return "no proxy"
    return "not ready in time"


# ------------------------------------------------------------------------------ environment


@dataclass
class ProxyEnv:
    authserver: AuthServer
    key: keys.KeyFile
    tls: keys.TLSMaterial
    nginx: Nginx
    echo: EchoUpstream
    tunnel: EchoUpstream
    daemon: ProxyDaemon
    workdir: Path
    big_file_size: int
    closed_port: int
    keep: list = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.daemon.proxy_port

    @property
    def proxy_url(self) -> str:
        return self.daemon.proxy_url

    def raw(self, data: bytes, **kw) -> Exchange:
        return exchange(self.port, data, **kw)

    def get(self, url: str, headers: list[tuple[str, str]] | None = None, method: str = "GET",
            body: bytes = b"", **kw) -> Response:
        """One forward-proxy request (absolute-form target) on its own connection."""
        host = url.split("/")[2]
        all_headers = [("Host", host), *(headers or []), ("Connection", "close")]
        if body:
            all_headers.append(("Content-Length", str(len(body))))
        result = self.raw(request_bytes(method, url, all_headers, body), max_responses=1, methods=[method],
                          **{"wait_close": False, **kw})
        assert result.responses, f"no response from the proxy for {method} {url}: {result.error}\n{self.daemon.log()[-2000:]}"
        return result.responses[0]

    def curl(self, *args, input: bytes | None = None, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(["curl", "-sS", "--max-time", str(int(timeout)), *map(str, args)], input=input,
                              capture_output=True, timeout=timeout + 10, env=clean_env(env), cwd=self.workdir)

    def valid_at_authserver(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme == "Bearer" and bool(token) and self.authserver.userinfo(token).status_code == 200


def build_env(tmp_path_factory, tokenproxy_bin: Path, tls: keys.TLSMaterial,
              big_file_size: int = 1 << 30) -> ProxyEnv:
    if _NO_PROXY:
        pytest.skip(_NO_PROXY[0])
    workdir = tmp_path_factory.mktemp("proxy")
    sockdir = Path(tempfile.mkdtemp(prefix="tp-proxy-"))  # short: Unix socket paths are limited
    started: list = []
    try:
        key = keys.write_key_file(workdir / "keys", "p256", "serviceaccount")
        server = start_authserver(workdir / "authserver", [key.registration()])
        started.append(server)
        nginx = start_nginx(workdir / "nginx", tls, big_file_size)
        started.append(nginx)
        echo = EchoUpstream().start()
        started.append(echo)
        tunnel = EchoUpstream(raw=True).start()
        started.append(tunnel)
        closed = refused_port()
        closed_port = closed.getsockname()[1]

        def make_config(proxy_port: int) -> dict:
            routes = [
                {"host": "api.test", "upstream": f"http://127.0.0.1:{nginx.http_port}", "credential": "svc"},
                {"host": "secure.test", "upstream": f"https://localhost:{nginx.https_port}", "credential": "svc",
                 "ca_file": str(tls.ca_file)},
                {"host": "untrusted.test", "upstream": f"https://localhost:{nginx.https_port}", "credential": "svc"},
                {"host": "mtls.test", "upstream": f"https://localhost:{nginx.mtls_port}", "credential": "svc",
                 "ca_file": str(tls.ca_file), "client_certificate": str(tls.client_cert_file),
                 "client_key": str(tls.client_key_file)},
                {"host": "echo.test", "upstream": echo.url, "credential": "svc"},
                {"host": "no-upgrade.test", "upstream": echo.url, "credential": "svc", "upgrades": []},
                {"host": "down.test", "upstream": f"http://127.0.0.1:{closed_port}", "credential": "svc"},
                {"path_prefix": "/zitadel/", "strip_prefix": True, "upstream": echo.url, "credential": "svc",
                 "forwarded_headers": True},
            ]
            return proxy_config(issuer=server.issuer, key_path=key.path, api_socket=sockdir / "api.sock",
                                proxy_port=proxy_port, proxy_socket=sockdir / "proxy.sock", routes=routes,
                                tunnels=[tunnel.authority])

        daemon = start_daemon(tokenproxy_bin, workdir, sockdir, make_config)
        started.append(daemon)
        return ProxyEnv(server, key, tls, nginx, echo, tunnel, daemon, workdir, big_file_size, closed_port,
                        keep=[closed, sockdir, *started])
    except BaseException:
        for thing in reversed(started):
            thing.stop()
        shutil.rmtree(sockdir, ignore_errors=True)
        raise


def teardown_env(env: ProxyEnv) -> None:
    for thing in reversed(env.keep):
        if isinstance(thing, socket.socket):
            thing.close()
        elif isinstance(thing, Path):
            shutil.rmtree(thing, ignore_errors=True)
        else:
            thing.stop()


@pytest.fixture(scope="module")
def proxy_env(tmp_path_factory, tokenproxy_bin, tls_material):
    """A running daemon with the standard routes (see build_env), shared by a test module."""
    env = build_env(tmp_path_factory, tokenproxy_bin, tls_material)
    yield env
    teardown_env(env)
