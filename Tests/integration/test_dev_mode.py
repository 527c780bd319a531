"""`tokenproxy dev`: the introspection and guarded-route examples it prints work as printed
(against the embedded dev issuer, which serves RFC 7662 introspection)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from conftest import clean_env
from daemon import short_tmpdir


def test_printed_introspection_and_guard_examples_work(tokenproxy_bin, tmp_path):
    directory = short_tmpdir()
    out_path = tmp_path / "dev.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([str(tokenproxy_bin), "dev", "--dir", str(directory)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=clean_env())
    try:
        deadline = time.monotonic() + 30
        text = ""
        while time.monotonic() < deadline:
            text = out_path.read_text(errors="replace")
            if "tokenproxy serving" in text and (directory / "proxy.sock").exists():
                break
            assert proc.poll() is None, text
            time.sleep(0.1)
        else:
            raise AssertionError(f"tokenproxy dev did not start:\n{text}")
        block = text.split("Introspection (RFC 7662", 1)[1].splitlines()[1:]
        commands = []
        for line in block:
            if not line.startswith("  "):
                break
            commands.append(line.strip())
        assert len(commands) == 5, block
        script = ["set -u", f'tokenproxy() {{ "{tokenproxy_bin}" "$@"; }}']
        for index, command in enumerate(commands):
            script.append(f"echo '=== {index}'")
            script.append(command + "; echo \"exit=$?\"")
        script = [line.replace("curl ", "curl -sS ", 1) if line.startswith("curl ") else line for line in script]
        done = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True,
                              timeout=60, env=clean_env())
        parts = done.stdout.split("=== ")[1:]
        assert len(parts) == 5, done.stdout + done.stderr
        assert parts[0].strip() == "0\nexit=0", parts[0]  # TOKEN=$(…) prints nothing
        introspection, cli, guarded, refused = parts[1:]
        assert '"active":true' in introspection.replace(" ", "") and "exit=0" in introspection
        assert '"active":true' in cli.replace(" ", "") and "exit=0" in cli
        assert '"sub"' in guarded and "exit=0" in guarded, guarded
        assert "401" in refused.splitlines()[1] and 'WWW-Authenticate: Bearer realm="tokenproxy"' in refused
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
