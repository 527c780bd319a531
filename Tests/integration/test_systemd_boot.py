"""The shipped units under a real systemd: this machine's own OS booted in `systemd-nspawn` over
a throwaway overlay of `/`, in a private mount namespace, with a private network. A one-shot
unit inside (`systemd_boot/scenario.sh`) installs the units and the binary as the README says,
runs sysusers and tmpfiles, then starts the service through its socket, queries it (also as
other users in other units, for the per-credential `allow`), reloads a good and a broken
config, restarts, lets the watchdog fire on a SIGSTOPped process, stops — writing one line per
step to a bound directory — and powers off.

Needs root (mounts, nspawn) and `systemd-nspawn` (Debian: systemd-container); skipped with the
reason otherwise. Bounded: the container is killed after BOOT_TIMEOUT seconds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import keys
from conftest import REPO

HERE = Path(__file__).parent
BOOT_TIMEOUT = 150
# The watchdog interval the scenario sets with a drop-in; a restart must follow within about
# one interval plus RestartSec=2s and start-up.
WATCHDOG_SECONDS = 3
WATCHDOG_BUDGET = WATCHDOG_SECONDS + 2 + 4
IDP_PORT = 18080


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (CAP_SYS_ADMIN) to mount an overlay and boot a container"
    if shutil.which("systemd-nspawn") is None:
        return "systemd-nspawn is not installed (apt-get install systemd-container)"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True, timeout=10)
    if probe.returncode != 0:
        return f"cannot create a mount namespace: {probe.stderr.decode(errors='replace').strip()}"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


def _payload(tmp_path: Path, tokenproxy_bin: Path) -> Path:
    payload = tmp_path / "payload"
    (payload / "units").mkdir(parents=True)
    shutil.copy2(tokenproxy_bin, payload / "tokenproxy")
    for name in ("tokenproxy.service", "tokenproxy.socket", "tokenproxy.sysusers", "tokenproxy.tmpfiles"):
        shutil.copy2(REPO / "systemd" / name, payload / "units" / name)
    shutil.copy2(REPO / "README.md", payload / "README.md")
    shutil.copytree(REPO / "docs" / "man", payload / "man")  # the unit's Documentation=man:…
    shutil.copy2(HERE / "systemd_boot" / "scenario.sh", payload / "scenario.sh")
    shutil.copy2(HERE / "authserver.py", payload / "authserver.py")
    (payload / "test-users.sysusers").write_text("g tpreaders -\n")

    key = keys.write_key_file(tmp_path / "keys", "p256", "serviceaccount")
    shutil.copy2(key.path, payload / "key.json")
    (payload / "clients.json").write_text(json.dumps({"clients": [key.registration()]}))
    issuer = f"http://127.0.0.1:{IDP_PORT}"
    (payload / "issuer").write_text(issuer)
    credential = {"key_file": "credential:zitadel-admin.json", "issuer": issuer, "scopes": ["openid"]}
    config = {
        "credentials": {
            "open": credential,
            "billing": {**credential, "allow": {"units": ["billing.service"], "groups": ["tpreaders"]}},
        },
        "operations": {"listen": "127.0.0.1:9464"},
    }
    (payload / "config.json").write_text(json.dumps(config, indent=2))
    (payload / "tp-authserver.service").write_text(f"""[Unit]
Description=Authlib test IdP for the tokenproxy scenario
[Service]
ExecStart={sys.executable} /opt/tp-scenario/authserver.py --clients /opt/tp-scenario/clients.json --host 127.0.0.1 --port {IDP_PORT} --ready-file /run/tp-authserver.ready
WorkingDirectory=/tmp
""")
    (payload / "tokenproxy-scenario.service").write_text(f"""[Unit]
Description=tokenproxy scenario (writes /results, then powers off)
After=multi-user.target
[Service]
Type=oneshot
Environment=WATCHDOG={WATCHDOG_SECONDS}s
ExecStart=/bin/bash /opt/tp-scenario/scenario.sh
StandardOutput=journal
""")
    return payload


def test_units_under_real_systemd(tmp_path, tokenproxy_bin):
    _payload(tmp_path, tokenproxy_bin)
    results = tmp_path / "results"
    results.mkdir()
    boot = subprocess.run(
        ["unshare", "--mount", "--propagation", "private",
         str(HERE / "systemd_boot" / "boot.sh"), str(tmp_path), str(BOOT_TIMEOUT)],
        capture_output=True, text=True, timeout=BOOT_TIMEOUT + 30)
    steps_file = results / "steps.txt"
    journal = (results / "journal.txt").read_text(errors="replace") if (results / "journal.txt").exists() else ""
    context = (f"\n--- boot exit {boot.returncode}, last console lines:\n" + "\n".join(boot.stdout.splitlines()[-15:])
               + boot.stderr[-2000:] + "\n--- journal (tokenproxy units), last lines:\n" + "\n".join(journal.splitlines()[-40:]))
    assert steps_file.exists(), "the scenario never ran" + context
    steps = steps_file.read_text().splitlines()
    failed = [line for line in steps if line.startswith("FAIL")]
    assert not failed, "steps failed:\n" + "\n".join(failed) + context
    assert steps and steps[-1] == "done", "the scenario stopped early after: " + (steps[-1] if steps else "nothing") + context
    watchdog = [line for line in steps if line.startswith("ok watchdog_restart")]
    assert watchdog, "no watchdog step" + context
    seconds = float(watchdog[0].split("seconds=")[1])
    assert seconds <= WATCHDOG_BUDGET, f"watchdog restart took {seconds:.1f} s (budget {WATCHDOG_BUDGET} s)" + context
    print(f"watchdog restart after SIGSTOP: {seconds:.1f} s (WatchdogSec={WATCHDOG_SECONDS}s)")
