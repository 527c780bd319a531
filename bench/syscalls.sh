#!/usr/bin/env bash
# Syscalls per request, by kind, for tokenproxy and nginx doing the same work: the token API
# (GET of a cached token on a Unix socket; nginx returns a body of the same size) and the
# injecting proxy (TCP client, TCP keep-alive upstream: the same nginx upstream for both).
# Counted exactly by the kernel's syscall tracepoints (`perf stat -e 'syscalls:sys_enter_*'`,
# cheap enough not to change the batching much), while bench/loadgen (closed loop, keep-alive)
# runs for BENCH_SECONDS; divided by the requests loadgen completed. Also: events per
# `epoll_wait` return (perf record of sys_exit_epoll_wait: the sum of the returns over the
# calls), and context switches per request (voluntary + involuntary, from
# /proc/PID/task/*/status, all threads). Every process started here is stopped by pid on exit.
# Prints one table (and writes it to bench/results/syscalls-DATE.md unless BENCH_OUT_DIR says
# otherwise). A measurement, not a test. Needs perf (linux-perf) and root, or
# kernel.perf_event_paranoid <= 1 with tracefs readable.
#
# Knobs: BENCH_SECONDS (3) per run, BENCH_CONNECTIONS ("1 16"), BENCH_PIN (1: the servers on
# the first CPU, loadgen and the upstream on the second, nginx with one worker), BENCH_BIN (a
# built binary; else the release build), BENCH_PARTS ("token-api proxy").
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
export BENCH_PIN="${BENCH_PIN:-1}"
source bench/lib.sh

seconds="${BENCH_SECONDS:-3}"
read -r -a connection_counts <<<"${BENCH_CONNECTIONS:-1 16}"
read -r -a parts <<<"${BENCH_PARTS:-token-api proxy}"
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"
require_nginx_and_idp_tools

work="$(mktemp -d /tmp/tokenproxy-syscalls.XXXXXX)"
idp_pid="" tokenproxy_pid="" api_nginx_pid="" upstream_pid="" reference_pid=""
cleanup() {
    stop "$reference_pid" "nginx (proxy)"
    stop "$upstream_pid" "nginx (upstream)"
    stop "$api_nginx_pid" "nginx (token API)"
    stop "$tokenproxy_pid" tokenproxy
    stop "$idp_pid" "test IdP"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bin="$(tokenproxy_binary "$work")" || exit 1
loadgen="$(build_loadgen "$work")" || exit 1
umask 077
mkdir -p "$work/api" "$work/up" "$work/ref" "$work/www"
chmod -R a+rX "$work"

# --- the upstream (load CPU) and nginx as an injecting proxy (server CPU) -----------------------
up_port="$(free_port)" ref_port="$(free_port)" tp_port="$(free_port)"
small_body='{"ok":true,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'
common_http="access_log off; keepalive_requests 100000000; keepalive_timeout 300s;
    client_body_temp_path $work/tmp-body; proxy_temp_path $work/tmp-proxy;
    fastcgi_temp_path $work/tmp-fcgi; uwsgi_temp_path $work/tmp-uwsgi; scgi_temp_path $work/tmp-scgi;"
nginx_conf() { # nginx_conf NAME HTTP-BLOCK: a one-worker (pinned) nginx configuration
    cat >"$work/$1.conf" <<EOF
worker_processes $nginx_worker_processes;
daemon off;
pid $work/$1/nginx.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http { $common_http
$2 }
EOF
}
nginx_conf up "server { listen 127.0.0.1:$up_port;
    location = /api/small { default_type application/json; return 200 '$small_body'; } }"
