"""A short soak (bench/soak's harness, about 45 s) against the real daemon, the Authlib IdP with
injected failures and stalls, and the token-checking upstream; and the soak's own parts — the
growth rule, the 503 rule, the outcome classifier, the PNG — on inputs whose answer is known."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from soaklib import harness, png, report, verdict  # noqa: E402
from soaklib.load import Client, Tally  # noqa: E402
from soaklib.plot import SERIES, render, write_plot  # noqa: E402

SOAK_SECONDS = 45


def test_short_soak_loses_nothing_serves_nothing_expired_and_does_not_grow(tokenproxy_bin, tmp_path):
    options = harness.Options(binary=tokenproxy_bin, seconds=SOAK_SECONDS, sighup_every=10, rate=100, clients=3,
                              stall_rate=0.1, stall_seconds=4, seed=3)
    record = harness.run(options)
    files = report.write(record, tmp_path, "soak", renderer="builtin")
    failed = [f"{c['check']}: {c['figure']}" for c in record["checks"] if not c["passed"]]
    assert record["passed"], "\n".join(failed + [json.dumps(f) for f in record["failures"][:10]]
                                       + record["daemon"]["log_tail"])
    # The run did what a soak must: refreshes, reloads, injected failures, load on both paths.
    assert len(record["sighups"]) == SOAK_SECONDS // 10
    assert record["idp"]["failures_injected"] > 0
    assert record["totals"]["token.ok"] > 1000 and record["totals"]["proxy.ok"] > 1000
    assert len(record["samples"]) >= SOAK_SECONDS - 2
    width, height, _ = png.decode(Path(files["png"]).read_bytes())
    assert (width, height) == (960, 720)
    assert json.loads(Path(files["json"]).read_text())["passed"] is True
    assert "# Soak: PASS" in Path(files["md"]).read_text()


def test_soak_catches_expired_tokens_from_an_idp_that_lies_about_expires_in(tokenproxy_bin):
    # The negative control: tokens die 4.5 s into a 5 s expires_in, so the daemon (rightly
    # trusting expires_in) serves dead ones, and the soak must say so, for both paths.
    options = harness.Options(binary=tokenproxy_bin, seconds=12, sighup_every=60, rate=100, clients=2,
                              fail_rate=0, stall_rate=0, exp_early=4.5)
    record = harness.run(options)
    failed = {c["check"] for c in record["checks"] if not c["passed"]}
    assert not record["passed"]
    assert "expired tokens served" in failed, record["checks"]
    assert record["totals"]["token.expired"] > 0 and record["totals"]["proxy.expired"] > 0, record["totals"]
    assert all(f["outcome"] == "expired" for f in record["failures"]), record["failures"][:5]


def series(values: list[float]) -> tuple[list[float], list[float]]:
    return [float(t) for t in range(len(values))], values


def test_growth_flags_a_steady_leak_but_not_a_plateau_or_noise():
    rss = verdict.GROWTH_TOLERANCE["rss_mib"]
    leak = verdict.growth(*series([30 + 0.05 * t for t in range(300)]), rss, 300)  # 3 MiB a minute
    assert leak["grew"] is True and leak["slope_per_min"] == pytest.approx(3.0)
    plateau = verdict.growth(*series([30 + min(t, 40) * 0.1 for t in range(300)]), rss, 300)  # warm-up step
    assert plateau["grew"] is False
    noisy = verdict.growth(*series([30 + (1.5 if t % 7 == 0 else 0) for t in range(300)]), rss, 300)
    assert noisy["grew"] is False
    fd_leak = verdict.growth(*series([20 + t // 10 for t in range(300)]), verdict.GROWTH_TOLERANCE["fds"], 300)
    assert fd_leak["grew"] is True
    too_short = verdict.growth(*series([1.0] * 15), rss, 15)
    assert too_short["grew"] is None


def test_a_503_needs_an_idp_failure_or_stall_nearby():
    events = [{"kind": "fail", "start": 100.0, "end": 100.0}, {"kind": "stall", "start": 200.0, "end": 204.0}]
    unavailable = [(103.0, "token"), (110.0, "proxy"), (190.0, "token"), (208.0, "proxy"), (150.0, "token")]
    left = verdict.unexplained_unavailable(unavailable, events, lifetime=5, request_timeout=15)
    assert left == [(110.0, "proxy"), (150.0, "token")]


class ScriptedUpstream(http.server.BaseHTTPRequestHandler):
    """Answers GET /N with the N-th scripted answer: what the classifier must sort."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        now = time.time()
        answers = {
            "/valid": (200, {}, json.dumps({"exp": now + 60})),
            "/expired": (200, {}, json.dumps({"exp": now - 1})),
            # Alive when the request left, dead when the upstream got it: expired, as the API sees it.
            "/died-on-the-way": (200, {}, json.dumps({"exp": now, "received": now + 0.5})),
            "/retry": (503, {"Retry-After": "1"}, "{}"),
            "/no-retry": (503, {}, "{}"),
            "/bad-gateway": (502, {}, "{}"),
        }
        if self.path == "/drop":
            self.close_connection = True
            return
        status, headers, body = answers[self.path]
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("path,outcome", [("/valid", "ok"), ("/expired", "expired"), ("/died-on-the-way", "expired"),
                                          ("/retry", "unavailable"),
                                          ("/no-retry", "bad"), ("/bad-gateway", "bad"), ("/drop", "lost")])
def test_every_answer_gets_exactly_one_outcome(path, outcome):
    import http.client

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ScriptedUpstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        tally, stop = Tally(), threading.Event()
        port = server.server_address[1]
        client = Client("proxy", 0, lambda t: http.client.HTTPConnection("127.0.0.1", port, timeout=t), path, {},
                        tally, interval=0.05, timeout=5, stop=stop)
        client.start()
        time.sleep(0.3)
        stop.set()
        client.join(10)
        counts = tally.snapshot_counts()
        assert counts[f"proxy.{outcome}"] >= 3, counts
        assert sum(counts.values()) == counts[f"proxy.{outcome}"], counts
    finally:
        server.shutdown()
        server.server_close()


def plot_samples() -> list[dict]:
    return [{"t": float(t), "rss_mib": 30 + t / 10, "rss_anon_mib": 3 + t / 20, "fds": 20 + t % 3, "threads": 9,
             "counts": {"token.ok": t, "proxy.lost": 1 if t >= 30 else 0}} for t in range(60)]


def test_builtin_plot_draws_each_series_the_sighups_and_the_failures():
    canvas = render(plot_samples(), sighups=[20.0], title="SOAK TEST")
    width, height, pixels = png.decode(canvas.png())
    colors = {tuple(pixels[i:i + 3]) for i in range(0, len(pixels), 3)}
    for _, _, color in SERIES:
        assert color in colors
    assert (225, 225, 225) in colors  # the SIGHUP line
    assert (214, 39, 40) in colors  # the failed second
    assert (width, height) == (960, 720)


def test_plot_file_with_matplotlib_when_it_is_installed(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is optional; the built-in writer is tested above")
    path = tmp_path / "soak.png"
    assert write_plot(path, plot_samples(), [20.0], "soak", renderer="matplotlib") == "matplotlib"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
