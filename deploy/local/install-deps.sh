#!/usr/bin/env bash
# Installs what building, testing and running mdv locally needs, and nothing
# else: Debian packages (compilers, C libraries, PostgreSQL, Java, Maven) and
# the Kafka broker jars from Maven Central into <repo>/.cache/kafka/<version>/libs/.
#
# Idempotent: packages already installed and jars already fetched are left
# alone, so CI can run it every time. As root (or with password-less sudo) it
# installs with apt-get; otherwise it installs nothing and fails, naming what
# is missing.
#
# Usage: deploy/local/install-deps.sh [--kafka-only]
#   --kafka-only   skip the Debian packages, only fetch the Kafka jars
#                  (stack.sh uses it when the jar cache is empty).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

# Debian bookworm package names. Java 17 is the least the Kafka 4.x broker runs on.
# clang and its runtimes (libFuzzer, sanitizers) build the fuzz targets only.
# jq is the README's example session's (and its test's).
# nginx-light and wrk are make bench's (the static server its gateway is
# compared with, and the HTTP load tool); pgbench comes with postgresql-contrib;
# linux-perf is the bench's profile's (BENCH_PROFILE=1).
# Node.js and npm (has_node below) fetch and convert the COG communes at build
# time (deploy/tools/cog), and the usager's page's DSFR (services/gateway/web).
# chromium is the browser the page's tests drive headless (tests/browser).
packages=(
	build-essential pkg-config
	librdkafka-dev libpq-dev libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler
	libjansson-dev libjwt-dev libssl-dev uuid-dev libcmocka-dev libcurl4-openssl-dev
	postgresql postgresql-contrib
	openssl curl jq python3-venv clang-format
	nginx-light wrk linux-perf
	clang libclang-rt-14-dev
	maven
	chromium
)

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

is_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# A Java 17+ runtime may come from default-jre-headless (17 on bookworm) or an
# explicitly installed openjdk-17 or later; any of them will do.
has_java17() {
	command -v java >/dev/null 2>&1 || return 1
	local major
	major=$(java -XshowSettings:properties -version 2>&1 |
		sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
	[[ -n $major && $major -ge 17 ]]
}

# Node.js with npm may come from Debian (nodejs + npm) or from another
# packaging of Node.js that ships npm itself; any of them will do, and
# installing Debian's npm beside the latter would conflict.
has_node() {
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1
}

install_packages() {
	local missing=() p
	for p in "${packages[@]}"; do
		is_installed "$p" || missing+=("$p")
	done
	has_java17 || missing+=(default-jre-headless)
	has_node || missing+=(nodejs npm)
	if ((${#missing[@]} == 0)); then
		log "Debian packages: all present"
		return 0
	fi
	# As another user, sudo only when it needs no password (CI has no terminal).
	local sudo=()
	if ((EUID != 0)); then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			log "missing Debian packages: ${missing[*]}"
			die "not root: run as root, or ask an administrator for: apt-get install ${missing[*]}"
		fi
	fi
	log "installing: ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	# Debian creates and starts a "main" cluster on port 5432 on install; the
	# stack runs its own cluster and does not need it, but leaves it alone.
	has_java17 || die "Java 17 or later still not found after installing default-jre-headless"
	has_node || die "node and npm still not found after installing nodejs and npm"
}

# Fetches the broker jars once per Kafka version. The copy goes to a temporary
# folder renamed at the end, so an interrupted fetch is never taken for a
# complete one.
fetch_kafka() {
	local version dest tmp
	version=$(tr -d '[:space:]' <"$here/kafka/VERSION")
	[[ -n $version ]] || die "empty $here/kafka/VERSION"
	dest="$repo/.cache/kafka/$version/libs"
	if [[ -f $dest/kafka_2.13-$version.jar ]]; then
		log "Kafka $version jars: present in ${dest#"$repo"/}"
		return 0
	fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found (Debian package maven)"
	tmp="$dest.tmp.$$"
	rm -rf "$tmp"
	log "fetching Kafka $version jars from Maven Central"
	mkdir -p "$(dirname "$dest")"
	if ! mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" \
		-Dkafka.version="$version" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
		>"$tmp.log" 2>&1; then
		cat "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		die "mvn could not fetch Kafka $version (see above)"
	fi
	rm -f "$tmp.log"
	[[ -f $tmp/kafka_2.13-$version.jar ]] || die "kafka_2.13-$version.jar missing after mvn"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	log "Kafka $version jars: $(find "$dest" -name '*.jar' | wc -l) jars in ${dest#"$repo"/}"
}

# Fills npm's cache with every package a lock file of the tree pins (the
# COG communes, the page's DSFR, the browser tests' drivers, the local
# OpenID provider), so the build's
# npm ci --prefer-offline needs no network afterwards. Each install goes to
# a temporary folder: node_modules never lands in the tree.
NPM_LOCKS=(deploy/tools/cog services/gateway/web tests/browser deploy/local/oidc)
fill_npm_cache() {
	local dir tmp
	for dir in "${NPM_LOCKS[@]}"; do
		tmp=$(mktemp -d)
		cp "$repo/$dir/package.json" "$repo/$dir/package-lock.json" "$tmp/"
		if ! (cd "$tmp" && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund \
			--loglevel=error >/dev/null); then
			rm -rf "$tmp"
			die "npm ci failed for $dir/package-lock.json"
		fi
		rm -rf "$tmp"
		log "npm packages of $dir: in npm's cache"
	done
}

main() {
	case "${1:-}" in
	--kafka-only) ;;
	"")
		install_packages
		fill_npm_cache
		;;
	*) die "unknown option: $1 (usage: $0 [--kafka-only])" ;;
	esac
	fetch_kafka
}

main "$@"
