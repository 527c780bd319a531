#!/usr/bin/env bash
# Instructions per token API request, counted exactly by callgrind (whatever the machine's
# noise): `tokenproxy dev` (release build) under valgrind, N keep-alive GETs of a cached token
# on the Unix socket from one Python client, counters zeroed before and dumped after them.
# Then the same for nginx answering a body of the same size (bench/callgrind-nginx.sh
# token-api: one process, `return 200 '…'` on a Unix socket), the noise-free target, and the
# ratio.
#
#   bench/callgrind-token-api.sh [BINARY] [REQUESTS]    # default: .build/release/tokenproxy, 20000
#   CALLGRIND_OUT=/tmp/cg.out bench/callgrind-token-api.sh   # keep tokenproxy's raw profile
#   CALLGRIND_NGINX=0 bench/callgrind-token-api.sh           # tokenproxy only (bench/run)
#
# Prints Ir per request and the top functions by self cost. Two workarounds for valgrind 3.19:
# the Swift binary's DWARF 5 is stripped from a copy (valgrind cannot read it), and libdispatch's
# sigsuspend in dispatchMain (which crashes valgrind) is replaced by an LD_PRELOAD shim.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
binary="${1:-.build/release/tokenproxy}"
requests="${2:-20000}"
with_nginx="${CALLGRIND_NGINX:-1}"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ -x "$binary" ] || binary="$(scripts/build-release)"
work="$(mktemp -d /tmp/tp-callgrind.XXXXXX)"
pid=""
# stop: SIGTERM, then SIGKILL after 5 s (under valgrind the daemon may never see the signal).
cleanup() { stop "$pid" "tokenproxy under callgrind"; rm -rf "$work"; }
trap cleanup EXIT

callgrind_prepare "$binary"

LD_PRELOAD="$work/nosigsuspend.so" valgrind --tool=callgrind "${callgrind_extra[@]}" --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$work/tokenproxy" dev --dir "$work/dev" >"$work/dev.log" 2>&1 &
pid=$!
# Start-up under valgrind takes minutes on a loaded machine.
for _ in $(seq 1 1200); do grep -q "token refreshed" "$work/dev.log" 2>/dev/null && break; sleep 0.5; done
grep -q "token refreshed" "$work/dev.log" || { cat "$work/dev.log" >&2; exit 1; }
socket="$work/dev/tokenproxy.sock"
python3 bench/keepalive_client.py "$socket" /v1/tokens/demo 200   # warm-up
callgrind_settle
callgrind_control -z "$pid" >/dev/null 2>&1
python3 bench/keepalive_client.py "$socket" /v1/tokens/demo "$requests"
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
callgrind_summary "$work/cg.out.1" "$requests" request
[ -z "${CALLGRIND_OUT:-}" ] || cp "$work/cg.out.1" "$CALLGRIND_OUT"
[ "$with_nginx" = 1 ] || exit 0

# nginx with a body of the size tokenproxy answered, the same client and request count.
body_bytes="$(curl -s --unix-socket "$socket" http://localhost/v1/tokens/demo | wc -c)"
stop "$pid" "tokenproxy under callgrind"
pid=""
bash bench/callgrind-nginx.sh token-api "$requests" "$body_bytes" | tee "$work/nginx.txt"
python3 - "$work/cg.out.1" "$work/nginx.txt" "$requests" <<'PY'
import re, sys
ours = int(next(l.split()[1] for l in open(sys.argv[1]) if l.startswith("summary:"))) / int(sys.argv[3])
theirs = float(re.search(r"^(\d+) instructions per", open(sys.argv[2]).read(), re.M).group(1))
print(f"tokenproxy / nginx: {ours:.0f} / {theirs:.0f} = {ours / theirs:.2f}x the instructions per request")
PY
