"""tokenproxy as a host citizen, against the real binary: per-credential `allow` with callers
running as other uids (`setpriv`), supplementary groups, the audit trail under a polling loop,
the operations listener, log options and `--version`, and key isolation (non-dumpable: a
same-uid ptrace attach is refused).

Callers as other users need root (setpriv); those tests are skipped otherwise."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

import daemon as d
from conftest import clean_env

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT or shutil.which("setpriv") is None,
                                reason="needs root and setpriv (util-linux) to run callers as other users")
# Ids no account on a test machine uses; setpriv does not need them to exist.
ALICE, BOB, READERS, DAEMON_UID = 64101, 64102, 64110, 64103


def as_user(uid: int, gid: int, groups: list[int], socket_path, target: str) -> int:
    """The HTTP status a GET on the token socket gives to a process of uid/gid/groups."""
    group_args = ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
    result = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", *group_args, "--",
         "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
         "--unix-socket", str(socket_path), f"http://localhost{target}"],
        capture_output=True, text=True, timeout=20, env=clean_env())
    return int(result.stdout or 0)


@pytest.fixture
def open_socket_daemon(tokenproxy_daemon, authserver, key_factory):
    """A daemon whose socket any uid may open (mode 0666 in a 0755 directory), so that only
    `allow` decides, with credentials billing (uid ALICE), grouped (gid READERS) and open."""
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    daemon = tokenproxy_daemon()
    os.chmod(daemon.sockdir, 0o755)
    entry = d.credential_entry(key, server.issuer, refresh=None)
    daemon.start({
        "billing": {**entry, "allow": {"uids": [ALICE]}},
        "grouped": {**entry, "allow": {"gids": [READERS]}},
        "open": entry,
    }, api_extra={"socket_mode": "0666"}, level="info")
    for name in ("billing", "grouped", "open"):
        daemon.wait_token(name)
    return daemon


@needs_root
def test_allow_by_uid_refuses_other_users(open_socket_daemon):
    sock = open_socket_daemon.socket_path
    assert as_user(ALICE, ALICE, [], sock, "/v1/tokens/billing") == 200
    assert as_user(BOB, BOB, [], sock, "/v1/tokens/billing") == 403
    assert as_user(BOB, BOB, [], sock, "/v1/tokens/open") == 200
    refusal = subprocess.run(
        ["setpriv", f"--reuid={BOB}", f"--regid={BOB}", "--clear-groups", "--", "curl", "-s",
         "--unix-socket", str(sock), "http://localhost/v1/tokens/billing"],
        capture_output=True, text=True, timeout=20).stdout
    body = json.loads(refusal)
    assert body["error"] == "access_denied" and "'billing'" in body["error_description"]
    assert str(BOB) not in body["error_description"]


@needs_root
def test_allow_by_group_counts_supplementary_groups(open_socket_daemon):
    sock = open_socket_daemon.socket_path
    assert as_user(BOB, BOB, [READERS], sock, "/v1/tokens/grouped") == 200, "supplementary group"
    assert as_user(BOB, READERS, [], sock, "/v1/tokens/grouped") == 200, "primary group"
    assert as_user(BOB, BOB, [], sock, "/v1/tokens/grouped") == 403
    assert as_user(BOB, BOB, [READERS + 1], sock, "/v1/tokens/grouped") == 403
    samples = open_socket_daemon.metrics()
    assert d.metric(samples, "tokenproxy_access_refused_total", credential="grouped") == 2


@needs_root
def test_global_allowed_gids_match_supplementary_groups(tokenproxy_daemon, authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    daemon = tokenproxy_daemon()
    os.chmod(daemon.sockdir, 0o755)
    daemon.start({"open": d.credential_entry(key, server.issuer, refresh=None)},
                 api_extra={"socket_mode": "0666", "allowed_gids": [READERS]})
    daemon.wait_token("open")
    assert as_user(BOB, BOB, [READERS], daemon.socket_path, "/v1/tokens/open") == 200
    assert as_user(BOB, BOB, [], daemon.socket_path, "/v1/tokens/open") == 403


def test_audit_logs_a_polling_caller_once_then_counts(tokenproxy_daemon, authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    daemon = tokenproxy_daemon()
    daemon.start({"open": d.credential_entry(key, server.issuer, refresh=None)}, level="info")
    token = daemon.wait_token("open")["access_token"]
    # One process polling on one keep-alive connection, then 20 more processes (a shell loop).
    conn = d.UnixHTTPConnection(str(daemon.socket_path))
    for _ in range(2000):
        conn.request("GET", "/v1/tokens/open")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    conn.close()
    for _ in range(20):
        subprocess.run(["curl", "-sf", "-o", "/dev/null", "--unix-socket", str(daemon.socket_path),
                        "http://localhost/v1/tokens/open"], check=True, timeout=20)
    samples = daemon.metrics()
    assert d.metric(samples, "tokenproxy_tokens_served_total", credential="open", uid=os.geteuid()) == 2021
    assert daemon.terminate() == 0  # the last counts are reported at shutdown
    log = daemon.log()
    first = [line for line in log.splitlines() if "token handed out (first to this caller)" in line]
    # The test process (python) and curl are two programs: two callers, one line each.
    assert len(first) == 2, log
    assert any(f"caller_exe={os.path.realpath(sys.executable)}" in line for line in first), first
    counts = [line for line in log.splitlines() if "tokens handed out" in line and "count=" in line]
    total = sum(int(re.search(r"count=(\d+)", line).group(1)) for line in counts)
    assert total == 2021, counts
    assert token not in log


def test_operations_listener_serves_probes_and_never_tokens(tokenproxy_daemon, authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    daemon = tokenproxy_daemon()
    port = d.free_port()
    config = d.daemon_config(daemon.socket_path, {"open": d.credential_entry(key, server.issuer, refresh=None)})
    config["operations"] = {"listen": f"127.0.0.1:{port}"}
    daemon.write_config(config)
    daemon.launch()
    token = daemon.wait_token("open")["access_token"]
    assert d.tcp_request(port, "GET", "/healthz").status == 200
    d.wait_until(lambda: d.tcp_request(port, "GET", "/readyz").status == 200, message="/readyz 200")
    metrics = d.tcp_request(port, "GET", "/metrics")
    assert metrics.status == 200 and "tokenproxy_build_info{" in metrics.text
    for target in ("/v1/tokens/open", "/v1/tokens", "/v1/tokens/open/refresh", "/nothing"):
        for method in ("GET", "POST"):
            response = d.tcp_request(port, method, target)
            assert response.status == 404, (method, target, response.text)
            assert token not in response.text


def test_version_and_build_info(tokenproxy_bin):
    out = subprocess.run([str(tokenproxy_bin), "--version"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and re.match(r"tokenproxy \d+\.\d+\.\d+ \(Swift [\d.]+\)$", out.stdout.strip()), out


def test_log_level_flag_env_and_json_format(tokenproxy_daemon, authserver, key_factory, tokenproxy_bin):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    server.fault("text_503", count=1)
    daemon = tokenproxy_daemon({"TOKENPROXY_LOG_LEVEL": "warning"})
    daemon.write_config(d.daemon_config(daemon.socket_path, {"open": d.credential_entry(key, server.issuer)},
                                        level="debug"))
    daemon.proc = subprocess.Popen(
        [str(tokenproxy_bin), "serve", "--config", str(daemon.config_path), "--log-format", "json"],
        stdout=subprocess.DEVNULL, stderr=open(daemon.stderr_path, "ab"), env=daemon.env)
    daemon.wait_serving()
    daemon.wait_token("open")
    assert daemon.terminate() == 0
    lines = [json.loads(line) for line in daemon.log().splitlines() if line.strip()]
    assert lines, "no log lines"
    assert all(line["level"] in ("warning", "error", "critical") for line in lines), lines
    failures = [line for line in lines if line.get("message") == "token fetch failed; the valid token (if any) is still served"]
    assert len(failures) == 1, lines
    assert failures[0]["category"] and failures[0]["error"] and failures[0]["credential"] == "open"
    # The flag wins over the environment.
    daemon2 = tokenproxy_daemon({"TOKENPROXY_LOG_LEVEL": "error"})
    daemon2.write_config(d.daemon_config(daemon2.socket_path, {"open": d.credential_entry(key, server.issuer)}))
    daemon2.proc = subprocess.Popen(
        [str(tokenproxy_bin), "serve", "--config", str(daemon2.config_path), "--log-level", "info"],
        stdout=subprocess.DEVNULL, stderr=open(daemon2.stderr_path, "ab"), env=daemon2.env)
    daemon2.wait_serving()
    daemon2.wait_token("open")
    assert daemon2.terminate() == 0
    assert "token refreshed" in daemon2.log()
    bad = subprocess.run([str(tokenproxy_bin), "serve", "--config", str(daemon2.config_path)],
                         capture_output=True, text=True, timeout=20, env=clean_env({"TOKENPROXY_LOG_LEVEL": "loud"}))
    assert bad.returncode == 64 and "TOKENPROXY_LOG_LEVEL" in bad.stderr


PTRACE_ATTACH, PTRACE_DETACH = 16, 17
TRACER = r"""
import ctypes, os, signal, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
def attach(pid):
    if libc.ptrace(16, pid, None, None) == 0:
        os.waitpid(pid, 0)
        libc.ptrace(17, pid, None, None)
        return "attached"
    return os.strerror(ctypes.get_errno())
