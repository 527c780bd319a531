#!/usr/bin/env bash
# What TCP_QUICKACK on upstream sockets saves: an upstream that writes the response head and the
# body in two send()s with Nagle on (Python's http.server, many small frameworks) holds the body
# until the head is acknowledged; a proxy whose reused upstream connection delays that ACK
# (Linux's delayed ACK, ~40 ms) stalls every request. One closed-loop connection (loadgen, c=1,
# keep-alive) against: the upstream directly, tokenproxy (quickack on, the default), tokenproxy
# with TOKENPROXY_BENCH_NO_QUICKACK=1 (a benchmark-only switch) and nginx as an injecting
# reverse proxy (upstream keepalive). Every process started here is stopped by pid on exit.
# Writes bench/results/quickack-DATE.{json,md}. A measurement, not a test. See bench/README.md.
#
# Knobs (environment): BENCH_SECONDS (3) per run, BENCH_REPEATS (3), BENCH_BIN (a built binary),
# BENCH_OUT_DIR (write OUT_DIR/quickack.{json,md}).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
source bench/lib.sh

seconds="${BENCH_SECONDS:-3}"
repeats="${BENCH_REPEATS:-3}"
credential=svc
path=/api/small


require_nginx_and_idp_tools

work="$(mktemp -d /tmp/tokenproxy-quickack.XXXXXX)"
idp_pid="" upstream_pid="" reference_pid="" tp_pid="" tp_slow_pid=""
cleanup() {
    stop "$reference_pid" "nginx (proxy)"
    stop "$tp_slow_pid" "tokenproxy (no quickack)"
    stop "$tp_pid" tokenproxy
    stop "$upstream_pid" "upstream (http.server)"
    stop "$idp_pid" "test IdP"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. build ---------------------------------------------------------------------------------
log "building tokenproxy (release) and loadgen"
bin="$(tokenproxy_binary "$work")" || exit 1
loadgen="$(build_loadgen "$work")" || exit 1

up_port="$(free_port)"; ref_port="$(free_port)"; tp_port="$(free_port)"; tp_slow_port="$(free_port)"
fixed_token="bench-$(openssl rand -hex 24)"

# --- 2. the upstream: Python's http.server, HTTP/1.1 keep-alive, head and body in two sends ------
# BaseHTTPRequestHandler writes the buffered head at end_headers() and the body with a second
# write (wbufsize 0), Nagle on (disable_nagle_algorithm False): the case this benchmark is about.
cat >"$work/upstream.py" <<'PY'
import http.server, sys

BODY = b'{"ok":true,"pad":"' + b"x" * 108 + b'"}'

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()        # first send: the head
        self.wfile.write(BODY)    # second send: the body

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
python3 "$work/upstream.py" "$up_port" >"$work/upstream.log" 2>&1 &
upstream_pid=$!
wait_port "$up_port" "upstream (http.server)" "$work/upstream.log"

# --- 3. nginx as an injecting reverse proxy, one worker ------------------------------------------
mkdir -p "$work/ref"
cat >"$work/reference.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/ref/nginx.pid;
error_log $work/ref/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $work/tmp-body; proxy_temp_path $work/tmp-proxy;
    fastcgi_temp_path $work/tmp-fcgi; uwsgi_temp_path $work/tmp-uwsgi; scgi_temp_path $work/tmp-scgi;
    upstream upstream_pool { server 127.0.0.1:$up_port; keepalive 16; }
    server {
        listen 127.0.0.1:$ref_port;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "Bearer $fixed_token";
        location /api/ { proxy_pass http://upstream_pool; }
    }
}
EOF
"$nginx_bin" -p "$work/ref" -e "$work/ref/error.log" -c "$work/reference.conf" &
reference_pid=$!
wait_port "$ref_port" "nginx (proxy)" "$work/ref/error.log"

# --- 4. test IdP, key, two tokenproxies (quickack on and off) with one route each ----------------
umask 077
start_test_idp
write_config() { # write_config NAME PORT
    python3 - "$work" "$issuer" "$credential" "$2" "$up_port" "$1" <<'PY'
import json, sys
work, issuer, name, port, up_port, instance = sys.argv[1:7]
config = {
    "api": {"socket": f"{work}/{instance}.sock", "socket_mode": "0600"},
    "credentials": {name: {"key_file": f"{work}/sa.json", "issuer": issuer, "scopes": ["openid"]}},
    "proxy": {
        "listen": [f"127.0.0.1:{port}"],
        "routes": [{"path_prefix": "/api/", "upstream": f"http://127.0.0.1:{up_port}", "credential": name}],
    },
    "log": {"level": "warning"},
}
json.dump(config, open(f"{work}/{instance}.json", "w"), indent=2)
PY
}
write_config tp "$tp_port"
write_config tp-slow "$tp_slow_port"
log "starting tokenproxy serve (quickack) and tokenproxy serve (TOKENPROXY_BENCH_NO_QUICKACK=1)"
"$bin" serve --config "$work/tp.json" 2>"$work/tp.log" &
tp_pid=$!
TOKENPROXY_BENCH_NO_QUICKACK=1 "$bin" serve --config "$work/tp-slow.json" 2>"$work/tp-slow.log" &
tp_slow_pid=$!
wait_port "$tp_port" tokenproxy "$work/tp.log"
wait_port "$tp_slow_port" "tokenproxy (no quickack)" "$work/tp-slow.log"

declare -A ports=([direct]="$up_port" [tokenproxy]="$tp_port" [tokenproxy-no-quickack]="$tp_slow_port"
                  [nginx]="$ref_port")
targets=(direct tokenproxy tokenproxy-no-quickack nginx)
headers() { if [ "$1" = direct ]; then echo "Authorization: Bearer $fixed_token"; fi; }
for target in "${targets[@]}"; do
    body=""
    for _ in $(seq 1 100); do
        if [ "$target" = direct ]; then
            body="$(curl -s -f -H "$(headers direct)" "http://127.0.0.1:${ports[$target]}$path" 2>/dev/null || true)"
        else
            body="$(curl -s -f "http://127.0.0.1:${ports[$target]}$path" 2>/dev/null || true)"
        fi
        case "$body" in '{"ok":true'*) break ;; esac
        sleep 0.1
    done
    case "$body" in '{"ok":true'*) ;; *)
        show_log "$work/tp.log"; show_log "$work/ref/error.log"; die "$target did not answer $path with 200" ;;
    esac
