# Sourced by images.sh and tests/container/run.sh: which container engine
# runs the images, and with which flags. Docker where a daemon answers;
# otherwise Debian's podman with the runc runtime (crun refuses a host
# whose cgroup set-up mixes v1 and v2) and explicit ulimits (podman's
# defaults ask for more than such a host lets a process raise).
# MDV_CONTAINER_ENGINE=docker|podman overrides the choice.
#
# Sets ENGINE (the command and its global flags, an array), ENGINE_NAME,
# ENGINE_RUN_FLAGS (what `build` and `run` take on every call, an array) and
# ENGINE_BUILD_FLAGS (what `build` takes besides: podman writes the Docker
# image format, since the OCI format has no HEALTHCHECK and podman would
# drop the images' own).

engine_choose() {
	local want=${MDV_CONTAINER_ENGINE:-}
	if [[ -z $want ]]; then
		if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
			want=docker
		elif command -v podman >/dev/null; then
			want=podman
		else
			printf '%s\n' "no container engine: install podman and runc (README, \"Images\")" >&2
			return 1
		fi
	fi
	ENGINE_NAME=$want
	case $want in
	docker)
		ENGINE=(docker)
		ENGINE_RUN_FLAGS=()
		ENGINE_BUILD_FLAGS=()
		;;
	podman)
		ENGINE=(podman)
		if command -v runc >/dev/null; then ENGINE+=(--runtime runc); fi
		ENGINE_RUN_FLAGS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
		ENGINE_BUILD_FLAGS=(--format docker)
		;;
	*)
		printf 'MDV_CONTAINER_ENGINE=%s: want docker or podman\n' "$want" >&2
		return 1
		;;
	esac
}
