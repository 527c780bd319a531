"""The README's use cases (a)–(e) and the commands `tokenproxy dev` (`scripts/run`) prints run as
printed against dev mode: the test starts `tokenproxy dev`, takes the `export` lines it prints,
and runs every README block marked `<!-- use-case: X -->` with bash, then every printed command on
its own, in an environment where `tokenproxy` is not on PATH (a fresh machine)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, clean_env

START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def readme_use_cases() -> dict[str, str]:
    """{letter: shell text} of the README blocks marked `<!-- use-case: X -->`."""
    text = (REPO / "README.md").read_text()
    found = re.findall(r"<!-- use-case: (\w) -->\n```sh\n(.*?)```", text, flags=re.S)
    return {letter: body for letter, body in found}


def ready(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(socket_path))
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class DevSession:
    def __init__(self, tokenproxy_bin: Path, workdir: Path):
        self.workdir = workdir
        self.directory = workdir / "dev"
        self.out = workdir / "dev.out"
        self.err = workdir / "dev.err"
        # A PATH without the binary, as on a fresh machine after scripts/run.
        self.env = clean_env({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir),
                              "TOKENPROXY_SOCKET": None, "XDG_RUNTIME_DIR": None})
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([str(tokenproxy_bin), "dev", "--dir", str(self.directory)],
                                         stdout=out, stderr=err, env=self.env, cwd=workdir)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"tokenproxy dev exited {self.proc.returncode}: {self.err.read_text()}")
            if "Or try, as printed:" in self.out.read_text() and ready(self.directory / "tokenproxy.sock"):
                break
            time.sleep(0.1)
        else:
            self.stop()
            pytest.fail(f"tokenproxy dev not ready within {START_TIMEOUT} s: {self.err.read_text()}")
        self.printed = self.out.read_text()

    def section(self, title: str) -> list[str]:
        lines = self.printed.split(title, 1)[1].lstrip("\n").split("\n\n", 1)[0].splitlines()
        return [line.strip() for line in lines if line.strip()]

    def bash(self, script: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT, env=self.env, cwd=self.workdir)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def dev(tokenproxy_bin, tmp_path_factory):
    session = DevSession(tokenproxy_bin, tmp_path_factory.mktemp("dev-readme"))
    yield session
    session.stop()


def run_use_case(dev: DevSession, letter: str) -> str:
    exports = "\n".join(dev.section("For the README's use cases, paste into another terminal:"))
    block = readme_use_cases()[letter]
    result = dev.bash(exports + "\n" + block)
    assert result.returncode == 0, f"use case ({letter}) failed:\n{block}\nstderr: {result.stderr}"
    return result.stdout


def json_objects(output: str) -> list[dict]:
    """The JSON objects in `output`, in order (curl prints each answer without a newline)."""
    decoder, objects, index = json.JSONDecoder(), [], output.find("{")
    while index != -1:
        value, end = decoder.raw_decode(output, index)
        objects.append(value)
        index = output.find("{", end)
    return objects


def userinfo_subjects(output: str) -> list[str]:
    return [answer["sub"] for answer in json_objects(output)]


def test_readme_has_every_use_case():
    assert sorted(readme_use_cases()) == ["a", "b", "c", "d", "e"]


def test_dev_mode_exports_put_the_binary_on_path(dev, tokenproxy_bin):
    exports = dev.section("For the README's use cases, paste into another terminal:")
    assert any(line.startswith("export PATH=") for line in exports), exports
    result = dev.bash("\n".join(exports) + "\ncommand -v tokenproxy")
    assert Path(result.stdout.strip()).resolve() == tokenproxy_bin.resolve()


def test_a_service_user_key_json_calls_an_api(dev):
    assert userinfo_subjects(run_use_case(dev, "a")) == ["dev-service-user", "dev-service-user"]


def test_b_an_api_introspects_with_its_application_key(dev):
    # The IdP asked directly, then the same question through the daemon's /v1/introspect/api.
    [answer, daemon_answer] = json_objects(run_use_case(dev, "b"))
    assert answer["active"] is True and answer["sub"] == "dev-service-user", answer
    assert daemon_answer["active"] is True and daemon_answer["sub"] == "dev-service-user", daemon_answer


def test_c_a_gateway_pem_key_calls_an_api(dev):
    assert userinfo_subjects(run_use_case(dev, "c")) == ["dev-gateway"]


def test_d_a_legacy_app_through_the_proxy(dev):
    assert userinfo_subjects(run_use_case(dev, "d")) == ["dev-service-user", "dev-gateway"]


def test_e_what_the_sidecar_app_runs(dev):
    output = run_use_case(dev, "e")
    token, rest = output[: output.index("{")].strip(), output[output.index("{"):]
    assert re.fullmatch(r"[A-Za-z0-9._~+/=-]{16,}", token), output
    assert userinfo_subjects(rest) == ["dev-service-user"]


def test_every_printed_command_works_as_printed(dev):
    commands = dev.section("Or try, as printed:")
    assert len(commands) >= 8, dev.printed
    for command in commands:
        result = dev.bash(command)
        assert result.returncode == 0, f"{command}\nstderr: {result.stderr}"
        assert result.stdout.strip(), command
        assert "\"error\"" not in result.stdout, (command, result.stdout)
