"""The soak's load: a bounded number of client threads, each sending one request at a time at a
fixed pace, over keep-alive connections that are replaced every few requests.

Every request ends in exactly one outcome, counted per kind (`token`: the token API on the Unix
socket; `proxy`: a proxied request to the upstream):

- `ok`: 200 with a token whose `exp` lies after the moment it was served: for the token API the
  moment the request was sent, for the proxy the moment the upstream received it;
- `expired`: 200 with a token whose `exp` had passed by then (a failure);
- `unavailable`: 503 with `Retry-After` (allowed while the IdP fails; each one's time is kept
  so the verdict can check that the IdP had really failed or stalled shortly before);
- `bad`: any other answer (a 502, a 503 without `Retry-After`, the upstream refusing the
  token …): a failure;
- `lost`: no answer: a reset, an early close, a read timeout: a failure.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import socket
import threading
import time
from collections import Counter

KINDS = ("token", "proxy")
OUTCOMES = ("ok", "unavailable", "expired", "bad", "lost")
MAX_DETAILS = 50  # failures kept with their details (all are counted)
MAX_REQUESTS_PER_CONNECTION = 40  # a connection is replaced after 1 … this many requests


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix stream socket."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def token_exp(token: str) -> float | None:
    """The `exp` claim of a compact JWS, unverified (the upstream verifies signatures)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) else None


class Tally:
    """Outcome counters and the evidence the verdict needs, shared by all clients."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.window_margin: float | None = None  # least validity left at arrival, this second
        self.least_margin: float | None = None
        self.unavailable_at: list[tuple[float, str]] = []
        self.details: list[dict] = []

    def record(self, kind: str, outcome: str, sent: float, detail: str | None = None,
               margin: float | None = None) -> None:
        with self.lock:
            self.counts[f"{kind}.{outcome}"] += 1
            if margin is not None:
                if self.window_margin is None or margin < self.window_margin:
                    self.window_margin = margin
                if self.least_margin is None or margin < self.least_margin:
                    self.least_margin = margin
            if outcome == "unavailable":
                self.unavailable_at.append((sent, kind))
            elif outcome != "ok" and len(self.details) < MAX_DETAILS:
                self.details.append({"kind": kind, "outcome": outcome, "sent": sent, "detail": detail})

    def snapshot_counts(self) -> dict:
        """Cumulative counts, every kind and outcome."""
        with self.lock:
            return {f"{k}.{o}": self.counts[f"{k}.{o}"] for k in KINDS for o in OUTCOMES}

    def snapshot(self) -> dict:
        """Cumulative counts plus the least margin since the previous snapshot (which resets it)."""
        counts = self.snapshot_counts()
        with self.lock:
            margin, self.window_margin = self.window_margin, None
        return {"counts": counts, "least_margin": margin}


class Client(threading.Thread):
    """One client: a request, its answer, a pause until the next slot; `kind` decides where."""

    def __init__(self, kind: str, index: int, connect, target: str, headers: dict, tally: Tally,
                 interval: float, timeout: float, stop: threading.Event):
        super().__init__(name=f"soak-{kind}-{index}", daemon=True)
        self.kind, self.connect, self.target, self.headers = kind, connect, target, headers
        self.tally, self.interval, self.timeout, self.stop = tally, interval, timeout, stop
        self.random = random.Random(index * 7919 + len(kind))

    def run(self) -> None:
        connection, used, limit = None, 0, 1
        due = time.monotonic() + self.random.random() * self.interval
        while not self.stop.is_set():
            delay = due - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                break
            due = max(due + self.interval, time.monotonic())
            if connection is None:
                connection, used = self.connect(self.timeout), 0
                limit = self.random.randint(1, MAX_REQUESTS_PER_CONNECTION)
            sent = time.time()
            try:
                connection.request("GET", self.target, headers=self.headers)
                answer = connection.getresponse()
                body = answer.read()
            except (OSError, http.client.HTTPException) as error:
                reused = "a reused" if used else "a new"
                self.tally.record(self.kind, "lost", sent, f"{type(error).__name__} on {reused} connection: {error}")
                connection.close()
                connection = None
                continue
            used += 1
            self.classify(answer, body, sent, time.time())
            if answer.will_close or used >= limit:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    def classify(self, answer: http.client.HTTPResponse, body: bytes, sent: float, received: float) -> None:
        if answer.status == 200:
            exp, served = self.exp_of(body)
            if exp is None:
                return self.tally.record(self.kind, "bad", sent, "200 without a readable token exp")
            if exp <= (served or sent):
                return self.tally.record(self.kind, "expired", sent,
                                         f"exp was {(served or sent) - exp:.3f} s before it was served")
            return self.tally.record(self.kind, "ok", sent, margin=exp - received)
        if answer.status == 503 and answer.getheader("Retry-After"):
            return self.tally.record(self.kind, "unavailable", sent)
        text = body[:200].decode(errors="replace")
        self.tally.record(self.kind, "bad", sent, f"{answer.status} {text}")

    def exp_of(self, body: bytes) -> tuple[float | None, float | None]:
        """(the token's exp, when it was served): for the proxy, the moment the upstream got
        it, which is what an API checks; for the token API, unknown (None: the request's send
        time stands in, the earliest moment the daemon can have answered)."""
        if self.kind == "token":
            return token_exp(body.decode(errors="replace").strip()), None
        try:
            answer = json.loads(body)
            exp, received = answer.get("exp"), answer.get("received")
        except (ValueError, AttributeError):
            return None, None
        number = (int, float)
        return (float(exp) if isinstance(exp, number) else None,
                float(received) if isinstance(received, number) else None)


def start_clients(*, api_socket: str, proxy_port: int, credential: str, clients_per_kind: int, rate: float,
                  timeout: float, tally: Tally, stop: threading.Event) -> list[Client]:
    """Starts `clients_per_kind` token-API and proxy clients sharing `rate` requests per second."""
    interval = 2 * clients_per_kind / rate
    started = []
    for index in range(clients_per_kind):
        for kind in KINDS:
            if kind == "token":
                connect = lambda t: UnixHTTPConnection(api_socket, t)  # noqa: E731
                target, headers = f"/v1/tokens/{credential}", {"Accept": "text/plain"}
            else:
                connect = lambda t: http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=t)  # noqa: E731
                target, headers = f"/api/soak/{index}", {}
            client = Client(kind, index, connect, target, headers, tally, interval, timeout, stop)
            client.start()
            started.append(client)
    return started
