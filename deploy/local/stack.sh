#!/usr/bin/env bash
# The local mdv stack, without containers: a PostgreSQL cluster, a one-node
# Apache Kafka broker (KRaft) and the six services, all under one stack folder
# and on one block of ports, so that several stacks (a test run beside a demo)
# and a system PostgreSQL or Kafka can run side by side.
#
# Usage: deploy/local/stack.sh COMMAND
#   up [--infra]            start what is not running (--infra: PostgreSQL and Kafka only)
#   down                    stop services, Kafka, PostgreSQL (data is kept)
#   status                  what runs; exit 0 only if everything runs
#   env                     print the stack's env file (sourceable)
#   start-service NAME      start one service and wait for its /readyz
#   stop-service NAME [SIG] send SIG (default TERM) and wait for the exit
#   restart-kafka | restart-pg
#   stop-kafka | start-kafka | stop-pg | start-pg
#   topics                  the broker's topics and partition counts (mdv-topics --list);
#                           no consumer-group view: the stack has no Kafka tools jar
#
# Environment: MDV_STACK_DIR (default <repo>/.run), MDV_PORT_BASE (default
# 17400), MDV_BIN_DIR (default <repo>/build/bin). Ports: PostgreSQL base+0,
# Kafka base+1 (clients) and base+2 (controller), services base+10..base+15.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

STACK=$(realpath -m -- "${MDV_STACK_DIR:-$repo/.run}")
BASE=${MDV_PORT_BASE:-17400}
BIN=$(realpath -m -- "${MDV_BIN_DIR:-$repo/build/bin}")

SERVICES=(gateway identity student bereavement housing abroad)
TOPICS=(mdv.gateway.declarations.v1 mdv.identity.events.v1 mdv.student.events.v1
	mdv.bereavement.events.v1 mdv.housing.events.v1 mdv.abroad.events.v1 mdv.dlq.v1)
TOPIC_PARTITIONS=6

JWT_ISSUER=mdv-local
JWT_AUDIENCE=mdv

READY_TIMEOUT=60     # seconds for every service's /readyz, per contract
KAFKA_TIMEOUT=90     # seconds for the broker to answer metadata (a cold JVM on CI)
STOP_TIMEOUT=15      # seconds between TERM and KILL for a service
KAFKA_STOP_TIMEOUT=30

KAFKA_VERSION=$(tr -d '[:space:]' <"$here/kafka/VERSION")
KAFKA_LIBS=$repo/.cache/kafka/$KAFKA_VERSION/libs

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------- helpers

check_base() {
	if ! [[ $BASE =~ ^[0-9]+$ ]] || ((BASE < 1024 || BASE + 15 > 65535)); then
		die "MDV_PORT_BASE=$BASE: want a number from 1024 to 65520"
	fi
}

port_of() {
	case $1 in
	postgresql) echo $((BASE + 0)) ;;
	kafka) echo $((BASE + 1)) ;;
	controller) echo $((BASE + 2)) ;;
	gateway) echo $((BASE + 10)) ;;
	identity) echo $((BASE + 11)) ;;
	student) echo $((BASE + 12)) ;;
	bereavement) echo $((BASE + 13)) ;;
	housing) echo $((BASE + 14)) ;;
	abroad) echo $((BASE + 15)) ;;
	*) die "no port for $1" ;;
	esac
}

is_service() {
	local s
	for s in "${SERVICES[@]}"; do [[ $1 == "$s" ]] && return 0; done
	return 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A process counts as alive when it exists, is not a zombie (an orphan killed
# with SIGKILL stays one until its new parent reaps it) and its command line
# holds $2, so that a pid reused by another program is not taken for ours.
proc_alive() {
	local pid=$1 marker=$2 stat cmdline
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]] || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"$marker"* ]]
}

pid_from() {
	cat "$STACK/pids/$1.pid" 2>/dev/null || true
}

# Starts "$@" in its own session (a Ctrl-C given to the caller does not reach
# it), detached from our terminal, output appended to logs/$name.log; the
# process writes its own pid before exec, so the pid file is right whatever
# setsid does. fd 9 (our lock) is closed so that it does not outlive us.
spawn() {
	local name=$1
	shift
	rm -f "$STACK/pids/$name.pid"
	# shellcheck disable=SC2016 # $$ and $@ belong to the inner bash
	setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$STACK/pids/$name.pid" "$@" \
		>>"$STACK/logs/$name.log" 2>&1 </dev/null 9>&- &
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $STACK/pids/$name.pid ]] && return 0
		sleep 0.1
	done
	die "$name did not start (see $STACK/logs/$name.log)"
}

