#!/usr/bin/env bash
# Instructions per proxied request, counted exactly by callgrind (whatever the machine's noise):
# `tokenproxy serve` (release build) under valgrind with one proxy route to a small keep-alive
# upstream (Python, one 128-byte response per request, written in one send), N keep-alive GETs
# through the proxy from one Python client, counters zeroed before and dumped after them.
#
#   bench/callgrind-proxy.sh [BINARY] [REQUESTS]    # default: .build/release/tokenproxy, 5000
#
# Prints Ir per request and the top functions by self cost (the daemon's process only: the
# client, the upstream and the test IdP are not counted). Same valgrind workarounds as
# callgrind-token-api.sh (DWARF 5 stripped from a copy; dispatchMain's sigsuspend shimmed).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
binary="${1:-.build/release/tokenproxy}"
requests="${2:-5000}"
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
[ -x "$binary" ] || binary="$(scripts/build-release)"
umask 077  # the key file must not be readable by others
work="$(mktemp -d /tmp/tp-callgrind-proxy.XXXXXX)"
pid="" idp_pid="" upstream_pid=""
cleanup() {
    stop "$pid" "tokenproxy under callgrind" # SIGKILL after 5 s: under valgrind it may not see SIGTERM
    stop "$upstream_pid" upstream
    stop "$idp_pid" "test IdP"
    rm -rf "$work"
}
trap cleanup EXIT

callgrind_prepare "$binary"

# The upstream: HTTP/1.1 keep-alive, a fixed 128-byte body, head and body in one send.
up_port="$(free_port)"
python3 bench/small_upstream.py "$up_port" &
upstream_pid=$!
wait_port "$up_port" upstream /dev/null

start_test_idp
tp_port="$(free_port)"
python3 - "$work" "$issuer" "$tp_port" "$up_port" <<'PY'
import json, sys
work, issuer, tp_port, up_port = sys.argv[1:5]
json.dump({
    "api": {"socket": f"{work}/tokenproxy.sock", "socket_mode": "0600"},
    "credentials": {"bench": {"key_file": f"{work}/sa.json", "issuer": issuer, "scopes": ["openid"]}},
    "proxy": {"listen": [f"127.0.0.1:{tp_port}"],
              "routes": [{"path_prefix": "/api/", "upstream": f"http://127.0.0.1:{up_port}",
                          "credential": "bench", "allow_plain_http": True}]},
    "log": {"level": "warning"},
}, open(f"{work}/config.json", "w"))
PY

LD_PRELOAD="$work/nosigsuspend.so" valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$work/tokenproxy" serve --config "$work/config.json" \
    >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    curl -s -f -o /dev/null "http://127.0.0.1:$tp_port/api/small" 2>/dev/null && break
    sleep 0.2
done
curl -s -f -o /dev/null "http://127.0.0.1:$tp_port/api/small" || { show_log "$work/serve.log"; die "the proxy did not answer"; }
python3 bench/keepalive_client.py "$tp_port" /api/small 200   # warm-up
callgrind_control -z "$pid" >/dev/null 2>&1
python3 bench/keepalive_client.py "$tp_port" /api/small "$requests"
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
# CALLGRIND_OUT=FILE keeps the raw profile (for callgrind_annotate --inclusive=yes --tree=caller).
[ -n "${CALLGRIND_OUT:-}" ] && cp "$work/cg.out.1" "$CALLGRIND_OUT"
callgrind_summary "$work/cg.out.1" "$requests" "proxied request"
