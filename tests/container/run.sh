#!/usr/bin/env bash
# make container-test: every service as its image (deploy/Dockerfile, built by
# make images) against the local stack's PostgreSQL and Kafka, on the host's
# network, with the environment docker-compose.yml gives it.
#
#   tests/container/run.sh [pytest arguments...]
#
# - The engines come from deploy/local/stack.sh (`up --infra`: PostgreSQL,
#   the TLS-only broker with its ACLs, the topics, the keys; `start-oidc`:
#   the OpenID provider the gateway's container signs usagers in at), in
#   build/container-stack on the ports of MDV_CONTAINER_PORT_BASE (default
#   27700), student scaled to three (the env file lists their URLs).
# - The containers (tests/container/containers.py) are labelled with the
#   stack folder; those left by an interrupted run are removed first, and
#   every one of them at the end. Nobody else's containers are touched.
# - MDV_IMAGE_TAG (default dev) names the images; MDV_CONTAINER_ENGINE picks
#   docker or podman (deploy/container/engine.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stack_sh=$repo/deploy/local/stack.sh
# shellcheck source=deploy/container/engine.sh
. "$repo/deploy/container/engine.sh"

export MDV_STACK_DIR=${MDV_CONTAINER_STACK_DIR:-$repo/build/container-stack}
export MDV_PORT_BASE=${MDV_CONTAINER_PORT_BASE:-27700}
export MDV_BIN_DIR=${MDV_BIN_DIR:-$repo/build/bin}
export MDV_IMAGE_TAG=${MDV_IMAGE_TAG:-dev}
export MDV_PG_FSYNC=off
export SCALE="student=3"
export MDV_E2E_FIGURES=${MDV_E2E_FIGURES:-$repo/build/container-figures.txt}

log() { printf 'container-test: %s\n' "$*" >&2; }

engine_choose || exit 2
export MDV_CONTAINER_ENGINE=$ENGINE_NAME
for d in "$repo"/services/*/ tools; do
	t=$(basename "$d")
	if ! "${ENGINE[@]}" image inspect "mdv/$t:$MDV_IMAGE_TAG" >/dev/null 2>&1; then
		log "image mdv/$t:$MDV_IMAGE_TAG not found: run make images first"
		exit 2
	fi
done
for tool in mdv-topics mdv-token mdv-seed; do
	[[ -x $MDV_BIN_DIR/$tool ]] || {
		log "$MDV_BIN_DIR/$tool not found: run make first"
		exit 2
	}
done

mkdir -p "$(dirname "$MDV_STACK_DIR")"
exec 8>"$MDV_STACK_DIR.lock"
flock -n 8 || {
	log "another container test uses ${MDV_STACK_DIR#"$repo"/}"
	exit 2
}

remove_containers() {
	local ids
	ids=$("${ENGINE[@]}" ps -aq --filter "label=mdv.test-stack=$MDV_STACK_DIR" 2>/dev/null || true)
	[[ -z $ids ]] || "${ENGINE[@]}" rm -f -t 0 $ids >/dev/null 2>&1 || true
}

remove_containers
if [[ -d $MDV_STACK_DIR ]]; then
	bash "$stack_sh" down >/dev/null 2>&1 8>&- || true
	rm -rf "$MDV_STACK_DIR"
fi
mkdir -p "$MDV_STACK_DIR"

status=1
finish() {
	trap - EXIT INT TERM
	log "removing the containers, stopping the stack"
	remove_containers
	bash "$stack_sh" down >&2 8>&- || log "stack.sh down failed"
	exit "$status"
}
trap finish EXIT
trap 'status=130; exit 130' INT TERM

log "PostgreSQL and Kafka of the local stack in ${MDV_STACK_DIR#"$repo"/} (port base $MDV_PORT_BASE)"
bash "$stack_sh" up --infra 8>&- || {
	log "stack.sh up --infra failed"
	exit 1
}
# The stack's OpenID provider: the gateway's container signs usagers in there.
bash "$stack_sh" start-oidc 8>&- || {
	log "stack.sh start-oidc failed"
	exit 1
}
set -a
# shellcheck disable=SC1091
. "$MDV_STACK_DIR/env"
set +a

venv=$("$repo/tests/venv.sh")
set +e
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -c "$repo/tests/container/pytest.ini" \
	"$repo/tests/container" "$@" 8>&-
status=$?
set -e
