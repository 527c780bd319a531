#!/usr/bin/env bash
# Benchmarks tokenproxy's token API (GET /v1/tokens/NAME on the Unix socket, token cached)
# against nginx answering a fixed JSON body of the same size on a Unix socket, with
# bench/loadgen (closed loop, keep-alive) at 1, 16 and 64 connections. Also measures
# tokenproxy's start-up (exec → READY=1, exec → first token) and idle RSS. Everything runs on
# loopback / Unix sockets in a temp dir; every process started here is stopped by pid on exit.
# Writes bench/results/token-api-DATE.{json,md}. This is a measurement, not a test: it fails
# only when something cannot run. See bench/README.md.
#
# Knobs (environment): BENCH_SECONDS (5) per run, BENCH_REPEATS (3), BENCH_CONNECTIONS
# ("1 16 64"), BENCH_PIN=1 (servers on CPU 0, loadgen on CPU 1, nginx with one worker),
# BENCH_INTERLEAVE_MS (50: both servers loaded in turns of 50 ms within each repeat, loadgen
# -i; 0: one after the other, BENCH_SECONDS each), BENCH_TURN_GAP_MS (1: the pause between
# turns, loadgen -g), BENCH_BIN (a built binary), BENCH_EVENT_LOOPS (tokenproxy's `api.event_loops`; default: from its CPUs), BENCH_BUSY_POLL_US (its `api.busy_poll_us`; default: the daemon's), BENCH_OUT_DIR (write OUT_DIR/token-api.{json,md}); BENCH_RATES (e.g. "1000 5000 10000": also each server paced at these requests/s, loadgen -r, on BENCH_RATE_CONNECTIONS (4) connections, one after the other, for its CPU time at a steady load; BENCH_CONNECTIONS=" " for these alone); BENCH_PROFILE=1 also profiles at the lowest and highest connection count (perf
# stat of both servers: CPU time, context switches; perf record of tokenproxy: top functions,
# self and inclusive) into bench/results/token-api-DATE.profile.txt. Needs perf (linux-perf).
set -euo pipefail
export LC_ALL=C # $EPOCHREALTIME and printf use the locale's decimal point
cd "$(dirname "$0")/.."
source bench/lib.sh

seconds="${BENCH_SECONDS:-5}"
repeats="${BENCH_REPEATS:-3}"
read -r -a connection_counts <<<"${BENCH_CONNECTIONS:-1 16 64}"
read -r -a rates <<<"${BENCH_RATES:-}"
rate_connections="${BENCH_RATE_CONNECTIONS:-4}"
export BENCH_RATE_CONNECTIONS="$rate_connections" # for the results' metadata
profile="${BENCH_PROFILE:-0}"
turn_knobs
credential=bench


# --- prerequisites: nginx is installed only if missing --------------------------------------
require_nginx_and_idp_tools

