"""`tokenproxy assertion`: the printed JWS is verified independently with joserfc.

Interface under test:
  tokenproxy assertion --key FILE [--client-id ID] [--key-id ID] [--audience URL] [--lifetime S]
                       [--algorithm A] [--allow-insecure-key-permissions]
prints one compact JWS and a newline on stdout.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time

import pytest
from joserfc import jwt

import keys
from keys import ALG_CASES, DEFAULT_ALG, FORMATS

AUDIENCE = "https://zitadel.example.test"
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
JWS_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
ES_SIGNATURE_BYTES = {"ES256": 64, "ES384": 96, "ES512": 132}
PEM_KEY_ID = "pem-key-1"


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def cli_args(kf: keys.KeyFile, *extra, key_id: bool = True) -> list[str]:
    """--key, plus --client-id/--key-id for bare PEM files (which carry no ids)."""
    args = ["assertion", "--key", str(kf.path)]
    if kf.fmt in ("pkcs1", "pkcs8", "sec1"):
        args += ["--client-id", kf.client_id]
        if key_id:
            args += ["--key-id", PEM_KEY_ID]
    return args + list(extra)


def expected_kid(kf: keys.KeyFile) -> str:
    return PEM_KEY_ID if kf.fmt in ("pkcs1", "pkcs8", "sec1") else kf.key_id


def single_jws(result) -> str:
    assert result.code == 0, f"exit {result.code}; stderr: {result.stderr}"
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, repr(result.stdout)
    token = result.stdout.strip()
    parts = token.split(".")
    assert len(parts) == 3 and all(B64URL.match(p) for p in parts), token
    return token


def verify(token: str, kf: keys.KeyFile, alg: str):
    """Verifies signature (joserfc, raw r||s for ECDSA) and returns (header, claims)."""
    decoded = jwt.decode(token, kf.public_jwk(), algorithms=[alg])
    if alg in ES_SIGNATURE_BYTES:
        assert len(b64decode(token.split(".")[2])) == ES_SIGNATURE_BYTES[alg], "ECDSA signature is not raw r||s"
    return decoded.header, decoded.claims


CASES = [
    pytest.param(fmt, alg, kind, id=f"{fmt}-{alg}-{kind}")
    for fmt in FORMATS
    for alg, kind in ALG_CASES
    if keys.format_fits(kind, fmt)
]


@pytest.mark.parametrize("fmt,alg,kind", CASES)
def test_assertion_verifies_with_the_public_key(run_cli, key_factory, fmt, alg, kind):
    kf = key_factory(kind, fmt)
    before = int(time.time())
    token = single_jws(run_cli(*cli_args(kf, "--audience", AUDIENCE, "--lifetime", "300", "--algorithm", alg)))
    after = int(time.time())
    header, claims = verify(token, kf, alg)
    assert header["alg"] == alg
    assert header.get("typ") == "JWT"
    assert header.get("kid") == expected_kid(kf)
    assert claims["iss"] == claims["sub"] == kf.client_id
    assert claims["aud"] == AUDIENCE  # a single audience is a string, not a list
    assert isinstance(claims["iat"], int) and claims["iat"] <= after + 1
    assert isinstance(claims["exp"], int) and claims["exp"] > after
    # exp - iat is the lifetime: iat is backdated 10 s, so exp is 290 s from now
    assert claims["exp"] - claims["iat"] == 300
    assert before + 290 - 5 <= claims["exp"] <= after + 290 + 5
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 22 and B64URL.match(claims["jti"])


@pytest.mark.parametrize("kind", keys.KINDS)
def test_default_algorithm_follows_the_key(run_cli, key_factory, kind):
    kf = key_factory(kind, "pkcs8")
    token = single_jws(run_cli(*cli_args(kf, "--audience", AUDIENCE)))
    header, claims = verify(token, kf, DEFAULT_ALG[kind])
    assert header["alg"] == DEFAULT_ALG[kind]
    assert claims["exp"] > time.time()


def test_zitadel_service_account_defaults(run_cli, key_factory):
    kf = key_factory("rsa2048", "serviceaccount")
    header, claims = verify(single_jws(run_cli("assertion", "--key", kf.path, "--audience", AUDIENCE)), kf, "RS256")
    assert header["kid"] == kf.key_id
    assert claims["iss"] == claims["sub"] == kf.client_id


def test_ids_on_the_command_line_override_the_key_file(run_cli, key_factory):
    kf = key_factory("p256", "application")
    result = run_cli("assertion", "--key", kf.path, "--audience", AUDIENCE, "--client-id", "override-client",
                     "--key-id", "override-kid")
    header, claims = verify(single_jws(result), kf, "ES256")
    assert header["kid"] == "override-kid"
    assert claims["iss"] == claims["sub"] == "override-client"


def test_jti_is_unique_across_runs(run_cli, key_factory):
    kf = key_factory("ed25519", "serviceaccount")
    jtis = set()
    for _ in range(2):
        _, claims = verify(single_jws(run_cli("assertion", "--key", kf.path, "--audience", AUDIENCE)), kf, "EdDSA")
        jtis.add(claims["jti"])
    assert len(jtis) == 2


def assert_refused(result, *mentions: str, key_file: keys.KeyFile | None = None):
    assert result.code != 0, f"expected a refusal, got exit 0 and stdout {result.stdout!r}"
    assert result.stdout == "", "nothing may be printed on stdout on failure"
    stderr = result.stderr
    for m in mentions:
        assert re.search(m, stderr, re.IGNORECASE), f"stderr should mention {m!r}: {stderr!r}"
    assert "PRIVATE KEY" not in stderr
    assert not JWS_LIKE.search(stderr), "stderr must not contain a JWS"
    if key_file is not None:
        for body in key_material(key_file):
            for i in range(0, len(body) - 24, 24):
                assert body[i:i + 24] not in stderr, "stderr leaks key material"


def key_material(kf: keys.KeyFile) -> list[str]:
    """The base64 bodies of the key as stored in the file and as PKCS#8."""
    text = kf.path.read_text()
    if kf.fmt in ("serviceaccount", "application"):
        text = json.loads(text)["key"]
    pems = [text, keys.private_pem(kf.private_key, "pkcs8")]
    return ["".join(line for line in pem.splitlines() if not line.startswith("-----")) for pem in pems]


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604], ids=["0640", "0644", "0604"])
def test_key_file_readable_by_others_is_refused(run_cli, key_factory, mode):
    kf = key_factory("rsa2048", "serviceaccount", mode=mode)
    result = run_cli("assertion", "--key", kf.path, "--audience", AUDIENCE)
    assert_refused(result, r"chmod 0?600", re.escape(kf.path.name), key_file=kf)


