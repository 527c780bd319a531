"""`tokenproxy token NAME --format env` and `tokenproxy exec NAME -- COMMAND`: the token in a
command's environment, the command's exit status passed on, signals forwarded, and on refresh a
restart or a signal."""

from __future__ import annotations

import signal
import subprocess
import time

from conftest import clean_env
from daemon import credential_entry, wait_until

FAST = {"before_expiry": 2, "min_before_expiry": 1, "jitter": 0, "backoff_initial": 0.2,
        "backoff_max": 1}


def start(tokenproxy_daemon, authserver, key_factory, lifetime=600):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=lifetime)
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=FAST)})
    return s, d, d.wait_token("svc")["access_token"]


def test_token_format_env(tokenproxy_daemon, authserver, key_factory, run_cli, tokenproxy_bin):
    _, d, token = start(tokenproxy_daemon, authserver, key_factory)
    r = run_cli("token", "svc", "--socket", d.socket_path, "--format", "env")
    assert r.code == 0 and r.stdout == f"ACCESS_TOKEN={token}\n", r
    r = run_cli("token", "svc", "--socket", d.socket_path, "--format", "env", "--variable", "API_TOKEN")
    assert r.stdout == f"API_TOKEN={token}\n", r
    assert run_cli("token", "svc", "--socket", d.socket_path, "--format", "env", "--variable", "1X").code == 64
    # Usable as documented: set -a; eval "$(tokenproxy token NAME --format env)"; set +a
    script = ('set -a; eval "$("$0" token svc --socket "$1" --format env)"; set +a; '
              '/bin/sh -c \'printf "%s" "$ACCESS_TOKEN"\'')
    shell = subprocess.run(["/bin/sh", "-c", script, str(tokenproxy_bin), str(d.socket_path)],
                           capture_output=True, text=True, timeout=30, env=clean_env({}))
    assert shell.stdout == token, shell


def test_exec_passes_the_token_and_the_exit_status(tokenproxy_daemon, authserver, key_factory, run_cli):
    _, d, token = start(tokenproxy_daemon, authserver, key_factory)
    r = run_cli("exec", "svc", "--socket", d.socket_path, "--",
                "sh", "-c", 'printf "%s" "$ACCESS_TOKEN"; exit 7')
    assert r.code == 7 and r.stdout == token, r
    r = run_cli("exec", "svc", "--socket", d.socket_path, "--variable", "API_TOKEN", "--",
                "/usr/bin/env")
    assert f"API_TOKEN={token}" in r.stdout.splitlines() and r.code == 0
    assert token not in r.stderr
    r = run_cli("exec", "nope", "--socket", d.socket_path, "--", "true")
    assert r.code == 64 and "nope" in r.stderr, r  # unknown credential, like `token`


def spawn_exec(tokenproxy_bin, tmp_path, *args) -> subprocess.Popen:
    return subprocess.Popen([str(tokenproxy_bin), "exec", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clean_env({}), cwd=tmp_path)


def test_exec_restarts_the_command_on_refresh_and_forwards_sigterm(tokenproxy_daemon, authserver, key_factory,
                                                                   tokenproxy_bin, tmp_path):
    s, d, _ = start(tokenproxy_daemon, authserver, key_factory, lifetime=3)
    out = tmp_path / "starts"
    proc = spawn_exec(tokenproxy_bin, tmp_path, "svc", "--socket", d.socket_path, "--on-refresh", "restart",
                      "--poll-interval", "0.2", "--", "/bin/sh", "-c", 'echo "$ACCESS_TOKEN" >> "$0"; exec sleep 60',
                      out)
    try:
        lines = wait_until(lambda: (l := out.read_text().split()) if out.exists() and len(set(out.read_text().split())) >= 3 else None,
                           15, 0.1, "three starts with three tokens")
        assert set(lines) <= s.issued()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        assert code == 128 + signal.SIGTERM, (code, proc.stderr.read())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_exec_signals_the_command_on_refresh(tokenproxy_daemon, authserver, key_factory, tokenproxy_bin,
                                             tmp_path):
    _, d, _ = start(tokenproxy_daemon, authserver, key_factory, lifetime=3)
    out = tmp_path / "signals"
    script = 'trap \'echo HUP >> "$0"\' HUP; echo started >> "$0"; while :; do sleep 0.1; done'
    proc = spawn_exec(tokenproxy_bin, tmp_path, "svc", "--socket", d.socket_path, "--on-refresh", "signal",
                      "--signal", "HUP", "--poll-interval", "0.2", "--", "/bin/sh", "-c", script, out)
    try:
        wait_until(lambda: out.exists() and out.read_text().count("HUP") >= 2, 15, 0.1, "two HUPs")
        assert out.read_text().count("started") == 1, "signal mode must not restart"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 128 + signal.SIGINT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
