"""bench/loadgen.c's turns (`-i SLICE_MS`): the two servers of a benchmark pair loaded in
alternating slices, so that a VM's slow phases hit both alike.

Against two real HTTP servers on 127.0.0.1 started here (one answers at once, one after
2 ms): each gets its own line with its own rate, each its seconds of load, and the requests
arrive at the two in many alternating bursts, never both at once, and with `-g GAP_MS` no
sooner than the gap after the other server's last request. Paced (`-r RATE`): never ahead of
the schedule, spread over the whole run.
"""

import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


class _Recorder:
    """The arrival times of requests at both servers, and whether one came while the other
    server was answering."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str]] = []
        self.busy: dict[str, int] = {"fast": 0, "slow": 0}
        self.overlaps = 0


def _server(recorder: _Recorder, name: str, delay: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's name)
            other = "slow" if name == "fast" else "fast"
            with recorder.lock:
                recorder.arrivals.append((time.monotonic(), name))
                recorder.busy[name] += 1
                if recorder.busy[other]:
                    recorder.overlaps += 1
            if delay:
                time.sleep(delay)
            # Not busy from before the response is written: the client can send to the other
            # server only after reading it, so a request there while this one is busy is a
            # real overlap, not this thread's bookkeeping lagging behind.
            with recorder.lock:
                recorder.busy[name] -= 1
            # Head and body in one send: two small sends would wait on Nagle and a delayed
            # ACK (~40 ms), which is what bench/quickack.sh is about, not this.
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory):
    if not shutil.which("gcc"):
        pytest.skip("gcc is missing")
    binary = tmp_path_factory.mktemp("loadgen") / "loadgen"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(binary),
                    str(BENCH / "loadgen.c")], check=True, timeout=60)
    return binary


def test_two_servers_take_turns_and_each_gets_its_own_line(loadgen):
    recorder = _Recorder()
    fast, slow = _server(recorder, "fast", 0), _server(recorder, "slow", 0.002)
    try:
        address = lambda s: f"tcp:127.0.0.1:{s.server_address[1]}"  # noqa: E731
        began = time.monotonic()
        result = subprocess.run(
            [str(loadgen), "-i", "20", address(slow), address(fast), "1", "0.4", "/x"],
            capture_output=True, text=True, timeout=30)
        wall = time.monotonic() - began
    finally:
        fast.shutdown()
        slow.shutdown()
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    first, second = lines  # the first target named last on the command line: the fast one
    for line in lines:
        assert line["errors"] == 0
        assert line["seconds"] >= 0.4
        assert line["rps"] == pytest.approx(line["requests"] / line["seconds"], rel=0.01)
    assert first["seconds"] + second["seconds"] <= wall  # each counts its own turns only
    assert first["rps"] > 2 * second["rps"]  # each line is its own server's
    assert second["p50_us"] >= 2000
    arrivals = [name for _, name in sorted(recorder.arrivals)]
    assert arrivals.count("fast") == first["requests"]
    assert arrivals.count("slow") == second["requests"]
    switches = sum(1 for a, b in zip(arrivals, arrivals[1:]) if a != b)
    assert switches >= 20  # ~20 turns each of 20 ms in 0.8 s, not two blocks
    assert recorder.overlaps == 0  # a turn ends when its requests are answered


def test_one_target_is_one_line_as_before(loadgen):
    recorder = _Recorder()
    server = _server(recorder, "fast", 0)
    try:
        result = subprocess.run(
            [str(loadgen), f"tcp:127.0.0.1:{server.server_address[1]}", "2", "0.2", "/x"],
            capture_output=True, text=True, timeout=30)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["connections"] == 2 and line["errors"] == 0
    assert line["requests"] == len(recorder.arrivals) > 0
    assert line["seconds"] >= 0.2


def test_turns_start_a_gap_apart(loadgen):
    recorder = _Recorder()
    fast, other = _server(recorder, "fast", 0), _server(recorder, "slow", 0)
    try:
        address = lambda s: f"tcp:127.0.0.1:{s.server_address[1]}"  # noqa: E731
        result = subprocess.run(
            [str(loadgen), "-g", "5", "-i", "10", address(other), address(fast), "1", "0.2", "/x"],
            capture_output=True, text=True, timeout=30)
    finally:
        fast.shutdown()
        other.shutdown()
    assert result.returncode == 0, result.stderr
    assert all(json.loads(line)["errors"] == 0 for line in result.stdout.splitlines())
    arrivals = sorted(recorder.arrivals)
    switches = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:]) if a[1] != b[1]]
    assert len(switches) >= 10
    # The next turn's first request is sent 5 ms after the last response of the turn before,
    # which came after that turn's last request arrived.
    assert min(switches) >= 0.005


def test_a_negative_gap_is_a_usage_error(loadgen):
    result = subprocess.run([str(loadgen), "-g", "-1", "-i", "10", "tcp:127.0.0.1:9",
                             "tcp:127.0.0.1:9", "1", "0.1", "/x"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64
    assert "usage" in result.stderr


def test_paced_requests_never_run_ahead_of_the_schedule(loadgen):
    recorder = _Recorder()
    server = _server(recorder, "fast", 0)
    try:
        result = subprocess.run(
            [str(loadgen), "-r", "200", f"tcp:127.0.0.1:{server.server_address[1]}", "2", "0.5",
             "/x"], capture_output=True, text=True, timeout=30)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["errors"] == 0
    # The k-th request is due k / 200 s after the start, the last before 0.5 s: at most 100,
    # where the closed loop makes thousands against this server in the same time.
    assert 0 < line["requests"] == len(recorder.arrivals) <= 100
    assert line["requests"] >= 50  # a server answering at once keeps up with 200 a second
    arrivals = sorted(t for t, _ in recorder.arrivals)
    # None sent early: the last is at least (n - 1) intervals after the first (the first may
    # arrive a little after its due time, hence the slack).
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) / 200 - 0.02


@pytest.mark.parametrize("arguments", [
    ["-r", "0", "tcp:127.0.0.1:9", "1", "0.1", "/x"],
    ["-r", "100", "-i", "10", "tcp:127.0.0.1:9", "tcp:127.0.0.1:9", "1", "0.1", "/x"],
])
def test_a_paced_run_needs_a_rate_and_one_target(loadgen, arguments):
    result = subprocess.run([str(loadgen), *arguments], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 64
    assert "-r RATE" in result.stderr
