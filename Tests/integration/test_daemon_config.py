"""`tokenproxy check` and `tokenproxy serve` on configuration files: every mistake is reported
with its JSON path (all of them at once), exit status 78 (EX_CONFIG); the shipped sample passes
when its keys exist; `check --online` fetches one token per credential."""

from __future__ import annotations

import json
import os
import re
import shutil
import time

import pytest

import keys
from conftest import REPO
from daemon import credential_entry, short_tmpdir

EX_CONFIG = 78
ISSUER = "https://idp.example.com"


def write(tmp_path, config) -> str:
    path = tmp_path / "config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config, indent=2))
    return str(path)


def problems(stderr: str, path: str) -> list[str]:
    """The problem lines of a report (each starts with the file name), without the file name."""
    return [line[len(path) + 2:] for line in stderr.splitlines() if line.startswith(path + ": ")]


@pytest.fixture
def good_key(key_factory):
    return key_factory("p256", "serviceaccount")


def good_credential(key) -> dict:
    return {"key_file": str(key.path), "issuer": ISSUER}


CASES = {
    "unknown key with suggestion": (
        lambda k, d: {"credentials": {"a": {**good_credential(k), "grnat": "jwt-bearer"}}},
        r"^credentials\.a\.grnat: unknown key; did you mean 'grant'\?"),
    "missing issuer": (
        lambda k, d: {"credentials": {"a": {"key_file": str(k.path)}}},
        r"^credentials\.a\.issuer: .*missing"),
    "PEM key without client_id": (
        lambda k, d: {"credentials": {"a": {"key_file": str(d["pem"].path), "issuer": ISSUER}}},
        r"^credentials\.a\.client_id: .*PEM"),
    "bad socket_mode": (
        lambda k, d: {"api": {"socket_mode": "0999"}, "credentials": {"a": good_credential(k)}},
        r"^api\.socket_mode: .*octal.*0999"),
    "socket_mode as a number": (
        lambda k, d: {"api": {"socket_mode": 660}, "credentials": {"a": good_credential(k)}},
        r"^api\.socket_mode: .*octal"),
    "missing key file": (
        lambda k, d: {"credentials": {"a": {**good_credential(k), "key_file": str(d["dir"] / "absent.json")}}},
        r"^credentials\.a\.key_file: .*absent\.json.*(No such file|not found|does not exist)"),
    "group-readable key file": (
        lambda k, d: {"credentials": {"a": {**good_credential(k), "key_file": str(d["open"].path)}}},
        r"^credentials\.a\.key_file: .*(group|others).*chmod 600"),
    "relative key path": (
        lambda k, d: {"credentials": {"a": {**good_credential(k), "key_file": "keys/a.json"}}},
        r"^credentials\.a\.key_file: .*absolute"),
    "credential: without CREDENTIALS_DIRECTORY": (
        lambda k, d: {"credentials": {"a": {**good_credential(k), "key_file": "credential:a-key"}}},
        r"^credentials\.a\.key_file: .*CREDENTIALS_DIRECTORY"),
    "unknown grant": (
        lambda k, d: {"credentials": {"a": {**good_credential(k), "grant": "password"}}},
        r"^credentials\.a\.grant: .*jwt-bearer"),
    "no credentials": (
        lambda k, d: {"credentials": {}},
        r"^credentials: "),
    "bad TCP listen address": (
        lambda k, d: {"api": {"tcp": {"listen": "0.0.0.0:8181"}}, "credentials": {"a": good_credential(k)}},
        r"^api\.tcp\.listen: .*loopback"),
    "refresh backoff_max below backoff_initial": (
        lambda k, d: {"credentials": {"a": {**good_credential(k), "refresh": {"backoff_initial": 10, "backoff_max": 2}}}},
        r"^credentials\.a\.refresh\.backoff_max: "),
}


@pytest.fixture
def extras(key_factory, tmp_path):
    return {
        "pem": key_factory("p256", "pkcs8"),
        "open": key_factory("p256", "serviceaccount", mode=0o640),
        "dir": tmp_path,
    }


