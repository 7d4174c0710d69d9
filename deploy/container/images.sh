#!/usr/bin/env bash
# make images: every target of deploy/Dockerfile (one image per service, and
# `tools`) as mdv/<target>:TAG, with docker or podman (engine.sh).
#
# The Dockerfile starts FROM debian:<DEBIAN_RELEASE> and its -slim variant.
# When the engine has neither and cannot pull them (no registry reachable),
# they are made here from Debian's own packages: debootstrap (minbase) of
# bookworm from the Debian mirror, imported and tagged as the FROM names; the
# slim one without documentation, manuals and translations, as the official
# slim image. What was made is pinned in deploy/container/base-image.lock: the
# image ids and every package with its version. A later base that differs
# (another machine, a newer point release) is reported package by package,
# and refused with MDV_BASE_STRICT=1; MDV_BASE_REPIN=1 records it instead.
#
# Environment: MDV_IMAGE_TAG (default dev), MDV_CONTAINER_ENGINE,
# MDV_DEBIAN_MIRROR (default http://deb.debian.org/debian), MDV_BASE_STRICT,
# MDV_BASE_REPIN. Prints each image's size at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=deploy/container/engine.sh
. "$here/engine.sh"

DOCKERFILE=$repo/deploy/Dockerfile
LOCK=$here/base-image.lock
TAG=${MDV_IMAGE_TAG:-dev}
MIRROR=${MDV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
WORK=$repo/build/images
# The host's trust store, for the build's downloads (npm): a proxy's own CA
# is in it where there is one. A build secret: in no layer of any image.
CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

log() { printf 'images: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# The service targets are the folders of services/ (each has its target, a
# static check says so), then tools.
targets() {
	local d
	for d in "$repo"/services/*/; do basename "$d"; done
	echo tools
}

release() {
	sed -n 's/^ARG DEBIAN_RELEASE=//p' "$DOCKERFILE"
}

have_image() {
	"${ENGINE[@]}" image inspect "$1" >/dev/null 2>&1
}

try_pull() {
	log "pulling $1"
	timeout 120 "${ENGINE[@]}" pull "docker.io/library/$1" >/dev/null 2>&1
}

# The package list of a root file system, one name=version a line.
packages_of() {
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package}=${Version}\n' | sort
}

debootstrap_root() {
	local root=$1
	command -v debootstrap >/dev/null || die "debootstrap is needed to make the base image (README, \"Images\")"
	log "debootstrap $SUITE (minbase) from $MIRROR"
	debootstrap --variant=minbase --components=main "$SUITE" "$root" "$MIRROR" \
		>"$WORK/debootstrap.log" 2>&1 || {
		tail -n 20 "$WORK/debootstrap.log" >&2
		die "debootstrap failed (whole log: build/images/debootstrap.log)"
	}
	# As the official image: the release, its updates and its security fixes.
	cat >"$root/etc/apt/sources.list" <<-EOF
		deb $MIRROR $SUITE main
		deb $MIRROR $SUITE-updates main
		deb http://deb.debian.org/debian-security $SUITE-security main
	EOF
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
		"$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log "$root"/var/log/apt/*
}

# The official slim variant's rule: no documentation, manuals or
# translations, now or in packages installed later (copyrights kept).
slim_root() {
	local root=$1
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-exclude /usr/share/groff/*
		path-exclude /usr/share/lintian/*
		path-exclude /usr/share/linda/*
	EOF
	find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
		"$root"/usr/share/groff/* "$root"/usr/share/lintian/*
}

import_root() {
	log "importing $2"
	tar --numeric-owner -C "$1" -c . |
		"${ENGINE[@]}" import --change 'CMD ["bash"]' - "$2" >>"$WORK/import.log" 2>&1
}

image_id() {
	"${ENGINE[@]}" image inspect --format '{{.Id}}' "$1"
}

# Records what was made, or compares it with what the lock records.
pin_base() {
	local full=$1 slim=$2 packages=$3 recorded
	if [[ -f $LOCK && -z ${MDV_BASE_REPIN:-} ]]; then
		recorded=$(sed -n 's/^package //p' "$LOCK")
		if [[ $recorded != "$(cat "$packages")" ]]; then
			log "the base made here differs from $LOCK:"
			diff <(printf '%s\n' "$recorded") "$packages" | grep '^[<>]' >&2 || true
			[[ -z ${MDV_BASE_STRICT:-} ]] || die "MDV_BASE_STRICT: refusing a base that is not the pinned one"
			log "kept (MDV_BASE_REPIN=1 records it, MDV_BASE_STRICT=1 refuses it)"
		else
			log "the base's packages are the pinned ones ($(wc -l <"$packages") packages)"
		fi
		return 0
	fi
	{
		echo "# The Debian base of deploy/Dockerfile as make images made it (deploy/container/images.sh):"
		echo "# debootstrap --variant=minbase $SUITE from the Debian mirror, imported under the FROM names."
		echo "# Rewritten only with MDV_BASE_REPIN=1; a base that differs is reported package by package."
		echo "suite $SUITE"
		echo "debootstrap $(dpkg-query -W -f '${Version}' debootstrap)"
		echo "image $full $(image_id "$full")"
		echo "image $slim $(image_id "$slim")"
		sed 's/^/package /' "$packages"
	} >"$LOCK"
	log "pinned in ${LOCK#"$repo"/}"
}

ensure_base() {
	local full=debian:$1 slim=debian:$1-slim root
	if have_image "$full" && have_image "$slim"; then
		log "base images $full and $slim present"
		return 0
	fi
	if try_pull "$full" && try_pull "$slim"; then return 0; fi
	log "no registry: making $full and $slim with debootstrap"
	root=$WORK/rootfs
	rm -rf "$root" && mkdir -p "$root"
	debootstrap_root "$root"
	packages_of "$root" >"$WORK/packages.txt"
	import_root "$root" "$full"
	slim_root "$root"
	import_root "$root" "$slim"
	rm -rf "$root"
	pin_base "$full" "$slim" "$WORK/packages.txt"
}

build_all() {
	local t started
	for t in $(targets); do
		started=$SECONDS
		log "building mdv/$t:$TAG"
		"${ENGINE[@]}" build "${ENGINE_RUN_FLAGS[@]}" "${ENGINE_BUILD_FLAGS[@]}" --secret "id=ca-bundle,src=$CA_BUNDLE" \
			-f "$DOCKERFILE" --target "$t" -t "mdv/$t:$TAG" "$repo" >"$WORK/build-$t.log" 2>&1 || {
			tail -n 30 "$WORK/build-$t.log" >&2
			die "mdv/$t:$TAG did not build (whole log: build/images/build-$t.log)"
		}
		log "mdv/$t:$TAG built in $((SECONDS - started)) s"
	done
}

sizes() {
	local t
	for t in $(targets); do
		printf '%-24s %s\n' "mdv/$t:$TAG" \
			"$("${ENGINE[@]}" image inspect --format '{{.Size}}' "mdv/$t:$TAG" |
				awk '{ printf "%.1f MB", $1 / 1e6 }')"
	done
}

main() {
	local started=$SECONDS
	engine_choose
	mkdir -p "$WORK"
	log "engine: ${ENGINE[*]}"
	ensure_base "$(release)"
	build_all
	sizes
	log "done in $((SECONDS - started)) s"
}

main "$@"
