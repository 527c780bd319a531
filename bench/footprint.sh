#!/usr/bin/env bash
# Measures tokenproxy's footprint and start-up (bench/footprint.py does the measuring):
# exec → READY=1 (median of BENCH_STARTUP_RUNS), idle RSS and threads with one credential
# cached, and RSS, threads and descriptors with BENCH_IDLE_CONNECTIONS idle client connections
# on the token API socket and on the proxy listener. Runs the Authlib test IdP on loopback;
# everything lives in one temp dir and every process started here is stopped by pid on exit.
# Writes bench/results/footprint-DATE.{json,md}. A measurement, not a test: it fails only when
# something cannot run. See bench/README.md.
#
# Knobs (environment): BENCH_STARTUP_RUNS (20), BENCH_IDLE_CONNECTIONS (10000; needs a hard
# `ulimit -n` above it: the script raises the soft limit to the hard one), BENCH_BIN (a built
# binary to measure instead of building with scripts/build-release), BENCH_LATER (35: seconds
# after closing the connections for the last sample), BENCH_OUT_DIR (write
# OUT_DIR/footprint.{json,md}).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
source bench/lib.sh

runs="${BENCH_STARTUP_RUNS:-20}"
connections="${BENCH_IDLE_CONNECTIONS:-10000}"
credential=bench


# nginx, if installed, is measured as the reference (not installed here if missing).
nginx_bin="$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)"
python3 -c 'import authlib, flask, joserfc, cryptography' 2>/dev/null \
    || die "the test IdP's Python packages are missing; run scripts/setup.sh once"
ulimit -n "$(ulimit -Hn)"
if [ "$connections" -gt 0 ] && [ "$(ulimit -n)" != unlimited ] \
    && [ "$(ulimit -n)" -le $((connections + 256)) ]; then
    die "ulimit -n is $(ulimit -n) (hard): $connections idle connections need more; lower BENCH_IDLE_CONNECTIONS or raise the hard limit"
fi

