#!/usr/bin/env python3
"""A real, small OAuth 2.0 authorization server for tokenproxy's integration tests.

Built on Authlib (Flask integration):

* RFC 7523 §2.1 JWT bearer grant (ZITADEL service users): ``JWTBearerGrant``.
* ``client_credentials`` with RFC 7523 §2.2 ``private_key_jwt`` client authentication:
  ``ClientCredentialsGrant`` + ``JWTBearerClientAssertion``.
* RFC 7662 introspection (``IntrospectionEndpoint``), authenticated with ``private_key_jwt``.
* A Bearer-protected userinfo endpoint (``ResourceProtector`` + ``BearerTokenValidator``).

Where Authlib 1.9.9 lacks a check that ZITADEL makes, it is added here and marked
``# Not in Authlib:``. Test-only control endpoints live under ``/_test/``.

Run: python3 authserver.py --clients FILE [--host 127.0.0.1] [--port 0]
         [--tls-cert C --tls-key K] [--token-lifetime S] [--ready-file PATH]
         [--expires-in-as-string] [--jwt-access-tokens]
         [--fail-rate P] [--stall-rate P] [--stall-seconds S] [--chaos-seed N] [--exp-early S]

Chaos (bench/soak): ``--fail-rate`` answers that share of token requests with a transient
error (500/502 HTML, 503, 429 with ``Retry-After: 1``); ``--stall-rate`` holds that share of
successful answers back for up to ``--stall-seconds`` *after* the token was minted, so it ages
on the way like a token behind a slow network. ``GET /_test/chaos`` lists every injected event
with its wall-clock start and end. ``--exp-early S`` makes JWT access tokens die S seconds
before ``expires_in`` says: a lying IdP, the soak's proof that it notices an expired token.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import json
import os
import secrets
import ssl
import sys
import threading
import time
import warnings

from flask import Flask, jsonify, request
from joserfc import jwk, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    UnsupportedAlgorithmError,
)
from werkzeug.serving import WSGIRequestHandler, make_server

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Every asymmetric JWS algorithm tokenproxy may use. Authlib calls joserfc's jwt.decode
# without `algorithms`, which only admits joserfc's "recommended" set (HS256, RS256, ES256).
ALGORITHMS = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
]
LEEWAY = 60
MAX_ASSERTION_LIFETIME = 3600  # ZITADEL: exp - iat at most one hour
MAX_ASSERTION_AGE = 3600  # ZITADEL: iat not older than one hour
TOKEN_AUTH = "private_key_jwt"
INTROSPECTION_AUTH = "private_key_jwt_introspection"
warnings.filterwarnings("ignore", message="EdDSA is deprecated")  # still what ZITADEL-era clients send
CHAOS_FAILURES = ("html500", "html502", "text_503", "retry429")
FAULT_MODES = {"none", "html500", "html502", "empty401", "empty403", "json_error_400", "text_503", "slow",
               "invalid_scope400", "empty400", "empty404", "empty405", "retry503", "retry429"}


def import_public_key(pem: str, kid: str | None) -> jwk.Key:
    """Imports a PEM public (or private) key as a joserfc key of the right type."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

    data = pem.encode()
    try:
        key = load_pem_public_key(data)
    except ValueError:
        key = load_pem_private_key(data, password=None).public_key()
    params = {"kid": kid} if kid else None
    if isinstance(key, rsa.RSAPublicKey):
        return jwk.RSAKey.import_key(key, params)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return jwk.ECKey.import_key(key, params)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return jwk.OKPKey.import_key(key, params)
    raise ValueError(f"unsupported key type {type(key).__name__}")


def b64json(part: str):
    """Decodes one base64url JSON part of a compact JWS without verifying anything."""
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except Exception:  # noqa: BLE001 - diagnostics only
        return None


def decode_unverified(assertion: str | None):
    if not assertion:
        return None
    parts = assertion.split(".")
    if len(parts) != 3:
        return {"malformed": True}
    return {"header": b64json(parts[0]), "claims": b64json(parts[1]), "signature_length": len(parts[2])}


