#!/usr/bin/env bash
# Runs the end-to-end suite against a throw-away local stack.
#
#   tests/e2e/run.sh [pytest arguments...]      e.g. tests/e2e/run.sh -k journey -x
#
# - Python dependencies go to build/venv-e2e (created once, refreshed when
#   tests/e2e/requirements.txt changes).
# - The stack lives in build/test-stack (wiped first; MDV_E2E_STACK_DIR
#   overrides) on its own ports, so it never clashes with a demo stack:
#   MDV_E2E_PORT_BASE, else MDV_PORT_BASE, else 27400.
# - MDV_BIN_DIR selects the binaries (default build/bin; the sanitizer build
#   uses build/asan/bin).
# - PostgreSQL runs with fsync off (MDV_PG_FSYNC=off): the data is wiped
#   anyway, and the suite runs faster.
# - The stack is always stopped at the end; on failure the tail of every
#   service log is printed. The exit code is pytest's, except that a run
#   whose tests passed but whose logs hold sanitizer reports exits 1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stack_sh="$repo/deploy/local/stack.sh"

# The test stack's settings are ours alone: never inherit a sourced demo
# stack's directory.
export MDV_STACK_DIR="${MDV_E2E_STACK_DIR:-$repo/build/test-stack}"
case "$MDV_STACK_DIR" in /*) ;; *) MDV_STACK_DIR="$repo/$MDV_STACK_DIR" ;; esac
export MDV_PORT_BASE="${MDV_E2E_PORT_BASE:-${MDV_PORT_BASE:-27400}}"
export MDV_BIN_DIR="${MDV_BIN_DIR:-$repo/build/bin}"
# A throw-away stack: PostgreSQL without fsync, for speed (the stack of
# `make up` stays durable; deploy/local/stack.sh, MDV_PG_FSYNC).
export MDV_PG_FSYNC=off
# The OpenID provider offers faulty ID tokens to the sign-in tests.
export MDV_OIDC_FAULTS=on
# The gateway keeps its public indicators 300 s; the tests look at them
# right after making journeys.
export MDV_INDICATORS_MAX_AGE_S=${MDV_INDICATORS_MAX_AGE_S:-5}
# The webhooks' schedule, shortened so that a delivery dies within seconds
# (6 attempts, 1 s doubling up to 8 s, about 15 s in all) and a rotated
# secret stops signing after 8 s; the defaults are hours (README,
# "Partners"). tests/e2e/test_webhooks.py reads the same variables.
export MDV_WEBHOOK_ATTEMPTS="${MDV_WEBHOOK_ATTEMPTS:-6}"
export MDV_WEBHOOK_BACKOFF_MS="${MDV_WEBHOOK_BACKOFF_MS:-1000}"
export MDV_WEBHOOK_BACKOFF_MAX_MS="${MDV_WEBHOOK_BACKOFF_MAX_MS:-8000}"
export MDV_WEBHOOK_TIMEOUT_MS="${MDV_WEBHOOK_TIMEOUT_MS:-5000}"
export MDV_WEBHOOK_SECRET_OVERLAP_S="${MDV_WEBHOOK_SECRET_OVERLAP_S:-8}"
case "$MDV_BIN_DIR" in /*) ;; *) MDV_BIN_DIR="$repo/$MDV_BIN_DIR" ;; esac
unset MDV_GATEWAY_URL

log() { printf 'e2e: %s\n' "$*" >&2; }

for tool in mdv-gateway mdv-identity mdv-student mdv-bereavement mdv-housing mdv-abroad mdv-token mdv-seed mdv-topics; do
    if [[ ! -x "$MDV_BIN_DIR/$tool" ]]; then
        log "$MDV_BIN_DIR/$tool not found: build first (make), or set MDV_BIN_DIR"
        exit 2
    fi
done
if [[ ! -f "$stack_sh" ]]; then
    log "$stack_sh not found"
    exit 2
fi

# --- Python environment ----------------------------------------------------
venv=$("$repo/tests/venv.sh")

# --- Stack -------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# One run at a time per stack folder: a second run would stop and wipe the
# first one's stack. The lock lives beside the stack folder, which is wiped;
# children get fd 8 closed so that no leftover process keeps it.
mkdir -p "$(dirname "$MDV_STACK_DIR")"
exec 8>"$MDV_STACK_DIR.lock"
if ! flock -n 8; then
    log "another end-to-end run is using ${MDV_STACK_DIR#"$repo"/}: wait for it, or set MDV_E2E_STACK_DIR"
    exit 2
fi

# Stop whatever a previous, interrupted run left running, then start afresh.
if [[ -d "$MDV_STACK_DIR" ]]; then
    bash "$stack_sh" down >/dev/null 2>&1 8>&- || true
    rm -rf "$MDV_STACK_DIR"
fi
for offset in 0 1 2 7 8 10 11 12 13 14 15 16; do
    port=$((MDV_PORT_BASE + offset))
    if port_in_use "$port"; then
        log "port $port (base $MDV_PORT_BASE + $offset) is already in use: set MDV_E2E_PORT_BASE to a free range"
        exit 2
    fi
done
mkdir -p "$MDV_STACK_DIR"

status=1
stack_started=0

print_logs() {
    local f
    for f in "$MDV_STACK_DIR"/logs/*.log; do
        [[ -f "$f" ]] || continue
        printf '\n===== %s (last 60 lines) =====\n' "${f#"$repo"/}" >&2
        tail -n 60 "$f" >&2
    done
}

service_logs() {
    local name f
    for name in gateway identity student bereavement housing abroad partners \
        simulator-cnav simulator-dgfip simulator-caf simulator-cpam; do
        # Instance 1 logs to NAME.log, instance K of a scaled service to NAME-K.log.
        for f in "$MDV_STACK_DIR/logs/$name.log" "$MDV_STACK_DIR/logs/$name"-[0-9].log \
            "$MDV_STACK_DIR/logs/mdv-$name.log"; do
            [[ -f "$f" ]] && echo "$f"
        done
    done
    return 0
}

sanitizer_pattern='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

finish() {
    local rc=$status f found=0
    trap - EXIT INT TERM
    if ((stack_started)); then
        log "stopping the test stack"
        bash "$stack_sh" down >&2 8>&- || log "stack.sh down failed"
        # After `down`, so that reports printed at exit (leaks) are seen too.
        while read -r f; do
            [[ -n "$f" ]] || continue
            if grep -q -E "$sanitizer_pattern" "$f"; then
                found=1
                log "sanitizer report in ${f#"$repo"/}:"
                grep -n -A 20 -E "$sanitizer_pattern" "$f" | head -n 80 >&2 || true
            fi
        done < <(service_logs)
        if ((found && rc == 0)); then
            rc=1
        fi
        if ((rc != 0)); then
            print_logs
        fi
    fi
    exit "$rc"
}
trap finish EXIT
trap 'status=130; exit 130' INT TERM

log "starting the test stack in ${MDV_STACK_DIR#"$repo"/} (port base $MDV_PORT_BASE)"
stack_started=1
if ! bash "$stack_sh" up 8>&-; then
    log "stack.sh up failed"
    exit 1
fi

set -a
# shellcheck disable=SC1091
. "$MDV_STACK_DIR/env"
set +a

# --- Tests -------------------------------------------------------------------
set +e
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest "$repo/tests/e2e" "$@" 8>&-
status=$?
set -e