done
log "all targets answer; upstream :$up_port, tokenproxy :$tp_port, no quickack :$tp_slow_port, nginx :$ref_port"

# --- 5. one keep-alive connection, sequential requests --------------------------------------------
run() { # run TARGET SECONDS
    local header=() line
    [ "$1" = direct ] && header=("$(headers direct)")
    line="$("$loadgen" "tcp:127.0.0.1:${ports[$1]}" 1 "$2" "$path" "${header[@]}" 2>>"$work/loadgen.err" || true)"
    [ -n "$line" ] || die "loadgen printed nothing for $1 ($(tail -1 "$work/loadgen.err"))"
    echo "$line"
}
# A fresh connection per request starts in quick-ACK mode, so it never stalls: the floor for
# this upstream (a Python client, so its own overhead is included).
fresh() { # fresh SECONDS: loadgen-like JSON line for new-connection-per-request to the upstream
    python3 - "$up_port" "$1" "$path" "$fixed_token" <<'PY'
import json, socket, sys, time
port, seconds, path, token = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
request = (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
           "Connection: close\r\n\r\n").encode()
samples, errors, start = [], 0, time.monotonic()
while time.monotonic() - start < seconds:
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    errors += not data.startswith(b"HTTP/1.1 200")
    samples.append(int((time.monotonic() - began) * 1e6))
elapsed = time.monotonic() - start
samples.sort()
pct = lambda p: samples[int((len(samples) - 1) * p)]
print(json.dumps({"connections": 1, "requests": len(samples), "errors": errors, "seconds": round(elapsed, 3),
                  "rps": round(len(samples) / elapsed, 1), "p50_us": pct(0.5), "p90_us": pct(0.9),
                  "p99_us": pct(0.99), "max_us": samples[-1]}))
PY
}
log "warm-up"
for target in "${targets[@]}"; do run "$target" 1 >/dev/null; done
: >"$work/runs.jsonl"
log "measuring: ${targets[*]} × $repeats repeats × ${seconds} s, one connection"
for repeat in $(seq 1 "$repeats"); do
    order=("${targets[@]}")
    [ $((repeat % 2)) -eq 0 ] && order=(nginx tokenproxy-no-quickack tokenproxy direct)
    for target in "${order[@]}" direct-new-connection; do
        if [ "$target" = direct-new-connection ]; then line="$(fresh "$seconds")"; else line="$(run "$target" "$seconds")"; fi
        log "  #$repeat $target $line"
        python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(target=sys.argv[2], repeat=int(sys.argv[3])); print(json.dumps(r))' \
            "$line" "$target" "$repeat" >>"$work/runs.jsonl"
    done
