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

sys.path.insert(0, "bench")
from ratios import paired  # noqa: E402  (the pairing bench/run's verdicts use)

runs = [r for r in json.load(open(sys.argv[1]))["runs"]
        if r["connections"] == 1 and r.get("scheme", "http") == "http"]
for run in runs:
    run["cpu_us"] = run["server_cpu_s"] / run["requests"] * 1e6


def median(target, key):
    return statistics.median(r[key] for r in runs if r["target"] == target)


rps, p99 = paired(runs, "rps"), paired(runs, "p99_us")
print(f"round {sys.argv[2]} guest_halt_poll_ns={sys.argv[3]}: rps {median('tokenproxy', 'rps'):,.0f} "
      f"vs {median('nginx', 'rps'):,.0f}, paired {rps['median']:.3f} ({rps['low']:.2f}-{rps['high']:.2f}), "
      f"p99 {p99['median']:.2f}, CPU us/req {median('tokenproxy', 'cpu_us'):.1f} vs "
      f"{median('nginx', 'cpu_us'):.1f}")
EOF
    done
done
echo "haltpoll.sh: results in $out" >&2