class Client(ClientMixin):
    """One registered client (ZITADEL user or application) from the clients file."""

    def __init__(self, entry: dict):
        self.client_id = entry["client_id"]
        keys = list(entry.get("public_keys", []))
        if "public_key_pem" in entry:
            keys.append({"kid": entry.get("kid"), "public_key_pem": entry["public_key_pem"]})
        if not keys:
            raise ValueError(f"client {self.client_id}: no public key")
        self.keys = [(k.get("kid"), import_public_key(k["public_key_pem"], k.get("kid"))) for k in keys]
        self.grant_types = entry.get("grant_types", [JWT_BEARER, "client_credentials"])
        self.scope = entry.get("scope")

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return False

    def check_endpoint_auth_method(self, method, endpoint):
        return method in (TOKEN_AUTH, INTROSPECTION_AUTH, JWTBearerClientAssertion.CLIENT_AUTH_METHOD)

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types

    def key_for(self, headers: dict) -> jwk.Key:
        # Not in Authlib: choosing the verification key by `kid` (Authlib leaves it to us).
        kid = headers.get("kid")
        with_kid = [k for k_id, k in self.keys if k_id]
        if kid is not None:
            for k_id, k in self.keys:
                if k_id == kid:
                    return k
            if with_kid:
                raise ValueError(f"unknown kid {kid!r} for client {self.client_id}")
        elif with_kid and len(with_kid) == len(self.keys):
            raise ValueError(f"kid missing in the assertion header; client {self.client_id} has registered key ids")
        return self.keys[0][1]


class Token(TokenMixin):
    def __init__(self, access_token, client_id, sub, scope, grant_type, lifetime):
        self.access_token = access_token
        self.client_id = client_id
        self.sub = sub
        self.scope = scope
        self.grant_type = grant_type
        self.iat = int(time.time())
        self.exp = self.iat + lifetime
        self.revoked = False

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.exp - self.iat

    def is_expired(self):
        return time.time() >= self.exp

    def is_revoked(self):
        return self.revoked


class State:
    """Everything mutable, guarded by one lock (the WSGI server is threaded)."""

    def __init__(self, clients: list[dict], lifetime: int, expires_in_as_string: bool,
                 chaos: Chaos | None = None, jwt_access_tokens: bool = False, exp_early: float = 0.0):
        self.lock = threading.Lock()
        self.exp_early = exp_early
        self.chaos = chaos or Chaos()
        self.jwt_access_tokens = jwt_access_tokens
        self.clients = {c["client_id"]: Client(c) for c in clients}
        self.lifetime = lifetime
        self.expires_in_as_string = expires_in_as_string
        self.issuer = ""
        # Signing keys for JWT access tokens (RFC 9068), newest last; /oauth/v2/keys serves them.
        self.signing_keys = [jwk.RSAKey.generate_key(2048, {"kid": "k-" + secrets.token_hex(4)})]
        self.reset()

    def reset(self):
        with self.lock:
            self.tokens: dict[str, Token] = {}
            self.jtis: dict[tuple[str, str], float] = {}
            self.token_requests = 0
            self.by_client: dict[str, int] = {}
            self.introspection_requests = 0
            self.userinfo_requests = 0
            self.discovery_requests = 0
            self.last_form = None
            self.last_headers = None
            self.fault_mode = "none"
            self.fault_count = None
            self.fault_delay = 0.0
            self.fault_retry_after = "1"
            self.date_offset = 0
            self.introspection_delay = 0.0
            self.introspection_status = None
            self.jwks_requests = 0

    def use_jti(self, client_id: str, jti, exp) -> bool:
        # Not in Authlib for the JWT bearer grant: replay protection by jti.
        now = time.time()
        with self.lock:
            self.jtis = {k: v for k, v in self.jtis.items() if v > now - LEEWAY}
            if (client_id, jti) in self.jtis:
                return False
            self.jtis[(client_id, jti)] = float(exp) if isinstance(exp, (int, float)) else now + MAX_ASSERTION_LIFETIME
            return True

    def take_fault(self):
        with self.lock:
            if self.fault_mode == "none" or self.fault_count == 0:
                return "none", 0.0
            if self.fault_count is not None:
                self.fault_count -= 1
            return self.fault_mode, self.fault_delay


