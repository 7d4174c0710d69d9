#!/usr/bin/env bash
# The local mdv stack, without containers: a PostgreSQL cluster, a one-node
# Apache Kafka broker (KRaft) and the seven services, all under one stack folder
# and on one block of ports, so that several stacks (a test run beside a demo)
# and a system PostgreSQL or Kafka can run side by side.
#
# Usage: deploy/local/stack.sh COMMAND
#   up [--infra]            start what is not running (--infra: PostgreSQL and Kafka only);
#                           SCALE="student=3 identity=2" sets instances per service
#   down                    stop services, Kafka, PostgreSQL (data is kept)
#   status                  what runs, every instance; exit 0 only if everything runs
#   env                     print the stack's env file (sourceable)
#   scale NAME N            start or stop instances of a service until N run (1-8);
#                           stops with TERM, highest instance first
#   start-service NAME[-K]  start one instance (default 1) and wait for its /readyz
#   stop-service NAME[-K] [SIG]
#                           send SIG (default TERM) to one instance and wait for the
#                           exit; prints "NAME-K exit=STATUS seconds=S" (137: SIGKILL)
#   start-simulator P | stop-simulator P
#                           start / stop (TERM) the simulator of partner P: on Kafka
#                           (cnav, dgfip) or on webhooks (caf, cpam)
#   restart-kafka | restart-pg
#   stop-kafka | start-kafka | stop-pg | start-pg
#   topics                  the broker's topics and partition counts (mdv-topics --list);
#                           no consumer-group view: the stack has no Kafka tools jar
#   pg-settings             the settings PostgreSQL gets (durability: see MDV_PG_FSYNC)
#   start-oidc | stop-oidc | restart-oidc
#                           the local OpenID provider (a restart makes it a new signing key)
#
# Environment: MDV_STACK_DIR (default <repo>/.run), MDV_PORT_BASE (default
# 17400), MDV_BIN_DIR (default <repo>/build/bin), SCALE (read by up; the
# scale is remembered in the stack folder), MDV_PG_FSYNC (on, the default: a
# durable PostgreSQL; off only for a throw-away stack such as the end-to-end
# tests', read at each start of PostgreSQL). Ports: PostgreSQL base+0, Kafka
# base+1 (clients) and base+2 (controller); instance K of the service at index
# I of SERVICES (gateway 0 ... partners 6): base+10+I+10*(K-1), so instance 1 of
# each is on base+10..base+16 and instance 8 of partners on base+86. Instance K
# runs as MDV_INSTANCE_ID=NAME-K; instance 1 keeps the service's plain name
# for its files (logs/NAME.log, pids/NAME.pid), others are logs/NAME-K.log.
# The webhook partners' simulators listen on base+7 (caf) and base+8 (cpam).
# MDV_WEBHOOK_* (the webhooks' schedule, services/partners/main.c) reach the
# partners service when set; MDV_<NAME>_CONSUMER_* reaches service NAME as
# MDV_CONSUMER_* (MDV_GATEWAY_CONSUMER_BATCH_WAIT_MS=25: the gateway only).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

STACK=$(realpath -m -- "${MDV_STACK_DIR:-$repo/.run}")
BASE=${MDV_PORT_BASE:-17400}
BIN=$(realpath -m -- "${MDV_BIN_DIR:-$repo/build/bin}")

SERVICES=(gateway identity student bereavement housing abroad partners)
TOPICS=(mdv.gateway.declarations.v1 mdv.identity.events.v1 mdv.student.events.v1
	mdv.bereavement.events.v1 mdv.housing.events.v1 mdv.abroad.events.v1 mdv.partners.events.v1 mdv.dlq.v1
	mdv.partner.cnav.v1 mdv.partner.cnav.outcomes.v1 mdv.partner.dgfip.v1 mdv.partner.dgfip.outcomes.v1)
# Every client of the broker authenticates with a TLS certificate whose CN is
# its principal (deploy/local/kafka/acls.tsv says what each may do): the
# services, the partners on Kafka, and `admin` for the stack's own tools and
# the tests. `broker` is the broker's own (its listeners and itself).
TLS_CLIENTS=("${SERVICES[@]}" cnav dgfip admin)
TLS_DAYS=825
ACL_FILE=$here/kafka/acls.tsv
TOPIC_PARTITIONS=6
MAX_INSTANCES=8      # per service; more than TOPIC_PARTITIONS would idle anyway
SCALE_FILE=$STACK/scale

JWT_ISSUER=mdv-local
JWT_AUDIENCE=mdv
# The partners' tokens: a key, an issuer and an audience of their own.
PARTNER_JWT_ISSUER=mdv-local-partners
PARTNER_JWT_AUDIENCE=mdv-partners
# The services' own tokens, when one asks another (the gateway asks identity
# for a usager's recorded address): a key, an issuer and an audience of
# their own, which neither a usager's nor a partner's token passes.
SERVICE_JWT_ISSUER=mdv-local-services
SERVICE_JWT_AUDIENCE=mdv-internal

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

