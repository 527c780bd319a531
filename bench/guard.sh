#!/usr/bin/env bash
# Benchmarks the proxy's guard route (bearer-token check by introspection, issue 9): requests/s
# through an injecting route (no guard), a guard-only route and a guard + inject route with a
# warm introspection cache, in front of one nginx upstream on loopback, and the IdP
# (introspection) requests the guarded runs caused, per 10,000 guarded requests. Every process
# started here is stopped by pid on exit. Writes bench/results/guard-DATE.{json,md}. A
# measurement, not a test: it fails only when something cannot run. See bench/README.md.
#
# Knobs (environment): BENCH_SECONDS (4) per run, BENCH_REPEATS (3), BENCH_CONNECTIONS
# ("1 16 64"), BENCH_BIN (a tokenproxy binary; default: scripts/build-release), BENCH_OUT_DIR
# (write OUT_DIR/guard.{json,md}).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
source bench/lib.sh

require_nginx_and_idp_tools
work="$(mktemp -d /tmp/tokenproxy-guardbench.XXXXXX)"
upstream_pid=""
cleanup() {
    stop "$upstream_pid" "nginx (upstream)"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bin="$(tokenproxy_binary "$work")" || exit 1
build_loadgen "$work" >/dev/null || die "cannot compile bench/loadgen.c"

# The upstream: nginx answering a fixed 128-byte body on any path.
up_port="$(free_port)"
body="$(printf '{"ok":true,"pad":"%0110d"}' 0)"
mkdir -p "$work/up"
cat >"$work/upstream.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/up/nginx.pid;
error_log $work/up/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $work/tmp-body; proxy_temp_path $work/tmp-proxy;
    fastcgi_temp_path $work/tmp-fcgi; uwsgi_temp_path $work/tmp-uwsgi; scgi_temp_path $work/tmp-scgi;
    server {
        listen 127.0.0.1:$up_port;
        location / { default_type application/json; return 200 '$body'; }
    }
}
CONF
"$nginx_bin" -p "$work/up" -e "$work/up/error.log" -c "$work/upstream.conf" &
upstream_pid=$!
wait_port "$up_port" "nginx (upstream)" "$work/up/error.log"

python3 bench/guard.py --bin "$bin" --loadgen "$work/loadgen" --work "$work" \
    --upstream "http://127.0.0.1:$up_port" --seconds "${BENCH_SECONDS:-4}" \
    --repeats "${BENCH_REPEATS:-3}" --connections "${BENCH_CONNECTIONS:-1 16 64}" \
    --out "$(results_prefix guard "$(date +%Y%m%d-%H%M%S)")"