"${on_load_cpu[@]}" "$nginx_bin" -p "$work/up" -e "$work/up/error.log" -c "$work/up.conf" &
upstream_pid=$!
wait_port "$up_port" "nginx (upstream)" "$work/up/error.log"
nginx_conf ref "upstream pool { server 127.0.0.1:$up_port; keepalive 64; }
    server { listen 127.0.0.1:$ref_port; proxy_http_version 1.1;
        proxy_set_header Connection \"\"; proxy_set_header Authorization \"Bearer fixed-bench-token\";
        location /api/ { proxy_pass http://pool; } }"
"${on_server_cpu[@]}" "$nginx_bin" -p "$work/ref" -e "$work/ref/error.log" -c "$work/ref.conf" &
reference_pid=$!
wait_port "$ref_port" "nginx (proxy)" "$work/ref/error.log"

# --- tokenproxy: the token API and the proxy in one daemon (server CPU) -------------------------
start_test_idp
python3 - "$work" "$issuer" "$tp_port" "$up_port" <<'PY'
import json, sys
work, issuer, tp_port, up_port = sys.argv[1:5]
json.dump({
    "api": {"socket": f"{work}/tokenproxy.sock", "socket_mode": "0600"},
    "credentials": {"bench": {"key_file": f"{work}/sa.json", "issuer": issuer, "scopes": ["openid"]}},
    "proxy": {"listen": [f"127.0.0.1:{tp_port}"],
              "routes": [{"path_prefix": "/api/", "upstream": f"http://127.0.0.1:{up_port}",
                          "credential": "bench"}]},
    "log": {"level": "info"},
}, open(f"{work}/config.json", "w"))
PY
"${on_server_cpu[@]}" "$bin" serve --config "$work/config.json" 2>"$work/tokenproxy.log" &
tokenproxy_pid=$!
wait_port "$tp_port" tokenproxy "$work/tokenproxy.log"
for _ in $(seq 1 100); do
    curl -sf --unix-socket "$work/tokenproxy.sock" -o "$work/token.body" http://localhost/v1/tokens/bench && break
    sleep 0.1
done
[ -s "$work/token.body" ] || { show_log "$work/tokenproxy.log"; die "no token from tokenproxy"; }
curl -sf "http://127.0.0.1:$tp_port/api/small" >/dev/null || die "the proxy does not answer"

# --- nginx on a Unix socket answering a body of the token's size (server CPU) -------------------
nginx_body="$(python3 -c 'import sys; print("x" * len(open(sys.argv[1], "rb").read()))' "$work/token.body")"
nginx_conf api "server { listen unix:$work/nginx.sock;
    location / { default_type application/json; add_header Cache-Control no-store; return 200 '$nginx_body'; } }"
"${on_server_cpu[@]}" "$nginx_bin" -p "$work/api" -e "$work/api/error.log" -c "$work/api.conf" &
api_nginx_pid=$!
for _ in $(seq 1 100); do [ -S "$work/nginx.sock" ] && break; sleep 0.05; done
[ -S "$work/nginx.sock" ] || die "nginx (token API) did not start"

all_pids() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
cpu_nanoseconds() { # cpu_nanoseconds PIDS...: CPU time so far (schedstat), every thread
    local pid
    for pid in "$@"; do cat /proc/"$pid"/task/*/schedstat 2>/dev/null || true; done |
        awk '{ sum += $1 } END { printf "%.0f\n", sum }'
}
context_switches() { # context_switches PIDS...: voluntary + involuntary, every thread
    local pid
    for pid in "$@"; do cat /proc/"$pid"/task/*/status 2>/dev/null || true; done |
        awk '/^(non)?voluntary_ctxt_switches/ { sum += $2 } END { print sum + 0 }'
}

# measure LABEL PIDS TARGET PATH CONNECTIONS [HEADER]: one JSON line of figures per request.
measure() {
    local label="$1" pids="$2" target="$3" path="$4" connections="$5" header=("${@:6}")
    local list before after line cpu_line window
    window="$(awk -v s="$seconds" 'BEGIN { print s + 0.8 }')"
    list="$(echo "$pids" | xargs | tr ' ' ,)"
    "${on_load_cpu[@]}" "$loadgen" "$target" "$connections" 1 "$path" "${header[@]}" >/dev/null 2>&1 || true
    # Pass 1, counting: every syscall (tracepoints) and every epoll_wait return.
    perf stat -x, --per-thread -e 'syscalls:sys_enter_*' -p "$list" -o "$work/stat.txt" \
        -- sleep "$window" 2>/dev/null &
    local stat_pid=$!
    perf record -q -e syscalls:sys_exit_epoll_wait,syscalls:sys_exit_epoll_pwait -p "$list" \
        -o "$work/record.data" -- sleep "$window" >/dev/null 2>&1 &
    local record_pid=$!
    sleep 0.4
    line="$("${on_load_cpu[@]}" "$loadgen" "$target" "$connections" "$seconds" "$path" "${header[@]}" 2>/dev/null || true)"
    wait "$stat_pid" "$record_pid" || true
    perf script -i "$work/record.data" -F trace 2>/dev/null >"$work/returns.txt" || true
    # Pass 2, CPU (the tracepoints above cost CPU themselves): schedstat run time, context
    # switches, and where the time goes (cpu-clock samples: kernel or user, kernel symbols).
    perf record -q -e cpu-clock -F 1999 -p "$list" -o "$work/cpu.data" -- sleep "$window" >/dev/null 2>&1 &
    local cpu_pid=$!
    sleep 0.4
    # shellcheck disable=SC2086
    before="$(context_switches $pids) $(cpu_nanoseconds $pids)"
    cpu_line="$("${on_load_cpu[@]}" "$loadgen" "$target" "$connections" "$seconds" "$path" "${header[@]}" 2>/dev/null || true)"
    # shellcheck disable=SC2086
    after="$(context_switches $pids) $(cpu_nanoseconds $pids)"
    wait "$cpu_pid" || true
    perf report -i "$work/cpu.data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' >"$work/cpu.txt" || true
    # BENCH_KEEP_PROFILES=DIR keeps each whole profile (every symbol, not just the top few).
    if [ -n "${BENCH_KEEP_PROFILES:-}" ]; then
        cp "$work/cpu.txt" "$BENCH_KEEP_PROFILES/${label// /-}-c$connections.txt"
    fi
    read -r switches_before cpu_before <<<"$before"
    read -r switches_after cpu_after <<<"$after"
    python3 - "$label" "$connections" "$line" "$cpu_line" "$work/stat.txt" "$work/returns.txt" \
        "$((switches_after - switches_before))" "$((cpu_after - cpu_before))" "$work/cpu.txt" <<'PY'
import collections, json, sys
label, connections, line, cpu_line, stat, returns, switches, cpu_ns, profile = sys.argv[1:10]
load = json.loads(line)
requests = load["requests"] or 1
counts = collections.Counter()
threads = collections.Counter()
for row in open(stat):
    fields = row.strip().split(",")
    if len(fields) < 4 or not fields[1].strip().isdigit():
        continue
    thread, value, event = fields[0], int(fields[1]), fields[3]
    name = event.removeprefix("syscalls:sys_enter_")
    counts[name] += value
    threads[thread.rsplit("-", 1)[0]] += value
calls = waits = 0
for row in open(returns):
    text = row.strip().split()[-1] if row.strip() else ""
    try:
        value = int(text, 16) if text.startswith("0x") else int(text)
    except ValueError:
        continue
    calls += 1
    waits += max(value, 0)
kernel = user = 0.0
kernel_symbols = collections.Counter()
for row in open(profile):
    parts = row.split()
    share = float(parts[0].rstrip("%"))
    if parts[1] == "[kernel.kallsyms]":
        kernel += share
        kernel_symbols[parts[-1]] += share
    else:
        user += share
cpu_load = json.loads(cpu_line)
cpu_requests = cpu_load["requests"] or 1
cpu_us = int(cpu_ns) / cpu_requests / 1000
kernel_part = kernel / (kernel + user) if kernel + user else 0
print(json.dumps({
    "cpu_us_per_request": round(cpu_us, 2),
    "kernel_us_per_request": round(cpu_us * kernel_part, 2),
    "user_us_per_request": round(cpu_us * (1 - kernel_part), 2),
    "top_kernel_symbols_percent": {k: round(v, 1) for k, v in kernel_symbols.most_common(40)},
    "label": label, "connections": int(connections), "requests": requests, "rps": load["rps"],
    "per_request": {name: round(value / requests, 3) for name, value in counts.most_common() if value},
    "total_per_request": round(sum(counts.values()) / requests, 3),
    "events_per_wait": round(waits / calls, 2) if calls else None,
    "context_switches_per_request": round(int(switches) / cpu_requests, 3),
    "rps_untraced": cpu_load["rps"],
    "by_thread_per_request": {name: round(value / requests, 3) for name, value in threads.most_common(6) if value},
}))
PY
}

tp_pids="$(all_pids "$tokenproxy_pid")"
: >"$work/rows.jsonl"
for part in "${parts[@]}"; do
    for connections in "${connection_counts[@]}"; do
        case "$part" in
            token-api)
                measure "tokenproxy token API" "$tp_pids" "unix:$work/tokenproxy.sock" /v1/tokens/bench "$connections" >>"$work/rows.jsonl"
                measure "nginx token API" "$(all_pids "$api_nginx_pid")" "unix:$work/nginx.sock" /v1/tokens/bench "$connections" >>"$work/rows.jsonl" ;;
            proxy)
                measure "tokenproxy proxy" "$tp_pids" "tcp:127.0.0.1:$tp_port" /api/small "$connections" >>"$work/rows.jsonl"
                measure "nginx proxy" "$(all_pids "$reference_pid")" "tcp:127.0.0.1:$ref_port" /api/small "$connections" >>"$work/rows.jsonl" ;;
            *) die "unknown part $part" ;;
        esac
        log "$part c=$connections measured"
    done
