#!/usr/bin/env bash
# Benchmarks tokenproxy's injecting proxy against nginx configured as an injecting reverse proxy
# (proxy_set_header Authorization, upstream keepalive 64), both in front of the SAME nginx
# upstream on loopback: a small fixed body over http and https (throwaway CA), loadgen (closed
# loop, keep-alive) at 1/16/64 connections with the raw upstream as a baseline row, then a 1 GiB
# download through each proxy with curl, sampling the proxies' RSS. Every process started here
# is stopped by pid on exit. Writes bench/results/proxy-DATE.{json,md}. A measurement, not a
# test: it fails only when something cannot run. See bench/README.md.
#
# Knobs (environment): BENCH_SECONDS (4) per run, BENCH_REPEATS (3), BENCH_CONNECTIONS
# ("1 16 64") for http, BENCH_TLS_CONNECTIONS ("16") for https; BENCH_PROFILE=1 also records
# tokenproxy with perf (cpu-clock, -g) during one 16-connection http run and writes the top
# symbols to bench/results/proxy-DATE.profile.txt (needs linux-perf). BENCH_PIN=1: the proxies
# on CPU 0 (nginx with one worker), loadgen and the upstream on CPU 1; BENCH_DOWNLOAD=0 skips
# the 1 GiB downloads; BENCH_BIN (a built binary); BENCH_OUT_DIR (write OUT_DIR/proxy.{json,md});
# BENCH_EVENT_LOOPS (tokenproxy's `api.event_loops`; default: from its CPUs), BENCH_BUSY_POLL_US (its `api.busy_poll_us`; default: the daemon's);
# BENCH_PROXY_INHERITED=1 (the proxy's socket passed by systemd-socket-activate, see below);
# BENCH_INTERLEAVE_MS (50: the two proxies loaded in turns of 50 ms within each repeat, loadgen
# -i; 0: one after the other, BENCH_SECONDS each), BENCH_TURN_GAP_MS (1: the pause between
# turns, loadgen -g).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
source bench/lib.sh

seconds="${BENCH_SECONDS:-4}"
repeats="${BENCH_REPEATS:-3}"
read -r -a connection_counts <<<"${BENCH_CONNECTIONS:-1 16 64}"
read -r -a tls_connection_counts <<<"${BENCH_TLS_CONNECTIONS:-16}"
profile="${BENCH_PROFILE:-0}"
turn_knobs
credential=svc
small_path=/api/small
big_path=/api/big.bin


# --- prerequisites: nginx is installed only if missing --------------------------------------
require_nginx_and_idp_tools

