"""Token files (credentials.NAME.sinks): rewritten on every refresh, atomically, with the configured
mode and group, while a reader loop reads them thousands of times and never sees a partial or
empty file; the post-write command runs with the sink's path (never the token), its failure and
its timeout are logged and change nothing else; symlinks are refused; remove_on_exit works."""

from __future__ import annotations

import json
import os
import re
import stat
import time

from daemon import credential_entry, wait_until

FAST = {"before_expiry": 2, "min_before_expiry": 1, "jitter": 0, "backoff_initial": 0.2,
        "backoff_max": 1}


def read(path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def test_sinks_are_rewritten_on_every_refresh_and_never_partial(tokenproxy_daemon, authserver, key_factory,
                                                               tmp_path):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=3)
    out = tmp_path / "sinks"
    out.mkdir()
    gid = os.getgid()
    raw, js, env, header = out / "token", out / "token.json", out / "token.env", out / "token.header"
    sinks = [
        {"path": str(raw), "mode": "0640", "group": str(gid)},
        {"path": str(js), "format": "json"},
        {"path": str(env), "format": "env", "variable": "MY_TOKEN"},
        {"path": str(header), "format": "header"},
    ]
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=FAST, sinks=sinks)})
    wait_until(lambda: all(p.exists() for p in (raw, js, env, header)), 10, 0.02, "the sink files")

    seen: set[bytes] = set()
    reads = 0
    deadline = time.monotonic() + 6  # a 3 s token refreshes at 1.5 s: about four new tokens
    while time.monotonic() < deadline:
        data = read(raw)
        assert data, "a reader saw an empty file"
        seen.add(data)
        reads += 1
    assert reads >= 2000, reads
    issued = s.issued()
    partial = {v for v in seen if v.decode() not in issued}
    assert not partial, f"{len(partial)} values that are not whole tokens, e.g. {sorted(partial)[:1]}"
    assert len(seen) >= 3, f"only {len(seen)} distinct tokens in 6 s: not rewritten on refresh?"

    info = os.lstat(raw)
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o640, oct(info.st_mode)
    assert info.st_gid == gid
    assert stat.S_IMODE(os.lstat(js).st_mode) == 0o600
    body = json.loads(read(js))
    assert body["access_token"] in issued and body["token_type"] == "Bearer"
    assert body["expires_at"] > time.time() - 5
    m = re.fullmatch(rb"MY_TOKEN=([^\n]+)\n", read(env))
    assert m and m.group(1).decode() in issued, read(env)
    m = re.fullmatch(rb"Authorization: Bearer ([^\n]+)\n", read(header))
    assert m and m.group(1).decode() in issued, read(header)

    assert d.terminate() == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (raw, js, env, header)), \
        "a temporary file was left behind"
    assert raw.exists(), "remove_on_exit is off: the file stays"
    for value in seen:
        assert value.decode() not in d.log(), "a token in the log"


def test_post_write_command_runs_and_its_failure_is_logged(tokenproxy_daemon, authserver, key_factory,
                                                           tmp_path):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=600)
    out = tmp_path / "sinks"
    out.mkdir()
    marker = tmp_path / "marker"
    sinks = [
        {"path": str(out / "good"),
         "command": ["/bin/sh", "-c", 'echo "$TOKENPROXY_CREDENTIAL $TOKENPROXY_SINK ${ACCESS_TOKEN:-none}" >> "$0"',
                     str(marker)]},
        {"path": str(out / "bad"), "command": ["/bin/sh", "-c", "echo boom >&2; exit 3"]},
        {"path": str(out / "slow"), "command": ["/bin/sleep", "30"], "command_timeout": 0.5},
        {"path": str(out / "missing"), "command": ["/nonexistent/program"]},
    ]
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=FAST, sinks=sinks)})
    token = d.wait_token("svc")["access_token"]
    wait_until(lambda: marker.exists(), 10, 0.05, "the good command's marker")
    assert marker.read_text() == f"svc {out / 'good'} none\n"
    log = wait_until(lambda: t if "could not start" in (t := d.log()) else None, 15, 0.1, "all commands run")
    assert re.search(r"sink command failed with status 3.*boom", log), log[-2000:]
    assert re.search(r"sink command did not finish within 0\.5 seconds and was stopped", log), log[-2000:]
    assert "/nonexistent/program" in log
    for name in ("good", "bad", "slow", "missing"):
        assert read(out / name).decode() == token, name  # the file is written either way
    assert d.token("svc").status == 200  # and the daemon serves on
    assert token not in log


def test_symlinks_are_refused_and_remove_on_exit(tokenproxy_daemon, authserver, key_factory, tmp_path):
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=600)
    out = tmp_path / "sinks"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, out / "linked")
    sinks = [{"path": str(out / "linked")}, {"path": str(out / "gone"), "remove_on_exit": True}]
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=FAST, sinks=sinks)})
    d.wait_token("svc")
    wait_until(lambda: (out / "gone").exists(), 10, 0.05, "the second sink")
    log = wait_until(lambda: t if "cannot write token sink" in (t := d.log()) else None, 10, 0.05,
                     "the refused symlink in the log")
    assert "is a symbolic link, not a regular file" in log, log[-2000:]
    assert victim.read_text() == "precious"
    assert os.path.islink(out / "linked")
    assert d.terminate() == 0
    assert not (out / "gone").exists(), "remove_on_exit"


def test_owner_and_group_by_name(tokenproxy_daemon, authserver, key_factory, tmp_path):
    import grp
    import pwd

    import pytest

    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    k = key_factory("p256", "serviceaccount")
    s = authserver(k, token_lifetime=600)
    out = tmp_path / "sinks"
    out.mkdir()
    sinks = [{"path": str(out / "token"), "owner": "nobody", "group": group, "mode": "0440"}]
    d = tokenproxy_daemon().start({"svc": credential_entry(k, s.issuer, refresh=FAST, sinks=sinks)})
    token = d.wait_token("svc")["access_token"]
    wait_until(lambda: (out / "token").exists(), 10, 0.05, "the sink")
    info = os.lstat(out / "token")
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (nobody.pw_uid, nobody.pw_gid, 0o440)
    assert read(out / "token").decode() == token


def test_unknown_owner_is_refused_at_start(run_cli, tmp_path, key_factory):
    k = key_factory("p256", "serviceaccount")
    config = {"credentials": {"svc": {"key_file": str(k.path), "issuer": "https://idp.example.com",
                                      "sinks": [{"path": str(tmp_path / "t"), "owner": "no-such-user-tp"}]}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    r = run_cli("check", "--config", path)
    assert r.code == 78 and "credentials.svc.sinks[0].owner" in r.stderr and "no-such-user-tp" in r.stderr, r