# Sends signal $3 to pid $1, waits up to $4 s for it to go, then KILLs it.
stop_pid() {
	local pid=$1 marker=$2 sig=$3 timeout=$4 i
	proc_alive "$pid" "$marker" || return 0
	kill -s "$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		proc_alive "$pid" "$marker" || return 0
		sleep 0.1
	done
	log "pid $pid still there after ${timeout}s: KILL"
	kill -s KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		proc_alive "$pid" "$marker" || return 0
		sleep 0.1
	done
	die "pid $pid survived KILL"
}

show_log_tail() {
	log "last lines of $1:"
	tail -n 30 "$1" >&2 2>/dev/null || true
}

# Commands on one stack run one at a time (two `up` at once would start two
# brokers). Other stacks have their own lock. Every daemon is started with fd 9
# closed: one that kept it would hold the lock for its whole life.
take_lock() {
	mkdir -p "$STACK"
	exec 9>"$STACK/.stack.lock"
	if ! flock -w 600 9; then
		die "another stack.sh command on $STACK has held $STACK/.stack.lock for 10 minutes"
	fi
}

make_dirs() {
	mkdir -p "$STACK"/{logs,pids,keys,kafka,sock}
}

# ---------------------------------------------------------------- PostgreSQL

PG_DATA=$STACK/pg
PG_SOCK=$STACK/sock

# Sets PG_BIN, the folder of initdb, pg_ctl and psql (once per run).
PG_BIN=
pg_find_bin() {
	[[ -z $PG_BIN ]] || return 0
	if [[ -n ${MDV_PG_BINDIR:-} ]]; then
		PG_BIN=$MDV_PG_BINDIR
	else
		# Debian installs each major version side by side; take the newest.
		PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
		[[ -n $PG_BIN ]] || PG_BIN=$(pg_config --bindir 2>/dev/null) || true
	fi
	[[ -x $PG_BIN/pg_ctl ]] || die "PostgreSQL server programs not found: run deploy/local/install-deps.sh"
}

