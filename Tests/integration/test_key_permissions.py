"""The key-permission rule with real files and a real process identity: tokenproxy run as uid
10001 (setpriv) in the situation a Kubernetes Secret volume with `fsGroup` creates — a key owned
by root, mode 0440, group = one of the process's groups — accepts it, and refuses a group it is
not in and a key others may read, with the exact message. Needs root (chown, setpriv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import CLI_TIMEOUT, clean_env

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv (util-linux) to run tokenproxy as another user",
)

UID = 10001
FS_GROUP = 2000  # the pod's fsGroup: a supplementary group of the process
OTHER_GROUP = 3000
AUDIENCE = "https://idp.example.com"
SETTING = "to accept it anyway set allow_insecure_key_permissions: true (CLI: --allow-insecure-key-permissions)"


@pytest.fixture
def secret_volume(key_factory):
    """A directory like a Secret mount: traversable by everyone, the key owned by root."""
    directory = Path(tempfile.mkdtemp(prefix="tokenproxy-secret-", dir="/tmp"))
    directory.chmod(0o755)
    key = key_factory("p256", "serviceaccount")
    path = directory / "sa.json"
    shutil.copyfile(key.path, path)
    yield path
    shutil.rmtree(directory)


def run_as_pod_user(tokenproxy_bin: Path, key: Path, uid: int = UID,
                    groups: tuple[int, ...] = (UID, FS_GROUP)) -> subprocess.CompletedProcess:
    """tokenproxy as the pod's user: uid 10001, primary group 10001, fsGroup supplementary."""
    command = ["setpriv", f"--reuid={uid}", f"--regid={groups[0]}",
               f"--groups={','.join(map(str, groups))}", "--",
               str(tokenproxy_bin), "assertion", "--key", str(key), "--audience", AUDIENCE]
    return subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                          env=clean_env({"HOME": "/nonexistent"}), cwd="/")


def share(path: Path, mode: int, group: int) -> None:
    os.chown(path, 0, group)
    path.chmod(mode)


def test_0440_with_the_process_group_is_accepted(tokenproxy_bin, secret_volume):
    share(secret_volume, 0o440, FS_GROUP)
    result = run_as_pod_user(tokenproxy_bin, secret_volume)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2  # one compact JWS


def test_0440_with_another_group_is_refused(tokenproxy_bin, secret_volume):
    """Without the group the kernel refuses the open (EACCES); a process that may read the file
    anyway — root in a container, here with groups 0 and 2000 — is refused by tokenproxy."""
    os.chown(secret_volume, 4242, OTHER_GROUP)
    secret_volume.chmod(0o440)
    assert run_as_pod_user(tokenproxy_bin, secret_volume).returncode == 66
    result = run_as_pod_user(tokenproxy_bin, secret_volume, uid=0, groups=(0, FS_GROUP))
    assert result.returncode == 78
    assert result.stderr == (
        f"tokenproxy: error: key file {secret_volume} may be read by group or others (mode 0440):"
        f" its group {OTHER_GROUP} is not one of tokenproxy's groups; run: chmod 600 {secret_volume}, or give it"
        f" a group of tokenproxy's own (Kubernetes: the pod's fsGroup); {SETTING}\n")


def test_0444_is_refused(tokenproxy_bin, secret_volume):
    share(secret_volume, 0o444, FS_GROUP)
    result = run_as_pod_user(tokenproxy_bin, secret_volume)
    assert result.returncode == 78
    assert result.stderr == (
        f"tokenproxy: error: key file {secret_volume} may be read by group or others (mode 0444):"
        f" others may read it; run: chmod 600 {secret_volume}; on a Kubernetes Secret volume use defaultMode: 0440 with"
        f" the pod's fsGroup; {SETTING}\n")


def test_a_key_the_process_owns_keeps_the_ssh_rule(tokenproxy_bin, secret_volume):
    os.chown(secret_volume, UID, FS_GROUP)
    secret_volume.chmod(0o640)
    result = run_as_pod_user(tokenproxy_bin, secret_volume)
    assert result.returncode == 78
    assert result.stderr == (
        f"tokenproxy: error: key file {secret_volume} may be read by group or others (mode 0640):"
        f" it belongs to tokenproxy's own user, who can restrict it; run: chmod 600 {secret_volume};"
        f" {SETTING}\n")
