#!/usr/bin/env python3
"""The soak's upstream API: a keep-alive HTTP/1.1 server on 127.0.0.1 that checks the bearer
token tokenproxy injected.

Every request must carry exactly one `Authorization: Bearer JWT` whose RS256 signature verifies
against the test IdP's JWKS (fetched at start and again for an unknown `kid`). A good token is
answered 200 with `{"exp": …, "received": …}` (wall-clock seconds): the soak client decides
whether it was served expired, against the moment it sent the request. A missing, duplicated or
forged token is answered 401 with the reason. Each response goes out in one `send` (head and
body together), so Nagle and delayed ACKs never meet here.

Run: upstream.py --jwks URL --ready-file PATH   (prints nothing; the port goes to the file)
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

MAX_CACHED_TOKENS = 4096


class TokenChecker:
    """Verifies tokens against the IdP's JWKS; remembers verified tokens (they repeat a lot)."""

    def __init__(self, jwks_url: str):
        self.jwks_url = jwks_url
        self.lock = threading.Lock()
        self.keys = self._fetch()
        self.verified: dict[str, dict] = {}

    def _fetch(self) -> KeySet:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.jwks_url, timeout=10) as answer:
            return KeySet.import_key_set(json.load(answer))

    def claims(self, token: str) -> dict:
        """The token's claims; raises ValueError naming what is wrong."""
        with self.lock:
            known = self.verified.get(token)
        if known is not None:
            return known
        try:
            claims = jwt.decode(token, self.keys).claims
        except (JoseError, ValueError):
            self.keys = self._fetch()  # the IdP may have a new signing key
            try:
                claims = jwt.decode(token, self.keys).claims
            except (JoseError, ValueError) as again:
                raise ValueError(f"token does not verify: {again}") from None
        if not isinstance(claims.get("exp"), (int, float)):
            raise ValueError("token has no numeric exp")
        with self.lock:
            if len(self.verified) >= MAX_CACHED_TOKENS:
                self.verified.clear()
            self.verified[token] = claims
        return claims


def make_handler(checker: TokenChecker):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server's naming
            received = time.time()
            values = self.headers.get_all("Authorization") or []
            if len(values) != 1 or not values[0].startswith("Bearer "):
                return self.answer(401, {"error": f"expected one bearer token, got {len(values)} Authorization"})
            try:
                claims = checker.claims(values[0][len("Bearer "):])
            except ValueError as error:
                return self.answer(401, {"error": str(error)})
            self.answer(200, {"exp": claims["exp"], "received": received})

        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            reason = {200: "OK", 401: "Unauthorized"}[status]
            head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n").encode()
            self.wfile.write(head + data)

        def log_message(self, *args):
            pass

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jwks", required=True, help="the IdP's JWKS URL")
    parser.add_argument("--ready-file", required=True, help="where to write {port, pid} once listening")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(TokenChecker(args.jwks)))
    server.daemon_threads = True
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": server.server_address[1], "pid": os.getpid()}, f)
    os.replace(tmp, args.ready_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