# PostgreSQL refuses to run as root, so as root its programs run as `postgres`
# (from the stack folder, which that user can enter; root's own cwd may not be).
as_pg() {
	if ((EUID == 0)); then
		(cd "$STACK" && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# As root, the data folder belongs to `postgres`, which must be able to walk
# down to it: give others search (not read) permission where it lacks.
pg_make_reachable() {
	((EUID == 0)) || return 0
	local d=$STACK
	while [[ $d != / ]]; do
		if ! runuser -u postgres -- test -x "$d"; then
			chmod o+x "$d"
			log "gave others search permission on $d, so that postgres reaches $PG_DATA"
		fi
		d=$(dirname "$d")
	done
	chown postgres: "$PG_DATA" "$PG_SOCK"
	touch "$STACK/logs/postgresql.log"
	chown postgres: "$STACK/logs/postgresql.log"
}

pg_running() {
	[[ -f $PG_DATA/PG_VERSION ]] || return 1
	pg_find_bin
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_init() {
	[[ -f $PG_DATA/PG_VERSION ]] && return 0
	pg_find_bin
	log "creating the PostgreSQL cluster in $PG_DATA"
	mkdir -p "$PG_DATA"
	chmod 700 "$PG_DATA"
	pg_make_reachable
	as_pg "$PG_BIN/initdb" -D "$PG_DATA" --username=postgres --auth=trust \
		--encoding=UTF8 --no-locale --no-sync >"$STACK/logs/initdb.log" 2>&1 ||
		{
			show_log_tail "$STACK/logs/initdb.log"
			die "initdb failed"
		}
	cat >>"$PG_DATA/postgresql.conf" <<-'EOF'

		# --- mdv local stack ---
		# Services, tests and psql sessions together; the default 100 is tight.
		max_connections = 200
		# Throw-away local data: an OS crash may lose it, a killed server does not.
		fsync = off
		# Address, port and socket folder follow MDV_PORT_BASE and the stack
		# folder; stack.sh rewrites this file at each start.
		include_if_exists = 'mdv-stack.conf'
	EOF
}

pg_write_conf() {
	local conf=$PG_DATA/mdv-stack.conf
	cat >"$conf" <<-EOF
		# Written by deploy/local/stack.sh at each start; edits are lost.
		listen_addresses = '127.0.0.1'
		port = $(port_of postgresql)
		unix_socket_directories = '$PG_SOCK'
	EOF
	((EUID != 0)) || chown postgres: "$conf"
}

psql_admin() {
	"$PG_BIN/psql" -h "$PG_SOCK" -p "$(port_of postgresql)" -U postgres -d postgres \
		-v ON_ERROR_STOP=1 -qAtX "$@"
}

# Role mdv owns the six service databases; run at each start, it adds only
# what is missing.
pg_setup_databases() {
	psql_admin -c "DO \$\$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mdv') THEN CREATE ROLE mdv LOGIN; END IF;
		END \$\$;"
	local s existing
	existing=$(psql_admin -c "SELECT datname FROM pg_database")
	for s in "${SERVICES[@]}"; do
		grep -qx "mdv_$s" <<<"$existing" || psql_admin -c "CREATE DATABASE mdv_$s OWNER mdv"
	done
}

pg_start() {
	if pg_running; then
		log "PostgreSQL already running on 127.0.0.1:$(port_of postgresql)"
		return 0
	fi
	! port_open "$(port_of postgresql)" ||
		die "port $(port_of postgresql) is taken by another program: choose another MDV_PORT_BASE"
	pg_find_bin
	pg_init
	pg_make_reachable
	pg_write_conf
	log "starting PostgreSQL on 127.0.0.1:$(port_of postgresql)"
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$STACK/logs/postgresql.log" -w -t 60 start >/dev/null 9>&- ||
		{
			show_log_tail "$STACK/logs/postgresql.log"
			die "PostgreSQL did not start"
		}
	pg_setup_databases
}

pg_stop() {
	pg_running || return 0
	log "stopping PostgreSQL"
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
}

# ---------------------------------------------------------------- Kafka

KAFKA_PROPS=$STACK/kafka/server.properties

kafka_libs() {
	if [[ ! -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]]; then
		log "Kafka $KAFKA_VERSION jars not in the cache yet"
		"$here/install-deps.sh" --kafka-only
	fi
}

# Kafka's StorageTool is a Java class: a short-lived JVM tuned to start fast,
# logging warnings only, on stderr.
kafka_java_tool() {
	java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
		-Dlog4j2.configurationFile="$here/kafka/log4j2-tools.xml" \
		-cp "$KAFKA_LIBS/*" "$@"
}

# Topics are created and listed by our mdv-topics (librdkafka's Admin API and
# metadata), not by a Kafka tool: Maven Central lacks kafka-tools for some
# broker releases. MDV_KAFKA_* variables reach it as they reach the services.
need_topics_tool() {
	[[ -x $BIN/mdv-topics ]] || die "$BIN/mdv-topics not found: build it first (run make)"
}

kafka_topics() {
	"$BIN/mdv-topics" --brokers "127.0.0.1:$(port_of kafka)" "$@"
}

kafka_running() {
	proc_alive "$(pid_from kafka)" "$KAFKA_PROPS"
}

kafka_write_conf() {
	sed -e "s|@BROKER_PORT@|$(port_of kafka)|g" \
		-e "s|@CONTROLLER_PORT@|$(port_of controller)|g" \
		-e "s|@LOG_DIR@|$STACK/kafka/data|g" \
		"$here/kafka/server.properties.in" >"$KAFKA_PROPS"
}

# KRaft storage is formatted once, with a fresh cluster id: 16 random bytes in
# URL-safe base64, the form kafka-storage random-uuid prints.
kafka_format() {
	[[ -f $STACK/kafka/data/meta.properties ]] && return 0
	local cluster_id
	cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	log "formatting Kafka storage (cluster $cluster_id)"
	kafka_java_tool kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$KAFKA_PROPS" \
		>>"$STACK/logs/kafka.log" 2>&1 || {
		show_log_tail "$STACK/logs/kafka.log"
		die "kafka-storage format failed"
	}
}

# Waits until the broker answers a metadata request (mdv-topics --list), then
# prints the listing, one "name partitions" a line. The last probe's errors
# are kept in logs/topics.log, for when the wait fails.
kafka_wait_ready() {
	local deadline=$((SECONDS + KAFKA_TIMEOUT)) topics probe_log=$STACK/logs/topics.log
	: >"$probe_log"
	while ((SECONDS < deadline)); do
		kafka_running || {
			show_log_tail "$STACK/logs/kafka.log"
			die "Kafka exited while starting"
		}
		if port_open "$(port_of kafka)" &&
			topics=$(kafka_topics --list --timeout-ms 5000 2>"$probe_log"); then
			printf '%s\n' "$topics"
			return 0
		fi
		sleep 0.5
	done
	show_log_tail "$STACK/logs/kafka.log"
	show_log_tail "$probe_log"
	die "Kafka did not answer on 127.0.0.1:$(port_of kafka) within ${KAFKA_TIMEOUT}s"
}

# Creates the topics the listing $1 lacks, in one CreateTopics request. A
# topic created meanwhile by someone else counts as done; mdv-topics names
# any topic it could not create.
kafka_create_topics() {
	local names t missing=()
	names=$(cut -d ' ' -f 1 <<<"$1")
	for t in "${TOPICS[@]}"; do
		grep -qx -- "$t" <<<"$names" || missing+=("$t")
	done
	((${#missing[@]} > 0)) || return 0
	log "creating ${#missing[@]} topic(s)"
	kafka_topics --partitions "$TOPIC_PARTITIONS" --replication 1 "${missing[@]}" >/dev/null ||
		die "could not create every topic"
}

kafka_start() {
	need_topics_tool
	if kafka_running; then
		log "Kafka already running on 127.0.0.1:$(port_of kafka)"
	else
		local p
		for p in "$(port_of kafka)" "$(port_of controller)"; do
			! port_open "$p" || die "port $p is taken by another program: choose another MDV_PORT_BASE"
		done
		kafka_libs
		kafka_write_conf
		kafka_format
		log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$(port_of kafka)"
		# log4j2 keeps logging until the broker has shut down (its own hook would stop it first).
		spawn kafka java -Xms256m -Xmx512m -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
			-Dlog4j2.shutdownHookEnabled=false \
			-Dlog4j2.configurationFile="$here/kafka/log4j2.xml" \
			-cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS"
	fi
	local topics
	topics=$(kafka_wait_ready)
	kafka_create_topics "$topics"
}

kafka_stop() {
	kafka_running || return 0
	log "stopping Kafka"
	stop_pid "$(pid_from kafka)" "$KAFKA_PROPS" TERM "$KAFKA_STOP_TIMEOUT"
	rm -f "$STACK/pids/kafka.pid"
}

# ---------------------------------------------------------------- services

svc_running() {
	proc_alive "$(pid_from "$1")" "mdv-$1"
}

# The environment of the service $1, one NAME=value a line (the contract).
svc_env() {
	local s=$1
	cat <<-EOF
		MDV_KAFKA_BROKERS=127.0.0.1:$(port_of kafka)
		MDV_PG_DSN=host=127.0.0.1 port=$(port_of postgresql) dbname=mdv_$s user=mdv
		MDV_HTTP_ADDR=127.0.0.1:$(port_of "$s")
		MDV_LOG_LEVEL=${MDV_LOG_LEVEL:-info}
		MDV_INSTANCE_ID=$s-1
		MDV_DATA_DIR=$repo/services/$s
	EOF
	if [[ $s == gateway ]]; then
		cat <<-EOF
			MDV_JWT_PUBLIC_KEY_FILE=$STACK/keys/jwt-public.pem
			MDV_JWT_ISSUER=$JWT_ISSUER
			MDV_JWT_AUDIENCE=$JWT_AUDIENCE
		EOF
	fi
}

svc_start() {
	local s=$1 bin=$BIN/mdv-$1 envs=()
	if svc_running "$s"; then
		log "$s already running"
		return 0
	fi
	[[ -x $bin ]] || die "$bin not found: build it first (make)"
	! port_open "$(port_of "$s")" ||
		die "port $(port_of "$s") for $s is taken by another program"
	mapfile -t envs < <(svc_env "$s")
	log "starting $s on 127.0.0.1:$(port_of "$s")"
	(cd "$repo" && spawn "$s" env "${envs[@]}" "$bin")
}

# Waits until /readyz of $1 answers 200 or the deadline $2 (in $SECONDS) passes.
svc_wait_ready() {
	local s=$1 deadline=$2 url code
	url=http://127.0.0.1:$(port_of "$s")/readyz
	while :; do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)
		[[ $code == 200 ]] && return 0
		if ! svc_running "$s"; then
			show_log_tail "$STACK/logs/$s.log"
			die "$s exited before it was ready"
		fi
		if ((SECONDS >= deadline)); then
			show_log_tail "$STACK/logs/$s.log"
			die "$s not ready within ${READY_TIMEOUT}s ($url answers ${code:-nothing})"
		fi
		sleep 0.3
	done
}

svc_stop() {
	local s=$1 sig=${2:-TERM}
	sig=${sig#SIG}
	if svc_running "$s"; then
		log "stopping $s ($sig)"
		stop_pid "$(pid_from "$s")" "mdv-$s" "$sig" "$STOP_TIMEOUT"
	fi
	rm -f "$STACK/pids/$s.pid"
}

missing_binaries() {
	local s
	for s in "${SERVICES[@]}" seed; do
		[[ -x $BIN/mdv-$s ]] || printf '%s ' "mdv-$s"
	done
}

# Synthetic persons, written once per stack; the marker keeps a second `up`
# from adding them twice.
seed_once() {
	[[ -f $STACK/seeded ]] && return 0
	log "seeding: mdv-seed --count 20 --seed 1"
	(
		# shellcheck source=/dev/null
		. "$STACK/env"
		"$BIN/mdv-seed" --count 20 --seed 1
	) >"$STACK/seed.jsonl.tmp" 2>>"$STACK/logs/seed.log" || {
		show_log_tail "$STACK/logs/seed.log"
		die "mdv-seed failed"
	}
	mv "$STACK/seed.jsonl.tmp" "$STACK/seed.jsonl"
	touch "$STACK/seeded"
}

# ---------------------------------------------------------------- keys, env

make_keys() {
	local key=$STACK/keys/jwt-private.pem
	[[ -f $key ]] && return 0
	log "making the ES256 (P-256) token keys"
	(umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$key.tmp")
	openssl ec -in "$key.tmp" -pubout -out "$STACK/keys/jwt-public.pem" 2>/dev/null
	mv "$key.tmp" "$key"
}

# The env file: `export NAME=value` lines, values shell-quoted only when they
# need it, so that both `. env` and a line parser read it.
env_lines() {
	local s upper
	{
		echo "# mdv local stack; source it: . $STACK/env"
		printf 'export %s=%q\n' \
			MDV_STACK_DIR "$STACK" \
			MDV_PORT_BASE "$BASE" \
			MDV_BIN_DIR "$BIN" \
			MDV_KAFKA_BROKERS "127.0.0.1:$(port_of kafka)" \
			MDV_PG_HOST 127.0.0.1 \
			MDV_PG_PORT "$(port_of postgresql)" \
			MDV_PG_USER mdv \
			MDV_JWT_PRIVATE_KEY_FILE "$STACK/keys/jwt-private.pem" \
			MDV_JWT_PUBLIC_KEY_FILE "$STACK/keys/jwt-public.pem" \
			MDV_JWT_ISSUER "$JWT_ISSUER" \
			MDV_JWT_AUDIENCE "$JWT_AUDIENCE"
		for s in "${SERVICES[@]}"; do
			upper=$(tr '[:lower:]' '[:upper:]' <<<"$s")
			printf 'export %s=%q\n' "MDV_${upper}_URL" "http://127.0.0.1:$(port_of "$s")"
		done
	}
}

write_env() {
	env_lines >"$STACK/env.tmp"
	mv "$STACK/env.tmp" "$STACK/env"
}

# ---------------------------------------------------------------- commands

cmd_up() {
	local infra=0 started=$SECONDS s missing
	case "${1:-}" in
	--infra) infra=1 ;;
	"") ;;
	*) die "up: unknown option $1" ;;
	esac
	make_dirs
	make_keys
	write_env
	pg_start
	kafka_start
	log "PostgreSQL and Kafka ready ($((SECONDS - started))s)"
	if ((infra)); then
		summary
		return 0
	fi
	missing=$(missing_binaries)
	[[ -z $missing ]] || die "not built yet: ${missing% } in $BIN (run make); PostgreSQL and Kafka are up"
	for s in "${SERVICES[@]}"; do svc_start "$s"; done
	local deadline=$((SECONDS + READY_TIMEOUT))
	for s in "${SERVICES[@]}"; do svc_wait_ready "$s" "$deadline"; done
	seed_once
	log "all up ($((SECONDS - started))s)"
	summary
}

summary() {
	local bin_shown=$BIN stack_shown=$STACK
	[[ $BIN == "$repo"/* ]] && bin_shown=${BIN#"$repo"/}
	cat <<-EOF
		mdv local stack in $stack_shown
		  gateway:    http://127.0.0.1:$(port_of gateway)
		  a token:    . $stack_shown/env && $bin_shown/mdv-token --sub demo
		  PostgreSQL: psql -h 127.0.0.1 -p $(port_of postgresql) -U mdv mdv_gateway
		  Kafka:      127.0.0.1:$(port_of kafka)
		  logs:       $stack_shown/logs/
		  stop:       deploy/local/stack.sh down
	EOF
}

cmd_down() {
	local s
	[[ -d $STACK ]] || return 0
	# TERM every service first, then wait: they drain in parallel.
	for s in "${SERVICES[@]}"; do
		if svc_running "$s"; then
			log "stopping $s (TERM)"
			kill -s TERM "$(pid_from "$s")" 2>/dev/null || true
		fi
	done
	for s in "${SERVICES[@]}"; do
		if svc_running "$s"; then stop_pid "$(pid_from "$s")" "mdv-$s" TERM "$STOP_TIMEOUT"; fi
		rm -f "$STACK/pids/$s.pid"
	done
	kafka_stop
	pg_stop
	log "stopped (data kept in $STACK)"
}

cmd_status() {
	local all=0 s code
	printf '%-12s %-8s %s\n' stack "$STACK" "ports $BASE-$((BASE + 15))"
	if pg_running; then
		printf '%-12s %-8s %s\n' postgresql running "127.0.0.1:$(port_of postgresql)"
	else
		printf '%-12s %-8s\n' postgresql stopped
		all=1
	fi
	if kafka_running; then
		printf '%-12s %-8s %s\n' kafka running "127.0.0.1:$(port_of kafka) (pid $(pid_from kafka))"
	else
		printf '%-12s %-8s\n' kafka stopped
		all=1
	fi
	for s in "${SERVICES[@]}"; do
		if svc_running "$s"; then
			code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$(port_of "$s")/readyz" || true)
			[[ $code == 200 ]] && code=ready || code="readyz=$code"
			printf '%-12s %-8s %s\n' "$s" "$code" "http://127.0.0.1:$(port_of "$s") (pid $(pid_from "$s"))"
		else
			printf '%-12s %-8s\n' "$s" stopped
			all=1
		fi
	done
	return "$all"
}

# The env file of the last `up`, else what it would hold.
cmd_env() {
	if [[ -f $STACK/env ]]; then
		cat "$STACK/env"
	else
		env_lines
	fi
}

cmd_topics() {
	(($# == 0)) || die "topics takes no arguments"
	need_topics_tool
	kafka_running || die "Kafka is not running on 127.0.0.1:$(port_of kafka)"
	kafka_topics --list
}

usage() {
	sed -n '/^# Usage:/,/^# Environment/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

main() {
	local cmd=${1:-}
	shift || true
	check_base
	case $cmd in
	up | down | start-service | stop-service | restart-kafka | restart-pg | \
		start-kafka | stop-kafka | start-pg | stop-pg)
		take_lock
		;;
	esac
	case $cmd in
	up) cmd_up "$@" ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	start-service)
		is_service "${1:-}" || die "start-service: want one of ${SERVICES[*]}"
		svc_start "$1"
		svc_wait_ready "$1" $((SECONDS + READY_TIMEOUT))
		;;
	stop-service)
		is_service "${1:-}" || die "stop-service: want one of ${SERVICES[*]}"
		svc_stop "$1" "${2:-TERM}"
		;;
	restart-kafka)
		kafka_stop
		kafka_start
		;;
	restart-pg)
		pg_stop
		pg_start
		;;
	start-kafka) make_dirs && kafka_start ;;
	stop-kafka) kafka_stop ;;
	start-pg) make_dirs && pg_start ;;
	stop-pg) pg_stop ;;
	topics) cmd_topics "$@" ;;
	*) usage ;;
	esac
}

main "$@"