# --- state and clean-up ---------------------------------------------------------------------
work="$(mktemp -d /tmp/tokenproxy-proxybench.XXXXXX)"
idp_pid="" tokenproxy_pid="" upstream_pid="" reference_pid="" sampler_pid="" record_pid=""
cleanup() {
    stop "$record_pid" "perf record"
    stop "$sampler_pid" "RSS sampler"
    stop "$reference_pid" "nginx (proxy)"
    stop "$upstream_pid" "nginx (upstream)"
    stop "$tokenproxy_pid" tokenproxy
    stop "$idp_pid" "test IdP"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. build ---------------------------------------------------------------------------------
log "building tokenproxy (release) and loadgen"
bin="$(tokenproxy_binary "$work")" || exit 1
loadgen="$(build_loadgen "$work")" || exit 1

# --- 2. throwaway CA and server certificate, the 1 GiB sparse file ------------------------------
umask 077
make_test_ca "$work"
mkdir -p "$work/www/api" "$work/up" "$work/ref"
truncate -s 1G "$work/www/api/big.bin"
chmod -R a+rX "$work"
big_bytes=$((1024 * 1024 * 1024))
# A small fixed body (128 bytes, a JSON-ish API answer).
small_body="$(python3 -c 'import json; b={"ok":True,"pad":""}; b["pad"]="x"*(128-len(json.dumps(b,separators=(",",":")))); print(json.dumps(b,separators=(",",":")))')"

up_port="$(free_port)"; up_tls_port="$(free_port)"; ref_port="$(free_port)"; tp_port="$(free_port)"
fixed_token="bench-$(openssl rand -hex 24)"

# --- 3. the upstream: one nginx, http and https, refusing requests without a bearer token -------
common_http="
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    sendfile on;
    client_body_temp_path $work/tmp-body; proxy_temp_path $work/tmp-proxy;
    fastcgi_temp_path $work/tmp-fcgi; uwsgi_temp_path $work/tmp-uwsgi; scgi_temp_path $work/tmp-scgi;"
cat >"$work/upstream.conf" <<EOF
worker_processes $nginx_worker_processes;
daemon off;
pid $work/up/nginx.pid;
error_log $work/up/error.log warn;
events { worker_connections 4096; }
http {
    $common_http
    map \$http_authorization \$bearer_ok { "~^Bearer ." 1; default 0; }
    server {
        listen 127.0.0.1:$up_port;
        listen 127.0.0.1:$up_tls_port ssl;
        ssl_certificate $work/server.pem;
        ssl_certificate_key $work/server.key;
        root $work/www;
        location = $small_path {
            if (\$bearer_ok = 0) { return 401; }
            default_type application/json;
            return 200 '$small_body';
        }
        location = $big_path {
            if (\$bearer_ok = 0) { return 401; }
            default_type application/octet-stream;
        }
    }
}
EOF
"${on_load_cpu[@]}" "$nginx_bin" -p "$work/up" -e "$work/up/error.log" -c "$work/upstream.conf" &
upstream_pid=$!
wait_port "$up_port" "nginx (upstream)" "$work/up/error.log"

# --- 4. the reference: nginx as an injecting reverse proxy ---------------------------------------
cat >"$work/reference.conf" <<EOF
worker_processes $nginx_worker_processes;
daemon off;
pid $work/ref/nginx.pid;
error_log $work/ref/error.log warn;
events { worker_connections 4096; }
http {
    $common_http
    upstream upstream_pool { server 127.0.0.1:$up_port; keepalive 64; }
    upstream upstream_tls_pool { server 127.0.0.1:$up_tls_port; keepalive 64; }
    server {
        listen 127.0.0.1:$ref_port;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Authorization "Bearer $fixed_token";
        # Buffer in memory only: a 1 GiB response must not be spooled to a temp file.
        proxy_max_temp_file_size 0;
        location /api/ { proxy_pass http://upstream_pool; }
        location /tls/ {
            proxy_pass https://upstream_tls_pool/api/;
            proxy_ssl_trusted_certificate $work/ca.pem;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;
        }
    }
}
EOF
"${on_server_cpu[@]}" "$nginx_bin" -p "$work/ref" -e "$work/ref/error.log" -c "$work/reference.conf" &
reference_pid=$!
wait_port "$ref_port" "nginx (proxy)" "$work/ref/error.log"

# --- 5. test IdP, key, tokenproxy with two proxy routes ------------------------------------------
start_test_idp
python3 - "$work" "$issuer" "$credential" "$tp_port" "$up_port" "$up_tls_port" "${BENCH_EVENT_LOOPS:-}" "${BENCH_BUSY_POLL_US:-}" <<'PY'
import json, sys
work, issuer, name, tp_port, up_port, up_tls_port, loops, busy_poll = sys.argv[1:9]
config = {
    "api": {"socket": f"{work}/tokenproxy.sock", "socket_mode": "0600"},
    "credentials": {name: {"key_file": f"{work}/sa.json", "issuer": issuer, "scopes": ["openid"]}},
    "proxy": {
        "listen": [f"127.0.0.1:{tp_port}"],
        "routes": [
            {"path_prefix": "/api/", "upstream": f"http://127.0.0.1:{up_port}", "credential": name},
            # /tls/X goes to https://127.0.0.1:PORT/api/X, like nginx's location /tls/.
            {"path_prefix": "/tls/", "strip_prefix": True,
             "upstream": f"https://127.0.0.1:{up_tls_port}/api", "credential": name,
             "ca_file": f"{work}/ca.pem"},
        ],
    },
    "log": {"level": "info"},
}
if loops:
    config["api"]["event_loops"] = int(loops)
if busy_poll:
    config["api"]["busy_poll_us"] = int(busy_poll)
json.dump(config, open(f"{work}/config.json", "w"), indent=2)
PY
log "starting tokenproxy serve"
# BENCH_PROXY_INHERITED=1: the proxy's listener comes from systemd-socket-activate (as under a
# tokenproxy.socket unit): one socket every loop shares, connections placed by load
# (`EventLoopLoad`), instead of one SO_REUSEPORT socket per loop.
activate=()
[ "${BENCH_PROXY_INHERITED:-0}" = 1 ] &&
    activate=(systemd-socket-activate -l "127.0.0.1:$tp_port" --fdname=proxy)
"${on_server_cpu[@]}" "${activate[@]}" "$bin" serve --config "$work/config.json" 2>"$work/tokenproxy.log" &
tokenproxy_pid=$!
wait_port "$tp_port" tokenproxy "$work/tokenproxy.log"

# Every path must answer 200 with the small body (the upstream refuses a missing bearer token).
check() { # check NAME URL [CURL ARGS...]
    local body
    for _ in $(seq 1 100); do
        body="$(curl -s -f "${@:3}" "$2" 2>/dev/null || true)"
        [ "$body" = "$small_body" ] && return 0
        sleep 0.1
    done
    show_log "$work/tokenproxy.log"; show_log "$work/ref/error.log"; show_log "$work/up/error.log"
    die "$1 did not answer $2 with the upstream's body (last: ${body:0:200})"
}
check tokenproxy "http://127.0.0.1:$tp_port$small_path"
check tokenproxy-https "http://127.0.0.1:$tp_port/tls/small"
check nginx "http://127.0.0.1:$ref_port$small_path"
check nginx-https "http://127.0.0.1:$ref_port/tls/small"
check upstream "http://127.0.0.1:$up_port$small_path" -H "Authorization: Bearer x"
check upstream-https "https://127.0.0.1:$up_tls_port$small_path" --cacert "$work/ca.pem" -H "Authorization: Bearer x"
log "all paths answer ${#small_body}-byte bodies; upstream :$up_port/:$up_tls_port (tls), nginx :$ref_port, tokenproxy :$tp_port"

# --- 6. load -----------------------------------------------------------------------------------
declare -A pids=([tokenproxy]="$tokenproxy_pid"
                 [nginx]="$reference_pid $(pgrep -P "$reference_pid" | tr '\n' ' ')"
                 [upstream]="$upstream_pid $(pgrep -P "$upstream_pid" | tr '\n' ' ')")
nginx_workers="$(pgrep -c -P "$reference_pid" || true)"
clock_ticks="$(getconf CLK_TCK)"
cpu_ticks() { # cpu_ticks TARGET [FIELDS]: user + system clock ticks (FIELDS "14": user only)
    local pid total=0 fields="${2:-14 15}"
    for pid in ${pids[$1]}; do
        total=$((total + $(awk -v f="$fields" '{ n = split(f, k, " "); s = 0; for (i = 1; i <= n; i++) s += $k[i]; print s }' "/proc/$pid/stat")))
    done
    echo "$total"
}
endpoint() { # endpoint TARGET SCHEME: sets port, path and header for loadgen
    header=()
    case "$1/$2" in
        tokenproxy/http) port=$tp_port path=$small_path ;;
        tokenproxy/https) port=$tp_port path=/tls/small ;;
        nginx/http) port=$ref_port path=$small_path ;;
        nginx/https) port=$ref_port path=/tls/small ;;
        upstream/http) port=$up_port path=$small_path header=("Authorization: Bearer $fixed_token") ;;
        *) die "no baseline for $1/$2 (loadgen speaks no TLS)" ;;
    esac
}
# How tokenproxy's loops share the connections, read after DELAY seconds from /metrics
# (`tokenproxy_loop_connections`, loop order, e.g. "10/6"; the token API's scrape connection
# is counted too, on whichever loop takes it), into $work/split.out; sets split_pid.
read_split_later() { # read_split_later DELAY
    { sleep "$1"
      curl -s --max-time 2 --unix-socket "$work/tokenproxy.sock" http://localhost/metrics \
          | awk '/^tokenproxy_loop_connections\{/ { v = v (v == "" ? "" : "/") $2 } END { print v }'
    } >"$work/split.out" 2>/dev/null &
    split_pid=$!
}
with_split() { # with_split: the JSON line on stdin with "loop_split" added (after split_pid ends)
    local line
    read -r line
    wait "$split_pid" || true
    echo "${line%\}}, \"loop_split\": \"$(cat "$work/split.out")\"}"
}
# The user-space share apart: the servers' own code, apart from the kernel's work on their
# behalf (at one connection both are alike, bench/README.md).
with_cpu() { # with_cpu TICKS USER_TICKS: the JSON line on stdin with the server's CPU seconds
    local line
    read -r line
    echo "${line%\}}, \"server_cpu_s\": $(awk -v t="$1" -v hz="$clock_ticks" 'BEGIN { printf "%.2f", t / hz }'), \"server_user_s\": $(awk -v t="$2" -v hz="$clock_ticks" 'BEGIN { printf "%.2f", t / hz }')}"
}
run() { # run TARGET SCHEME CONNECTIONS SECONDS: loadgen's line plus the proxy's CPU seconds
    local port path header before before_user line split_pid=""
    endpoint "$1" "$2"
    before="$(cpu_ticks "$1")" before_user="$(cpu_ticks "$1" 14)"
    [ "$1" = tokenproxy ] && read_split_later "$(awk -v s="$4" 'BEGIN { print s / 2 }')"
    line="$("${on_load_cpu[@]}" "$loadgen" "tcp:127.0.0.1:$port" "$3" "$4" "$path" "${header[@]}" 2>>"$work/loadgen.err" || true)"
    [ -n "$line" ] || die "loadgen printed nothing for $1/$2 ($(tail -1 "$work/loadgen.err"))"
    [ -n "$split_pid" ] && line="$(with_split <<<"$line")"
    with_cpu "$(($(cpu_ticks "$1") - before))" "$(($(cpu_ticks "$1" 14) - before_user))" <<<"$line"
}
run_pair() { # run_pair SCHEME CONNECTIONS SECONDS: tokenproxy's and nginx's lines, loaded in
    # turns (loadgen -i: slices of $interleave_ms each, tokenproxy's first), with CPU seconds
    local port path header tp_port_now nginx_port lines split_pid="" tp nginx
    endpoint nginx "$1"
    nginx_port=$port
    endpoint tokenproxy "$1"
    tp_port_now=$port
    tp=("$(cpu_ticks tokenproxy)" "$(cpu_ticks tokenproxy 14)") nginx=("$(cpu_ticks nginx)" "$(cpu_ticks nginx 14)")
    read_split_later "$3"
    lines="$("${on_load_cpu[@]}" "$loadgen" -g "$turn_gap_ms" -i "$interleave_ms" "tcp:127.0.0.1:$nginx_port" "tcp:127.0.0.1:$tp_port_now" \
        "$2" "$3" "$path" "${header[@]}" 2>>"$work/loadgen.err" || true)"
    [ "$(printf '%s\n' "$lines" | grep -c .)" = 2 ] \
        || die "loadgen printed no pair of lines for $1 ($(tail -1 "$work/loadgen.err"))"
    printf '%s\n' "$lines" | sed -n 1p | with_split \
        | with_cpu "$(($(cpu_ticks tokenproxy) - tp[0]))" "$(($(cpu_ticks tokenproxy 14) - tp[1]))"
    printf '%s\n' "$lines" | sed -n 2p \
        | with_cpu "$(($(cpu_ticks nginx) - nginx[0]))" "$(($(cpu_ticks nginx 14) - nginx[1]))"
}
record() { # record TARGET SCHEME REPEAT LINE
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(target=sys.argv[2], scheme=sys.argv[3], repeat=int(sys.argv[4])); print(json.dumps(r))' \
        "$4" "$1" "$2" "$3" >>"$work/runs.jsonl"
}
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
log "warm-up"
for t in tokenproxy nginx; do for s in http https; do run "$t" "$s" 16 1 >/dev/null; done; done
run upstream http 16 1 >/dev/null
: >"$work/runs.jsonl"
log "measuring: http ${connection_counts[*]} + https ${tls_connection_counts[*]} connections × $repeats repeats × ${seconds} s"
for repeat in $(seq 1 "$repeats"); do
    # Alternate which proxy goes first, so slow drift on a shared machine hits both alike.
    order=(tokenproxy nginx upstream)
    [ $((repeat % 2)) -eq 0 ] && order=(nginx tokenproxy upstream)
    for scheme in http https; do
        counts=("${connection_counts[@]}") targets=("${order[@]}")
        [ "$scheme" = https ] && counts=("${tls_connection_counts[@]}") targets=("${order[@]:0:2}")
        for connections in "${counts[@]}"; do
            if [ "$interleave_ms" != 0 ]; then
                # The two proxies loaded in turns (loadgen -i): the machine's phases hit both
                # alike. The upstream alone after them, as a baseline.
                pair="$(run_pair "$scheme" "$connections" "$seconds")"
                for target in tokenproxy nginx; do
                    line="$(printf '%s\n' "$pair" | sed -n 1p)"
                    [ "$target" = nginx ] && line="$(printf '%s\n' "$pair" | sed -n 2p)"
                    log "  #$repeat $scheme $target c=$connections (in turns) $line"
                    record "$target" "$scheme" "$repeat" "$line"
                done
                targets=()
                [ "$scheme" = http ] && targets=(upstream)
            fi
            for target in "${targets[@]}"; do
                line="$(run "$target" "$scheme" "$connections" "$seconds")"
                log "  #$repeat $scheme $target c=$connections $line"
                record "$target" "$scheme" "$repeat" "$line"
            done
        done
    done
