"""deploy/install.sh into a temporary root: every file in its place with its mode, units that
name the installed binary and pass `systemd-analyze verify`, completions that the shells accept,
man pages that render; --uninstall leaves nothing (and keeps a configuration the user changed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, clean_env

INSTALL = REPO / "deploy" / "install.sh"
TIMEOUT = 120


def install(tokenproxy_bin: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", str(INSTALL), "--binary", str(tokenproxy_bin), *args],
                            capture_output=True, text=True, timeout=TIMEOUT, env=clean_env())
    assert result.returncode == 0, result.stderr
    return result


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


@pytest.fixture
def installed(tokenproxy_bin, tmp_path):
    """Installed with --prefix and --sysconfdir inside tmp_path (no destdir): the units name
    paths that exist, so systemd-analyze can verify them."""
    root = tmp_path / "root"
    prefix, sysconf = root / "usr", root / "etc"
    install(tokenproxy_bin, "--prefix", str(prefix), "--sysconfdir", str(sysconf))
    return root, prefix, sysconf


def test_installs_every_piece(installed, tokenproxy_bin):
    root, prefix, sysconf = installed
    binary = prefix / "bin" / "tokenproxy"
    assert mode(binary) == 0o755 and binary.read_bytes() == tokenproxy_bin.read_bytes()
    expected = [
        "lib/systemd/system/tokenproxy.service", "lib/systemd/system/tokenproxy.socket",
        "lib/sysusers.d/tokenproxy.conf", "lib/tmpfiles.d/tokenproxy.conf",
        "share/man/man1/tokenproxy.1", "share/man/man1/tokenproxy.serve.1",
        "share/man/man5/tokenproxy.json.5", "share/doc/tokenproxy/README.md",
        "share/doc/tokenproxy/config.sample.json", "share/doc/tokenproxy/config.schema.json",
        "share/bash-completion/completions/tokenproxy", "share/zsh/site-functions/_tokenproxy",
        "share/fish/vendor_completions.d/tokenproxy.fish",
    ]
    for name in expected:
        assert mode(prefix / name) == 0o644, name
    assert mode(sysconf / "tokenproxy") == 0o750
    assert mode(sysconf / "tokenproxy" / "keys") == 0o700
    assert mode(sysconf / "tokenproxy" / "config.json") == 0o640


def test_units_name_this_installation(installed):
    _, prefix, sysconf = installed
    service = (prefix / "lib/systemd/system/tokenproxy.service").read_text()
    assert f"ExecStart={prefix}/bin/tokenproxy serve --config {sysconf}/tokenproxy/config.json" in service
    assert f"Documentation=file:{prefix}/share/doc/tokenproxy/README.md" in service
    assert "Documentation=man:tokenproxy(1) man:tokenproxy.json(5)" in service
    assert f"LoadCredential=zitadel-admin.json:{sysconf}/tokenproxy/keys/zitadel-admin.json" in service
    tmpfiles = (prefix / "lib/tmpfiles.d/tokenproxy.conf").read_text()
    assert f"d {sysconf}/tokenproxy 0750 root tokenproxy -" in tmpfiles


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_installed_units_and_snippets_verify(installed):
    _, prefix, _ = installed
    unitdir = prefix / "lib/systemd/system"
    result = subprocess.run(["systemd-analyze", "verify", str(unitdir / "tokenproxy.service"),
                             str(unitdir / "tokenproxy.socket")],
                            capture_output=True, text=True, timeout=TIMEOUT, cwd=unitdir,
                            env=clean_env({"MANPATH": str(prefix / "share" / "man")}))
    problems = [line for line in (result.stdout + result.stderr).splitlines() if "tokenproxy" in line]
    assert problems == [], problems


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers/systemd-tmpfiles are not installed")
def test_sysusers_and_tmpfiles_snippets_apply(installed, tmp_path):
    """Applied to a scratch root as the host would apply them: the group is created, then the
    configuration directories with that group."""
    _, prefix, sysconf = installed
    scratch = tmp_path / "scratch"
    (scratch / "etc").mkdir(parents=True)
    for command in (["systemd-sysusers", f"--root={scratch}", str(prefix / "lib/sysusers.d/tokenproxy.conf")],
                    ["systemd-tmpfiles", "--create", f"--root={scratch}",
                     str(prefix / "lib/tmpfiles.d/tokenproxy.conf")]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
        assert result.returncode == 0, (command, result.stderr)
    [group] = [line for line in (scratch / "etc/group").read_text().splitlines()
               if line.startswith("tokenproxy:")]
    confdir = scratch / str(sysconf).lstrip("/") / "tokenproxy"
    assert mode(confdir) == 0o750 and confdir.stat().st_gid == int(group.split(":")[2])
    assert mode(confdir / "keys") == 0o700


def test_config_skeleton_passes_the_schema_and_names_the_credential(installed):
    import json

    import jsonschema

    _, _, sysconf = installed
    config = json.loads((sysconf / "tokenproxy" / "config.json").read_text())
    schema = json.loads((REPO / "config.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(config)) == []
    assert config["credentials"]["zitadel-admin"]["key_file"] == "credential:zitadel-admin.json"


def test_completions_are_accepted_by_their_shells(installed):
    _, prefix, _ = installed
    bash = prefix / "share/bash-completion/completions/tokenproxy"
    result = subprocess.run(["bash", "-c", f"source {bash} && complete -p tokenproxy"],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0 and "tokenproxy" in result.stdout, result.stderr
    assert "serve" in bash.read_text() and "--allow-insecure-key-permissions" in bash.read_text()
    for shell, path in (("zsh", "share/zsh/site-functions/_tokenproxy"),
                        ("fish", "share/fish/vendor_completions.d/tokenproxy.fish")):
        if shutil.which(shell):
            check = subprocess.run([shell, "-n", str(prefix / path)], capture_output=True, text=True,
                                   timeout=TIMEOUT)
            assert check.returncode == 0, (shell, check.stderr)
        assert "serve" in (prefix / path).read_text()


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_pages_render(installed):
    _, prefix, _ = installed
    for page, needle in (("man1/tokenproxy.1", "tokenproxy"), ("man5/tokenproxy.json.5", "key_file")):
        result = subprocess.run(["man", "-l", str(prefix / "share/man" / page)], capture_output=True,
                                text=True, timeout=TIMEOUT, env=clean_env({"MANPAGER": "cat", "PAGER": "cat"}))
        assert result.returncode == 0 and needle in result.stdout, (page, result.stderr)


def test_uninstall_leaves_nothing(installed, tokenproxy_bin):
    root, prefix, sysconf = installed
    install(tokenproxy_bin, "--prefix", str(prefix), "--sysconfdir", str(sysconf), "--uninstall")
    assert tree(root) == []


def test_uninstall_keeps_a_changed_configuration(installed, tokenproxy_bin):
    root, prefix, sysconf = installed
    config = sysconf / "tokenproxy" / "config.json"
    config.write_text(config.read_text().replace("info", "debug"))
    result = install(tokenproxy_bin, "--prefix", str(prefix), "--sysconfdir", str(sysconf), "--uninstall")
    assert "kept" in result.stderr
    assert tree(root) == ["etc", "etc/tokenproxy", "etc/tokenproxy/config.json"]


def test_destdir_stages_and_uninstalls(tokenproxy_bin, tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    result = install(tokenproxy_bin, "--destdir", str(stage))
    assert (stage / "usr/local/bin/tokenproxy").is_file()
    assert (stage / "etc/tokenproxy/config.json").is_file()
    service = (stage / "usr/local/lib/systemd/system/tokenproxy.service").read_text()
    assert "ExecStart=/usr/local/bin/tokenproxy serve --config /etc/tokenproxy/config.json" in service
    assert "installed in" in result.stdout
    install(tokenproxy_bin, "--destdir", str(stage), "--uninstall")
    assert tree(stage) == []


def test_refuses_a_relative_prefix(tokenproxy_bin, tmp_path):
    result = subprocess.run(["bash", str(INSTALL), "--binary", str(tokenproxy_bin), "--prefix", "usr"],
                            capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert result.returncode == 64 and "'usr' must be an absolute path" in result.stderr
    assert os.listdir(tmp_path) == []
