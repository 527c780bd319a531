#!/usr/bin/env bash
# Instructions per proxied request toward an HTTPS upstream, counted exactly by callgrind:
# `tokenproxy serve` (release build) under valgrind with one route to
# https://127.0.0.1:PORT (a throwaway CA, `ca_file`), N keep-alive GETs through the proxy from
# one Python client (bench/keepalive_client.py), counters zeroed before and dumped after them.
# Then the same for nginx as an injecting reverse proxy toward the same upstream
# (`proxy_pass https://…`, upstream keepalive, `proxy_ssl_verify on`,
# `proxy_ssl_session_reuse on`; one process) and the ratio. NGINX_REFERENCE=0 skips nginx.
#
#   bench/callgrind-proxy-tls.sh [BINARY] [REQUESTS]    # default: .build/release/tokenproxy, 3000
#
# The upstream is nginx (not measured: it runs outside valgrind), answering a fixed 128-byte
# body over TLS; its access log records each request's connection number and whether its TLS
# session was resumed, so the script also prints the TLS handshakes each proxy made with the
# upstream inside the counted window (with keep-alive: none), and the protocol, cipher and key
# exchange group negotiated.
#
# UPSTREAM_KEEPALIVE_REQUESTS=N makes the upstream close each connection after N requests (its
# `keepalive_requests`; default: never), so both proxies reconnect every N requests: the
# handshake line then shows how many of those resumed a session.
#
# IDLE_UPSTREAMS=N (with STRACE=1) then makes N clients ask at once, so the daemon opens N TLS
# connections to the upstream and pools them, and prints its RSS before and after (what an idle
# pooled TLS connection costs, measured after the daemon's periodic malloc_trim).
#
# STRACE=1 adds syscalls per request for both (no valgrind: the release binary and nginx
# attached with `strace -f -c` for the counted requests only, every thread): how many
# read/write/epoll calls a TLS record costs. CALLGRIND_OUT=FILE keeps the raw profiles
# (FILE, FILE.nginx) for `callgrind_annotate --inclusive=yes`.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
binary="${1:-.build/release/tokenproxy}"
requests="${2:-3000}"
command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind)"
[ "${STRACE:-0}" = 1 ] && { command -v strace >/dev/null || die "strace is missing (apt-get install strace)"; }
require_nginx_and_idp_tools
[ -x "$binary" ] || binary="$(scripts/build-release)"
umask 077 # the key file must not be readable by others
work="$(mktemp -d /tmp/tp-callgrind-proxy-tls.XXXXXX)"
pid="" idp_pid="" upstream_pid="" nginx_pid="" strace_pid=""
cleanup() {
    stop "$strace_pid" strace
    stop "$pid" "tokenproxy" # SIGKILL after 5 s: under valgrind it may not see SIGTERM
    stop "$nginx_pid" nginx
    stop "$upstream_pid" "upstream nginx"
    stop "$idp_pid" "test IdP"
    rm -rf "$work"
}
trap cleanup EXIT

callgrind_prepare "$binary"

# --- the upstream: nginx over TLS (throwaway CA), a fixed 128-byte body, keep-alive ------------
make_test_ca "$work"
chmod -R a+rX "$work"
body="$(printf 'x%.0s' $(seq 1 128))"
up_port="$(free_port)"
mkdir -p "$work/up" "$work/ng"
temp_paths() { echo "client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fcgi; uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;"; }
cat >"$work/up/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/up/nginx.pid;
error_log $work/up/error.log warn;
events { worker_connections 1024; }
http {
    log_format tls '\$connection \$ssl_session_reused \$ssl_protocol \$ssl_cipher \$ssl_curve';
    access_log $work/up/access.log tls;
    keepalive_requests ${UPSTREAM_KEEPALIVE_REQUESTS:-100000000};
    keepalive_timeout 300s;
    $(temp_paths "$work/up")
    server {
        listen 127.0.0.1:$up_port ssl;
        ssl_certificate $work/server.pem;
        ssl_certificate_key $work/server.key;
        location / { default_type text/plain; return 200 '$body'; }
    }
}
EOF
"$nginx_bin" -p "$work/up" -e "$work/up/error.log" -c "$work/up/nginx.conf" >"$work/up/run.log" 2>&1 &
upstream_pid=$!
wait_port "$up_port" "upstream nginx" "$work/up/error.log"