class Chaos:
    """Random transient failures and stalls of the token endpoint (bench/soak), seeded, with a
    log of what was injected and when (wall clock, so a client can line its errors up)."""

    def __init__(self, fail_rate: float = 0.0, stall_rate: float = 0.0, stall_seconds: float = 0.0,
                 seed: int | None = None):
        import random
        self.fail_rate, self.stall_rate, self.stall_seconds = fail_rate, stall_rate, stall_seconds
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.events: list[dict] = []

    def draw(self) -> tuple[str, str | float] | None:
        """("fail", fault mode), ("stall", seconds) or None for one token request."""
        with self.lock:
            roll = self.random.random()
            if roll < self.fail_rate:
                mode = self.random.choice(CHAOS_FAILURES)
                now = time.time()
                self.events.append({"kind": "fail", "mode": mode, "start": now, "end": now})
                return "fail", mode
            if roll < self.fail_rate + self.stall_rate:
                return "stall", self.stall_seconds * (0.5 + 0.5 * self.random.random())
        return None

    def record_stall(self, start: float, seconds: float) -> None:
        with self.lock:
            self.events.append({"kind": "stall", "seconds": seconds, "start": start, "end": start + seconds})

    def log(self) -> list[dict]:
        with self.lock:
            return list(self.events)


STATE: State = None  # type: ignore[assignment]  # set in main()


def describe(error: JoseError) -> str:
    """Turns joserfc's terse errors into the reason a user needs to see."""
    if isinstance(error, BadSignatureError):
        return "signature verification failed"
    if isinstance(error, ExpiredTokenError):
        return "assertion expired"
    if isinstance(error, UnsupportedAlgorithmError):
        return f"algorithm not allowed: {error.description}"
    if isinstance(error, ClaimError):
        if error.claim == "aud":
            return f"aud mismatch: expected one of {sorted(set(current_audiences()))}"
        return f"{error.description}"
    return f"{error.error}: {error.description}".rstrip(": ")


def current_audiences(endpoint_path: str = "/oauth/v2/token") -> list[str]:
    return [STATE.issuer, STATE.issuer + endpoint_path]


