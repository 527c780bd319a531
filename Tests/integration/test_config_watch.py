"""`serve --watch-config`: a configuration that changes on disk is reloaded without a signal, as a
Kubernetes ConfigMap volume needs — the kubelet writes a new timestamped directory and swaps the
`..data` link that config.json leads through. A broken update is refused and the running
configuration kept; without the flag nothing is watched."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from daemon import Daemon, credential_entry, daemon_config, wait_until

WATCH_TIMEOUT = 20.0  # Limits.Config.watchInterval is 5 s


class WatchingDaemon(Daemon):
    """A daemon whose config.json is a ConfigMap-style link: config.json -> ..data/config.json,
    ..data -> ..<version>/; `publish` swaps ..data atomically like the kubelet."""

    def __init__(self, binary: Path, workdir: Path, watch: bool = True):
        super().__init__(binary, workdir)
        self.watch = watch
        self.volume = workdir / "configmap"
        self.volume.mkdir()
        self.config_path = self.volume / "config.json"
        self.versions = 0

    def publish(self, text: str) -> None:
        self.versions += 1
        version = self.volume / f"..2026_12_03_{self.versions}"
        version.mkdir()
        (version / "config.json").write_text(text)
        link = self.volume / "..data_tmp"
        link.symlink_to(version.name)
        os.replace(link, self.volume / "..data")
        if not self.config_path.is_symlink():
            self.config_path.symlink_to("..data/config.json")

    def write_config(self, config: dict) -> None:
        self.config = config
        self.publish(json.dumps(config, indent=2))

    def launch(self, wait: bool = True) -> "Daemon":
        err = open(self.stderr_path, "ab")
        command = [str(self.binary), "serve", "--config", str(self.config_path)]
        self.proc = subprocess.Popen(command + (["--watch-config"] if self.watch else []),
                                     stdout=err, stderr=err, stdin=subprocess.DEVNULL, env=self.env,
                                     cwd=self.workdir)
        err.close()
        if wait:
            self.wait_serving()
        return self


@pytest.fixture
def watched(tokenproxy_bin, tmp_path, authserver, key_factory):
    key_a, key_b = key_factory("p256", "serviceaccount", label="a"), key_factory("p256", "serviceaccount", label="b")
    server = authserver(key_a, key_b)
    made = []

    def make(watch: bool = True):
        daemon = WatchingDaemon(tokenproxy_bin, tmp_path / f"d{len(made)}", watch=watch)
        made.append(daemon)
        first = {"a": credential_entry(key_a, server.issuer)}
        both = {**first, "b": credential_entry(key_b, server.issuer)}
        daemon.start(first)
        return daemon, both

    yield make
    for daemon in made:
        daemon.stop()


def test_a_configmap_update_is_reloaded(watched):
    daemon, both = watched()
    assert set(daemon.credentials()) == {"a"}
    daemon.write_config(daemon_config(daemon.socket_path, both))
    wait_until(lambda: set(daemon.credentials()) == {"a", "b"}, WATCH_TIMEOUT, 0.2, "credential b after the update")
    daemon.wait_token("b")
    assert "configuration file changed, reloading" in daemon.log()
    assert daemon.proc.poll() is None


def test_a_broken_update_keeps_the_running_configuration(watched):
    daemon, _ = watched()
    daemon.publish('{"credentials": {"a": {"key_file": ')
    wait_until(lambda: "reload refused" in daemon.log(), WATCH_TIMEOUT, 0.2, "the refused reload")
    assert set(daemon.credentials()) == {"a"} and daemon.token("a").status == 200


def test_without_the_flag_nothing_is_watched(watched):
    daemon, both = watched(watch=False)
    daemon.write_config(daemon_config(daemon.socket_path, both))
    time.sleep(7)  # longer than the watch interval
    assert set(daemon.credentials()) == {"a"}
    assert "watching the configuration file" not in daemon.log()
