"""The soak's peers: a throwaway service-user key, the Authlib test IdP with chaos knobs, the
token-checking upstream, and the daemon's configuration. Every process is started here and
stopped by pid by the caller."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AUTHSERVER = REPO / "Tests" / "integration" / "authserver.py"
UPSTREAM = Path(__file__).resolve().parent / "upstream.py"
CREDENTIAL = "soak"
START_TIMEOUT = 30.0
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an environment proxy


class SoakError(RuntimeError):
    """Something the soak needs could not be started (not a soak failure)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, timeout: float = 10.0):
    with OPENER.open(url, timeout=timeout) as answer:
        return json.load(answer)


def wait_for_file(path: Path, process: subprocess.Popen, what: str, log: Path) -> dict:
    deadline = time.monotonic() + START_TIMEOUT
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SoakError(f"{what} did not start (exit {process.poll()}); its log {log}:\n"
                            + log.read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    return json.loads(path.read_text())


def write_key(work: Path) -> tuple[Path, Path]:
    """A throwaway RSA service-user key as ZITADEL key JSON (mode 0600) and the IdP's client
    registration for it. Returns (key file, clients file)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    key_file, clients_file = work / "soak-throwaway-key.json", work / "clients.json"
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as f:
        json.dump({"type": "serviceaccount", "keyId": "soak-key", "key": pem, "userId": "soak-user"}, f)
    clients_file.write_text(json.dumps({"clients": [{
        "client_id": "soak-user", "kid": "soak-key", "public_key_pem": public,
        "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "scope": "openid"}]}))
    return key_file, clients_file


def start_idp(work: Path, clients_file: Path, options) -> tuple[subprocess.Popen, str]:
    ready, log = work / "idp.json", work / "idp.log"
    args = [sys.executable, str(AUTHSERVER), "--clients", str(clients_file), "--port", "0",
            "--ready-file", str(ready), "--token-lifetime", str(options.token_lifetime), "--jwt-access-tokens",
            "--fail-rate", str(options.fail_rate), "--stall-rate", str(options.stall_rate),
            "--stall-seconds", str(options.stall_seconds), "--chaos-seed", str(options.seed),
            "--exp-early", str(options.exp_early)]
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, "AUTHSERVER_QUIET": "1"}, cwd=work)
    return process, wait_for_file(ready, process, "the test IdP", log)["issuer"]


def start_upstream(work: Path, issuer: str) -> tuple[subprocess.Popen, int]:
    ready, log = work / "upstream.json", work / "upstream.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, str(UPSTREAM), "--jwks", issuer + "/oauth/v2/keys",
                                    "--ready-file", str(ready)], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=work)
    return process, wait_for_file(ready, process, "the upstream", log)["port"]


def daemon_config(work: Path, key_file: Path, issuer: str, upstream_port: int, proxy_port: int,
                  variant: int) -> dict:
    """Variant 0 is the base; variant 1 changes the refresh jitter (a policy change: the token
    is kept and refreshed at once) and adds a second route, so reloads do real work."""
    credential = {"key_file": str(key_file), "issuer": issuer, "grant": "jwt-bearer", "scopes": ["openid"],
                  # 5 s tokens: the default backoff ceiling (300 s) would let a run of IdP
                  # failures park the credential for minutes; a short-token setup sets this.
                  "refresh": {"backoff_max": 2, "jitter": 0.1 if variant == 0 else 0.2}}
    routes = [{"path_prefix": "/api/", "upstream": f"http://127.0.0.1:{upstream_port}", "credential": CREDENTIAL}]
    if variant == 1:
        routes.append({"path_prefix": "/other/", "upstream": f"http://127.0.0.1:{upstream_port}",
                       "credential": CREDENTIAL})
    return {"api": {"socket": str(work / "api.sock"), "socket_mode": "0600"},
            "credentials": {CREDENTIAL: credential}, "log": {"level": "info"},
            "proxy": {"listen": [f"127.0.0.1:{proxy_port}"], "routes": routes, "response_timeout": 10}}


def write_config(path: Path, config: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    os.replace(tmp, path)


def stop(process: subprocess.Popen | None, timeout: float = 10.0) -> int | None:
    """SIGTERM, then SIGKILL after `timeout`; returns the exit code (None if it had to be killed)."""
    if process is None:
        return None
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        return None