# The highest port: instance MAX_INSTANCES of the last service.
LAST_PORT_OFFSET=$((10 + ${#SERVICES[@]} - 1 + 10 * (MAX_INSTANCES - 1)))

check_base() {
	if ! [[ $BASE =~ ^[0-9]+$ ]] || ((BASE < 1024 || BASE + LAST_PORT_OFFSET > 65535)); then
		die "MDV_PORT_BASE=$BASE: want a number from 1024 to $((65535 - LAST_PORT_OFFSET))"
	fi
}

# The index of service $1 in SERVICES.
service_index() {
	local i
	for i in "${!SERVICES[@]}"; do
		[[ ${SERVICES[i]} == "$1" ]] && echo "$i" && return 0
	done
	return 1
}

is_service() {
	service_index "$1" >/dev/null
}

# Port of instance $2 (default 1) of service $1, or of postgresql, kafka, controller.
port_of() {
	local i
	case $1 in
	postgresql) echo $((BASE + 0)) ;;
	kafka) echo $((BASE + 1)) ;;
	controller) echo $((BASE + 2)) ;;
	oidc) echo $((BASE + 3)) ;;
	*)
		i=$(service_index "$1") || die "no port for $1"
		echo $((BASE + 10 + i + 10 * (${2:-1} - 1)))
		;;
	esac
}

# ---------------------------------------------------------------- instances

# Instance K of a service is "NAME-K" (its MDV_INSTANCE_ID); its log and pid
# files drop the "-1" of instance 1, so that an unscaled stack looks as it
# always did (logs/student.log, pids/student.pid).
inst_file() {
	if (($2 == 1)); then echo "$1"; else echo "$1-$2"; fi
}

# How logs and status name an instance: the plain service name while it runs
# alone, its instance id (student-2) when scaled.
inst_label() {
	if (($2 == 1 && SCALE_OF[$1] == 1)); then echo "$1"; else echo "$1-$2"; fi
}

valid_count() {
	[[ $1 =~ ^[1-9]$ ]] && (($1 <= MAX_INSTANCES))
}

# Splits "NAME" or "NAME-K" ($1) into INST_SVC and INST_K (K defaults to 1);
# dies naming the command $2 otherwise.
INST_SVC='' INST_K=''
parse_instance() {
	local arg=$1 s=$1 k=1
	if [[ $arg == *-* ]]; then
		s=${arg%-*}
		k=${arg##*-}
	fi
	if ! is_service "$s" || ! valid_count "$k"; then
		die "$2: want NAME or NAME-K, NAME one of ${SERVICES[*]}, K from 1 to $MAX_INSTANCES (got '$arg')"
	fi
	INST_SVC=$s INST_K=$k
}

# How many instances of each service run: one "NAME=N" line per service in
# the stack folder, so that `up` again, `status` and the env file know it.
declare -A SCALE_OF=()
load_scale() {
	local s n
	for s in "${SERVICES[@]}"; do SCALE_OF[$s]=1; done
	[[ -f $SCALE_FILE ]] || return 0
	while IFS='=' read -r s n; do
		if is_service "$s" && valid_count "$n"; then SCALE_OF[$s]=$n; fi
	done <"$SCALE_FILE"
}

save_scale() {
	local s
	mkdir -p "$STACK"
	for s in "${SERVICES[@]}"; do echo "$s=${SCALE_OF[$s]}"; done >"$SCALE_FILE.tmp"
	mv "$SCALE_FILE.tmp" "$SCALE_FILE"
}

# Applies a SCALE value, "student=3 identity=2" (commas also separate);
# services it does not name keep their remembered count.
apply_scale_spec() {
	local words word s n
	read -ra words <<<"${1//,/ }"
	for word in "${words[@]}"; do
		[[ $word =~ ^([a-z]+)=([0-9]+)$ ]] || die "SCALE: '$word' is not NAME=COUNT"
		s=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}
		is_service "$s" || die "SCALE: '$s' is not one of ${SERVICES[*]}"
		valid_count "$n" || die "SCALE: $s=$n: want a count from 1 to $MAX_INSTANCES"
		SCALE_OF[$s]=$n
	done
}

# The scale as "student=3 identity=2": services with more than one instance.
scale_summary() {
	local s out=()
	for s in "${SERVICES[@]}"; do
		((SCALE_OF[$s] == 1)) || out+=("$s=${SCALE_OF[$s]}")
	done
	echo "${out[*]}"
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
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
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
	wait_pid_file "$name"
}

# Like spawn, but a small bash stays as the parent of "$@" and writes its exit
# status (128+N when signal N ended it) into pids/$name.exit, empty until
# then, for stop-service to report; pids/$name.pid holds the pid of "$@"
# itself, which gets the signals.
spawn_supervised() {
	local name=$1
	shift
	rm -f "$STACK/pids/$name.pid"
	: >"$STACK/pids/$name.exit"
	# shellcheck disable=SC2016 # $!, $? and $@ belong to the inner bash
	setsid bash -c '"$@" & echo $! >"$0.pid.tmp" && mv "$0.pid.tmp" "$0.pid"
		wait $!
		echo $? >"$0.exit.tmp" && mv "$0.exit.tmp" "$0.exit"' "$STACK/pids/$name" "$@" \
		>>"$STACK/logs/$name.log" 2>&1 </dev/null 9>&- &
	wait_pid_file "$name"
}

wait_pid_file() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $STACK/pids/$1.pid ]] && return 0
		sleep 0.1
	done
	die "$1 did not start (see $STACK/logs/$1.log)"
}

# Sends signal $3 to pid $1, waits up to $4 s for it to go, then KILLs it.
stop_pid() {
	proc_alive "$1" "$2" || return 0
	kill -s "$3" "$1" 2>/dev/null || true
	await_exit "$1" "$2" "$4"
}

