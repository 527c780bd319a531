"""One soak run: the peers, the daemon, the load, a SIGHUP every `sighup_every` seconds, one
sample a second; then the verdict and the files (`report.py`)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import peers, verdict
from .load import Tally, UnixHTTPConnection, start_clients
from .sampler import Sampler


@dataclass
class Options:
    """Everything a run can be told; the defaults are `bench/soak`'s."""

    binary: Path
    seconds: float = 600.0
    token_lifetime: int = 5
    sighup_every: float = 30.0
    fail_rate: float = 0.2
    stall_rate: float = 0.05
    stall_seconds: float = 4.0
    clients: int = 4  # per kind: token API and proxy
    rate: float = 200.0  # requests per second, all clients together
    request_timeout: float = 15.0
    seed: int = 1
    keep: bool = False  # keep the work directory (logs, configuration)
    exp_early: float = 0.0  # the IdP lies: tokens die this much before expires_in (tests only)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] soak: {message}", flush=True)


def api_get(socket_path: Path, target: str, timeout: float = 5.0) -> tuple[int, bytes]:
    connection = UnixHTTPConnection(str(socket_path), timeout)
    try:
        connection.request("GET", target, headers={"Accept": "text/plain"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def wait_serving(daemon: subprocess.Popen, socket_path: Path, proxy_port: int, log_path: Path,
                 slack: float = 0.0) -> None:
    """Until the token API answers /healthz, the proxy listens and a first token is served
    (`slack`: extra seconds for an IdP that may stall the first fetch)."""
    deadline = time.monotonic() + peers.START_TIMEOUT + slack
    steps = [("the token API", lambda: api_get(socket_path, "/healthz")[0] == 200),
             ("the proxy listener", lambda: peers.socket.create_connection(("127.0.0.1", proxy_port), 1).close()
              or True),
             ("a first token", lambda: api_get(socket_path, f"/v1/tokens/{peers.CREDENTIAL}")[0] == 200)]
    for what, ready in steps:
        while True:
            if daemon.poll() is not None:
                raise peers.SoakError(f"tokenproxy serve exited with {daemon.returncode} before {what}:\n"
                                      + log_path.read_text(errors="replace")[-3000:])
            try:
                if ready():
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise peers.SoakError(f"no {what} within {peers.START_TIMEOUT + slack:.0f} s; log {log_path}")
            time.sleep(0.1)


def run(options: Options) -> dict:
    """Runs the soak and returns its record (see report.py for what is written)."""
    work = Path(tempfile.mkdtemp(prefix="soak-", dir="/tmp"))  # short: sun_path holds 107 bytes
    idp = upstream = daemon = None
    try:
        key_file, clients_file = peers.write_key(work)
        idp, issuer = peers.start_idp(work, clients_file, options)
        upstream, upstream_port = peers.start_upstream(work, issuer)
        proxy_port, config_path, log_path = peers.free_port(), work / "config.json", work / "daemon.log"
        configs = [peers.daemon_config(work, key_file, issuer, upstream_port, proxy_port, v) for v in (0, 1)]
        peers.write_config(config_path, configs[0])
        check = subprocess.run([str(options.binary), "check", "--config", str(config_path)], capture_output=True,
                               text=True, timeout=60)
        if check.returncode != 0:
            raise peers.SoakError(f"tokenproxy check refused the soak configuration:\n{check.stdout}{check.stderr}")
        with open(log_path, "wb") as out:
            daemon = subprocess.Popen([str(options.binary), "serve", "--config", str(config_path), "--log-format",
                                       "json"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      cwd=work)
        wait_serving(daemon, work / "api.sock", proxy_port, log_path, slack=options.stall_seconds)
        log(f"daemon pid {daemon.pid} serving; {options.seconds:.0f} s of load at {options.rate:.0f} req/s, "
            f"{options.clients} token-API + {options.clients} proxy clients, SIGHUP every {options.sighup_every:.0f} s")
        record = drive(options, daemon, work, proxy_port, config_path, configs, issuer)
        record["daemon"]["exit_code"] = peers.stop(daemon, timeout=15)
        record["daemon"]["reloads"] = sum('"message":"reload"' in line
                                          for line in log_path.read_text(errors="replace").splitlines())
        record["daemon"]["log_tail"] = log_path.read_text(errors="replace").splitlines()[-20:]
        record["checks"] = verdict.checks(record)
        record["passed"] = all(c["passed"] for c in record["checks"])
        return record
    finally:
        for process in (daemon, upstream, idp):
            peers.stop(process)
        if options.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def drive(options: Options, daemon: subprocess.Popen, work: Path, proxy_port: int, config_path: Path,
          configs: list[dict], issuer: str) -> dict:
    tally, stop = Tally(), threading.Event()
    sampler = Sampler(daemon.pid, tally, issuer + "/_test/stats", stop)
    sampler.start()
    clients = start_clients(api_socket=str(work / "api.sock"), proxy_port=proxy_port, credential=peers.CREDENTIAL,
                            clients_per_kind=options.clients, rate=options.rate, timeout=options.request_timeout,
                            tally=tally, stop=stop)
    sighups: list[float] = []
    next_report = 60.0
    while (elapsed := time.monotonic() - sampler.started) < options.seconds and sampler.daemon_gone_at is None:
        if elapsed >= options.sighup_every * (len(sighups) + 1):
            count = len(sighups) + 1
            peers.write_config(config_path, configs[1 if count % 3 == 2 else 0])  # kept, changed, changed back
            daemon.send_signal(signal.SIGHUP)
            sighups.append(round(elapsed, 3))
        if elapsed >= next_report:
            counts = tally.snapshot_counts()
            log(f"{elapsed:.0f} s: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
            next_report += 60.0
        time.sleep(0.1)
    stop.set()
    for client in clients:
        client.join(options.request_timeout + 5)
    sampler.join(5)
    duration = time.monotonic() - sampler.started
    samples = sampler.samples
    metrics = ""
    if daemon.poll() is None:
        try:
            metrics = api_get(work / "api.sock", "/metrics")[1].decode(errors="replace")
        except OSError:
            pass
    idp = peers.http_json(issuer + "/_test/stats")
    events = peers.http_json(issuer + "/_test/chaos")["events"]
    totals = tally.snapshot_counts()
    growth = {key: verdict.growth([s["t"] for s in samples], [s[key] for s in samples], tolerance, duration)
              for key, tolerance in verdict.GROWTH_TOLERANCE.items()}
    unexplained = verdict.unexplained_unavailable(tally.unavailable_at, events, options.token_lifetime,
                                                  options.request_timeout)
    return {
        "options": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}},
        "duration_s": duration, "totals": totals, "growth": growth, "samples": samples, "sighups": sighups,
        "least_margin_s": tally.least_margin, "failures": tally.details,
        "unexplained_unavailable": unexplained[:50],
        "idp": {"token_requests": idp["token_requests"], "failures_injected": sum(e["kind"] == "fail" for e in events),
                "stalls_injected": sum(e["kind"] == "stall" for e in events),
                "longest_stall_s": max([e.get("seconds", 0) for e in events] + [0])},
        "daemon": {"pid": daemon.pid, "gone_at": sampler.daemon_gone_at,
                   "metrics": [line for line in metrics.splitlines()
                               if line.startswith(("tokenproxy_token_fetches_total", "tokenproxy_token_expired_total",
                                                   "tokenproxy_proxy_failures_total"))]},
    }
