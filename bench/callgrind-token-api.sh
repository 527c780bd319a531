#!/usr/bin/env bash
# Instructions per token API request, counted exactly by callgrind (whatever the machine's
# noise): `tokenproxy dev` (release build) under valgrind, N keep-alive GETs of a cached token
# on the Unix socket from one Python client, counters zeroed before and dumped after them.
# Then the same for nginx (one process: `master_process off`, one worker) answering a fixed body
# of the same size on a Unix socket with `return 200 '…'`, the noise-free target.
#
#   bench/callgrind-token-api.sh [BINARY] [REQUESTS]    # default: .build/release/tokenproxy, 20000
#   CALLGRIND_OUT=/tmp/cg.out bench/callgrind-token-api.sh   # keep tokenproxy's raw profile
#   CALLGRIND_NGINX=0 bench/callgrind-token-api.sh           # tokenproxy only
#
# Prints Ir per request and the top functions by self cost for each, and the ratio. Two
# workarounds for valgrind 3.19: the Swift binary's DWARF 5 is stripped from a copy (valgrind
# cannot read it), and libdispatch's sigsuspend in dispatchMain (which crashes valgrind) is
# replaced by an LD_PRELOAD shim.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
binary="${1:-.build/release/tokenproxy}"
requests="${2:-20000}"
with_nginx="${CALLGRIND_NGINX:-1}"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ -x "$binary" ] || binary="$(scripts/build-release)"
work="$(mktemp -d /tmp/tp-callgrind.XXXXXX)"
pid="" nginx_pid=""
cleanup() {
    stop "$pid" tokenproxy
    stop "$nginx_pid" nginx
    rm -rf "$work"
}
trap cleanup EXIT
# Instructions in a callgrind dump (its `summary:` line).
total_of() { awk '/^summary:/ { print $2 }' "$1"; }

callgrind_prepare "$binary"

LD_PRELOAD="$work/nosigsuspend.so" valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$work/tokenproxy" dev --dir "$work/dev" >"$work/dev.log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do grep -q "token refreshed" "$work/dev.log" 2>/dev/null && break; sleep 0.5; done
grep -q "token refreshed" "$work/dev.log" || { cat "$work/dev.log" >&2; exit 1; }
socket="$work/dev/tokenproxy.sock"
python3 bench/keepalive_client.py "$socket" /v1/tokens/demo 200   # warm-up
callgrind_control -z "$pid" >/dev/null
python3 bench/keepalive_client.py "$socket" /v1/tokens/demo "$requests"
callgrind_control -d "$pid" >/dev/null
sleep 1
echo "== tokenproxy"
callgrind_summary "$work/cg.out.1" "$requests" request
[ -n "${CALLGRIND_OUT:-}" ] && cp "$work/cg.out.1" "$CALLGRIND_OUT"
ours="$(total_of "$work/cg.out.1")"
[ "$with_nginx" = 1 ] || exit 0

# nginx: the same client, the same request count, a body of the same size (what the daemon
# answered, its token replaced by x), the same two extra headers as tokenproxy's answer.
require_nginx_and_idp_tools
body_bytes="$(curl -s --unix-socket "$socket" http://localhost/v1/tokens/demo | wc -c)"
stop "$pid" tokenproxy   # under valgrind it may ignore SIGTERM: stop() then kills it
pid=""
body="$(python3 -c 'import sys; n = int(sys.argv[1]); t = "{\"access_token\":\"\",\"token_type\":\"Bearer\",\"expires_in\":3599,\"expires_at\":1700000000}"; print(t.replace("\"\"", "\"" + "x" * (n - len(t)) + "\"", 1))' "$body_bytes")"
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<NGINX
master_process off;
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $work/nginx/body;
    server {
        listen unix:$work/nginx.sock;
        location / {
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$body';
        }
    }
}
NGINX
valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/ngx.out" "$nginx_bin" -p "$work/nginx" -e "$work/nginx/error.log" \
    -c "$work/nginx.conf" >"$work/nginx.log" 2>&1 &
nginx_pid=$!
for _ in $(seq 1 200); do [ -S "$work/nginx.sock" ] && break; sleep 0.1; done
[ -S "$work/nginx.sock" ] || { show_log "$work/nginx.log"; die "nginx did not start under valgrind"; }
nginx_bytes="$(curl -s --unix-socket "$work/nginx.sock" http://localhost/v1/tokens/demo | wc -c)"
[ "$nginx_bytes" = "$body_bytes" ] || die "nginx body is $nginx_bytes bytes, tokenproxy's $body_bytes"
python3 bench/keepalive_client.py "$work/nginx.sock" /v1/tokens/demo 200   # warm-up
callgrind_control -z "$nginx_pid" >/dev/null
python3 bench/keepalive_client.py "$work/nginx.sock" /v1/tokens/demo "$requests"
callgrind_control -d "$nginx_pid" >/dev/null
sleep 1
echo "== nginx (one process, return 200 with a ${body_bytes}-byte body)"
callgrind_summary "$work/ngx.out.1" "$requests" request
theirs="$(total_of "$work/ngx.out.1")"
python3 -c 'import sys; o, t = int(sys.argv[1]), int(sys.argv[2]); print(f"== tokenproxy / nginx: {o / t:.2f}x the instructions per request")' "$ours" "$theirs"
