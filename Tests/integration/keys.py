"""Throwaway keys, key files and certificates for tokenproxy's integration tests.

Everything here is generated with `cryptography` at test time; nothing is a real secret.
Private keys are cached per process by (kind, label) because RSA 4096 generation is slow;
ask for a different `label` when a test needs a *different* key (e.g. "wrong key").
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from joserfc import jwk, jwt

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_CREDENTIALS = "client_credentials"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

KINDS = ["rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521", "ed25519"]
DEFAULT_ALG = {
    "rsa2048": "RS256", "rsa3072": "RS256", "rsa4096": "RS256",
    "p256": "ES256", "p384": "ES384", "p521": "ES512", "ed25519": "EdDSA",
}
ALGS_FOR_KIND = {
    **{k: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] for k in ("rsa2048", "rsa3072", "rsa4096")},
    "p256": ["ES256"], "p384": ["ES384"], "p521": ["ES512"], "ed25519": ["EdDSA"],
}
# (algorithm, key kind) for every algorithm tokenproxy must support.
ALG_CASES = [
    ("RS256", "rsa2048"), ("RS384", "rsa3072"), ("RS512", "rsa4096"),
    ("PS256", "rsa2048"), ("PS384", "rsa3072"), ("PS512", "rsa2048"),
    ("ES256", "p256"), ("ES384", "p384"), ("ES512", "p521"), ("EdDSA", "ed25519"),
]
FORMATS = ["serviceaccount", "application", "pkcs1", "pkcs8", "sec1"]
DEFAULT_SCOPE = "openid profile email urn:zitadel:iam:org:project:id:123:aud"


@functools.lru_cache(maxsize=None)
def private_key(kind: str, label: str = "default"):
    """A cached private key of `kind`; a new `label` gives an independent key."""
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    curves = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}
    if kind in curves:
        return ec.generate_private_key(curves[kind])
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key kind {kind}")


def private_pem(key, fmt: str) -> str:
    """PEM text: 'pkcs1' (RSA only), 'sec1' (EC only) or 'pkcs8'."""
    if fmt == "pkcs1":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("PKCS#1 is RSA only")
        f = serialization.PrivateFormat.TraditionalOpenSSL
    elif fmt == "sec1":
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("SEC1 is EC only")
        f = serialization.PrivateFormat.TraditionalOpenSSL
    elif fmt == "pkcs8":
        f = serialization.PrivateFormat.PKCS8
    else:
        raise ValueError(f"unknown PEM format {fmt}")
    return key.private_bytes(serialization.Encoding.PEM, f, serialization.NoEncryption()).decode()


def public_pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def zitadel_id() -> str:
    """An 18-digit id shaped like ZITADEL's snowflake ids."""
    return str(200000000000000000 + secrets.randbelow(10**17))


@dataclass
class KeyFile:
    """A key file on disk plus what a test needs to check tokens signed with it."""

    path: Path
    fmt: str
    kind: str
    client_id: str  # the expected iss == sub: userId or clientId (or what the test passes)
    key_id: str | None
    public_key_pem: str
    private_key: object = field(repr=False)
    default_grant: str = CLIENT_CREDENTIALS

    @property
    def default_alg(self) -> str:
        return DEFAULT_ALG[self.kind]

    def registration(self, grant_types=None, scope: str | None = DEFAULT_SCOPE, with_kid: bool = True) -> dict:
        """The client entry for authserver's --clients file."""
        entry = {
            "client_id": self.client_id,
            "public_key_pem": self.public_key_pem,
            "grant_types": grant_types or [JWT_BEARER, CLIENT_CREDENTIALS],
        }
        if scope is not None:
            entry["scope"] = scope
        if with_kid and self.key_id:
            entry["kid"] = self.key_id
        return entry

    def public_jwk(self) -> jwk.Key:
        return import_public(self.public_key_pem, self.kind)

    def private_jwk(self) -> jwk.Key:
        pem = private_pem(self.private_key, "pkcs8")
        params = {"kid": self.key_id} if self.key_id else None
        return key_class(self.kind).import_key(pem, params)


def key_class(kind: str):
    if kind.startswith("rsa"):
        return jwk.RSAKey
    if kind.startswith("p"):
        return jwk.ECKey
    return jwk.OKPKey


def import_public(pem: str, kind: str) -> jwk.Key:
    return key_class(kind).import_key(pem)