done

stamp="$(date +%Y-%m-%d-%H%M)"
out="$(results_prefix syscalls "$stamp")"
python3 - "$work/rows.jsonl" "$out" "$(git rev-parse --short HEAD)" "${BENCH_PIN}" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
out, commit, pinned = sys.argv[2], sys.argv[3], sys.argv[4] == "1"
kinds = ["recvfrom", "read", "sendmsg", "sendto", "writev", "write", "epoll_wait", "epoll_pwait",
         "epoll_ctl", "futex", "accept4", "setsockopt", "getsockopt", "close"]
lines = [f"# syscalls per request — {commit}, {'pinned' if pinned else 'unpinned'}", "",
         "| server | c | rps (traced) | all | " + " | ".join(kinds) + " | other | events/epoll_wait | cswitch |",
         "|---" * (len(kinds) + 7) + "|"]
cpu = ["", "| server | c | rps | CPU µs/request | kernel µs | user µs | top kernel symbols (% of samples) |", "|---|---|---|---|---|---|---|"]
for row in rows:
    per = row["per_request"]
    other = {k: v for k, v in per.items() if k not in kinds and v >= 0.005}
    lines.append(f"| {row['label']} | {row['connections']} | {row['rps']:,.0f} | {row['total_per_request']:.2f} | "
                 + " | ".join(f"{per.get(k, 0):.2f}" for k in kinds)
                 + f" | {' '.join(f'{k} {v:.2f}' for k, v in other.items()) or '—'}"
                 + f" | {row['events_per_wait']} | {row['context_switches_per_request']:.3f} |")
    cpu.append(f"| {row['label']} | {row['connections']} | {row['rps_untraced']:,.0f} | {row['cpu_us_per_request']:.2f} | {row['kernel_us_per_request']:.2f} | "
               f"{row['user_us_per_request']:.2f} | {', '.join(f'{k} {v}' for k, v in list(row['top_kernel_symbols_percent'].items())[:6])} |")
lines += cpu
lines.append("")
lines.append("Per thread (syscalls per request): " + "; ".join(
    f"{row['label']} c={row['connections']}: " + ", ".join(f"{k} {v}" for k, v in row["by_thread_per_request"].items())
    for row in rows))
text = "\n".join(lines) + "\n"
open(out + ".md", "w").write(text)
json.dump(rows, open(out + ".json", "w"), indent=1)
print(text)
PY