# --- state and clean-up ---------------------------------------------------------------------
work="$(mktemp -d /tmp/tokenproxy-bench.XXXXXX)"
idp_pid="" tokenproxy_pid="" nginx_pid="" helper_pid="" perf_pid="" record_pid=""
cleanup() {
    stop "$perf_pid" "perf stat"
    stop "$record_pid" "perf record"
    stop "$helper_pid" "start-up helper"
    stop "$nginx_pid" nginx
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

# --- 2. test IdP, key, configuration, tokenproxy ----------------------------------------------
umask 077
start_test_idp

api_socket="$work/tokenproxy.sock"
python3 - "$work" "$issuer" "$api_socket" "$credential" "${BENCH_EVENT_LOOPS:-}" "${BENCH_BUSY_POLL_US:-}" <<'PY'
import json, sys
work, issuer, socket_path, name, loops, busy_poll = sys.argv[1:7]
config = {"api": {"socket": socket_path, "socket_mode": "0600"},
          "credentials": {name: {"key_file": f"{work}/sa.json", "issuer": issuer,
                                 "scopes": ["openid"]}},
          "log": {"level": "info"}}
if loops:
    config["api"]["event_loops"] = int(loops)
if busy_poll:
    config["api"]["busy_poll_us"] = int(busy_poll)
with open(f"{work}/config.json", "w") as f:
    json.dump(config, f, indent=2)
PY

log "starting tokenproxy serve (NOTIFY_SOCKET → start-up helper)"
python3 bench/startup.py --notify-socket "$work/notify.sock" --api-socket "$api_socket" \
    --token-path "/v1/tokens/$credential" --started-file "$work/started" --timeout 30 \
    >"$work/startup.json" &
helper_pid=$!
for _ in $(seq 1 100); do [ -S "$work/notify.sock" ] && break; sleep 0.05; done
[ -S "$work/notify.sock" ] || die "the start-up helper did not bind its socket"
(
    printf '%s\n' "$EPOCHREALTIME" >"$work/started"
    NOTIFY_SOCKET="$work/notify.sock" exec "${on_server_cpu[@]}" "$bin" serve --config "$work/config.json"
) 2>"$work/tokenproxy.log" &
tokenproxy_pid=$!
if ! wait "$helper_pid"; then
    helper_pid=""
    show_log "$work/tokenproxy.log"
    die "tokenproxy did not become ready and serve a token"
fi
helper_pid=""
log "start-up: $(cat "$work/startup.json")"

proc_status() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$tokenproxy_pid/status"; }
sleep 1
rss_startup="$(proc_status VmRSS)"

# The token is cached now: measure the real response, then give nginx a body of the same size.
curl -s --unix-socket "$api_socket" -D "$work/tp.head" -o "$work/tp.body" \
    "http://localhost/v1/tokens/$credential"
body_bytes="$(wc -c <"$work/tp.body")"
python3 - "$work/tp.body" "$work/nginx.body" <<'PY'
import json, sys
real = json.load(open(sys.argv[1]))
size = len(open(sys.argv[1], "rb").read())
fake = {"access_token": "", "token_type": "Bearer",
        "expires_in": real["expires_in"], "expires_at": real["expires_at"]}
pad = size - len(json.dumps(fake, separators=(",", ":")))
fake["access_token"] = "x" * pad
text = json.dumps(fake, separators=(",", ":"))
assert len(text) == size, (len(text), size)
open(sys.argv[2], "w").write(text)
PY

# --- 3. nginx on a Unix socket, same body -------------------------------------------------------
nginx_socket="$work/nginx.sock"
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<EOF
worker_processes $nginx_worker_processes;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $work/nginx/body;
    server {
        listen unix:$nginx_socket;
        location / {
            default_type application/json;
            add_header Cache-Control no-store;
            return 200 '$(cat "$work/nginx.body")';
        }
    }
}
EOF
"${on_server_cpu[@]}" "$nginx_bin" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx.conf" &
nginx_pid=$!
for _ in $(seq 1 100); do [ -S "$nginx_socket" ] && break; sleep 0.05; done
[ -S "$nginx_socket" ] || { show_log "$work/nginx/error.log"; die "nginx did not start"; }
nginx_bytes="$(curl -s --unix-socket "$nginx_socket" http://localhost/v1/tokens/x | wc -c)"
[ "$nginx_bytes" = "$body_bytes" ] || die "nginx body is $nginx_bytes bytes, tokenproxy's $body_bytes"
log "response body: $body_bytes bytes from both"
nginx_workers="$(pgrep -c -P "$nginx_pid" || true)"

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
# --- 4. measure --------------------------------------------------------------------------------
declare -A sockets=([tokenproxy]="$api_socket" [nginx]="$nginx_socket")
declare -A pids=([tokenproxy]="$tokenproxy_pid" [nginx]="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')")
clock_ticks="$(getconf CLK_TCK)"
cpu_ticks() { # cpu_ticks TARGET: user+system clock ticks of the target's processes so far
    local pid total=0
    for pid in ${pids[$1]}; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
    echo "$total"
}
run() { # run TARGET CONNECTIONS SECONDS [LOADGEN_OPTION]...: loadgen's line plus the server's
    # CPU seconds, on stdout
    local before line
    before="$(cpu_ticks "$1")"
    line="$("${on_load_cpu[@]}" "$loadgen" "${@:4}" "unix:${sockets[$1]}" "$2" "$3" "/v1/tokens/$credential" 2>>"$work/loadgen.err" || true)"
    [ -n "$line" ] || die "loadgen printed nothing for $1 ($(tail -1 "$work/loadgen.err"))"
    echo "${line%\}}, \"server_cpu_s\": $(awk -v t=$(($(cpu_ticks "$1") - before)) -v hz="$clock_ticks" 'BEGIN { printf "%.2f", t / hz }')}"
}
run_pair() { # run_pair CONNECTIONS SECONDS: tokenproxy's and nginx's lines, loaded in turns
    # (loadgen -i: slices of $interleave_ms each, tokenproxy's first), each with its CPU seconds
    local tp_before nginx_before lines
    tp_before="$(cpu_ticks tokenproxy)" nginx_before="$(cpu_ticks nginx)"
    lines="$("${on_load_cpu[@]}" "$loadgen" -g "$turn_gap_ms" -i "$interleave_ms" "unix:${sockets[nginx]}" "unix:${sockets[tokenproxy]}" \
        "$1" "$2" "/v1/tokens/$credential" 2>>"$work/loadgen.err" || true)"
    [ "$(printf '%s\n' "$lines" | grep -c .)" = 2 ] \
        || die "loadgen printed no pair of lines ($(tail -1 "$work/loadgen.err"))"
    printf '%s\n' "$lines" | sed -n 1p | with_cpu "$(($(cpu_ticks tokenproxy) - tp_before))"
    printf '%s\n' "$lines" | sed -n 2p | with_cpu "$(($(cpu_ticks nginx) - nginx_before))"
}
with_cpu() { # with_cpu TICKS: the JSON line on stdin with "server_cpu_s" added
    local line
    read -r line
    echo "${line%\}}, \"server_cpu_s\": $(awk -v t="$1" -v hz="$clock_ticks" 'BEGIN { printf "%.2f", t / hz }')}"
}
log "warm-up"
run tokenproxy 16 1 >/dev/null
run nginx 16 1 >/dev/null
log "measuring: ${connection_counts[*]} connections × $repeats repeats × 2 targets × ${seconds} s"
: >"$work/runs.jsonl"
record() { # record TARGET REPEAT LINE [RATE]: RATE for a paced run (loadgen -r)
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(target=sys.argv[2], repeat=int(sys.argv[3]))
if len(sys.argv) > 4: r["rate"] = float(sys.argv[4])
print(json.dumps(r))' "$3" "$1" "$2" "${@:4}" >>"$work/runs.jsonl"
}
in_order() { # in_order REPEAT LABEL RATE CONNECTIONS [LOADGEN_OPTION]...: both targets one after
    # the other, each logged and recorded (RATE: a paced run's, "" for none); which goes first
    # alternates by repeat, so slow drift on a shared machine hits both alike
    local repeat="$1" label="$2" rate="$3" connections="$4" target line order=(tokenproxy nginx)
    shift 4
    [ $((repeat % 2)) -eq 0 ] && order=(nginx tokenproxy)
    for target in "${order[@]}"; do
        line="$(run "$target" "$connections" "$seconds" "$@")"
        log "  #$repeat $target $label $line"
        record "$target" "$repeat" "$line" ${rate:+"$rate"}
    done
}
for repeat in $(seq 1 "$repeats"); do
    for connections in "${connection_counts[@]}"; do
        if [ "$interleave_ms" != 0 ]; then
            # Both loaded in turns (loadgen -i): the machine's phases hit both alike.
            pair="$(run_pair "$connections" "$seconds")"
            for target in tokenproxy nginx; do
                line="$(printf '%s\n' "$pair" | sed -n 1p)"
                [ "$target" = nginx ] && line="$(printf '%s\n' "$pair" | sed -n 2p)"
                log "  #$repeat $target c=$connections (in turns) $line"
                record "$target" "$repeat" "$line"
            done
            continue
        fi
        in_order "$repeat" "c=$connections" "" "$connections"
    done