def check_times_and_jti(claims: dict, client_id: str, error_cls, require_iat: bool):
    """Not in Authlib: ZITADEL's limits on iat age, assertion lifetime and jti reuse."""
    now = time.time()
    iat, exp = claims.get("iat"), claims.get("exp")
    if iat is None:
        if require_iat:
            raise error_cls(description="missing claim 'iat'")
    elif now - iat > MAX_ASSERTION_AGE + LEEWAY:
        raise error_cls(description=f"iat too old (more than {MAX_ASSERTION_AGE} s ago)")
    elif exp - iat > MAX_ASSERTION_LIFETIME:
        raise error_cls(description=f"assertion lifetime exp - iat exceeds {MAX_ASSERTION_LIFETIME} s")
    if exp - now > MAX_ASSERTION_LIFETIME + LEEWAY:
        raise error_cls(description=f"exp more than {MAX_ASSERTION_LIFETIME} s in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise error_cls(description="missing claim 'jti'")
    if not STATE.use_jti(client_id, jti, exp):
        raise error_cls(description="jti reused (assertion replay)")


def verify_signature(assertion: str, client: Client, headers: dict, error_cls) -> dict:
    try:
        key = client.key_for(headers)
    except ValueError as e:
        raise error_cls(description=str(e)) from None
    try:
        return jwt.decode(assertion, key, algorithms=ALGORITHMS).claims
    except JoseError as e:
        raise error_cls(description=describe(e)) from e
    except ValueError:
        raise error_cls(description="invalid JWT assertion") from None


class ZitadelJWTBearerGrant(JWTBearerGrant):
    """RFC 7523 §2.1: iss == sub == the service user's id; aud the issuer or token endpoint."""

    CLAIMS_OPTIONS = {
        "iss": {"essential": True},
        "sub": {"essential": True},
        "aud": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    LEEWAY = LEEWAY

    def process_assertion_claims(self, assertion):
        # Same flow as Authlib's, but jwt.decode is given the allowed algorithms and the
        # key is chosen by kid (Authlib passes no algorithms and no header to the key hook).
        headers, claims = self.extract_assertion(assertion)
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            raise InvalidGrantError(description="missing or invalid claim 'iss'")
        client = self.resolve_issuer_client(issuer)
        if not client:
            raise InvalidGrantError(description=f"unknown issuer (no client {issuer!r})")
        verified = verify_signature(assertion, client, headers, InvalidGrantError)
        self.verify_claims(verified)
        return verified

    def verify_claims(self, claims):
        try:
            super().verify_claims(claims)  # Authlib: iss/aud/exp/iat via JWTClaimsRegistry
        except InvalidGrantError as e:
            if isinstance(e.__cause__, JoseError):
                raise InvalidGrantError(description=describe(e.__cause__)) from None
            raise
        # Not in Authlib: ZITADEL requires sub == iss for a service user's JWT profile.
        if claims["sub"] != claims["iss"]:
            raise InvalidGrantError(description="sub must equal iss (the service user id)")
        check_times_and_jti(claims, claims["iss"], InvalidGrantError, require_iat=True)

    def get_audiences(self):
        return current_audiences()

    def resolve_issuer_client(self, issuer):
        return STATE.clients.get(issuer)

    def resolve_client_public_key(self, client):
        return client.keys[0][1]

    def authenticate_user(self, subject):
        return STATE.clients.get(subject)

    def has_granted_permission(self, client, user):
        return client is user

    def validate_requested_scope(self):
        validate_client_scope(self.request.client, self.request.payload.scope)


def validate_client_scope(client: Client, scope):
    # Not in Authlib per client: Authlib only checks a server-wide scopes_supported list.
    if scope and client.scope is not None:
        extra = set(scope_to_list(scope)) - set(scope_to_list(client.scope))
        if extra:
            raise InvalidScopeError(description=f"scope not allowed for this client: {' '.join(sorted(extra))}")


class PrivateKeyJWT(JWTBearerClientAssertion):
    """RFC 7523 §2.2 / OIDC Core §9 private_key_jwt; Authlib checks iss == sub, aud, exp, jti."""

    CLIENT_AUTH_METHOD = "client_assertion_jwt"

    def __init__(self, endpoint_path: str):
        super().__init__(validate_jti=True, leeway=LEEWAY)
        self.endpoint_path = endpoint_path

    def __call__(self, query_client, request):
        form_client_id = request.form.get("client_id")
        client = super().__call__(query_client, request)
        # Not in Authlib: an explicit client_id must name the same client as the assertion.
        if client is not None and form_client_id and form_client_id != client.get_client_id():
            raise InvalidClientError(description="client_id does not match the assertion's sub")
        return client

    def process_assertion_claims(self, assertion, resolve_key):
        headers, unverified = self.extract_assertion(assertion)
        client = STATE.clients.get(unverified["sub"])  # Authlib's __call__ resolved it already
        verified = verify_signature(assertion, client, headers, InvalidClientError)
        try:
            self.verify_claims(verified)
        except InvalidClientError as e:
            if isinstance(e.__cause__, JoseError):
                if isinstance(e.__cause__, ClaimError) and e.__cause__.claim == "aud":
                    raise InvalidClientError(
                        description=f"aud mismatch: expected one of {sorted(set(self.get_audiences()))}"
                    ) from None
                raise InvalidClientError(description=describe(e.__cause__)) from None
            if e.description == "JWT ID is used before.":
                raise InvalidClientError(description="jti reused (assertion replay)") from None
            raise
        check_times_and_jti(verified, verified["sub"], InvalidClientError, require_iat=False)
        return verified

    def validate_jti(self, claims, jti):
        return True  # replay is checked (and recorded) in check_times_and_jti

    def get_audiences(self):
        return current_audiences(self.endpoint_path)

    def resolve_client_public_key(self, client):
        return client.keys[0][1]


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [TOKEN_AUTH]

    def validate_requested_scope(self):
        validate_client_scope(self.request.client, self.request.payload.scope)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = [INTROSPECTION_AUTH]

    def query_token(self, token_string, token_type_hint):
        return STATE.tokens.get(token_string)

    def check_permission(self, token, client, request):
        return True  # any authenticated client may introspect (like a ZITADEL API app)

    def introspect_token(self, token: Token):
        return {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "sub": token.sub,
            "exp": token.exp,
            "iat": token.iat,
            "iss": STATE.issuer,
            "token_type": "Bearer",
        }


class UserinfoValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        return STATE.tokens.get(token_string)


def generate_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=False):
    scope = scope or client.scope or ""
    lifetime = STATE.lifetime
    return {
        "access_token": jwt_access_token(client, user, scope, lifetime) if STATE.jwt_access_tokens
        else secrets.token_urlsafe(32),
        "token_type": "Bearer",
        "expires_in": str(lifetime) if STATE.expires_in_as_string else lifetime,
        "scope": scope,
    }


def jwt_access_token(client, user, scope: str, lifetime: int) -> str:
    """An RFC 9068 access token whose `exp` is the exact (fractional, RFC 7519 §2 NumericDate)
    moment it stops being valid, so a checker can tell whether it was served expired."""
    now = time.time()
    with STATE.lock:
        key = STATE.signing_keys[-1]
    sub = user.get_client_id() if user is not None else client.get_client_id()
    claims = {"iss": STATE.issuer, "sub": sub, "client_id": client.get_client_id(), "scope": scope,
              "iat": now, "exp": now + lifetime - STATE.exp_early, "jti": secrets.token_hex(8)}
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, claims, key)