@pytest.mark.parametrize("case", list(CASES))
def test_check_reports_each_mistake_with_its_path(run_cli, tmp_path, good_key, extras, case):
    make, pattern = CASES[case]
    path = write(tmp_path, make(good_key, extras))
    r = run_cli("check", "--config", path, env={"CREDENTIALS_DIRECTORY": None})
    assert r.code == EX_CONFIG, (r.code, r.stdout, r.stderr)
    found = problems(r.stderr, path)
    assert any(re.search(pattern, p) for p in found), f"no line matching {pattern!r} in:\n{r.stderr}"


def test_invalid_json_names_line_and_column(run_cli, tmp_path):
    path = write(tmp_path, '{\n  "credentials": {\n    "a": {"key_file": "/k.json",, }\n  }\n}\n')
    r = run_cli("check", "--config", path)
    assert r.code == EX_CONFIG
    assert re.search(r"line 3, column \d+", r.stderr), r.stderr
    for text, where in (('{"credentials": {"a": 1,}}', "line 1"), ('{"credentials": {}}\n{', "line 2"),
                        ('{"a": 1, "a": 2}', "line 1")):
        path = write(tmp_path, text)
        r = run_cli("check", "--config", path)
        assert r.code == EX_CONFIG and where in r.stderr, (text, r.stderr)


def test_several_mistakes_all_reported(run_cli, tmp_path):
    config = {
        "api": {"socket_mode": "abc", "sokcet": "/x.sock"},
        "credentials": {
            "a": {"key_file": "relative.json", "grant": "magic"},
            "b": {"key_file": "/k.pem", "issuer": "not a url", "scopes": "openid"},
        },
        "log": {"level": "loud"},
        "extra": True,
    }
    path = write(tmp_path, config)
    r = run_cli("check", "--config", path)
    assert r.code == EX_CONFIG
    found = problems(r.stderr, path)
    for prefix in ("api.socket_mode:", "api.sokcet:", "credentials.a.key_file:", "credentials.a.issuer:",
                   "credentials.a.grant:", "credentials.b.issuer:", "credentials.b.scopes:", "log.level:",
                   "extra:"):
        assert any(p.startswith(prefix) for p in found), f"{prefix} missing from:\n{r.stderr}"
    assert r.stdout == ""


def test_missing_config_file(run_cli, tmp_path):
    r = run_cli("check", "--config", tmp_path / "absent.json")
    assert r.code == EX_CONFIG and "absent.json" in r.stderr


def test_serve_with_bad_config_exits_78_with_the_same_messages(run_cli, tmp_path, good_key, extras):
    sock = short_tmpdir()
    try:
        config = {
            "api": {"socket": str(sock / "api.sock"), "socket_mode": "0999"},
            "credentials": {"a": {**good_credential(good_key), "grnat": "x"},
                            "b": {"key_file": str(extras["open"].path)}},
        }
        path = write(tmp_path, config)
        check = run_cli("check", "--config", path)
        started = time.monotonic()
        serve = run_cli("serve", "--config", path, timeout=30)
        assert serve.code == EX_CONFIG, (serve.code, serve.stderr)
        assert time.monotonic() - started < 15  # bounded, not a performance claim
        expected = problems(check.stderr, path)
        assert len(expected) >= 3, check.stderr
        for line in expected:
            assert line in serve.stderr, f"serve did not report {line!r}:\n{serve.stderr}"
        assert not (sock / "api.sock").exists()
    finally:
        shutil.rmtree(sock, ignore_errors=True)


def test_serve_with_unreadable_key_exits_78(run_cli, tmp_path, extras):
    sock = short_tmpdir()
    try:
        config = {"api": {"socket": str(sock / "api.sock")},
                  "credentials": {"a": {"key_file": str(extras["open"].path), "issuer": ISSUER}}}
        path = write(tmp_path, config)
        r = run_cli("serve", "--config", path, timeout=30)
        assert r.code == EX_CONFIG
        assert "credentials.a.key_file" in r.stderr and "chmod 600" in r.stderr
    finally:
        shutil.rmtree(sock, ignore_errors=True)


