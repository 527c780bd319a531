#!/usr/bin/env bash
# Instructions per request of nginx doing what tokenproxy does, counted by callgrind exactly as
# callgrind-token-api.sh and callgrind-proxy.sh count tokenproxy's: the noise-free reference
# for their figures.
#
#   bench/callgrind-nginx.sh token-api [REQUESTS] [BODY_BYTES]   # default 20000 requests, 1000 bytes
#   bench/callgrind-nginx.sh proxy [REQUESTS]                    # default 5000
#
# token-api: nginx answering a fixed JSON body of BODY_BYTES (`return 200`) on a Unix socket,
# keep-alive GETs from one Python client (bench/keepalive_client.py). proxy: nginx as an
# injecting reverse proxy (`proxy_set_header Authorization`, keep-alive upstream pool) in front
# of bench/small_upstream.py (128-byte body), the same client over TCP. nginx runs as one
# process (`master_process off`, `daemon off`) under valgrind, so the one process counted is
# the one doing the work; counters are zeroed after a warm-up and dumped after the requests.
# Prints Ir per request and the top functions by self cost.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
mode="${1:-}"
case "$mode" in
    token-api) requests="${2:-20000}" body_bytes="${3:-1000}" ;;
    proxy) requests="${2:-5000}" ;;
    *) die "usage: $0 token-api|proxy [REQUESTS] [BODY_BYTES]" ;;
esac
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
require_nginx_and_idp_tools
work="$(mktemp -d /tmp/tp-callgrind-nginx.XXXXXX)"
pid="" upstream_pid=""
cleanup() {
    stop "$pid" "nginx under callgrind"
    stop "$upstream_pid" upstream
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/nginx"
common="
master_process off;
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }"
temp_paths="client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;"
if [ "$mode" = token-api ]; then
    body="$(python3 -c 'import sys; n=int(sys.argv[1]); print("{\"access_token\":\"" + "x" * (n - 19) + "\"}")' "$body_bytes")"
    address="$work/nginx.sock" target=/v1/tokens/x
    cat >"$work/nginx.conf" <<EOF
$common
http {
    access_log off;
    keepalive_requests 100000000;
    $temp_paths
    server {
        listen unix:$address;
        location / {
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$body';
        }
    }
}
EOF
else
    up_port="$(free_port)" address="$(free_port)" target=/api/small
    python3 bench/small_upstream.py "$up_port" &
    upstream_pid=$!
    wait_port "$up_port" upstream /dev/null
    cat >"$work/nginx.conf" <<EOF
$common
http {
    access_log off;
    keepalive_requests 100000000;
    $temp_paths
    upstream upstream_pool { server 127.0.0.1:$up_port; keepalive 64; }
    server {
        listen 127.0.0.1:$address;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "Bearer bench-$(openssl rand -hex 24)";
        location /api/ { proxy_pass http://upstream_pool; }
    }
}
EOF
fi

valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$nginx_bin" -p "$work/nginx" -e "$work/nginx/error.log" \
    -c "$work/nginx.conf" >"$work/valgrind.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
    if [ "$mode" = token-api ]; then [ -S "$address" ] && break
    else (exec 3<>"/dev/tcp/127.0.0.1/$address") 2>/dev/null && break; fi
    sleep 0.1
done
python3 bench/keepalive_client.py "$address" "$target" 200 \
    || { show_log "$work/valgrind.log"; show_log "$work/nginx/error.log"; die "nginx did not answer"; }
callgrind_control -z "$pid" >/dev/null 2>&1
python3 bench/keepalive_client.py "$address" "$target" "$requests"
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
callgrind_summary "$work/cg.out.1" "$requests" "request (nginx, $mode)"