done

# Paced (BENCH_RATES): each server at a steady rate below its capacity, one after the other,
# for its CPU time while it waits between requests (bench/README.md, "Paced load").
if [ "${#rates[@]}" -gt 0 ]; then
    log "paced: ${rates[*]} requests/s on $rate_connections connections × $repeats repeats × 2 targets × ${seconds} s"
fi
for repeat in $(seq 1 "$repeats"); do
    for rate in "${rates[@]}"; do
        in_order "$repeat" "paced $rate/s" "$rate" "$rate_connections" -r "$rate"
    done
done

stamp="$(date +%Y-%m-%d-%H%M)"
out="$(results_prefix token-api "$stamp")"
if [ "$profile" = 1 ]; then
    profile_file="$out.profile.txt"
    : >"$profile_file"
    for connections in "${connection_counts[0]}" "${connection_counts[-1]}"; do
        for target in tokenproxy nginx; do
            log "profiling $target at $connections connections (${seconds} s)"
            # Warm up first: perf attaches to the threads that exist when it starts.
            run "$target" "$connections" 1 >/dev/null
            # shellcheck disable=SC2086  # one or several pids, joined with commas
            perf stat -e task-clock,context-switches,cpu-migrations -p "$(echo ${pids[$target]} | tr ' ' ,)" \
                -o "$work/perf-stat.txt" -- sleep "$seconds" &
            perf_pid=$!
            record_pid=""
            if [ "$target" = tokenproxy ]; then
                perf record -e cpu-clock -F 999 -g -a -o "$work/perf.data" \
                    -- sleep "$seconds" 2>"$work/perf.err" &
                record_pid=$!
            fi
            line="$(run "$target" "$connections" "$seconds")"
            wait "$perf_pid" || true
            perf_pid=""
            [ -z "$record_pid" ] || wait "$record_pid" || true
            record_pid=""
            { echo "=== $target, $connections connections: $line"
              grep -E 'task-clock|context-switches|cpu-migrations|elapsed' "$work/perf-stat.txt"
              echo; } >>"$profile_file"
        done
        { echo "--- tokenproxy at $connections connections: self time by function (perf, cpu-clock)"
          perf report -i "$work/perf.data" --pid "$tokenproxy_pid" --percentage relative --no-children --sort dso,symbol --stdio 2>/dev/null \
              | awk '/^ +[0-9]/ && n++ < 25'
          echo "--- tokenproxy at $connections connections: time including callees"
          perf report -i "$work/perf.data" --pid "$tokenproxy_pid" --percentage relative --children --sort symbol -g none --stdio 2>/dev/null \
              | awk '/^ +[0-9]/ && n++ < 45'
          echo; } | swift demangle --simplified | sed 's/ *$//' >>"$profile_file"
        if [ -n "${BENCH_KEEP_PERF:-}" ]; then cp "$work/perf.data" "$BENCH_KEEP_PERF.$connections"; fi
    done
    log "profile written to $profile_file"