# Waits up to $3 s for pid $1 (already signalled) to go, then KILLs it.
await_exit() {
	local pid=$1 marker=$2 timeout=$3 i
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
	mkdir -p "$STACK"/{logs,pids,keys,kafka,sock,tls}
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
	local nosync=()
	[[ $PG_FSYNC == on ]] || nosync=(--no-sync)
	as_pg "$PG_BIN/initdb" -D "$PG_DATA" --username=postgres --auth=trust \
		--encoding=UTF8 --no-locale "${nosync[@]}" >"$STACK/logs/initdb.log" 2>&1 ||
		{
			show_log_tail "$STACK/logs/initdb.log"
			die "initdb failed"
		}
	cat >>"$PG_DATA/postgresql.conf" <<-'EOF'

		# --- mdv local stack ---
		# Services, tests and psql sessions together; the default 100 is tight.
		max_connections = 200
		# Address, port, socket folder and durability follow MDV_PORT_BASE, the
		# stack folder and MDV_PG_FSYNC; stack.sh rewrites this file at each start.
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
	pg_durability_settings >>"$conf"
	pg_workload_settings >>"$conf"
	((EUID != 0)) || chown postgres: "$conf"
}

# What the suite's workload wants of the server (README, Performance):
# pg_stat_statements, so that where its time goes can be read (make bench
# reports its top statements per declaration), with planning tracked: the
# library prepares each statement once per session, and one planned at
# every call (a custom plan chosen again and again) is then seen.
pg_workload_settings() {
	echo "shared_preload_libraries = 'pg_stat_statements'"
	echo "pg_stat_statements.track = top"
	echo "pg_stat_statements.track_planning = on"
}

# The stack `make up` starts is where a user keeps their data: durable, as
# PostgreSQL is by default, and said explicitly so that this file (included
# last) also overrides the `fsync = off` that clusters created by earlier
# versions of this script carry in postgresql.conf. Only a throw-away stack
# (tests/e2e/run.sh passes MDV_PG_FSYNC=off) trades that for speed.
PG_FSYNC=${MDV_PG_FSYNC:-on}

check_pg_fsync() {
	[[ $PG_FSYNC == on || $PG_FSYNC == off ]] || die "MDV_PG_FSYNC=$PG_FSYNC: want on or off"
}

pg_durability_settings() {
	if [[ $PG_FSYNC == off ]]; then
		echo "# MDV_PG_FSYNC=off: throw-away data; an OS crash may lose it, a killed server does not."
		echo "fsync = off"
	else
		echo "fsync = on"
	fi
	echo "synchronous_commit = on"
	echo "full_page_writes = on"
}

psql_admin() {
	"$PG_BIN/psql" -h "$PG_SOCK" -p "$(port_of postgresql)" -U postgres -d postgres \
		-v ON_ERROR_STOP=1 -qAtX "$@"
}

# Role mdv owns the seven service databases; run at each start, it adds only
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
	kafka_topics_as admin "$@"
}

# mdv-topics as the principal $1 (its certificate), e.g. to see what that
# principal may see.
kafka_topics_as() {
	local principal=$1
	shift
	env $(kafka_client_env "$principal" | tr '\n' ' ') \
		"$BIN/mdv-topics" --brokers "127.0.0.1:$(port_of kafka)" "$@"
}

kafka_running() {
	proc_alive "$(pid_from kafka)" "$KAFKA_PROPS"
}

