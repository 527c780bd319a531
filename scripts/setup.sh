#!/usr/bin/env bash
# Installs what building and testing tokenproxy needs on Debian/Ubuntu: the C libraries it links
# (OpenSSL, libsystemd), the peers the tests run against (nginx, curl, openssl), the checkers of
# the deploy files (shellcheck, docker-compose's `config`, man/groff, the shells whose
# completions are installed) and the Python test tools (Authlib authorization server, joserfc,
# pytest, hadolint, yamllint, kubernetes-validate). Sourced by scripts/run and
# scripts/test; safe to run again (it only installs what is missing).
set -euo pipefail

APT_PACKAGES=(libssl-dev libsystemd-dev pkg-config openssl curl nginx-light systemd python3-pip
    shellcheck docker-compose man-db groff-base util-linux zsh fish systemd-container)
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: the Swift toolchain (6.0 or later) is not on PATH; install it from swift.org" >&2
    exit 1
fi

if ! python3 -c 'import authlib, joserfc, flask, pytest, xdist, cryptography, requests, jsonschema, yaml, yamllint, kubernetes_validate' 2>/dev/null \
    || ! command -v hadolint >/dev/null 2>&1; then
    echo "setup: installing Python test tools" >&2
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
        -r "$root_dir/Tests/integration/requirements.txt" 2>/dev/null \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages \
            -r "$root_dir/Tests/integration/requirements.txt"
fi