done

stamp="$(date +%Y-%m-%d-%H%M)"
out="$(results_prefix proxy "$stamp")"
if [ "$profile" = 1 ]; then
    profile_file="$out.profile.txt"
    log "profiling tokenproxy at 16 connections (${seconds} s)"
    perf record -e cpu-clock -F 999 -g -p "$tokenproxy_pid" -o "$work/perf.data" \
        -- sleep "$seconds" 2>"$work/perf.err" &
    record_pid=$!
    line="$(run tokenproxy http 16 "$seconds")"
    wait "$record_pid" || true
    record_pid=""
    { echo "=== tokenproxy, http, 16 connections, under perf: $line"
      echo "--- self time by symbol (perf, cpu-clock)"
      perf report -i "$work/perf.data" --percentage relative --no-children --sort dso,symbol --stdio 2>/dev/null \
          | awk '/^ +[0-9]/ && n++ < 15'
      echo "--- including callees"
      perf report -i "$work/perf.data" --percentage relative --children --sort symbol -g none --stdio 2>/dev/null \
          | awk '/^ +[0-9]/ && n++ < 30'
    } | swift demangle --simplified | sed 's/ *$//' >"$profile_file"
    log "profile written to $profile_file"
fi

# --- 7. 1 GiB download through each proxy (and directly), sampling RSS --------------------------
download() { # download TARGET: sets speed (bytes/s) and peak (KiB, summed over its processes)
    local url args=() result
    case "$1" in
        tokenproxy) url="http://127.0.0.1:$tp_port$big_path" ;;
        nginx) url="http://127.0.0.1:$ref_port$big_path" ;;
        upstream) url="http://127.0.0.1:$up_port$big_path" args=(-H "Authorization: Bearer x") ;;
    esac
    # shellcheck disable=SC2086  # one or several pids, split into arguments on purpose
    python3 bench/proxy_rss.py ${pids[$1]} >"$work/rss.out" &
    sampler_pid=$!
    result="$(curl -s -f -o /dev/null -w '%{speed_download} %{size_download}' "${args[@]}" "$url")" \
        || die "the 1 GiB download through $1 failed"
    stop "$sampler_pid" "RSS sampler"
    sampler_pid=""
    peak="$(cat "$work/rss.out")"
    speed="${result% *}"
    [ "${result#* }" = "$big_bytes" ] || die "$1 delivered ${result#* } bytes, not $big_bytes"
}
rss_tp_before="$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$tokenproxy_pid/status")"
cat "$work/www/api/big.bin" >/dev/null # page cache: the upstream's disk is not measured
: >"$work/downloads.jsonl"
downloads=(1 2)
[ "${BENCH_DOWNLOAD:-1}" = 0 ] && downloads=()
for repeat in "${downloads[@]}"; do
    order=(tokenproxy nginx upstream)
    [ "$repeat" = 2 ] && order=(nginx tokenproxy upstream)
    for target in "${order[@]}"; do
        download "$target"
        log "  1 GiB #$repeat via $target: $(awk -v s="$speed" 'BEGIN { printf "%.0f", s / 1e6 }') MB/s, peak RSS $peak KiB"
        echo "{\"target\": \"$target\", \"repeat\": $repeat, \"bytes_per_s\": $speed, \"peak_rss_kib\": $peak}" >>"$work/downloads.jsonl"
    done