kafka_write_conf() {
	sed -e "s|@BROKER_PORT@|$(port_of kafka)|g" \
		-e "s|@TLS_DIR@|$STACK/tls|g" \
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

# The broker applies new ACLs from its metadata log a moment after
# CreateAcls returns; a service started before that would see its idempotent
# producer refused (a fatal error). Waits until a service's principal sees
# its own topic, which only its ACLs allow.
kafka_wait_acls() {
	local deadline=$((SECONDS + KAFKA_TIMEOUT))
	until kafka_topics_as gateway --list --timeout-ms 5000 2>/dev/null |
		grep -q '^mdv.gateway.declarations.v1 '; do
		((SECONDS < deadline)) || die "the broker did not apply its ACLs within ${KAFKA_TIMEOUT}s"
		sleep 0.2
	done
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
	kafka_topics --acls "$ACL_FILE" >>"$STACK/logs/topics.log" 2>&1 || {
		show_log_tail "$STACK/logs/topics.log"
		die "could not create the broker's ACLs ($ACL_FILE)"
	}
	kafka_wait_acls
}

kafka_stop() {
	kafka_running || return 0
	log "stopping Kafka"
	stop_pid "$(pid_from kafka)" "$KAFKA_PROPS" TERM "$KAFKA_STOP_TIMEOUT"
	rm -f "$STACK/pids/kafka.pid"
}

# ---------------------------------------------------------------- services

# Instance functions take the service and the instance number: svc_start student 2.

svc_running() {
	proc_alive "$(pid_from "$(inst_file "$1" "$2")")" "mdv-$1"
}

# The environment of instance $2 of service $1, one NAME=value a line (the contract).
# PostgreSQL is reached over its Unix socket: loopback TCP cost the services and
# the server CPU on every statement (README, Performance).
svc_env() {
	local s=$1 k=$2
	cat <<-EOF
		MDV_KAFKA_BROKERS=127.0.0.1:$(port_of kafka)
		$(kafka_client_env "$s")
		MDV_PG_DSN=host=$PG_SOCK port=$(port_of postgresql) dbname=mdv_$s user=mdv
		MDV_HTTP_ADDR=127.0.0.1:$(port_of "$s" "$k")
		MDV_LOG_LEVEL=${MDV_LOG_LEVEL:-info}
		MDV_INSTANCE_ID=$s-$k
		MDV_DATA_DIR=$repo/services/$s
	EOF
	if [[ $s == partners ]]; then
		env | grep -E '^MDV_WEBHOOK_[A-Z_]+=' || true
	fi
	# Every service inherits MDV_CONSUMER_*; MDV_<NAME>_CONSUMER_* reaches
	# that service alone as MDV_CONSUMER_*, over the inherited value, so
	# that one consumer's batch settings can be measured (README, Performance).
	env | sed -n "s/^MDV_${s^^}_CONSUMER_\([A-Z_]*=\)/MDV_CONSUMER_\1/p"
	if [[ $s == gateway ]]; then
		cat <<-EOF
			MDV_JWT_PUBLIC_KEY_FILE=$STACK/keys/jwt-public.pem
			MDV_JWT_ISSUER=$JWT_ISSUER
			MDV_JWT_AUDIENCE=$JWT_AUDIENCE
			MDV_COG_COMMUNES_FILE=$(dirname "$BIN")/data/communes.tsv
			MDV_WEB_DIR=$(dirname "$BIN")/web
			MDV_BOURSE_RULES_FILE=$repo/services/student/rules/bourse.json
			MDV_OIDC_ISSUER=$(oidc_url)
			MDV_OIDC_CLIENT_ID=$OIDC_CLIENT_ID
			MDV_OIDC_CLIENT_SECRET_FILE=$STACK/keys/oidc-client-secret
			MDV_OIDC_REDIRECT_URI=http://127.0.0.1:$(port_of gateway)/auth/callback
			MDV_OIDC_POST_LOGOUT_URI=http://127.0.0.1:$(port_of gateway)/
			MDV_IDENTITY_URL=http://127.0.0.1:$(port_of identity)
			MDV_SERVICE_JWT_PRIVATE_KEY_FILE=$STACK/keys/service-jwt-private.pem
			MDV_SERVICE_JWT_ISSUER=$SERVICE_JWT_ISSUER
			MDV_SERVICE_JWT_AUDIENCE=$SERVICE_JWT_AUDIENCE
		EOF
	fi
	if [[ $s == identity ]]; then
		cat <<-EOF
			MDV_SERVICE_JWT_PUBLIC_KEY_FILE=$STACK/keys/service-jwt-public.pem
			MDV_SERVICE_JWT_ISSUER=$SERVICE_JWT_ISSUER
			MDV_SERVICE_JWT_AUDIENCE=$SERVICE_JWT_AUDIENCE
		EOF
	fi
	if [[ $s == partners ]]; then
		cat <<-EOF
			MDV_PARTNER_JWT_PUBLIC_KEY_FILE=$STACK/keys/partner-jwt-public.pem
			MDV_PARTNER_JWT_ISSUER=$PARTNER_JWT_ISSUER
			MDV_PARTNER_JWT_AUDIENCE=$PARTNER_JWT_AUDIENCE
		EOF
	fi
}

svc_start() {
	local s=$1 k=$2 bin=$BIN/mdv-$1 port label envs=()
	port=$(port_of "$s" "$k")
	label=$(inst_label "$s" "$k")
	if svc_running "$s" "$k"; then
		log "$label already running"
		return 0
	fi
	[[ -x $bin ]] || die "$bin not found: build it first (make)"
	! port_open "$port" || die "port $port for $label is taken by another program"
	mapfile -t envs < <(svc_env "$s" "$k")
	log "starting $label on 127.0.0.1:$port"
	(cd "$repo" && spawn_supervised "$(inst_file "$s" "$k")" env "${envs[@]}" "$bin")
}

# Waits until /readyz of instance $2 of $1 answers 200 or the deadline $3 (in
# $SECONDS) passes.
svc_wait_ready() {
	local s=$1 k=$2 deadline=$3 url code label
	label=$(inst_label "$s" "$k")
	url=http://127.0.0.1:$(port_of "$s" "$k")/readyz
	while :; do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)
		[[ $code == 200 ]] && return 0
		if ! svc_running "$s" "$k"; then
			show_log_tail "$STACK/logs/$(inst_file "$s" "$k").log"
			die "$label exited before it was ready"
		fi
		if ((SECONDS >= deadline)); then
			show_log_tail "$STACK/logs/$(inst_file "$s" "$k").log"
			die "$label not ready within ${READY_TIMEOUT}s ($url answers ${code:-nothing})"
		fi
		sleep 0.3
	done
}

# Microseconds since the epoch (EPOCHREALTIME without its decimal separator,
# which follows the locale).
now_us() {
	echo "${EPOCHREALTIME//[!0-9]/}"
}

# Stopping is two halves, so that `down` signals every instance before it
# waits for any: svc_signal sends the signal, svc_reap waits for the exit
# (KILL after STOP_TIMEOUT) and reports it. STOP_EXIT and STOP_SECONDS tell
# how the last svc_reap went: the exit status (128+N after signal N;
# "unknown" when the instance was not started by spawn_supervised) and the
# seconds from the signal to the exit.
declare -A SIGNALLED_AT=() SIGNALLED_PID=() SIGNALLED_WITH=()
STOP_EXIT='' STOP_SECONDS=''

