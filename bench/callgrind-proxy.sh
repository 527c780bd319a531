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
#
# Then the same for nginx as an injecting reverse proxy (`proxy_set_header Authorization`, an
# upstream keepalive pool; one process: `master_process off; daemon off; worker_processes 1`)
# in front of the same upstream, with the same client and request count, and the ratio: the
# noise-free target. NGINX_REFERENCE=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
binary="${1:-.build/release/tokenproxy}"
requests="${2:-5000}"
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
[ -x "$binary" ] || binary="$(scripts/build-release)"
umask 077  # the key file must not be readable by others
work="$(mktemp -d /tmp/tp-callgrind-proxy.XXXXXX)"
pid="" idp_pid="" upstream_pid="" nginx_pid=""
cleanup() {
    stop "$pid" "tokenproxy under callgrind" # SIGKILL after 5 s: under valgrind it may not see SIGTERM
    stop "$nginx_pid" nginx
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

LD_PRELOAD="$work/nosigsuspend.so" valgrind --tool=callgrind "${callgrind_extra[@]}" --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$work/tokenproxy" serve --config "$work/config.json" \
    >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    curl -s -f -o /dev/null "http://127.0.0.1:$tp_port/api/small" 2>/dev/null && break
    sleep 0.2
done
curl -s -f -o /dev/null "http://127.0.0.1:$tp_port/api/small" || { show_log "$work/serve.log"; die "the proxy did not answer"; }
python3 bench/keepalive_client.py "$tp_port" /api/small 200   # warm-up
callgrind_settle
callgrind_control -z "$pid" >/dev/null 2>&1
python3 bench/keepalive_client.py "$tp_port" /api/small "$requests"
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
# CALLGRIND_OUT=FILE keeps the raw profile (for callgrind_annotate --inclusive=yes --tree=caller).
[ -n "${CALLGRIND_OUT:-}" ] && cp "$work/cg.out.1" "$CALLGRIND_OUT"
callgrind_summary "$work/cg.out.1" "$requests" "proxied request"
# The daemon under valgrind may not finish its drain promptly: it was dumped, so stop it hard.
stop "$pid" tokenproxy
pid=""
[ "${NGINX_REFERENCE:-1}" = 0 ] && exit 0

# --- the reference: nginx as an injecting reverse proxy, one process, same upstream and load ---
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx_bin" ] || die "nginx is missing (apt-get install nginx-light), or set NGINX_REFERENCE=0"
ng_port="$(free_port)"
mkdir -p "$work/ng"
cat >"$work/ng/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
pid $work/ng/nginx.pid;
error_log $work/ng/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $work/ng/body; proxy_temp_path $work/ng/proxy;
    fastcgi_temp_path $work/ng/fcgi; uwsgi_temp_path $work/ng/uwsgi; scgi_temp_path $work/ng/scgi;
    upstream upstream_pool { server 127.0.0.1:$up_port; keepalive 64; }
    server {
        listen 127.0.0.1:$ng_port;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "Bearer callgrind-reference-token";
        location /api/ { proxy_pass http://upstream_pool; }
    }
}
EOF
valgrind --tool=callgrind "${callgrind_extra[@]}" --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/ng.out" "$nginx_bin" -p "$work/ng" -e "$work/ng/error.log" \
    -c "$work/ng/nginx.conf" >"$work/ng/run.log" 2>&1 &
nginx_pid=$!
for _ in $(seq 1 300); do
    curl -s -f -o /dev/null "http://127.0.0.1:$ng_port/api/small" 2>/dev/null && break
    sleep 0.2
done
curl -s -f -o /dev/null "http://127.0.0.1:$ng_port/api/small" \
    || { show_log "$work/ng/error.log"; show_log "$work/ng/run.log"; die "nginx did not answer"; }
python3 bench/keepalive_client.py "$ng_port" /api/small 200   # warm-up
callgrind_control -z "$nginx_pid" >/dev/null
python3 bench/keepalive_client.py "$ng_port" /api/small "$requests"
callgrind_control -d "$nginx_pid" >/dev/null
sleep 1
[ -n "${CALLGRIND_OUT:-}" ] && cp "$work/ng.out.1" "$CALLGRIND_OUT.nginx"
echo
echo "nginx as an injecting proxy ($("$nginx_bin" -v 2>&1 | sed 's|.*/||'), one process, same upstream and client):"
callgrind_summary "$work/ng.out.1" "$requests" "proxied request" | awk 'NR <= 12 || /atomic instructions/'
python3 - "$work/cg.out.1" "$work/ng.out.1" "$requests" <<'PY'
import sys
def total(path):
    for line in open(path, errors="replace"):
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"no summary line in {path}")
ours, theirs, requests = total(sys.argv[1]), total(sys.argv[2]), int(sys.argv[3])
print(f"\ntokenproxy {ours / requests:.0f} vs nginx {theirs / requests:.0f} instructions per "
      f"proxied request: {ours / theirs:.2f}x nginx")
PY
