#!/usr/bin/env bash
# The one-connection proxy rows with this VM's guest halt polling as it is and turned on: how
# much of a c=1 request is the wake-up of a halted vCPU, for tokenproxy and nginx alike. Runs
# `BENCH_PIN=1 BENCH_CONNECTIONS=1 bench/proxy.sh` (five repeats of 3 s, no https, no
# download) with /sys/module/haltpoll/parameters/guest_halt_poll_ns at its current value and
# at BENCH_HALT_POLL_NS (200000), alternating, BENCH_ROUNDS (3) times each, and puts the value
# back on exit. Prints each run's medians and paired ratio; writes every proxy.json under
# bench/results/haltpoll-DATE/. A measurement of the machine, not of a change: see
# bench/README.md ("One connection"). Needs root and a guest with the haltpoll cpuidle driver.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

parameter=/sys/module/haltpoll/parameters/guest_halt_poll_ns
polling="${BENCH_HALT_POLL_NS:-200000}"
rounds="${BENCH_ROUNDS:-3}"
if [ ! -w "$parameter" ]; then
    echo "haltpoll.sh: $parameter is not writable (needs root and the haltpoll cpuidle driver)" >&2
    exit 1
fi
original="$(cat "$parameter")"
trap 'echo "$original" >"$parameter"' EXIT
out="bench/results/haltpoll-$(date +%Y-%m-%d-%H%M)"
mkdir -p "$out"

for round in $(seq 1 "$rounds"); do
    for value in "$original" "$polling"; do
        echo "$value" >"$parameter"
        dir="$out/round$round-poll$value"
        mkdir -p "$dir"
        BENCH_PIN=1 BENCH_CONNECTIONS=1 BENCH_TLS_CONNECTIONS=" " BENCH_REPEATS=5 \
            BENCH_SECONDS=3 BENCH_DOWNLOAD=0 BENCH_OUT_DIR="$dir" bash bench/proxy.sh \
            >"$dir/proxy.log" 2>&1
        python3 - "$dir/proxy.json" "$round" "$value" <<'EOF'
import json
import statistics
import sys

runs = json.load(open(sys.argv[1]))["runs"]
pairs = {}
for run in runs:
    if run["connections"] == 1 and run.get("scheme", "http") == "http":
        pairs.setdefault(run["repeat"], {})[run["target"]] = run
pairs = [p for p in pairs.values() if "tokenproxy" in p and "nginx" in p]
rps = {t: statistics.median(p[t]["rps"] for p in pairs) for t in ("tokenproxy", "nginx")}
cpu = {t: statistics.median(p[t]["server_cpu_s"] / p[t]["requests"] * 1e6 for p in pairs)
       for t in ("tokenproxy", "nginx")}
ratios = [p["tokenproxy"]["rps"] / p["nginx"]["rps"] for p in pairs]
p99 = [p["tokenproxy"]["p99_us"] / p["nginx"]["p99_us"] for p in pairs]
print(f"round {sys.argv[2]} guest_halt_poll_ns={sys.argv[3]}: rps {rps['tokenproxy']:,.0f} vs "
      f"{rps['nginx']:,.0f}, paired {statistics.median(ratios):.3f} "
      f"({min(ratios):.2f}-{max(ratios):.2f}), p99 {statistics.median(p99):.2f}, CPU us/req "
      f"{cpu['tokenproxy']:.1f} vs {cpu['nginx']:.1f}")
EOF
    done
done
echo "haltpoll.sh: results in $out" >&2