def save_token(token, req):
    client = req.client
    sub = req.user.get_client_id() if req.user is not None else client.get_client_id()
    record = Token(
        token["access_token"], client.get_client_id(), sub, token.get("scope", ""),
        req.payload.grant_type, STATE.lifetime,
    )
    with STATE.lock:
        now = time.time()
        STATE.tokens = {k: v for k, v in STATE.tokens.items() if v.exp > now - 60}
        STATE.tokens[record.access_token] = record


def query_client(client_id):
    return STATE.clients.get(client_id)


def fault_response(mode: str):
    if mode == "html500":
        return "<html><body><h1>500 Internal Server Error</h1></body></html>", 500, {"Content-Type": "text/html"}
    if mode == "html502":
        return "<html><body><h1>502 Bad Gateway</h1></body></html>", 502, {"Content-Type": "text/html"}
    if mode == "empty401":
        return "", 401, {}
    if mode == "empty403":
        return "", 403, {}
    if mode == "json_error_400":
        body = {"error": "invalid_request", "error_description": "injected fault"}
        return json.dumps(body), 400, {"Content-Type": "application/json"}
    if mode == "text_503":
        return "Service Unavailable", 503, {"Content-Type": "text/plain", "Retry-After": "1"}
    if mode == "invalid_scope400":
        body = {"error": "invalid_scope", "error_description": "The requested scope is invalid."}
        return json.dumps(body), 400, {"Content-Type": "application/json"}
    if mode in ("empty400", "empty404", "empty405"):
        return "", int(mode[-3:]), {}
    if mode in ("retry503", "retry429"):
        return "", int(mode[-3:]), {"Retry-After": STATE.fault_retry_after}
    return None