svc_signal() {
	local s=$1 k=$2 sig=${3:-TERM} name pid
	name=$(inst_file "$s" "$k")
	sig=${sig#SIG}
	svc_running "$s" "$k" || return 0
	pid=$(pid_from "$name")
	log "stopping $(inst_label "$s" "$k") ($sig)"
	SIGNALLED_AT[$name]=$(now_us)
	SIGNALLED_PID[$name]=$pid
	SIGNALLED_WITH[$name]=$sig
	kill -s "$sig" "$pid" 2>/dev/null || true
}

svc_reap() {
	local s=$1 k=$2 name label sig us i
	name=$(inst_file "$s" "$k")
	label=$(inst_label "$s" "$k")
	STOP_EXIT=not-running STOP_SECONDS=0
	if [[ -n ${SIGNALLED_PID[$name]:-} ]]; then
		sig=${SIGNALLED_WITH[$name]}
		await_exit "${SIGNALLED_PID[$name]}" "mdv-$s" "$STOP_TIMEOUT"
		us=$(($(now_us) - SIGNALLED_AT[$name]))
		printf -v STOP_SECONDS '%d.%03d' $((us / 1000000)) $((us / 1000 % 1000))
		# The supervising bash writes the status right after the exit; no
		# file: the instance was started by an older stack.sh, without it.
		STOP_EXIT=unknown
		for ((i = 0; i < 20; i++)); do
			[[ -f $STACK/pids/$name.exit ]] || break
			if [[ -s $STACK/pids/$name.exit ]]; then
				STOP_EXIT=$(<"$STACK/pids/$name.exit")
				break
			fi
			sleep 0.1
		done
		log "$label exited with status $STOP_EXIT, ${STOP_SECONDS}s after $sig"
		unset "SIGNALLED_PID[$name]"
	fi
	rm -f "$STACK/pids/$name.pid" "$STACK/pids/$name.exit"
}

svc_stop() {
	svc_signal "$1" "$2" "${3:-TERM}"
	svc_reap "$1" "$2"
}

# Stops the instances of $1 above $2, highest first, with TERM.
svc_stop_above() {
	local s=$1 n=$2 k
	for ((k = MAX_INSTANCES; k > n; k--)); do
		svc_stop "$s" "$k" TERM
	done
}

# The highest instance of $1 to show: its scale, or a higher one still running.
svc_top() {
	local s=$1 k
	for ((k = MAX_INSTANCES; k > SCALE_OF[$s]; k--)); do
		svc_running "$s" "$k" && break
	done
	echo "$k"
}

missing_binaries() {
	local s
	for s in "${SERVICES[@]}" seed simulator; do
		[[ -x $BIN/mdv-$s ]] || printf '%s ' "mdv-$s"
	done
}

# ---------------------------------------------------------------- partners

# The partners the stack simulates (deploy/tools/simulator.c): on Kafka
# with their own certificates, in the group services/partners/rules/partners.tsv
# names; on webhooks each with its own HTTP endpoint, which it registers
# through the partners' API with a token of its own. They acknowledge and
# report every notice, so that journeys with a partner's step complete.
# MDV_SIM_DELAY_MS delays each report.
SIMULATED=(cnav dgfip caf cpam)
declare -A SIM_PORT_OFFSET=([caf]=7 [cpam]=8)

sim_rule() {
	awk -F '\t' -v p="$1" -v col="$2" '$1 == p { print $col }' "$repo/services/partners/rules/partners.tsv"
}

sim_running() {
	proc_alive "$(pid_from "simulator-$1")" "mdv-simulator --partner $1"
}

# A webhook partner's simulator: its token (a year's, the stack's own
# partners' key), its endpoint's port, the partners service's URL.
sim_start_webhook() {
	local p=$1 token=$STACK/keys/$1.token
	(
		umask 077
		# shellcheck disable=SC1091
		. "$STACK/env"
		"$BIN/mdv-token" --partner "$p" --ttl 31536000 >"$token.tmp"
	) || die "no token for partner $p (mdv-token --partner)"
	mv "$token.tmp" "$token"
	log "starting the $p simulator (webhook on 127.0.0.1:$((BASE + SIM_PORT_OFFSET[$p])))"
	spawn "simulator-$p" "$BIN/mdv-simulator" --partner "$p" \
		--listen "127.0.0.1:$((BASE + SIM_PORT_OFFSET[$p]))" --api "http://127.0.0.1:$(port_of partners)" \
		--token-file "$token" --delay-ms "${MDV_SIM_DELAY_MS:-0}"
}

sim_start() {
	local p=$1 group
	sim_running "$p" && return 0
	if [[ $(sim_rule "$p" 3) == webhook ]]; then
		sim_start_webhook "$p"
		return 0
	fi
	group=$(sim_rule "$p" 4)
	[[ -n $group ]] || die "no group for partner $p in services/partners/rules/partners.tsv"
	log "starting the $p simulator (group $group)"
	spawn "simulator-$p" env MDV_KAFKA_BROKERS="127.0.0.1:$(port_of kafka)" \
		$(kafka_client_env "$p" | tr '\n' ' ') \
		"$BIN/mdv-simulator" --partner "$p" --group "$group" --delay-ms "${MDV_SIM_DELAY_MS:-0}"
}

sim_stop() {
	sim_running "$1" || return 0
	log "stopping the $1 simulator"
	stop_pid "$(pid_from "simulator-$1")" "mdv-simulator --partner $1" TERM "$STOP_TIMEOUT"
}

valid_simulated() {
	local p
	for p in "${SIMULATED[@]}"; do [[ $p == "$1" ]] && return 0; done
	die "$2: want one of ${SIMULATED[*]} (got '$1')"
}

# ---------------------------------------------------------------- OpenID provider

# The local stand-in for FranceConnect (deploy/local/oidc/provider.mjs, run
# from the build folder beside its node_modules): the gateway is its one
# client, with the secret made by make_keys.
OIDC_CLIENT_ID=mdv-gateway
OIDC_SCRIPT=$(dirname "$BIN")/oidc/provider.mjs

oidc_url() {
	echo "http://127.0.0.1:$(port_of oidc)"
}

oidc_running() {
	proc_alive "$(pid_from oidc)" "$OIDC_SCRIPT"
}

oidc_start() {
	if oidc_running; then
		log "OpenID provider already running on $(oidc_url)"
		return 0
	fi
	[[ -f $OIDC_SCRIPT ]] || die "$OIDC_SCRIPT not found: build it first (make)"
	! port_open "$(port_of oidc)" || die "port $(port_of oidc) for the OpenID provider is taken by another program"
	log "starting the OpenID provider on $(oidc_url)"
	spawn oidc env MDV_OIDC_PORT="$(port_of oidc)" MDV_OIDC_ISSUER="$(oidc_url)" \
		MDV_OIDC_CLIENT_ID="$OIDC_CLIENT_ID" MDV_OIDC_CLIENT_SECRET_FILE="$STACK/keys/oidc-client-secret" \
		MDV_OIDC_REDIRECT_URI="http://127.0.0.1:$(port_of gateway)/auth/callback" \
		MDV_OIDC_POST_LOGOUT_URI="http://127.0.0.1:$(port_of gateway)/" \
		MDV_OIDC_PERSONS_FILE="$here/oidc/persons.json" MDV_OIDC_SEED_FILE="$STACK/seed.jsonl" \
		MDV_OIDC_FAULTS="${MDV_OIDC_FAULTS:-off}" node "$OIDC_SCRIPT"
	local deadline=$((SECONDS + READY_TIMEOUT))
	until curl -sf -o /dev/null -m 2 "$(oidc_url)/.well-known/openid-configuration"; do
		if ! oidc_running; then
			show_log_tail "$STACK/logs/oidc.log"
			die "the OpenID provider exited while starting"
		fi
		((SECONDS < deadline)) || die "the OpenID provider did not answer within ${READY_TIMEOUT}s"
		sleep 0.2
	done
}

oidc_stop() {
	oidc_running || return 0
	log "stopping the OpenID provider"
	stop_pid "$(pid_from oidc)" "$OIDC_SCRIPT" TERM "$STOP_TIMEOUT"
	rm -f "$STACK/pids/oidc.pid"
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

# The TLS material of the broker and its clients, made once per stack by the
# openssl CLI: a CA, the broker's certificate (SANs 127.0.0.1 and localhost:
# librdkafka checks the host name) and one client certificate per principal,
# each key P-256 in PKCS#8 (unencrypted: the stack folder is private).
tls_issue() {
	local name=$1 ext=$STACK/tls/$1.ext
	if [[ $name == broker ]]; then
		printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
			'extendedKeyUsage=serverAuth,clientAuth' >"$ext"
	else
		printf '%s\n' 'extendedKeyUsage=clientAuth' >"$ext"
	fi
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$STACK/tls/$name.key" -subj "/CN=$name" -out "$STACK/tls/$name.csr" 2>/dev/null
	openssl x509 -req -in "$STACK/tls/$name.csr" -CA "$STACK/tls/ca.crt" -CAkey "$STACK/tls/ca.key" \
		-CAcreateserial -days "$TLS_DAYS" -extfile "$ext" -out "$STACK/tls/$name.crt" 2>/dev/null
	rm -f "$STACK/tls/$name.csr" "$ext"
}

make_tls() {
	local name
	[[ -f $STACK/tls/done ]] && return 0
	log "making the TLS material of the broker and its clients"
	(
		umask 077
		openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$STACK/tls/ca.key" -subj "/CN=mdv local CA" -days "$TLS_DAYS" \
			-out "$STACK/tls/ca.crt" 2>/dev/null
		for name in broker "${TLS_CLIENTS[@]}"; do tls_issue "$name"; done
		# The broker's PEM keystore: its key and certificate in one file.
		cat "$STACK/tls/broker.key" "$STACK/tls/broker.crt" >"$STACK/tls/broker.pem"
	) || die "could not make the TLS material in $STACK/tls"
	touch "$STACK/tls/done"
}

# The librdkafka settings of the client $1, one MDV_KAFKA_<PROPERTY>=value a
# line (shared/kafka.c maps them to ssl.ca.location, ...).
kafka_client_env() {
	cat <<-EOF
		MDV_KAFKA_SECURITY_PROTOCOL=ssl
		MDV_KAFKA_SSL_CA_LOCATION=$STACK/tls/ca.crt
		MDV_KAFKA_SSL_CERTIFICATE_LOCATION=$STACK/tls/$1.crt
		MDV_KAFKA_SSL_KEY_LOCATION=$STACK/tls/$1.key
	EOF
}

# One ES256 (P-256) key pair: $1 names it (jwt, partner-jwt).
make_key() {
	local key=$STACK/keys/$1-private.pem
	[[ -f $key ]] && return 0
	log "making the ES256 (P-256) $1 keys"
	(umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$key.tmp")
	openssl ec -in "$key.tmp" -pubout -out "$STACK/keys/$1-public.pem" 2>/dev/null
	mv "$key.tmp" "$key"
}

# The OpenID client's secret, the usagers' token keys, the partners', and
# the services' own.
make_keys() {
	local secret=$STACK/keys/oidc-client-secret
	if [[ ! -f $secret ]]; then
		(umask 077 && openssl rand -hex 32 >"$secret.tmp")
		mv "$secret.tmp" "$secret"
	fi
	make_key jwt
	make_key partner-jwt
	make_key service-jwt
}

# The env file: `export NAME=value` lines, values shell-quoted only when they
# need it, so that both `. env` and a line parser read it. MDV_<SERVICE>_URL
# is instance 1, MDV_<SERVICE>_URLS every instance of the scale.
env_lines() {
	local s upper k urls
	{
		echo "# mdv local stack; source it: . $STACK/env"
		printf 'export %s=%q\n' \
			MDV_STACK_DIR "$STACK" \
			MDV_PORT_BASE "$BASE" \
			MDV_BIN_DIR "$BIN" \
			MDV_KAFKA_BROKERS "127.0.0.1:$(port_of kafka)" \
			MDV_KAFKA_SECURITY_PROTOCOL ssl \
			MDV_KAFKA_SSL_CA_LOCATION "$STACK/tls/ca.crt" \
			MDV_KAFKA_SSL_CERTIFICATE_LOCATION "$STACK/tls/admin.crt" \
			MDV_KAFKA_SSL_KEY_LOCATION "$STACK/tls/admin.key" \
			MDV_TLS_DIR "$STACK/tls" \
			MDV_PG_HOST 127.0.0.1 \
			MDV_PG_PORT "$(port_of postgresql)" \
			MDV_PG_USER mdv \
			MDV_JWT_PRIVATE_KEY_FILE "$STACK/keys/jwt-private.pem" \
			MDV_JWT_PUBLIC_KEY_FILE "$STACK/keys/jwt-public.pem" \
			MDV_JWT_ISSUER "$JWT_ISSUER" \
			MDV_JWT_AUDIENCE "$JWT_AUDIENCE" \
			MDV_OIDC_URL "$(oidc_url)" \
			MDV_OIDC_CLIENT_ID "$OIDC_CLIENT_ID" \
			MDV_PARTNER_JWT_PRIVATE_KEY_FILE "$STACK/keys/partner-jwt-private.pem" \
			MDV_PARTNER_JWT_PUBLIC_KEY_FILE "$STACK/keys/partner-jwt-public.pem" \
			MDV_PARTNER_JWT_ISSUER "$PARTNER_JWT_ISSUER" \
			MDV_PARTNER_JWT_AUDIENCE "$PARTNER_JWT_AUDIENCE" \
			MDV_SERVICE_JWT_PRIVATE_KEY_FILE "$STACK/keys/service-jwt-private.pem" \
			MDV_SERVICE_JWT_PUBLIC_KEY_FILE "$STACK/keys/service-jwt-public.pem" \
			MDV_SERVICE_JWT_ISSUER "$SERVICE_JWT_ISSUER" \
			MDV_SERVICE_JWT_AUDIENCE "$SERVICE_JWT_AUDIENCE"
		for s in "${SERVICES[@]}"; do
			upper=$(tr '[:lower:]' '[:upper:]' <<<"$s")
			urls=()
			for ((k = 1; k <= SCALE_OF[$s]; k++)); do urls+=("http://127.0.0.1:$(port_of "$s" "$k")"); done
			printf 'export %s=%q\n' "MDV_${upper}_URL" "${urls[0]}"
			# Quoted as a whole ('a b', not a\ b): easier on a line parser.
			printf "export %s='%s'\n" "MDV_${upper}_URLS" "${urls[*]}"
		done
	}
}

write_env() {
	env_lines >"$STACK/env.tmp"
	mv "$STACK/env.tmp" "$STACK/env"
}

# ---------------------------------------------------------------- commands

cmd_up() {
	local infra=0 started=$SECONDS s k missing
	case "${1:-}" in
	--infra) infra=1 ;;
	"") ;;
	*) die "up: unknown option $1" ;;
	esac
	[[ -z ${SCALE:-} ]] || apply_scale_spec "$SCALE"
	make_dirs
	save_scale
	make_keys
	make_tls
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
	for s in "${SERVICES[@]}"; do svc_stop_above "$s" "${SCALE_OF[$s]}"; done
	oidc_start
	for s in "${SERVICES[@]}"; do
		for ((k = 1; k <= SCALE_OF[$s]; k++)); do svc_start "$s" "$k"; done
	done
	local deadline=$((SECONDS + READY_TIMEOUT))
	for s in "${SERVICES[@]}"; do
		for ((k = 1; k <= SCALE_OF[$s]; k++)); do svc_wait_ready "$s" "$k" "$deadline"; done
	done
	for s in "${SIMULATED[@]}"; do sim_start "$s"; done
	seed_once
	log "all up ($((SECONDS - started))s)"
	summary
}