def write_key_file(
    directory,
    kind: str = "rsa2048",
    fmt: str = "serviceaccount",
    *,
    label: str = "default",
    client_id: str | None = None,
    key_id: str | None = None,
    mode: int = 0o600,
    name: str | None = None,
) -> KeyFile:
    """Writes a key file of format `fmt` in `directory` with `mode` (0600 by default).

    fmt: 'serviceaccount' / 'application' (ZITADEL JSON; RSA keys are PKCS#1 like ZITADEL's,
    others PKCS#8), 'pkcs1', 'pkcs8', 'sec1' (bare PEM; client_id/key_id are then what the
    test will pass on the command line, and have no kid unless key_id is given).
    """
    key = private_key(kind, label)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    inner_fmt = "pkcs1" if kind.startswith("rsa") else "pkcs8"
    default_grant = CLIENT_CREDENTIALS
    if fmt == "serviceaccount":
        client_id = client_id or zitadel_id()
        key_id = key_id or zitadel_id()
        content = json.dumps(
            {"type": "serviceaccount", "keyId": key_id, "key": private_pem(key, inner_fmt), "userId": client_id},
            indent=2,
        )
        suffix = ".json"
        default_grant = JWT_BEARER
    elif fmt == "application":
        client_id = client_id or f"{zitadel_id()}@tokenproxy-test"
        key_id = key_id or zitadel_id()
        content = json.dumps(
            {
                "type": "application",
                "keyId": key_id,
                "key": private_pem(key, inner_fmt),
                "appId": zitadel_id(),
                "clientId": client_id,
            },
            indent=2,
        )
        suffix = ".json"
    elif fmt in ("pkcs1", "pkcs8", "sec1"):
        client_id = client_id or f"pem-client-{uuid.uuid4().hex[:8]}"
        content = private_pem(key, fmt)
        suffix = ".pem"
    else:
        raise ValueError(f"unknown key file format {fmt}")
    path = directory / (name or f"{fmt}-{kind}-{uuid.uuid4().hex[:8]}{suffix}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content)
    os.chmod(path, mode)
    return KeyFile(path, fmt, kind, client_id, key_id, public_pem(key), key, default_grant)


def format_fits(kind: str, fmt: str) -> bool:
    return not ((fmt == "pkcs1" and not kind.startswith("rsa")) or (fmt == "sec1" and not kind.startswith("p")))


def sign_assertion(
    key_file: KeyFile,
    audience,
    *,
    alg: str | None = None,
    lifetime: int = 60,
    issued_at: int | None = None,
    kid: str | None | bool = True,
    signing_key: jwk.Key | None = None,
    **claims,
) -> str:
    """A compact JWS assertion signed with joserfc (independent of tokenproxy).

    kid=True uses the key file's key id, a string overrides it, None/False omits it.
    Extra keyword claims override the defaults (pass value None to drop a claim).
    """
    now = int(time.time()) if issued_at is None else issued_at
    payload = {
        "iss": key_file.client_id,
        "sub": key_file.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {"alg": alg or key_file.default_alg, "typ": "JWT"}
    if kid is True and key_file.key_id:
        header["kid"] = key_file.key_id
    elif isinstance(kid, str):
        header["kid"] = kid
    key = signing_key or key_file.private_jwk()
    return jwt.encode(header, payload, key, algorithms=[header["alg"]])


@dataclass
class TLSMaterial:
    ca_file: Path
    cert_file: Path
    key_file: Path
    other_ca_file: Path  # a CA that did NOT sign the server certificate
    client_cert_file: Path  # a client certificate (CN tokenproxy-test-client) for mutual TLS
    client_key_file: Path  # its key, mode 0600


def make_tls_material(directory) -> TLSMaterial:
    """A throwaway CA, a server certificate for 127.0.0.1, ::1 and localhost, and a client
    certificate for mutual TLS."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def ca(name):
        k = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
            .sign(k, hashes.SHA256())
        )
        return k, cert

    ca_key, ca_cert = ca("tokenproxy test CA")
    _, other_ca_cert = ca("tokenproxy unrelated CA")
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject).public_key(srv_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokenproxy-test-client")]))
        .issuer_name(ca_cert.subject).public_key(client_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = TLSMaterial(directory / "ca.pem", directory / "server.pem", directory / "server.key",
                        directory / "other-ca.pem", directory / "client.pem", directory / "client.key")
    paths.ca_file.write_bytes(ca_cert.public_bytes(pem))
    paths.other_ca_file.write_bytes(other_ca_cert.public_bytes(pem))
    paths.cert_file.write_bytes(srv_cert.public_bytes(pem))
    paths.key_file.write_bytes(srv_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(paths.key_file, 0o600)
    paths.client_cert_file.write_bytes(client_cert.public_bytes(pem))
    fd = os.open(paths.client_key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(client_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(paths.client_key_file, 0o600)
    return paths