def create_app() -> Flask:
    app = Flask("authserver")
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", generate_token)
    server.register_client_auth_method(TOKEN_AUTH, PrivateKeyJWT("/oauth/v2/token"))
    server.register_client_auth_method(INTROSPECTION_AUTH, PrivateKeyJWT("/oauth/v2/introspect"))
    server.register_grant(ZitadelJWTBearerGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Introspection)
    protector = ResourceProtector()
    protector.register_token_validator(UserinfoValidator())

    @app.get("/.well-known/openid-configuration")
    @app.get("/.well-known/oauth-authorization-server")
    def discovery():
        with STATE.lock:
            STATE.discovery_requests += 1
        iss = STATE.issuer
        return jsonify(
            issuer=iss,
            token_endpoint=iss + "/oauth/v2/token",
            introspection_endpoint=iss + "/oauth/v2/introspect",
            userinfo_endpoint=iss + "/oidc/v1/userinfo",
            jwks_uri=iss + "/oauth/v2/keys",
            grant_types_supported=[JWT_BEARER, "client_credentials"],
            token_endpoint_auth_methods_supported=["private_key_jwt"],
            token_endpoint_auth_signing_alg_values_supported=ALGORITHMS,
            introspection_endpoint_auth_methods_supported=["private_key_jwt"],
            introspection_endpoint_auth_signing_alg_values_supported=ALGORITHMS,
            response_types_supported=["token"],
            scopes_supported=["openid", "profile", "email"],
        )

    @app.get("/oauth/v2/keys")
    def keys():
        with STATE.lock:
            STATE.jwks_requests += 1
            published = [k.as_dict(private=False) for k in STATE.signing_keys]
        for entry in published:
            entry.update(use="sig", alg="RS256")
        return jsonify(keys=published)

    @app.post("/_test/rotate")
    def rotate():
        # Test control: a new signing key (new kid) replaces the old ones.
        key = jwk.RSAKey.generate_key(2048, {"kid": "k-" + secrets.token_hex(4)})
        with STATE.lock:
            STATE.signing_keys = [key]
        return jsonify(kid=key.kid)

    @app.post("/oauth/v2/token")
    def token():
        form = request.form
        with STATE.lock:
            STATE.token_requests += 1
            assertion = decode_unverified(form.get("assertion")) or decode_unverified(form.get("client_assertion"))
            claims = (assertion or {}).get("claims") or {}
            who = claims.get("sub") or claims.get("iss") or form.get("client_id") or "?"
            STATE.by_client[str(who)] = STATE.by_client.get(str(who), 0) + 1
            STATE.last_form = {
                "keys": sorted(form.keys()),
                "grant_type": form.get("grant_type"),
                "scope": form.get("scope"),
                "client_id": form.get("client_id"),
                "client_assertion_type": form.get("client_assertion_type"),
                "assertion": decode_unverified(form.get("assertion")),
                "client_assertion": decode_unverified(form.get("client_assertion")),
            }
            STATE.last_headers = {
                k: request.headers.get(k)
                for k in ("Content-Type", "Accept", "User-Agent", "Host", "Content-Length")
            }
        mode, delay = STATE.take_fault()
        if mode == "slow":
            time.sleep(delay)
        elif mode != "none":
            return fault_response(mode)
        chaos = STATE.chaos.draw()
        if chaos is not None and chaos[0] == "fail":
            return fault_response(chaos[1])
        response = server.create_token_response()
        if chaos is not None:
            STATE.chaos.record_stall(time.time(), chaos[1])  # logged when it begins, with its end
            time.sleep(chaos[1])
        return response

    @app.post("/oauth/v2/introspect")
    def introspect():
        with STATE.lock:
            STATE.introspection_requests += 1
            delay, status = STATE.introspection_delay, STATE.introspection_status
        if delay:
            time.sleep(delay)
        if status is not None:
            return jsonify(error="server_error", error_description="injected fault"), status
        return server.create_endpoint_response(Introspection.ENDPOINT_NAME)

    @app.post("/_test/introspection")
    def introspection_fault():
        # Test control: delay every introspection answer, or answer with an error status.
        body = request.get_json(force=True)
        with STATE.lock:
            STATE.introspection_delay = float(body.get("delay", 0))
            STATE.introspection_status = body.get("status")
        return jsonify(ok=True)

    @app.post("/_test/mint")
    def mint():
        # Test control: an access token for a registered client, as if it had asked for one,
        # with its own lifetime (expired tokens for the introspection tests).
        body = request.get_json(force=True)
        client_id = body["client_id"]
        if client_id not in STATE.clients:
            return jsonify(error=f"unknown client {client_id!r}"), 400
        record = Token(secrets.token_urlsafe(32), client_id, body.get("sub", client_id),
                       body.get("scope", ""), "client_credentials", int(body.get("lifetime", STATE.lifetime)))
        if body.get("format") == "jwt":
            # An RFC 9068 JWT access token signed with the newest signing key; also
            # introspectable (and revocable) like the opaque ones.
            with STATE.lock:
                key = STATE.signing_keys[-1]
            claims = {"iss": STATE.issuer, "sub": record.sub, "client_id": client_id,
                      "aud": body.get("aud", []), "scope": record.scope, "iat": record.iat,
                      "exp": record.exp, "jti": secrets.token_hex(8)}
            record.access_token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, claims, key)
        with STATE.lock:
            STATE.tokens[record.access_token] = record
        return jsonify(access_token=record.access_token, exp=record.exp)

    @app.post("/_test/revoke")
    def revoke():
        body = request.get_json(force=True)
        with STATE.lock:
            record = STATE.tokens.get(body["token"])
            if record is not None:
                record.revoked = True
        return jsonify(ok=record is not None)

    @app.route("/oidc/v1/userinfo", methods=["GET", "POST"])
    def userinfo():
        with STATE.lock:
            STATE.userinfo_requests += 1
        try:
            tok = protector.acquire_token()
        except OAuth2Error as e:
            return protector.raise_error_response(e)
        return jsonify(sub=tok.sub, client_id=tok.client_id, scope=tok.scope)

    @app.get("/_test/stats")
    def stats():
        with STATE.lock:
            return jsonify(
                token_requests=STATE.token_requests,
                token_requests_by_client=STATE.by_client,
                introspection_requests=STATE.introspection_requests,
                userinfo_requests=STATE.userinfo_requests,
                discovery_requests=STATE.discovery_requests,
                jwks_requests=STATE.jwks_requests,
                active_tokens=sum(1 for t in STATE.tokens.values() if not t.is_expired()),
                last_token_request_form=STATE.last_form,
                last_token_request_headers=STATE.last_headers,
                fault={"mode": STATE.fault_mode, "count": STATE.fault_count, "delay": STATE.fault_delay},
                date_offset=STATE.date_offset,
            )

    @app.get("/_test/chaos")
    def chaos_log():
        # The injected failures and stalls so far, oldest first (wall-clock seconds).
        return jsonify(events=STATE.chaos.log())

    @app.get("/_test/issued")
    def issued():
        # Every access token still remembered (up to 60 s past expiry), for tests that check a
        # token file only ever held complete tokens.
        with STATE.lock:
            return jsonify(tokens=sorted(STATE.tokens))

    @app.post("/_test/fault")
    def fault():
        body = request.get_json(force=True)
        mode = body.get("mode", "none")
        if mode not in FAULT_MODES:
            return jsonify(error=f"unknown mode {mode!r}", modes=sorted(FAULT_MODES)), 400
        with STATE.lock:
            STATE.fault_mode = mode
            STATE.fault_count = body.get("count")
            STATE.fault_delay = float(body.get("delay", 0))
            STATE.fault_retry_after = str(body.get("retry_after", "1"))
            if "date_offset" in body:
                STATE.date_offset = int(body["date_offset"])
        return jsonify(ok=True)

    @app.post("/_test/reset")
    def reset():
        STATE.reset()
        return jsonify(ok=True)

    @app.post("/_test/clients")
    def add_client():
        entry = request.get_json(force=True)
        client = Client(entry)
        with STATE.lock:
            STATE.clients[client.client_id] = client
        return jsonify(ok=True)

    return app


