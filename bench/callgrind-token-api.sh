#!/usr/bin/env bash
# Instructions per token API request, counted exactly by callgrind (whatever the machine's
# noise): `tokenproxy dev` (release build) under valgrind, N keep-alive GETs of a cached token
# on the Unix socket from one Python client, counters zeroed before and dumped after them.
#
#   bench/callgrind-token-api.sh [BINARY] [REQUESTS]    # default: .build/release/tokenproxy, 20000
#
# Prints Ir per request and the top functions by self cost. Two workarounds for valgrind 3.19:
# the Swift binary's DWARF 5 is stripped from a copy (valgrind cannot read it), and libdispatch's
# sigsuspend in dispatchMain (which crashes valgrind) is replaced by an LD_PRELOAD shim.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
binary="${1:-.build/release/tokenproxy}"
requests="${2:-20000}"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ -x "$binary" ] || swift build -c release --product tokenproxy
work="$(mktemp -d /tmp/tp-callgrind.XXXXXX)"
pid=""
# stop: SIGTERM, then SIGKILL after 5 s (under valgrind the daemon may never see the signal).
cleanup() { stop "$pid" "tokenproxy under callgrind"; rm -rf "$work"; }
trap cleanup EXIT

callgrind_prepare "$binary"

LD_PRELOAD="$work/nosigsuspend.so" valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$work/tokenproxy" dev --dir "$work/dev" >"$work/dev.log" 2>&1 &
pid=$!
for _ in $(seq 1 240); do grep -q "token refreshed" "$work/dev.log" 2>/dev/null && break; sleep 0.5; done
grep -q "token refreshed" "$work/dev.log" || { cat "$work/dev.log" >&2; exit 1; }
python3 bench/keepalive_client.py "$work/dev/tokenproxy.sock" /v1/tokens/demo 200   # warm-up
callgrind_control -z "$pid" >/dev/null 2>&1
python3 bench/keepalive_client.py "$work/dev/tokenproxy.sock" /v1/tokens/demo "$requests"
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
callgrind_summary "$work/cg.out.1" "$requests" request