summary() {
	local bin_shown=$BIN stack_shown=$STACK scaled
	[[ $BIN == "$repo"/* ]] && bin_shown=${BIN#"$repo"/}
	scaled=$(scale_summary)
	cat <<-EOF
		mdv local stack in $stack_shown
		  gateway:    http://127.0.0.1:$(port_of gateway)
		  sign in:    http://127.0.0.1:$(port_of gateway)/auth/login (OpenID provider $(oidc_url))
		  a token:    . $stack_shown/env && $bin_shown/mdv-token --sub demo
		  PostgreSQL: psql -h 127.0.0.1 -p $(port_of postgresql) -U mdv mdv_gateway
		  Kafka:      127.0.0.1:$(port_of kafka)
		  instances:  ${scaled:-one of each service} (deploy/local/stack.sh status)
		  logs:       $stack_shown/logs/
		  stop:       deploy/local/stack.sh down
	EOF
}

cmd_down() {
	local s k
	[[ -d $STACK ]] || return 0
	for s in "${SIMULATED[@]}"; do sim_stop "$s"; done
	# TERM every instance first, then wait: they drain in parallel.
	for s in "${SERVICES[@]}"; do
		for ((k = 1; k <= MAX_INSTANCES; k++)); do svc_signal "$s" "$k" TERM; done
	done
	for s in "${SERVICES[@]}"; do
		for ((k = 1; k <= MAX_INSTANCES; k++)); do svc_reap "$s" "$k"; done
	done
	oidc_stop
	kafka_stop
	pg_stop
	log "stopped (data kept in $STACK)"
}

cmd_status() {
	local all=0 s k top name code extra
	printf '%-14s %-8s %s\n' stack "$STACK" "ports $BASE-$((BASE + LAST_PORT_OFFSET))"
	if pg_running; then
		printf '%-14s %-8s %s\n' postgresql running "127.0.0.1:$(port_of postgresql)"
	else
		printf '%-14s %-8s\n' postgresql stopped
		all=1
	fi
	if kafka_running; then
		printf '%-14s %-8s %s\n' kafka running "127.0.0.1:$(port_of kafka) (pid $(pid_from kafka))"
	else
		printf '%-14s %-8s\n' kafka stopped
		all=1
	fi
	if oidc_running; then
		printf '%-14s %-8s %s\n' oidc running "$(oidc_url) (pid $(pid_from oidc))"
	else
		printf '%-14s %-8s\n' oidc stopped
		all=1
	fi
	# A service of one instance shows as before ("student"); several show as
	# their instance ids (student-1, student-2...).
	for s in "${SERVICES[@]}"; do
		top=$(svc_top "$s")
		for ((k = 1; k <= top; k++)); do
			name=$s
			((top == 1)) || name=$s-$k
			extra=
			((k <= SCALE_OF[$s])) || extra=" beyond the scale of $s (${SCALE_OF[$s]})"
			if svc_running "$s" "$k"; then
				code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$(port_of "$s" "$k")/readyz" || true)
				[[ $code == 200 ]] && code=ready || code="readyz=$code"
				printf '%-14s %-8s %s\n' "$name" "$code" \
					"http://127.0.0.1:$(port_of "$s" "$k") (pid $(pid_from "$(inst_file "$s" "$k")"))$extra"
			elif [[ -z $extra ]]; then
				printf '%-14s %-8s\n' "$name" stopped
				all=1
			fi
		done
	done
	return "$all"
}

# Starts or stops instances of service $1 until $2 run; remembers $2.
cmd_scale() {
	(($# == 2)) || die "scale: want NAME COUNT"
	is_service "$1" || die "scale: want one of ${SERVICES[*]} (got '$1')"
	valid_count "$2" || die "scale: want a count from 1 to $MAX_INSTANCES (got '$2')"
	local s=$1 n=$2 k deadline
	if ! pg_running || ! kafka_running; then
		die "scale: PostgreSQL or Kafka is not running (deploy/local/stack.sh up)"
	fi
	SCALE_OF[$s]=$n
	save_scale
	write_env
	svc_stop_above "$s" "$n"
	for ((k = 1; k <= n; k++)); do svc_start "$s" "$k"; done
	deadline=$((SECONDS + READY_TIMEOUT))
	for ((k = 1; k <= n; k++)); do svc_wait_ready "$s" "$k" "$deadline"; done
	log "$s: $n instance(s) running"
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
	check_pg_fsync
	case $cmd in
	up | down | scale | start-service | stop-service | start-simulator | stop-simulator | \
		restart-kafka | restart-pg | start-oidc | stop-oidc | restart-oidc | \
		start-kafka | stop-kafka | start-pg | stop-pg)
		take_lock
		;;
	esac
	load_scale
	case $cmd in
	up) cmd_up "$@" ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	scale) cmd_scale "$@" ;;
	start-service)
		parse_instance "${1:-}" start-service
		((INST_K <= SCALE_OF[$INST_SVC])) ||
			log "note: instance $INST_K is beyond the scale of $INST_SVC (${SCALE_OF[$INST_SVC]}); the env file does not list it"
		make_dirs
		svc_start "$INST_SVC" "$INST_K"
		svc_wait_ready "$INST_SVC" "$INST_K" $((SECONDS + READY_TIMEOUT))
		;;
	stop-service)
		parse_instance "${1:-}" stop-service
		svc_stop "$INST_SVC" "$INST_K" "${2:-TERM}"
		echo "$INST_SVC-$INST_K exit=$STOP_EXIT seconds=$STOP_SECONDS"
		;;
	start-simulator)
		valid_simulated "${1:-}" start-simulator
		sim_start "$1"
		;;
	stop-simulator)
		valid_simulated "${1:-}" stop-simulator
		sim_stop "$1"
		;;
	restart-kafka)
		kafka_stop
		kafka_start
		;;
	restart-pg)
		pg_stop
		pg_start
		;;
	start-kafka) make_dirs && make_tls && kafka_start ;;
	stop-kafka) kafka_stop ;;
	start-pg) make_dirs && pg_start ;;
	stop-pg) pg_stop ;;
	start-oidc) make_dirs && make_keys && oidc_start ;;
	stop-oidc) oidc_stop ;;
	restart-oidc)
		oidc_stop
		oidc_start
		;;
	topics) cmd_topics "$@" ;;
	pg-settings)
		pg_durability_settings
		pg_workload_settings
		;;
	*) usage ;;
	esac
}

main "$@"