class RequestHandler(WSGIRequestHandler):
    """Shifts the Date response header by the configured offset (clock-skew tests)."""

    def date_time_string(self, timestamp=None):
        if timestamp is None:
            timestamp = time.time()
        return email.utils.formatdate(timestamp + STATE.date_offset, usegmt=True)

    def log_request(self, code="-", size="-"):
        if os.environ.get("AUTHSERVER_QUIET") != "1":
            super().log_request(code, size)


def main(argv=None):
    global STATE
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", required=True, help="JSON file {'clients': [...]}")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--token-lifetime", type=int, default=3600)
    p.add_argument("--ready-file")
    p.add_argument("--expires-in-as-string", action="store_true")
    p.add_argument("--jwt-access-tokens", action="store_true",
                   help="issue RS256 JWT access tokens with an exact exp (instead of opaque ones)")
    p.add_argument("--fail-rate", type=float, default=0.0, help="share of token requests answered with an error")
    p.add_argument("--stall-rate", type=float, default=0.0, help="share of token answers held back")
    p.add_argument("--stall-seconds", type=float, default=0.0, help="longest hold-back (uniform in S/2 … S)")
    p.add_argument("--chaos-seed", type=int, help="seed for the failure and stall draws")
    p.add_argument("--exp-early", type=float, default=0.0,
                   help="JWT access tokens expire this many seconds before expires_in says (a lying IdP)")
    args = p.parse_args(argv)
    if not (0 <= args.fail_rate <= 1 and 0 <= args.stall_rate <= 1 - args.fail_rate):
        p.error("--fail-rate and --stall-rate are shares in 0 … 1 whose sum is at most 1")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")

    with open(args.clients) as f:
        STATE = State(json.load(f)["clients"], args.token_lifetime, args.expires_in_as_string,
                      Chaos(args.fail_rate, args.stall_rate, args.stall_seconds, args.chaos_seed),
                      args.jwt_access_tokens, args.exp_early)

    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    httpd = make_server(args.host, args.port, create_app(), threaded=True, request_handler=RequestHandler,
                        ssl_context=ctx)
    httpd.daemon_threads = True
    host = f"[{args.host}]" if ":" in args.host else args.host
    STATE.issuer = f"{'https' if ctx else 'http'}://{host}:{httpd.server_port}"
    if args.ready_file:
        ready = {
            "issuer": STATE.issuer,
            "port": httpd.server_port,
            "pid": os.getpid(),
            "token_endpoint": STATE.issuer + "/oauth/v2/token",
            "introspection_endpoint": STATE.issuer + "/oauth/v2/introspect",
            "userinfo_endpoint": STATE.issuer + "/oidc/v1/userinfo",
        }
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(ready, f)
        os.replace(tmp, args.ready_file)
    print(f"READY {STATE.issuer}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
