#!/usr/bin/env bash
# Runs every benchmark once, one after another, and writes one combined results file,
# bench/results/all-DATE.md, with each script's summary (and the JSON files they wrote):
# token-api.sh, proxy.sh, footprint.sh, and quickack.sh when it exists. The knobs of each
# script (BENCH_SECONDS, BENCH_REPEATS, BENCH_CONNECTIONS, BENCH_IDLE_CONNECTIONS, …) pass
# through. A measurement, not a test: it stops at the first script that cannot run.
# See bench/README.md.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

stamp="$(date +%Y-%m-%d-%H%M)"
mkdir -p bench/results
out="bench/results/all-$stamp.md"
scripts=(token-api.sh proxy.sh footprint.sh)
[ -x bench/quickack.sh ] && scripts+=(quickack.sh)

{
    echo "# tokenproxy benchmarks, $stamp"
    echo
    echo "- commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
    echo "- build: $(scripts/build-release --flags)"
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
    echo "- $(swift --version 2>&1 | head -1)"
    echo
} >"$out"

for script in "${scripts[@]}"; do
    printf '[%s] === bench/%s\n' "$(date +%T)" "$script" >&2
    log="$(mktemp /tmp/tokenproxy-run-all.XXXXXX)"
    # Each script prints its summary on stdout (progress on stderr) and names the files it wrote.
    if ! bash "bench/$script" >"$log"; then
        rm -f "$log"
        echo "run-all: bench/$script failed" >&2
        exit 1
    fi
    { echo "## bench/$script"; echo; cat "$log"; echo; } >>"$out"
    rm -f "$log"
done
echo "written: $out"