# handshakes LABEL: what the upstream's access log says about the counted window.
handshakes() {
    python3 - "$work/up/access.log" "$requests" "$1" <<'PY'
import collections, sys
path, requests, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l.split() for l in open(path) if l.strip()]
connections = {l[0]: l for l in lines}
resumed = sum(1 for l in connections.values() if l[1] == "r")
kinds = collections.Counter(" ".join(l[2:]) for l in lines)
print(f"{label}: {len(lines)} upstream requests on {len(connections)} TLS connection(s) "
      f"({len(connections) - resumed} full handshake(s), {resumed} resumed); "
      + ", ".join(f"{k} ×{n}" for k, n in kinds.items()))
if len(lines) != requests:
    print(f"WARNING: the upstream saw {len(lines)} requests, not {requests}")
PY
}

# count_window PID PORT PATH: a warm-up (the upstream connection is opened), the settle time,
# then the counted requests under callgrind, with the upstream's access log emptied first.
count_window() {
    python3 bench/keepalive_client.py "$2" "$3" 200
    callgrind_settle
    : >"$work/up/access.log"
    callgrind_control -z "$1" >/dev/null 2>&1
    python3 bench/keepalive_client.py "$2" "$3" "$requests"
    callgrind_control -d "$1" >/dev/null 2>&1
    sleep 1
}

# strace_window PID PORT PATH OUT: syscalls per request of every thread of PID, no valgrind.
strace_window() {
    python3 bench/keepalive_client.py "$2" "$3" 200
    local threads=()
    for task in /proc/"$1"/task/*; do threads+=(-p "${task##*/}"); done
    strace -f -c -o "$4" "${threads[@]}" 2>/dev/null &
    strace_pid=$!
    sleep 1
    python3 bench/keepalive_client.py "$2" "$3" "$requests"
    kill -INT "$strace_pid"
    wait "$strace_pid" 2>/dev/null || true
    strace_pid=""
    python3 - "$4" "$requests" <<'PY'
import sys
path, requests = sys.argv[1], int(sys.argv[2])
rows = []
for line in open(path):
    parts = line.split()
    if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
        calls = int(parts[3])
        rows.append((calls, parts[-1]))
total = sum(c for c, _ in rows)
print(f"  {total / requests:.2f} syscalls per request: "
      + ", ".join(f"{name} {calls / requests:.2f}" for calls, name in sorted(rows, reverse=True)
                  if calls / requests >= 0.01))
PY
}

# --- tokenproxy ---------------------------------------------------------------------------------
start_test_idp
tp_port="$(free_port)"
python3 - "$work" "$issuer" "$tp_port" "$up_port" <<'PY'
import json, sys
work, issuer, tp_port, up_port = sys.argv[1:5]
json.dump({
    "api": {"socket": f"{work}/tokenproxy.sock", "socket_mode": "0600"},
    "credentials": {"bench": {"key_file": f"{work}/sa.json", "issuer": issuer, "scopes": ["openid"]}},
    "proxy": {"listen": [f"127.0.0.1:{tp_port}"],
              "routes": [{"path_prefix": "/api/", "upstream": f"https://127.0.0.1:{up_port}",
                          "credential": "bench", "ca_file": f"{work}/ca.pem"}]},
    "log": {"level": "warning"},
}, open(f"{work}/config.json", "w"))
PY
wait_answer() { # wait_answer PORT WHO LOG
    for _ in $(seq 1 600); do
        curl -s -f -o /dev/null "http://127.0.0.1:$1/api/small" 2>/dev/null && return 0
        sleep 0.2
    done
    show_log "$3"; show_log "$work/up/error.log"; die "$2 did not answer through the TLS upstream"
}
LD_PRELOAD="$work/nosigsuspend.so" valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$work/tokenproxy" serve --config "$work/config.json" \
    >"$work/serve.log" 2>&1 &
