# Shell helpers every bench script sources (after `cd` to the repository root):
# logging, stopping a process it started by pid, free ports and waiting for a listener.
# The variables it sets (idp_pid, issuer, nginx_bin) are the sourcing script's, and it reads
# the script's $work.
# shellcheck shell=bash disable=SC2034,SC2154

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
stop() { # stop PID NAME: SIGTERM, wait up to 5 s, then SIGKILL
    local pid="$1"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "$2 (pid $pid) ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
turn_knobs() { # sets interleave_ms (BENCH_INTERLEAVE_MS, 50) and turn_gap_ms (BENCH_TURN_GAP_MS,
    # 1): loadgen's -i and -g for a paired repeat; both exported for the results' metadata
    interleave_ms="${BENCH_INTERLEAVE_MS:-50}" turn_gap_ms="${BENCH_TURN_GAP_MS:-1}"
    export BENCH_INTERLEAVE_MS="$interleave_ms" BENCH_TURN_GAP_MS="$turn_gap_ms"
}
show_log() { [ -s "$1" ] && { log "last lines of $1:"; tail -20 "$1" >&2; }; return 0; }
build_release() { # build_release WORK: builds the static release binary, prints its path
    local out
    out="$(scripts/build-release 2>"$1/build.log")" || { show_log "$1/build.log"; die "swift build failed"; }
    tail -1 "$1/build.log" >&2
    printf '%s\n' "$out"
}
build_loadgen() { # build_loadgen WORK: compiles bench/loadgen.c into WORK, prints its path
    gcc -O2 -Wall -Wextra -o "$1/loadgen" bench/loadgen.c && printf '%s\n' "$1/loadgen"
}
make_test_ca() { # make_test_ca DIR: a throwaway CA (DIR/ca.pem) and a server certificate for
    # 127.0.0.1 and localhost signed by it (DIR/server.pem, DIR/server.key), valid 2 days
    local dir="$1"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-ca -keyout "$dir/ca.key" \
        -out "$dir/ca.pem" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$dir/server.key" \
        -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # wait_port PORT NAME LOG
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    show_log "$3"; die "$2 did not listen on 127.0.0.1:$1"
}

# start_test_idp: a throwaway service-user key ($work/sa.pem, ZITADEL-style $work/sa.json) and
# the Authlib test IdP that accepts it (jwt-bearer, tokens valid 3600 s), on a free port.
# Sets idp_pid (the caller's cleanup stops it) and issuer.
start_test_idp() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/sa.pem" 2>/dev/null
    python3 - "$work" <<'PY'
import json, subprocess, sys
work = sys.argv[1]
public = subprocess.run(["openssl", "pkey", "-in", f"{work}/sa.pem", "-pubout"], check=True,
                        capture_output=True, text=True).stdout
with open(f"{work}/sa.pem") as f:
    key = f.read()
with open(f"{work}/sa.json", "w") as f:
    json.dump({"type": "serviceaccount", "keyId": "bench-key", "key": key, "userId": "bench-user"}, f)
with open(f"{work}/clients.json", "w") as f:
    json.dump({"clients": [{"client_id": "bench-user", "public_key_pem": public,
                            "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
                            "scope": "openid"}]}, f)
PY
    python3 Tests/integration/authserver.py --clients "$work/clients.json" --port 0 \
        --token-lifetime 3600 --ready-file "$work/idp.json" >"$work/idp.log" 2>&1 &
    idp_pid=$!
    for _ in $(seq 1 100); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
    [ -s "$work/idp.json" ] || { show_log "$work/idp.log"; die "the test IdP did not start"; }
    issuer="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuer"])' "$work/idp.json")"
}

# require_nginx_and_idp_tools: nginx (installed with apt only if missing; sets nginx_bin), the
# test IdP's Python packages, and the command-line tools the scripts call.
require_nginx_and_idp_tools() {
    if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
        log "nginx is missing: installing nginx-light"
        local as_root=(); [ "$(id -u)" -eq 0 ] || as_root=(sudo)
        "${as_root[@]}" apt-get update -qq
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
    fi
    nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
    python3 -c 'import authlib, flask, joserfc, cryptography' 2>/dev/null \
        || die "the test IdP's Python packages are missing; run scripts/setup.sh once"
    for tool in gcc openssl curl swift; do
        command -v "$tool" >/dev/null || die "$tool is not on PATH (scripts/setup.sh installs the rest)"
    done
}

# callgrind_prepare BINARY: what valgrind 3.19 needs to run the Swift daemon, in $work: a copy
# of BINARY without its DWARF 5 debug info (valgrind cannot read it) as $work/tokenproxy, and
# $work/nosigsuspend.so, an LD_PRELOAD shim replacing libdispatch's sigsuspend in dispatchMain
# (which crashes valgrind). Also sets `callgrind_extra`, the array of CALLGRIND_EXTRA's options
# (split on spaces, e.g. --collect-bus=yes) for the scripts' valgrind command lines.
callgrind_prepare() {
    read -r -a callgrind_extra <<<"${CALLGRIND_EXTRA:-}"
    cp "$1" "$work/tokenproxy"
    strip --strip-debug "$work/tokenproxy"
    cat >"$work/nosigsuspend.c" <<'C'
#include <signal.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) { (void)mask; for (;;) sleep(3600); return -1; }
C
    gcc -shared -fPIC -O2 -o "$work/nosigsuspend.so" "$work/nosigsuspend.c"
}