def test_insecure_permissions_can_be_allowed_explicitly(run_cli, key_factory):
    kf = key_factory("p256", "serviceaccount", mode=0o640)
    result = run_cli("assertion", "--key", kf.path, "--audience", AUDIENCE, "--allow-insecure-key-permissions")
    verify(single_jws(result), kf, "ES256")


@pytest.mark.parametrize("fmt", ["pkcs1", "pkcs8", "sec1"])
def test_pem_key_without_client_id_is_refused(run_cli, key_factory, fmt):
    kf = key_factory("p256" if fmt == "sec1" else "rsa2048", fmt)
    result = run_cli("assertion", "--key", kf.path, "--audience", AUDIENCE)
    assert_refused(result, r"--client-id", key_file=kf)


@pytest.mark.parametrize("kind,alg", [
    ("rsa2048", "ES256"), ("rsa2048", "EdDSA"), ("p256", "ES384"), ("p384", "ES256"), ("p521", "RS256"),
    ("ed25519", "ES256"), ("ed25519", "PS256"), ("p256", "HS256"), ("rsa2048", "none"),
])
def test_algorithm_not_fitting_the_key_is_refused(run_cli, key_factory, kind, alg):
    kf = key_factory(kind, "serviceaccount")
    result = run_cli("assertion", "--key", kf.path, "--audience", AUDIENCE, "--algorithm", alg)
    assert_refused(result, re.escape(alg), key_file=kf)


def test_missing_key_file_is_refused_with_its_path(run_cli, tmp_path):
    missing = tmp_path / "nope.json"
    assert_refused(run_cli("assertion", "--key", missing, "--audience", AUDIENCE), re.escape(str(missing)))


def test_malformed_key_file_is_refused_without_echoing_it(run_cli, tmp_path):
    path = tmp_path / "broken.json"
    secretish = "c2VjcmV0LWJ1dC1icm9rZW4ta2V5LW1hdGVyaWFsLXNob3VsZC1ub3QtbGVhaw"
    path.write_text(json.dumps({"type": "serviceaccount", "keyId": "1", "userId": "2",
                                "key": f"-----BEGIN RSA PRIVATE KEY-----\n{secretish}\n-----END RSA PRIVATE KEY-----\n"}))
    os.chmod(path, 0o600)
    result = run_cli("assertion", "--key", path, "--audience", AUDIENCE)
    assert_refused(result, re.escape(path.name))
    assert secretish not in result.stderr


def test_exit_statuses_tell_scripts_what_to_fix(run_cli, key_factory, tmp_path):
    """sysexits.h statuses, as the README lists them: 66 missing file, 78 permissions (a
    configuration matter), 65 malformed key, 64 usage (PEM key without --client-id)."""
    assert run_cli("assertion", "--key", tmp_path / "absent.json", "--audience", AUDIENCE).code == 66
    readable = key_factory("rsa2048", "serviceaccount")
    os.chmod(readable.path, 0o644)
    assert run_cli("assertion", "--key", readable.path, "--audience", AUDIENCE).code == 78
    broken = tmp_path / "broken-status.json"
    broken.write_text('{"type": "serviceaccount", "keyId": "1", "userId": "2", "key": "not a key"}')
    os.chmod(broken, 0o600)
    assert run_cli("assertion", "--key", broken, "--audience", AUDIENCE).code == 65
    pem = key_factory("p256", "pkcs8")
    assert run_cli("assertion", "--key", pem.path, "--audience", AUDIENCE).code == 64
