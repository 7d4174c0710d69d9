#!/usr/bin/env bash
# make bench: brings up a stack of its own (build/bench-stack, its own
# ports, a durable PostgreSQL: fsync, synchronous_commit and
# full_page_writes on), runs tests/bench/bench.py against it, and always
# tears it down. Never part of `make test`.
#
#   tests/bench/run.sh
#
# Environment: MDV_BENCH_PORT_BASE (default 17600: beside the stack of
# `make up` at 17400 and the end-to-end stack at 27400), MDV_BENCH_STACK_DIR
# (default build/bench-stack, wiped first), MDV_BIN_DIR (default build/bin),
# and the BENCH_* settings bench.py reads (the Makefile passes them).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stack_sh="$repo/deploy/local/stack.sh"

export MDV_STACK_DIR="${MDV_BENCH_STACK_DIR:-$repo/build/bench-stack}"
case "$MDV_STACK_DIR" in /*) ;; *) MDV_STACK_DIR="$repo/$MDV_STACK_DIR" ;; esac
export MDV_PORT_BASE="${MDV_BENCH_PORT_BASE:-17600}"
export MDV_BIN_DIR="${MDV_BIN_DIR:-$repo/build/bin}"
case "$MDV_BIN_DIR" in /*) ;; *) MDV_BIN_DIR="$repo/$MDV_BIN_DIR" ;; esac
# A durable database: what is measured is what a user's stack does.
export MDV_PG_FSYNC=on
# The services log at info; a bench measures them, not their debug logs.
export MDV_LOG_LEVEL="${MDV_LOG_LEVEL:-info}"

log() { printf 'bench: %s\n' "$*" >&2; }

for tool in wrk nginx; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool not found: run deploy/local/install-deps.sh"; exit 2; }
done
venv=$("$repo/tests/venv.sh")

mkdir -p "$(dirname "$MDV_STACK_DIR")"
exec 8>"$MDV_STACK_DIR.lock"
if ! flock -n 8; then
    log "another bench is using ${MDV_STACK_DIR#"$repo"/}: wait for it, or set MDV_BENCH_STACK_DIR"
    exit 2
fi
if [[ -d "$MDV_STACK_DIR" ]]; then
    bash "$stack_sh" down >/dev/null 2>&1 8>&- || true
    rm -rf "$MDV_STACK_DIR"
fi

status=1
finish() {
    trap - EXIT INT TERM
    log "stopping the bench stack"
    bash "$stack_sh" down >&2 8>&- || log "stack.sh down failed"
    exit "$status"
}
trap finish EXIT
trap 'status=130; exit 130' INT TERM

log "starting the bench stack in ${MDV_STACK_DIR#"$repo"/} (port base $MDV_PORT_BASE)"
bash "$stack_sh" up 8>&- >&2
set -a
# shellcheck disable=SC1091
. "$MDV_STACK_DIR/env"
set +a

set +e
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" "$repo/tests/bench/bench.py" 8>&-
status=$?
set -e