# callgrind_summary FILE REQUESTS WHAT: instructions per request and the top 25 functions by
# self cost (a call's inclusive cost is not counted as self), demangled.
callgrind_summary() {
    python3 - "$1" "$2" "$3" <<'PY' | swift demangle --simplified | cut -c1-160
import collections, sys
path, requests, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
costs, fn, after_call = collections.Counter(), None, False
for line in open(path, errors="replace"):
    if line.startswith("fn="): fn, after_call = line[3:].strip(), False
    elif line.startswith("calls="): after_call = True
    elif line[:1].isdigit() or line[:1] in "+-*":
        parts = line.split()
        if len(parts) >= 2 and fn:
            if after_call: after_call = False      # a call's inclusive cost, not self
            else: costs[fn] += int(parts[1])
    elif line.startswith("summary:"): total = int(line.split()[1])
print(f"{total / requests:.0f} instructions per {what} ({total} over {requests} requests)")
print("self instructions per request, top 25:")
for name, cost in costs.most_common(25): print(f"{cost / requests:8.0f}  {name}")
# The daemon's start-up page release (Daemon.startMemoryTrimmer -> ResidentFileMapping, a parse
# of /proc/self/smaps: ~120 M instructions once) must not fall inside the counted window.
if any("ResidentFileMapping" in name and cost for name, cost in costs.items()):
    print("WARNING: the start-up page release (ResidentFileMapping) ran inside the counted window;"
          " the figure is too high: run again with a larger CALLGRIND_SETTLE")
PY
    # The atomic (locked) instructions among them: what the instruction count does not show.
    ATOMICS_TOP=6 ATOMICS_CALLERS=0 python3 bench/callgrind_atomics.py "$1" "$2" "$3" \
        | swift demangle --simplified | cut -c1-160
}

# callgrind_settle: waits before the counters are zeroed, so that the daemon's one-time work
# after READY (the start-up page release 1 s after READY, slow under valgrind) is done and not
# counted. CALLGRIND_SETTLE seconds (20).
callgrind_settle() { sleep "${CALLGRIND_SETTLE:-20}"; }

# --- what bench/run sets for the scripts it runs (each also works alone) ------------------------
# tokenproxy_binary WORK: $BENCH_BIN when set (bench/run builds once), else the release build.
tokenproxy_binary() {
    if [ -n "${BENCH_BIN:-}" ]; then
        [ -x "$BENCH_BIN" ] || die "BENCH_BIN=$BENCH_BIN is not an executable"
        printf '%s\n' "$BENCH_BIN"
    else
        build_release "$1"
    fi
}
# results_prefix NAME STAMP: where a script writes NAME's .json and .md: $BENCH_OUT_DIR/NAME when
# set (bench/run collects them there), else bench/results/NAME-STAMP.
results_prefix() {
    if [ -n "${BENCH_OUT_DIR:-}" ]; then
        mkdir -p "$BENCH_OUT_DIR" && printf '%s/%s\n' "$BENCH_OUT_DIR" "$1"
    else
        mkdir -p bench/results && printf 'bench/results/%s-%s\n' "$1" "$2"
    fi
}
# Pinned mode (BENCH_PIN=1; needs 2 CPUs): the servers measured run on one CPU (`taskset -c`,
# the first this shell may use: CPU 0 on a plain machine), loadgen and the helpers they need
# (the proxy's upstream) on the second, nginx with one worker. tokenproxy sizes its event loops
# from its affinity mask, so pinned it runs one loop, as nginx runs one worker. Unpinned:
# everything may use every CPU, nginx `worker_processes auto`.
# Use as "${on_server_cpu[@]}" COMMAND... and "${on_load_cpu[@]}" COMMAND...
on_server_cpu=() on_load_cpu=() nginx_worker_processes=auto
if [ "${BENCH_PIN:-0}" = 1 ]; then
    read -r server_cpu load_cpu _ <<<"$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
    [ -n "${load_cpu:-}" ] || die "BENCH_PIN=1 needs at least 2 CPUs"
    on_server_cpu=(taskset -c "$server_cpu") on_load_cpu=(taskset -c "$load_cpu") nginx_worker_processes=1
fi
# event_loops_logged LOG: the loop count tokenproxy logged at start-up ("event loops", loops=N).
event_loops_logged() {
    grep -m1 'event loops' "$1" 2>/dev/null | grep -o -E 'loops[^0-9]{1,6}[0-9]+' | grep -o -E '[0-9]+$' || echo "?"
}