done

# --- 6. summary ------------------------------------------------------------------------------------
out="$(results_prefix quickack "$(date +%Y-%m-%d-%H%M)")"
python3 - "$work/runs.jsonl" "$out" "$seconds" "$repeats" \
    "$("$nginx_bin" -v 2>&1 | sed 's/.*: //')" "$(python3 --version)" "$(uname -r)" "$(nproc)" <<'PY'
import json, statistics, sys
runs_file, out, seconds, repeats, nginx, python, kernel, cpus = sys.argv[1:9]
runs = [json.loads(line) for line in open(runs_file)]
targets = ["direct-new-connection", "direct", "tokenproxy", "tokenproxy-no-quickack", "nginx"]
labels = {"direct-new-connection": "direct, a new connection per request (Python client)",
          "direct": "direct, one keep-alive connection (loadgen)", "tokenproxy": "tokenproxy (TCP_QUICKACK, default)",
          "tokenproxy-no-quickack": "tokenproxy, TOKENPROXY_BENCH_NO_QUICKACK=1", "nginx": "nginx 1 worker, keepalive upstream"}
rows = []
for t in targets:
    mine = [r for r in runs if r["target"] == t]
    rps = statistics.median(r["rps"] for r in mine)
    rows.append({"target": t, "rps": rps, "ms_per_request": 1000.0 / rps if rps else None,
                 "p50_us": statistics.median(r["p50_us"] for r in mine),
                 "p99_us": statistics.median(r["p99_us"] for r in mine),
                 "errors": sum(r["errors"] for r in mine)})
lines = [f"# TCP_QUICKACK: sequential keep-alive requests through a proxy to Python's http.server",
         "",
         f"One connection (loadgen c=1, closed loop), {seconds} s × {repeats} repeats, medians. "
         f"Upstream: `http.server` (HTTP/1.1, head and body in two sends, Nagle on). "
         f"nginx {nginx}, {python}, Linux {kernel}, {cpus} CPUs.",
         "",
         "| path | ms/request | requests/s | p50 µs | p99 µs | errors |",
         "|---|---|---|---|---|---|"]
for row in rows:
    lines.append(f"| {labels[row['target']]} | {row['ms_per_request']:.2f} | {row['rps']:.0f} | "
                 f"{row['p50_us']:.0f} | {row['p99_us']:.0f} | {row['errors']} |")
text = "\n".join(lines) + "\n"
open(out + ".md", "w").write(text)
json.dump({"summary": rows, "runs": runs, "nginx": nginx, "python": python, "kernel": kernel,
           "cpus": int(cpus)}, open(out + ".json", "w"), indent=2)
print(text)
PY
log "written $out.{md,json}"
