#!/usr/bin/env python3
"""A throwaway Python model of the `tokenproxy assertion` / `tokenproxy fetch` contract.

It exists only to test the tests: a change to test_cli_*.py should keep passing with
    TOKENPROXY_BIN=Tests/integration/reference_cli.py pytest -q Tests/integration
It is not tokenproxy and is never shipped; where the contract leaves freedom (message
wording, retries) it does the simplest thing.
"""

import argparse
import email.utils
import json
import os
import secrets
import sys
import time
import warnings

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwk, jwt

warnings.filterwarnings("ignore")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def die(message: str):
    print(f"tokenproxy: {message}", file=sys.stderr)
    sys.exit(1)


def load_key(args):
    """Returns (private key, client id, key id, is a ZITADEL service account)."""
    path = args.key
    try:
        status = os.stat(path)
        text = open(path).read()
    except OSError as e:
        die(f"cannot read key file {path}: {e.strerror}")
    mode = status.st_mode
    # tokenproxy's rule: ssh's, plus a root-owned key only one of our groups may read (fsGroup).
    shared_with_our_group = (mode & 0o077 == 0o040 and status.st_uid != os.geteuid()
                             and status.st_gid != 0 and status.st_gid in {os.getegid(), *os.getgroups()})
    if mode & 0o077 and not shared_with_our_group and not args.allow_insecure_key_permissions:
        die(f"key file {path} is readable by group or others; run `chmod 600 {path}`")
    client_id = key_id = None
    service_account = False
    pem = text
    if text.lstrip().startswith("{"):
        doc = json.loads(text)
        pem, key_id = doc["key"], doc.get("keyId")
        service_account = doc.get("type") == "serviceaccount"
        client_id = doc.get("userId") if service_account else doc.get("clientId")
    try:
        key = serialization.load_pem_private_key(pem.encode(), None)
    except Exception:  # noqa: BLE001
        die(f"key file {path} does not contain a readable private key")
    client_id = args.client_id or client_id
    if not client_id:
        die(f"key file {path} is a PEM key and names no client; pass --client-id")
    return key, client_id, args.key_id or key_id, service_account


def sign(args, key, client_id, key_id, audience, lifetime):
    if isinstance(key, rsa.RSAPrivateKey):
        algs, cls = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"], jwk.RSAKey
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        algs, cls = [{256: "ES256", 384: "ES384", 521: "ES512"}[key.curve.key_size]], jwk.ECKey
    else:
        algs, cls = ["EdDSA"], jwk.OKPKey
    alg = getattr(args, "algorithm", None) or algs[0]
    if alg not in algs:
        die(f"algorithm {alg} does not fit the key in {args.key}; use one of {', '.join(algs)}")
    now = int(time.time())
    header = {"alg": alg, "typ": "JWT", **({"kid": key_id} if key_id else {})}
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + lifetime,
              "jti": secrets.token_urlsafe(24)}
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return jwt.encode(header, claims, cls.import_key(pkcs8), algorithms=[alg])


def fetch(args, key, client_id, key_id, service_account):
    def call(method, url, **kw):
        try:
            return requests.request(method, url, verify=args.ca_file or True, timeout=10, **kw)
        except requests.exceptions.SSLError:
            die(f"TLS to {url} failed: the server certificate is not trusted (pass --ca-file)")
        except requests.exceptions.ConnectionError:
            die(f"cannot connect to {url}")

    endpoint = args.token_endpoint
    if not endpoint:
        endpoint = call("GET", args.issuer.rstrip("/") + "/.well-known/openid-configuration").json()["token_endpoint"]
    grant = args.grant or ("jwt-bearer" if service_account else "client-credentials")
    assertion = sign(args, key, client_id, key_id, args.audience or args.issuer, 60)
    form = {"scope": " ".join(args.scope)} if args.scope else {}
    if grant == "jwt-bearer":
        form.update(grant_type=JWT_BEARER, assertion=assertion)
    else:
        form.update(grant_type="client_credentials", client_assertion_type=CLIENT_ASSERTION_TYPE,
                    client_assertion=assertion)
    r = call("POST", endpoint, data=form)
    date = r.headers.get("Date")
    if date and abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time()) > 300:
        print(f"tokenproxy: warning: the clock of {endpoint} differs from ours by more than 5 minutes",
              file=sys.stderr)
    if r.status_code != 200:
        try:
            error = r.json().get("error", "")
        except ValueError:
            error = ""
        die(f"token request with key file {args.key} to {endpoint} failed: HTTP {r.status_code} {error}")
    body = r.json()
    body["expires_in"] = int(body["expires_in"])
    if args.format == "json":
        print(json.dumps(body))
    elif args.format == "raw":
        print(body["access_token"])
    else:
        print(f"Authorization: Bearer {body['access_token']}")


def main():
    parser = argparse.ArgumentParser(prog="tokenproxy")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("assertion", "fetch"):
        p = sub.add_parser(name)
        p.add_argument("--key", required=True)
        p.add_argument("--client-id")
        p.add_argument("--key-id")
        p.add_argument("--audience")
        p.add_argument("--allow-insecure-key-permissions", action="store_true")
    a = sub.choices["assertion"]
    a.add_argument("--lifetime", type=int, default=60)
    a.add_argument("--algorithm")
    f = sub.choices["fetch"]
    f.add_argument("--issuer", required=True)
    f.add_argument("--grant", choices=["jwt-bearer", "client-credentials"])
    f.add_argument("--scope", action="append", default=[])
    f.add_argument("--token-endpoint")
    f.add_argument("--ca-file")
    f.add_argument("--format", choices=["json", "raw", "header"], default="json")
    args = parser.parse_args()
    key, client_id, key_id, service_account = load_key(args)
    if args.command == "assertion":
        print(sign(args, key, client_id, key_id, args.audience or "https://zitadel.invalid", args.lifetime))
    else:
        fetch(args, key, client_id, key_id, service_account)


if __name__ == "__main__":
    main()
