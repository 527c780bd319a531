#!/bin/bash
# Boots this machine's own OS under systemd-nspawn over a throwaway overlay of /, runs the
# scenario, powers off. Run inside `unshare --mount --propagation private`, so every mount
# here vanishes with the namespace. Arguments: WORKDIR (with payload/ and results/), TIMEOUT.
set -euo pipefail
work=$1
timeout_s=$2
mkdir -p "$work/layers" "$work/root"
mount -t tmpfs -o mode=0755 tmpfs "$work/layers"
mkdir -p "$work/layers/upper" "$work/layers/work"
mount -t overlay overlay \
    -o "lowerdir=/,upperdir=$work/layers/upper,workdir=$work/layers/work" "$work/root"
root=$work/root
payload=$work/payload
units=$root/etc/systemd/system
install -m 0644 "$payload/tp-authserver.service" "$payload/tokenproxy-scenario.service" "$units/"
mkdir -p "$units/multi-user.target.wants"
ln -sf ../tokenproxy-scenario.service "$units/multi-user.target.wants/tokenproxy-scenario.service"
mkdir -p "$root/opt/tp-scenario" "$root/results"
# nspawn's own seccomp filter refuses mlock (EPERM) inside the container; a host has no such
# filter, so allow @memlock to see the secure heap locked as it would be there.
exec timeout --kill-after=10 "$timeout_s" systemd-nspawn --quiet --register=no --keep-unit \
    --link-journal=no --machine="tp$$" --private-network \
    --system-call-filter=@memlock \
    -D "$root" --bind-ro="$payload:/opt/tp-scenario" --bind="$work/results:/results" \
    --boot </dev/null
