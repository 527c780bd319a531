#!/bin/bash
# Runs inside the booted container (tokenproxy-scenario.service), as an operator would: install
# the shipped units and binary, run sysusers and tmpfiles, then start, query, reload, restart,
# let the watchdog fire, stop. Each step appends "ok NAME …" or "FAIL NAME: why" to
# /results/steps.txt; the journal goes to /results/journal.txt; then the machine powers off.
# Payload (binary, units, config, key, IdP) is in /opt/tp-scenario, bound read-only.
set -u
P=/opt/tp-scenario
R=/results
SOCK=/run/tokenproxy/tokenproxy.sock
: >"$R/steps.txt"
ok() { echo "ok $*" >>"$R/steps.txt"; }
fail() { echo "FAIL $*" >>"$R/steps.txt"; }
# check NAME COMMAND…: runs the command, records the step and its output on failure.
check() {
    local name=$1
    shift
    local out
    if out=$("$@" 2>&1); then ok "$name"; return 0; fi
    fail "$name: $(echo "$out" | tail -5 | tr '\n' ' ')"
    return 1
}
main_pid() { systemctl show -p MainPID --value tokenproxy.service; }
# get PATH [CURL ARGS…]: HTTP status of a GET on the token socket.
get() {
    local path=$1
    shift
    curl -s -o /tmp/body -w '%{http_code}' --max-time 10 --unix-socket "$SOCK" "$@" "http://localhost$path"
}
expect_status() { # NAME WANT PATH: GET as root
    local got
    got=$(get "$2" -o /dev/null)
    [ "$got" = "$3" ] && ok "$1" || fail "$1: GET $2 gave $got, want $3"
}
# expect_status_soon NAME PATH WANT: as expect_status, retried for up to 10 s (after a
# `systemctl reload`, which only sends SIGHUP and returns before the daemon has reloaded).
expect_status_soon() {
    local got i
    for i in $(seq 1 20); do
        got=$(get "$2" -o /dev/null)
        [ "$got" = "$3" ] && { ok "$1 (after $i tries)"; return; }
        sleep 0.5
    done
    fail "$1: GET $2 gave $got for 10 s, want $3"
}
# as_unit NAME UNIT SUPPLEMENTARY_GROUPS PATH WANT: GET as user nobody inside a transient unit.
as_unit() {
    local got
    got=$(systemd-run --quiet --wait --pipe --unit="$2" --uid=nobody --gid=nogroup \
        -p SupplementaryGroups="$3" \
        curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$SOCK" \
        "http://localhost$4" 2>&1)
    [ "$got" = "$5" ] && ok "$1 ($2 got $got)" || fail "$1: $2 GET $4 gave '$got', want $5; $(systemd-run --quiet --wait --pipe --uid=nobody --gid=nogroup -p SupplementaryGroups="$3" bash -c "id; ls -ld /run/tokenproxy $SOCK" 2>&1 | tr '\n' ' ')"
}
wait_for() { # SECONDS COMMAND…
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}

scenario() {
    # 1. Install what the README tells an operator to install.
    check install bash -c "
        install -m 0755 $P/tokenproxy /usr/local/bin/tokenproxy &&
        install -m 0644 $P/units/tokenproxy.service $P/units/tokenproxy.socket /etc/systemd/system/ &&
        install -m 0644 $P/units/tokenproxy.sysusers /usr/lib/sysusers.d/tokenproxy.conf &&
        install -m 0644 $P/units/tokenproxy.tmpfiles /usr/lib/tmpfiles.d/tokenproxy.conf &&
        install -D -m 0644 $P/README.md /usr/local/share/doc/tokenproxy/README.md &&
        install -d /usr/local/share/man/man1 /usr/local/share/man/man5 &&
        install -m 0644 $P/man/man1/*.1 /usr/local/share/man/man1/ &&
        install -m 0644 $P/man/man5/*.5 /usr/local/share/man/man5/ &&
        install -m 0644 $P/test-users.sysusers /usr/lib/sysusers.d/tokenproxy-test.conf" || return
    check sysusers bash -c "systemd-sysusers && getent group tokenproxy && getent group tpreaders" || return
    check tmpfiles bash -c "systemd-tmpfiles --create /usr/lib/tmpfiles.d/tokenproxy.conf &&
        [ \"\$(stat -c %G /run/tokenproxy)\" = tokenproxy ]" || return
    check config bash -c "
        install -m 0600 $P/key.json /etc/tokenproxy/keys/zitadel-admin.json &&
        install -m 0644 $P/config.json /etc/tokenproxy/config.json"
    check verify systemd-analyze verify /etc/systemd/system/tokenproxy.service
    check documentation bash -c "systemctl show -p Documentation --value tokenproxy.service | grep -q /usr/local/share/doc/tokenproxy/README.md && test -f /usr/local/share/doc/tokenproxy/README.md"

    # 2. The IdP (Authlib test server) on the container's own loopback.
    check idp bash -c "systemctl start tp-authserver.service && $(declare -f wait_for); wait_for 30 test -f /run/tp-authserver.ready" || return

    # 3. Socket activation: the first request starts the service.
    systemctl daemon-reload
    check socket_start systemctl start tokenproxy.socket || return
    check service_not_started_yet bash -c "! systemctl is-active --quiet tokenproxy.service"
    expect_status activated_token /v1/tokens/open 200
    check service_active systemctl is-active tokenproxy.service
    check token_body grep -q access_token /tmp/body
    check status_text wait_for 15 bash -c \
        "systemctl show -p StatusText --value tokenproxy.service | grep -q 'tokens valid'"
    echo "status: $(systemctl show -p StatusText --value tokenproxy.service)" >>"$R/notes.txt"

    # 4. Operations listener: probes and metrics, never tokens.
    check ops_healthz curl -sf --max-time 5 http://127.0.0.1:9464/healthz
    check ops_readyz curl -sf --max-time 5 http://127.0.0.1:9464/readyz
    check ops_metrics bash -c "curl -sf --max-time 5 http://127.0.0.1:9464/metrics | grep -q tokenproxy_build_info"
    check ops_no_tokens bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9464/v1/tokens/open)\" = 404 ]"

    # 5. Per-credential access under a real systemd: unit, supplementary group, neither.
    as_unit allow_unit billing.service tokenproxy /v1/tokens/billing 200
    as_unit allow_group reader.service "tokenproxy tpreaders" /v1/tokens/billing 200
    as_unit refuse_other other.service tokenproxy /v1/tokens/billing 403
    as_unit open_other other2.service tokenproxy /v1/tokens/open 200

    # 6. Key isolation of the running service.
    local pid
    pid=$(main_pid)
    check non_dumpable bash -c "stat -c '%U %n' /proc/$pid/status /proc/$pid/environ; [ \"\$(stat -c %u /proc/$pid/environ)\" = 0 ]"
    check secure_heap_locked bash -c "! journalctl -u tokenproxy.service | grep -q 'secure heap'"
    check running_as_dynamic_user bash -c "[ \"\$(id -nu \$(awk '/^Uid:/ {print \$2}' /proc/$pid/status))\" = tokenproxyd ]"

    # 7. Reload: a good config (one more credential), then a broken one refused while serving.
    sed 's|"open":|"extra": {"key_file": "credential:zitadel-admin.json", "issuer": "'"$(cat $P/issuer)"'", "scopes": ["openid"]}, "open":|' \
        $P/config.json >/etc/tokenproxy/config.json
    check reload_good systemctl reload tokenproxy.service
    expect_status_soon reload_good_serves_new /v1/tokens/extra 200
    check reload_same_pid test "$(main_pid)" = "$pid"
    echo '{"credentials": ' >/etc/tokenproxy/config.json
    systemctl reload tokenproxy.service
    sleep 1
    check reload_broken_still_active systemctl is-active tokenproxy.service
    check reload_broken_same_pid test "$(main_pid)" = "$pid"
    expect_status reload_broken_still_serves /v1/tokens/open 200
    check reload_broken_logged bash -c "journalctl -u tokenproxy.service | grep -q 'reload refused'"
    install -m 0644 $P/config.json /etc/tokenproxy/config.json

    # 8. Restart: the activated socket survives (RuntimeDirectoryPreserve=yes).
    check restart systemctl restart tokenproxy.service
    check socket_file_after_restart test -S "$SOCK"
    expect_status serves_after_restart /v1/tokens/open 200
    check new_pid_after_restart test "$(main_pid)" != "$pid"

    # 9. Watchdog on a stopped process: restarted within about one interval.
    mkdir -p /etc/systemd/system/tokenproxy.service.d
    printf '[Service]\nWatchdogSec=%s\n' "$WATCHDOG" >/etc/systemd/system/tokenproxy.service.d/watchdog.conf
    systemctl daemon-reload
    check restart_short_watchdog systemctl restart tokenproxy.service
    expect_status serves_before_watchdog /v1/tokens/open 200
    pid=$(main_pid)
    local started=$EPOCHREALTIME
    kill -STOP "$pid"
    if wait_for 60 bash -c "p=\$(systemctl show -p MainPID --value tokenproxy.service); [ \"\$p\" != 0 ] && [ \"\$p\" != $pid ] && systemctl is-active --quiet tokenproxy.service"; then
        local elapsed
        elapsed=$(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $started }")
        ok "watchdog_restart seconds=$elapsed"
    else
        fail "watchdog_restart: no new main process within 60 s"
    fi
    expect_status serves_after_watchdog /v1/tokens/open 200
    check watchdog_logged bash -c "journalctl -u tokenproxy.service | grep -qi 'watchdog timeout'"

    # 10. Audit trail: first use logged with the caller, the token never.
    check audit_first_use bash -c "journalctl -u tokenproxy.service -o verbose | grep -q 'TP_CALLER_UNIT=billing.service'"
    check audit_no_token bash -c "token=\$(grep -o '\"access_token\":\"[^\"]*' /tmp/body | cut -d'\"' -f4); [ -n \"\$token\" ] && ! journalctl -o verbose | grep -qF \"\$token\""

    # 11. Stop: clean exit, the socket stays for the next activation.
    check stop systemctl stop tokenproxy.service
    check stop_result bash -c "[ \"\$(systemctl show -p Result --value tokenproxy.service)\" = success ]"
    check socket_kept_after_stop test -S "$SOCK"
    expect_status reactivated_after_stop /v1/tokens/open 200
}

scenario
echo "done" >>"$R/steps.txt"
journalctl -b --no-pager -u tokenproxy.service -u tokenproxy.socket -u tp-authserver.service >"$R/journal.txt" 2>&1
journalctl -b --no-pager -p warning >"$R/journal-warnings.txt" 2>&1
systemctl poweroff --no-block
