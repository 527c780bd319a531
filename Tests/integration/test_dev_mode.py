"""`tokenproxy dev`: the introspection and guarded-route commands it prints work as printed and
say what they should (test_readme_use_cases.py only checks that every printed command exits 0
without an error body): the daemon's `/v1/introspect/api` and `tokenproxy introspect` answer
active for the demo token, the guarded route lets it through to the issuer (which gets the
gateway's own token), and without a token the guard answers 401."""

from __future__ import annotations

import json

import pytest

from test_readme_use_cases import DevSession


@pytest.fixture(scope="module")
def dev(tokenproxy_bin, tmp_path_factory):
    session = DevSession(tokenproxy_bin, tmp_path_factory.mktemp("dev-mode"))
    yield session
    session.stop()


def printed(dev, fragment: str) -> list[str]:
    return [c for c in dev.section("Or try, as printed:") if fragment in c]


def test_printed_introspection_commands_answer_active(dev):
    commands = printed(dev, "/v1/introspect/api") + printed(dev, " introspect api ")
    assert len(commands) == 2, dev.printed
    for command in commands:
        result = dev.bash(command)
        assert result.returncode == 0, (command, result.stderr)
        answer = json.loads(result.stdout)
        assert answer["active"] is True and answer["sub"] == "dev-service-user", answer


def test_printed_guarded_route_commands(dev):
    through, refused = printed(dev, "/guarded/")
    result = dev.bash(through)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sub"] == "dev-gateway"  # the upstream got tokenproxy's token
    result = dev.bash(refused)
    assert result.stdout.strip() == "401 without a token", result.stdout


def test_the_api_key_only_introspects(dev):
    result = dev.bash(f"curl -sS --unix-socket {dev.directory}/tokenproxy.sock http://localhost/v1/tokens")
    names = [c["name"] for c in json.loads(result.stdout)["credentials"]]
    assert "api" not in names and "demo" in names