control = subprocess.Popen(["sleep", "30"])
daemon = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=open(os.environ["DAEMON_LOG"], "ab"))
socket_path = os.environ["SOCKET"]
deadline = time.monotonic() + 20
while not os.path.exists(socket_path) and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(0.2)
status_owner = os.stat(f"/proc/{daemon.pid}/status").st_uid
print(attach(control.pid), attach(daemon.pid), status_owner, os.getuid(), flush=True)
control.kill(); daemon.send_signal(signal.SIGTERM); daemon.wait(timeout=15); control.wait()
"""


@needs_root
def test_keys_cannot_be_read_by_a_same_uid_process(tokenproxy_daemon, authserver, key_factory, tokenproxy_bin, tmp_path):
    """The tracer runs as the daemon's uid and is its parent (so even Yama's ptrace_scope=1
    would allow the attach): attaching to a `sleep` child works, attaching to tokenproxy is
    refused because it made itself non-dumpable, and its /proc files belong to root."""
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    daemon = tokenproxy_daemon()
    os.chown(key.path, DAEMON_UID, DAEMON_UID)
    for directory in (daemon.sockdir, daemon.workdir, key.path.parent):
        os.chown(directory, DAEMON_UID, DAEMON_UID)
    daemon.write_config(d.daemon_config(daemon.socket_path, {"open": d.credential_entry(key, server.issuer)}))
    os.chmod(daemon.config_path, 0o644)
    for parent in list(key.path.parents)[:4] + list(daemon.workdir.parents)[:4]:
        if str(parent).startswith("/tmp/"):
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    binary = tmp_path / "tokenproxy"
    shutil.copy2(tokenproxy_bin, binary)
    os.chmod(binary, 0o755)
    result = subprocess.run(
        ["setpriv", f"--reuid={DAEMON_UID}", f"--regid={DAEMON_UID}", "--clear-groups", "--",
         sys.executable, "-c", TRACER, str(binary), "serve", "--config", str(daemon.config_path)],
        capture_output=True, text=True, timeout=60,
        env=clean_env({"SOCKET": str(daemon.socket_path), "DAEMON_LOG": str(daemon.stderr_path)}))
    assert result.returncode == 0, result.stderr + daemon.log()
    fields = result.stdout.split()
    assert fields[0] == "attached", f"the control attach failed, the test proves nothing: {result.stdout}"
    assert "not permitted" in result.stdout and fields[-2] == "0" and fields[-1] == str(DAEMON_UID), result.stdout