fi

sleep 2
rss_after="$(proc_status VmRSS)"
rss_peak="$(proc_status VmHWM)"
tokenproxy_threads="$(proc_status Threads)"

# --- 5. report -----------------------------------------------------------------------------------
python3 - "$work" "$stamp" "$seconds" "$repeats" "$body_bytes" "$rss_startup" "$rss_after" \
    "$rss_peak" "$("$nginx_bin" -v 2>&1 | sed 's|.*/||')" "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
    "$(swift --version 2>&1 | head -1)" "${connection_counts[*]}" "$nginx_workers" "$tokenproxy_threads" "$load_before" \
    "${BENCH_PIN:-0}" "$(event_loops_logged "$work/tokenproxy.log")" <<'PY'
import json, os, platform, sys
(work, stamp, seconds, repeats, body, rss0, rss1, peak, nginx, commit, swift, counts, workers,
 threads, load_before, pinned, loops) = sys.argv[1:18]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
meta = {
    "date": stamp, "command": "bench/token-api.sh",
    "connections": [int(c) for c in counts.split()],
    "git_commit": commit, "cpu": cpu, "cpus": os.cpu_count(), "kernel": "Linux " + platform.release(),
    "load_average_before": load_before,
    "load_average_after": " ".join(open("/proc/loadavg").read().split()[:3]),
    "swift": swift, "nginx_version": nginx, "nginx_workers": int(workers),
    "tokenproxy_threads_after_benchmark": int(threads),
    "pinned": pinned == "1", "tokenproxy_event_loops": int(loops) if loops.isdigit() else None, "seconds": float(seconds), "repeats": int(repeats),
    "interleave_ms": float(os.environ["BENCH_INTERLEAVE_MS"]),
    "turn_gap_ms": float(os.environ["BENCH_TURN_GAP_MS"]),
    "rate_connections": int(os.environ["BENCH_RATE_CONNECTIONS"]),
    "body_bytes": int(body), "loadgen": "closed loop, keep-alive, 1 thread, epoll",
    "startup": json.load(open(f"{work}/startup.json")),
    "rss_kib": {"after_startup": int(rss0), "after_benchmark": int(rss1), "peak": int(peak)},
}
json.dump(meta, open(f"{work}/meta.json", "w"))
PY
echo
python3 bench/summarize.py "$work/runs.jsonl" "$work/meta.json" "$out"
echo
python3 - "$work/meta.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
s, r = m["startup"], m["rss_kib"]
print(f"start-up: exec → READY=1 {s['ready_ms']} ms, exec → first token {s['first_token_ms']} ms")
print(f"VmRSS: {r['after_startup']} KiB idle after start-up, {r['after_benchmark']} KiB after the "
      f"benchmark (peak {r['peak']} KiB)")
PY
echo "written: $out.json, $out.md"
