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
binary="${1:-.build/release/tokenproxy}"
requests="${2:-20000}"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ -x "$binary" ] || swift build -c release --product tokenproxy
work="$(mktemp -d /tmp/tp-callgrind.XXXXXX)"
pid=""
cleanup() { [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cp "$binary" "$work/tokenproxy"
strip --strip-debug "$work/tokenproxy"
cat >"$work/nosigsuspend.c" <<'C'
#include <signal.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) { (void)mask; for (;;) sleep(3600); return -1; }
C
gcc -shared -fPIC -O2 -o "$work/nosigsuspend.so" "$work/nosigsuspend.c"
cat >"$work/client.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
request, buffer = b"GET /v1/tokens/demo HTTP/1.1\r\nHost: localhost\r\n\r\n", b""
for _ in range(int(sys.argv[2])):
    s.sendall(request)
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = buffer[:end].decode()
            assert head.startswith("HTTP/1.1 200"), head
            length = int(next(l for l in head.split("\r\n") if l.lower().startswith("content-length:")).split(":")[1])
            if len(buffer) >= end + 4 + length:
                buffer = buffer[end + 4 + length:]
                break
        data = s.recv(65536)
        if not data: sys.exit("closed")
        buffer += data
PY

LD_PRELOAD="$work/nosigsuspend.so" valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/cg.out" "$work/tokenproxy" dev --dir "$work/dev" >"$work/dev.log" 2>&1 &
pid=$!
for _ in $(seq 1 240); do grep -q "token refreshed" "$work/dev.log" 2>/dev/null && break; sleep 0.5; done
grep -q "token refreshed" "$work/dev.log" || { cat "$work/dev.log" >&2; exit 1; }
python3 "$work/client.py" "$work/dev/tokenproxy.sock" 200   # warm-up
callgrind_control -z "$pid" >/dev/null
python3 "$work/client.py" "$work/dev/tokenproxy.sock" "$requests"
callgrind_control -d "$pid" >/dev/null
sleep 1
python3 - "$work/cg.out.1" "$requests" <<'PY' | swift demangle --simplified | cut -c1-160
import collections, sys
path, requests = sys.argv[1], int(sys.argv[2])
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
print(f"{total / requests:.0f} instructions per request ({total} over {requests} requests)")
print("self instructions per request, top 25:")
for name, cost in costs.most_common(25): print(f"{cost / requests:8.0f}  {name}")
PY