def test_serve_refuses_a_group_readable_mtls_client_key_like_credential_keys(
        run_cli, tmp_path, good_key, tls_material):
    """A proxy route's client_key goes through the same checks as credential keys."""
    sock = short_tmpdir()
    try:
        client_key = tmp_path / "client.key"
        client_key.write_bytes(tls_material.client_key_file.read_bytes())
        os.chmod(client_key, 0o640)
        route = {"host": "mtls.test", "upstream": "https://localhost:8443", "credential": "a",
                 "client_certificate": str(tls_material.client_cert_file), "client_key": str(client_key)}
        config = {"api": {"socket": str(sock / "api.sock")},
                  "credentials": {"a": good_credential(good_key)},
                  "proxy": {"listen": [f"unix:{sock / 'proxy.sock'}"], "routes": [route]}}
        path = write(tmp_path, config)
        r = run_cli("serve", "--config", path, timeout=30)
        assert r.code == EX_CONFIG, r
        assert re.search(r"proxy\.routes\[0\]\.client_key: .*(group|others).*chmod 600", r.stderr), r.stderr
    finally:
        shutil.rmtree(sock, ignore_errors=True)


def test_check_agrees_with_serve_on_a_missing_ca_file(run_cli, tmp_path, good_key):
    """What makes `serve` exit 78 must make `check` fail too."""
    sock = short_tmpdir()
    try:
        config = {"api": {"socket": str(sock / "api.sock")},
                  "credentials": {"a": {**good_credential(good_key), "ca_file": str(tmp_path / "no-ca.pem")}}}
        path = write(tmp_path, config)
        serve = run_cli("serve", "--config", path, timeout=30)
        assert serve.code == EX_CONFIG and "credentials.a.ca_file" in serve.stderr, serve
        check = run_cli("check", "--config", path)
        assert check.code == EX_CONFIG, f"check passed a config serve refuses:\n{check.stdout}{serve.stderr}"
        assert "credentials.a.ca_file" in check.stderr
    finally:
        shutil.rmtree(sock, ignore_errors=True)


def test_check_agrees_with_serve_on_an_unknown_socket_group(run_cli, tmp_path, good_key):
    sock = short_tmpdir()
    try:
        config = {"api": {"socket": str(sock / "api.sock"), "socket_group": "no-such-group-tp"},
                  "credentials": {"a": good_credential(good_key)}}
        path = write(tmp_path, config)
        serve = run_cli("serve", "--config", path, timeout=30)
        assert serve.code == EX_CONFIG and "no-such-group-tp" in serve.stderr, serve
        check = run_cli("check", "--config", path)
        assert check.code == EX_CONFIG, f"check passed a config serve refuses:\n{check.stdout}{serve.stderr}"
        assert "api.socket_group" in check.stderr
    finally:
        shutil.rmtree(sock, ignore_errors=True)


# --- the shipped sample -------------------------------------------------------------------------

def sample_credentials_dir(tmp_path):
    """Keys for config.sample.json's `credential:NAME` sources, generated to fit each entry:
    a ZITADEL JSON key where the entry has no client_id, a PEM key of the entry's algorithm otherwise."""
    sample = json.loads((REPO / "config.sample.json").read_text())
    directory = tmp_path / "credentials"
    curve_for = {"ES256": "p256", "ES384": "p384", "ES512": "p521", "EdDSA": "ed25519"}
    for name, entry in sample["credentials"].items():
        source = entry["key_file"]
        if not source.startswith("credential:"):
            pytest.fail(f"config.sample.json: credentials.{name}.key_file is {source!r}, not credential:NAME "
                        "(the test will not write outside its tmp dir)")
        kind = curve_for.get(entry.get("algorithm", ""), "rsa2048")
        if "client_id" in entry:
            fmt = "sec1" if kind.startswith("p") else "pkcs8"
        else:
            fmt = "serviceaccount" if entry.get("grant", "jwt-bearer") == "jwt-bearer" else "application"
        written = keys.write_key_file(directory, kind, fmt, name=source[len("credential:"):])
        if "next_key" in entry:  # the rotation's new key: same client, another key
            keys.write_key_file(directory, kind, fmt, label="next", client_id=written.client_id,
                                name=entry["next_key"]["key_file"][len("credential:"):])
    return directory