pid=$!
wait_answer "$tp_port" tokenproxy "$work/serve.log"
count_window "$pid" "$tp_port" /api/small
[ -n "${CALLGRIND_OUT:-}" ] && cp "$work/cg.out.1" "$CALLGRIND_OUT"
callgrind_summary "$work/cg.out.1" "$requests" "proxied request (https upstream)"
handshakes tokenproxy
stop "$pid" tokenproxy
pid=""
if [ "${STRACE:-0}" = 1 ]; then
    "$binary" serve --config "$work/config.json" >"$work/serve-strace.log" 2>&1 &
    pid=$!
    wait_answer "$tp_port" tokenproxy "$work/serve-strace.log"
    echo "tokenproxy, strace -f -c over $requests requests:"
    strace_window "$pid" "$tp_port" /api/small "$work/tp.strace"
    if [ -n "${IDLE_UPSTREAMS:-}" ]; then
        python3 - "$pid" "$tp_port" "$IDLE_UPSTREAMS" <<'PY'
import socket, sys, time
pid, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def rss():
    return next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
before = rss()
clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
for c in clients:
    c.sendall(b"GET /api/small HTTP/1.1\r\nHost: localhost\r\n\r\n")
for c in clients:
    data = b""
    while not data.endswith(b"x" * 128):
        data += c.recv(65536)
time.sleep(32)  # past the daemon's periodic malloc_trim (every 30 s), which returns freed heap
after = rss()
print(f"  {count} pooled upstream TLS connections (and their clients): RSS {before} -> {after} KiB, "
      f"{(after - before) * 1024 / count:.0f} B per connection")
PY
    fi
    stop "$pid" tokenproxy
    pid=""
fi
[ "${NGINX_REFERENCE:-1}" = 0 ] && exit 0

# --- the reference: nginx as an injecting reverse proxy toward the same upstream -----------------
ng_port="$(free_port)"
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
    $(temp_paths "$work/ng")
    upstream upstream_tls_pool { server 127.0.0.1:$up_port; keepalive 64; }
    server {
        listen 127.0.0.1:$ng_port;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "Bearer callgrind-reference-token";
        location /api/ {
            proxy_pass https://upstream_tls_pool;
            proxy_ssl_trusted_certificate $work/ca.pem;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;
        }
    }
}
EOF
valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/ng.out" "$nginx_bin" -p "$work/ng" -e "$work/ng/error.log" \
    -c "$work/ng/nginx.conf" >"$work/ng/run.log" 2>&1 &
nginx_pid=$!
wait_answer "$ng_port" nginx "$work/ng/error.log"
CALLGRIND_SETTLE=1 count_window "$nginx_pid" "$ng_port" /api/small
[ -n "${CALLGRIND_OUT:-}" ] && cp "$work/ng.out.1" "$CALLGRIND_OUT.nginx"
echo
echo "nginx as an injecting proxy toward the same TLS upstream ($("$nginx_bin" -v 2>&1 | sed 's|.*/||'), one process):"
callgrind_summary "$work/ng.out.1" "$requests" "proxied request (https upstream)" | awk 'NR <= 12 || /atomic instructions/'
handshakes nginx
stop "$nginx_pid" nginx
nginx_pid=""
if [ "${STRACE:-0}" = 1 ]; then
    "$nginx_bin" -p "$work/ng" -e "$work/ng/error.log" -c "$work/ng/nginx.conf" >"$work/ng/run.log" 2>&1 &
    nginx_pid=$!
    wait_answer "$ng_port" nginx "$work/ng/error.log"
    echo "nginx, strace -f -c over $requests requests:"
    strace_window "$nginx_pid" "$ng_port" /api/small "$work/ng.strace"
fi
python3 - "$work/cg.out.1" "$work/ng.out.1" "$requests" <<'PY'
import sys
def total(path):
    for line in open(path, errors="replace"):
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"no summary line in {path}")
ours, theirs, requests = total(sys.argv[1]), total(sys.argv[2]), int(sys.argv[3])
print(f"\ntokenproxy {ours / requests:.0f} vs nginx {theirs / requests:.0f} instructions per "
      f"proxied request (https upstream): {ours / theirs:.2f}x nginx")
PY