done
proc_status() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$tokenproxy_pid/status"; }
rss_tp_after="$(proc_status VmRSS)" hwm_tp="$(proc_status VmHWM)" threads_tp="$(proc_status Threads)"
grep -i -E 'error|warn' "$work/tokenproxy.log" | sort | uniq -c | head -5 >"$work/tp-warnings.txt" || true

# --- 8. report ------------------------------------------------------------------------------------
python3 - "$work" "$stamp" "$seconds" "$repeats" "${#small_body}" "$("$nginx_bin" -v 2>&1 | sed 's|.*/||')" \
    "$(git describe --always --dirty 2>/dev/null || echo unknown)" "$(swift --version 2>&1 | head -1)" \
    "$nginx_workers" "$threads_tp" "$load_before" "$rss_tp_before" "$rss_tp_after" "$hwm_tp" \
    "${BENCH_PIN:-0}" "$(event_loops_logged "$work/tokenproxy.log")" <<'PY'
import json, os, platform, sys
(work, stamp, seconds, repeats, body, nginx, commit, swift, workers, threads, load_before,
 rss0, rss1, hwm, pinned, loops) = sys.argv[1:17]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
meta = {
    "date": stamp, "command": "bench/proxy.sh", "git_commit": commit, "cpu": cpu,
    "cpus": os.cpu_count(), "kernel": "Linux " + platform.release(),
    "load_average_before": load_before,
    "load_average_after": " ".join(open("/proc/loadavg").read().split()[:3]),
    "swift": swift, "nginx_version": nginx, "nginx_workers": int(workers),
    "tokenproxy_threads_after_benchmark": int(threads), "seconds": float(seconds),
    "pinned": pinned == "1", "tokenproxy_event_loops": int(loops) if loops.isdigit() else None,
    "repeats": int(repeats), "body_bytes": int(body),
    "interleave_ms": float(os.environ["BENCH_INTERLEAVE_MS"]),
    "turn_gap_ms": float(os.environ["BENCH_TURN_GAP_MS"]),
    "loadgen": "closed loop, keep-alive, 1 thread, epoll",
    "tokenproxy_rss_kib": {"before_download": int(rss0), "after_download": int(rss1), "peak_vmhwm": int(hwm)},
    "tokenproxy_log_warnings": open(f"{work}/tp-warnings.txt").read().strip(),
    "downloads": [json.loads(l) for l in open(f"{work}/downloads.jsonl") if l.strip()],
}
json.dump(meta, open(f"{work}/meta.json", "w"))
PY
echo
python3 bench/proxy_summarize.py "$work/runs.jsonl" "$work/meta.json" "$out"
echo "written: $out.json, $out.md"