def test_sample_config_passes_check(run_cli, tmp_path, tls_material):
    """The sample as shipped, except what depends on the host: its key files are generated under
    $CREDENTIALS_DIRECTORY, an absolute ca_file points at a generated CA, and a socket_group or
    allow user/group names that do not exist here are dropped (the daemon would create none)."""
    import grp

    directory = sample_credentials_dir(tmp_path)
    sample = json.loads((REPO / "config.sample.json").read_text())
    for entry in sample["credentials"].values():
        if "ca_file" in entry and not os.path.exists(entry["ca_file"]):
            entry["ca_file"] = str(tls_material.ca_file)
    group = sample.get("api", {}).get("socket_group")
    if group:
        try:
            grp.getgrnam(group)
        except KeyError:
            del sample["api"]["socket_group"]
    import pwd

    for entry in sample["credentials"].values():
        allow = entry.get("allow", {})
        for key, lookup in (("users", pwd.getpwnam), ("groups", grp.getgrnam)):
            for name in list(allow.get(key, [])):
                try:
                    lookup(name)
                except KeyError:
                    allow[key].remove(name)
    path = write(tmp_path, sample)
    r = run_cli("check", "--config", path, env={"CREDENTIALS_DIRECTORY": str(directory)})
    assert r.code == 0, r.stderr
    assert "OK" in r.stdout
    # The file itself, untouched, passes too (as long as check ignores the host-specific parts).
    r = run_cli("check", "--config", REPO / "config.sample.json", env={"CREDENTIALS_DIRECTORY": str(directory)})
    assert r.code == 0 or "ca_file" in r.stderr or "socket_group" in r.stderr or ".allow." in r.stderr, r.stderr


# --- check --online -----------------------------------------------------------------------------

def test_check_online_reports_each_credential(run_cli, tmp_path, authserver, key_factory):
    sa = key_factory("rsa2048", "serviceaccount")
    pem = key_factory("p256", "pkcs8")
    broken = key_factory("p256", "serviceaccount", label="unregistered")
    server = authserver(sa, pem)
    good = {"sa": credential_entry(sa, server.issuer), "pem": credential_entry(pem, server.issuer)}
    path = write(tmp_path, {"credentials": good})
    r = run_cli("check", "--config", path, "--online")
    assert r.code == 0, r.stderr
    assert re.search(r"^\s*sa: OK\b", r.stdout, re.M) and re.search(r"^\s*pem: OK\b", r.stdout, re.M), r.stdout
    assert server.stats()["token_requests"] == 2

    path = write(tmp_path, {"credentials": {**good, "broken": credential_entry(broken, server.issuer)}})
    r = run_cli("check", "--config", path, "--online")
    assert r.code != 0
    report = r.stdout + r.stderr
    assert re.search(r"^\s*sa: OK\b", report, re.M), report
    line = next((l for l in report.splitlines() if l.strip().startswith("broken:")), "")
    assert "FAILED" in line and "invalid_grant" in line, report


def test_check_online_unreachable_idp(run_cli, tmp_path, authserver, key_factory):
    key = key_factory("p256", "serviceaccount")
    server = authserver(key)
    issuer = server.issuer
    server.stop()
    path = write(tmp_path, {"credentials": {"svc": credential_entry(key, issuer)}})
    r = run_cli("check", "--config", path, "--online")
    assert r.code not in (0, EX_CONFIG), (r.code, r.stderr)
    line = next((l for l in (r.stdout + r.stderr).splitlines() if l.strip().startswith("svc:")), "")
    assert "FAILED" in line, r.stderr