work="$(mktemp -d /tmp/tokenproxy-footprint.XXXXXX)"
idp_pid=""
cleanup() {
    if [ -n "$idp_pid" ] && kill -0 "$idp_pid" 2>/dev/null; then
        kill -TERM "$idp_pid" 2>/dev/null || true
        wait "$idp_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. build -----------------------------------------------------------------------------------
if [ -n "${BENCH_BIN:-}" ]; then
    bin="$BENCH_BIN"
    build_flags="${BENCH_BUILD_FLAGS:-(given binary)}"
else
    log "building tokenproxy ($(scripts/build-release --flags))"
    bin="$(scripts/build-release 2>"$work/build.log")" || { show_log "$work/build.log"; die "build failed"; }
    build_flags="$(scripts/build-release --flags)"
fi
[ -x "$bin" ] || die "no binary at $bin"

# --- 2. test IdP, key, configuration ------------------------------------------------------------
umask 077
start_test_idp
proxy_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
api_socket="$work/tokenproxy.sock"
# The proxy route points at the discard port: idle connections never send a request.
python3 - "$work" "$issuer" "$api_socket" "$credential" "$proxy_port" "$connections" <<'PY'
import json, sys
work, issuer, socket_path, name, port, connections = sys.argv[1:7]
config = {"api": {"socket": socket_path, "socket_mode": "0600",
                  "max_connections": min(65536, int(connections) + 64)},
          "credentials": {name: {"key_file": f"{work}/sa.json", "issuer": issuer,
                                 "scopes": ["openid"]}},
          "proxy": {"listen": [f"127.0.0.1:{port}"],
                    "max_connections": min(65536, int(connections) + 64),
                    "routes": [{"path_prefix": "/api/", "upstream": "http://127.0.0.1:9",
                                "credential": name}]},
          "log": {"level": "warning"}}
json.dump(config, open(f"{work}/config.json", "w"), indent=2)
PY
# A binary from before api.max_connections existed keeps its built-in limit (1024).
if ! "$bin" check --config "$work/config.json" >"$work/check.log" 2>&1; then
    grep -q "api.max_connections" "$work/check.log" || { show_log "$work/check.log"; die "the configuration is refused"; }
    log "this binary has no api.max_connections: the token API keeps its built-in connection limit"
    python3 - "$work/config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
del config["api"]["max_connections"]
json.dump(config, open(sys.argv[1], "w"), indent=2)
PY
fi

# --- 3. measure ---------------------------------------------------------------------------------
log "measuring: $runs start-ups, idle RSS, $connections idle connections on the API socket and the proxy"
python3 bench/footprint.py --bin "$bin" --config "$work/config.json" --api-socket "$api_socket" \
    --token-path "/v1/tokens/$credential" --proxy "127.0.0.1:$proxy_port" --runs "$runs" \
    --connections "$connections" --later "${BENCH_LATER:-35}" --work "$work" \
    ${nginx_bin:+--nginx "$nginx_bin"} >"$work/footprint.json" \
    || { show_log "$work/footprint-tokenproxy.log"; die "the measurement failed"; }

# --- 4. report ----------------------------------------------------------------------------------
out="$(results_prefix footprint "$(date +%Y-%m-%d-%H%M)")"
python3 - "$work/footprint.json" "$out" "$bin" "$build_flags" \
    "$(git describe --always --dirty 2>/dev/null || echo unknown)" "$(swift --version 2>&1 | head -1)" <<'PY'
import json, os, platform, subprocess, sys
source, out, binary, flags, commit, swift = sys.argv[1:7]
r = json.load(open(source))
shared = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.split("\n")
r.update({
    "command": "bench/footprint.sh", "git_commit": commit, "swift": swift, "build_flags": flags,
    "binary_bytes": os.path.getsize(binary), "kernel": "Linux " + platform.release(),
    "cpus": os.cpu_count(),
    "shared_libraries": sorted(l.split()[0] for l in shared if l.strip() and "=>" in l),
})
json.dump(r, open(out + ".json", "w"), indent=1)
s, i = r["ready_ms"], r["idle"]
lines = [f"# tokenproxy footprint ({commit}, {flags})", "",
         f"- exec → READY=1: median {s['median']} ms (min {s['min']}, max {s['max']}, {s['runs']} runs)",
         f"- idle: VmRSS {i['rss_kib']} KiB ({i['rss_kib'] / 1024:.1f} MiB; anon {i['rss_anon_kib']}, "
         f"file {i['rss_file_kib']}), {i['threads']} threads",
         *([f"- idle after {r['idle_after_requests']['requests']} token requests: VmRSS "
             f"{r['idle_after_requests']['rss_kib']} KiB ({r['idle_after_requests']['rss_kib'] / 1024:.1f} MiB; "
             f"anon {r['idle_after_requests']['rss_anon_kib']}, file {r['idle_after_requests']['rss_file_kib']})"]
           if r.get("idle_after_requests") else []),
         *([f"- quiet {r['quiet_after_requests']['seconds']:g} s after them (the idle page release): VmRSS "
            f"{r['quiet_after_requests']['rss_kib']} KiB ({r['quiet_after_requests']['rss_kib'] / 1024:.1f} MiB; "
            f"anon {r['quiet_after_requests']['rss_anon_kib']}, file {r['quiet_after_requests']['rss_file_kib']})"]
           if r.get("quiet_after_requests") else []),
         f"- binary {r['binary_bytes'] / 1e6:.1f} MB; shared libraries: {', '.join(r['shared_libraries'])}", ""]
for key, title in (("idle_connections_api", "token API socket"),
                   ("idle_connections_api_after_request",
                    "token API socket, each after one keep-alive token request"),
                   ("idle_connections_proxy", "proxy listener")):
    c = r.get(key)
    if not c:
        continue
    per = c["rss_per_held_connection_bytes"]
    lines.append(
        f"- {c['requested']} idle connections on the {title}: {c['connected']} connected, "
        f"{c['held_by_daemon']} held by tokenproxy ({c['daemon_fds']} fds); VmRSS {c['rss_kib']} KiB "
        f"(+{c['rss_growth_kib']} KiB, {per if per is not None else '-'} B per held connection), "
        f"{c['threads']} threads; after closing: {c['after_close']['rss_kib']} KiB, "
        f"{c['after_close']['threads']} threads; {c['later_after_close']['seconds']:g} s after "
        f"closing: {c['later_after_close']['rss_kib']} KiB, {c['later_after_close']['threads']} threads")
if r.get("idle_maps"):
    lines += ["", "Idle RSS by mapping, and the binary's resident pages (bench/footprint_maps.py):", "",
              "```", r["idle_maps"].rstrip(), "```"]
if r.get("served_maps"):
    lines += ["", "The same after 100 token requests:", "",
              "```", r["served_maps"].rstrip(), "```"]
n = r.get("nginx")
if n:
    lines.append(f"- nginx (1 worker, master + worker summed): idle {n['idle']['rss_kib']} KiB")
    for key, title in (("idle_connections_api", "a Unix socket"), ("idle_connections_proxy", "TCP")):
        c = n[key]
        lines.append(f"- nginx, {c['requested']} idle connections on {title}: {c['held_by_daemon']} held; "
                     f"VmRSS {c['rss_kib']} KiB (+{c['rss_growth_kib']} KiB, "
                     f"{c['rss_per_held_connection_bytes']} B per held connection)")
text = "\n".join(lines) + "\n"
open(out + ".md", "w").write(text)
print(text)
PY
echo "written: $out.json, $out.md"
