"""The man pages stay in sync with what they describe: every option of every command (from the
binary's own `--experimental-dump-help`, the same data generate-manual renders) is in the
committed command page (`scripts/man` regenerates them), every key of config.schema.json is
described in the hand-written tokenproxy.json(5), and groff renders all of them without a
warning."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import REPO

MAN = REPO / "docs" / "man"
SCHEMA = json.loads((REPO / "config.schema.json").read_text())
TIMEOUT = 60


def command_tree(tokenproxy_bin) -> list[tuple[str, list[str]]]:
    """(page name, long option names) of every command except `help`."""
    dump = subprocess.run([str(tokenproxy_bin), "--experimental-dump-help"], capture_output=True,
                          text=True, timeout=TIMEOUT, check=True)
    commands = []

    def walk(command: dict, page: str) -> None:
        names = [name["name"] for argument in command.get("arguments", [])
                 for name in argument.get("names", []) if name["kind"] == "long" and name["name"] != "help"]
        commands.append((page, names))
        for sub in command.get("subcommands", []):
            if sub["commandName"] != "help":
                walk(sub, f"{page}.{sub['commandName']}")

    walk(json.loads(dump.stdout)["command"], "tokenproxy")
    return commands


def test_every_command_and_option_has_its_page(tokenproxy_bin):
    if tokenproxy_bin.suffix == ".py":
        pytest.skip("the reference CLI has no argument-parser dump")
    tree = command_tree(tokenproxy_bin)
    assert len(tree) >= 8
    for page, options in tree:
        path = MAN / "man1" / f"{page}.1"
        assert path.is_file(), f"{path} is missing: run scripts/man"
        text = path.read_text()
        for option in options:
            assert f"Fl -{option}" in text, f"{page}.1 lacks --{option}: run scripts/man"


def schema_keys() -> list[str]:
    """Every key as tokenproxy.json(5) lists it: top level and api.* by path, credential and
    route keys by name (they sit under credentials.NAME and proxy.routes[])."""
    properties, definitions = SCHEMA["properties"], SCHEMA["$defs"]
    keys = list(properties)
    for section in ("api", "proxy", "log"):
        keys += [f"{section}.{key}" for key in properties[section]["properties"]]
    keys += [f"api.tcp.{key}" for key in properties["api"]["properties"]["tcp"]["properties"]]
    if "operations" in properties:
        keys += [f"operations.{key}" for key in properties["operations"].get("properties", {})]
    keys += list(definitions["credential"]["properties"])
    keys += [f"refresh.{key}" for key in definitions["credential"]["properties"]["refresh"]["properties"]]
    keys += [f"next_key.{key}" for key in definitions["credential"]["properties"]["next_key"]["properties"]]
    keys += [f"sinks.{key}" for key in definitions["sink"]["properties"]]
    keys += list(definitions["route"]["properties"])
    return keys


def test_every_config_key_is_described():
    page = (MAN / "man5" / "tokenproxy.json.5").read_text()
    described = set(re.findall(r"^\.It Cm (\S+)$", page, flags=re.M))
    missing = [key for key in schema_keys() if key not in described]
    assert missing == [], f"tokenproxy.json(5) does not describe {missing}"
    # And nothing that the schema no longer has.
    stale = described - set(schema_keys())
    assert stale == set(), f"tokenproxy.json(5) describes keys the schema lacks: {stale}"


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_pages_render_without_warnings():
    pages = sorted(MAN.glob("man*/*.[15]"))
    assert len(pages) >= 9
    for page in pages:
        result = subprocess.run(["groff", "-mdoc", "-ww", "-z", str(page)], capture_output=True,
                                text=True, timeout=TIMEOUT)
        assert result.returncode == 0 and result.stderr == "", (page.name, result.stderr)
