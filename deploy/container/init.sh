#!/usr/bin/env bash
# mdv-init: what the services expect to exist before they start, on a
# PostgreSQL server and a Kafka cluster that this script does not run: the
# role that owns the service databases, the seven databases, then the topics.
# It is the one-shot `init` service of docker-compose.yml and the mdv-init Job
# of deploy/k8s (image target `tools`). Each step adds only what is missing,
# so running it again is harmless; the owner's password is set at every run,
# so changing it in one place (compose variable, Kubernetes Secret) is enough.
# deploy/local/stack.sh does the same for the local stack.
#
# Environment:
#   PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE...
#                          libpq's own variables: an administrator of the server,
#                          a superuser or a role with CREATEROLE and CREATEDB
#   MDV_DB_OWNER           role owning the databases (default mdv)
#   MDV_DB_OWNER_PASSWORD  its password (empty: the role gets none, for trust or
#                          certificate authentication)
#   MDV_KAFKA_BROKERS      bootstrap servers (required); every MDV_KAFKA_* variable
#                          reaches mdv-topics as it reaches the services (SASL, TLS)
#   MDV_TOPIC_PARTITIONS   partitions of a new topic (default 6)
#   MDV_TOPIC_REPLICATION  replication factor of a new topic (default 1; 3 on a
#                          cluster of three brokers or more)
#   MDV_INIT_ACLS_FILE     the broker's ACLs to create (deploy/local/kafka/acls.tsv's
#                          format; unset: none are made, for a broker without an
#                          authorizer). Not an MDV_KAFKA_* name: librdkafka would
#                          get it as a property, and refuse it.
#   MDV_INIT_WAIT_S        how long to wait for PostgreSQL and Kafka (default 120)
#
# Exit status: 0 done, 1 a server refused or did not answer in time, 2 usage.
set -euo pipefail

SERVICES=(gateway identity student bereavement housing abroad partners)
TOPICS=(mdv.gateway.declarations.v1 mdv.identity.events.v1 mdv.student.events.v1
	mdv.bereavement.events.v1 mdv.housing.events.v1 mdv.abroad.events.v1 mdv.partners.events.v1 mdv.dlq.v1
	mdv.partner.cnav.v1 mdv.partner.cnav.outcomes.v1 mdv.partner.dgfip.v1 mdv.partner.dgfip.outcomes.v1)

OWNER=${MDV_DB_OWNER:-mdv}
PARTITIONS=${MDV_TOPIC_PARTITIONS:-6}
REPLICATION=${MDV_TOPIC_REPLICATION:-1}
WAIT_S=${MDV_INIT_WAIT_S:-120}

log() { printf 'mdv-init: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
usage_error() {
	log "$*"
	exit 2
}

check_settings() {
	[[ -n ${MDV_KAFKA_BROKERS:-} ]] || usage_error "MDV_KAFKA_BROKERS is required"
	[[ -n ${PGHOST:-} ]] || usage_error "PGHOST is required (the PostgreSQL server)"
	local pair
	for pair in "MDV_TOPIC_PARTITIONS=$PARTITIONS" "MDV_TOPIC_REPLICATION=$REPLICATION" \
		"MDV_INIT_WAIT_S=$WAIT_S"; do
		[[ ${pair#*=} =~ ^[1-9][0-9]*$ ]] || usage_error "$pair: want a positive whole number"
	done
}

# Runs "$@" until it succeeds or WAIT_S seconds have passed; on a timeout the
# last attempt's output says why.
wait_for() {
	local what=$1 deadline=$((SECONDS + WAIT_S)) out
	shift
	until out=$("$@" 2>&1); do
		if ((SECONDS >= deadline)); then
			printf '%s\n' "$out" >&2
			die "$what did not answer within ${WAIT_S}s"
		fi
		sleep 2
	done
	log "$what answers"
}

psql_admin() {
	psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" "$@"
}

# Values reach SQL as psql variables, quoted by format(%I, %L): a password
# with quotes in it cannot break out. \gexec runs each generated statement on
# its own, outside a transaction, as CREATE DATABASE requires. An
# administrator that is not a superuser must be a member of the owner role to
# create databases owned by it (PostgreSQL 15), hence the GRANT.
setup_databases() {
	log "role $OWNER and databases: ${SERVICES[*]/#/mdv_}"
	psql_admin -v owner="$OWNER" -v password="${MDV_DB_OWNER_PASSWORD:-}" \
		-v services="${SERVICES[*]}" <<-'SQL'
		SELECT format('CREATE ROLE %I LOGIN', :'owner')
		 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
		SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'owner', :'password')
		 WHERE :'password' <> '' \gexec
		SELECT format('GRANT %I TO CURRENT_USER', :'owner')
		 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
		   AND NOT pg_has_role(current_user, :'owner', 'MEMBER') \gexec
		SELECT format('CREATE DATABASE %I OWNER %I', 'mdv_' || s, :'owner')
		  FROM unnest(string_to_array(:'services', ' ')) AS s
		 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mdv_' || s) \gexec
	SQL
}

# mdv-topics creates what is missing in one request and leaves existing
# topics alone; a topic that exists with another partition count is only
# reported: shrinking is impossible and growing moves keys between
# partitions, so that is an operator's decision.
setup_topics() {
	log "topics (${#TOPICS[@]}, $PARTITIONS partitions, replication $REPLICATION)"
	mdv-topics --brokers "$MDV_KAFKA_BROKERS" --partitions "$PARTITIONS" \
		--replication "$REPLICATION" "${TOPICS[@]}" >&2 || die "could not create every topic"
	local listing t n
	listing=$(mdv-topics --brokers "$MDV_KAFKA_BROKERS" --list)
	for t in "${TOPICS[@]}"; do
		n=$(awk -v t="$t" '$1 == t { print $2 }' <<<"$listing")
		if [[ $n != "$PARTITIONS" ]]; then
			log "warning: $t has ${n:-no} partitions, not $PARTITIONS"
		fi
	done
	if [[ -n ${MDV_INIT_ACLS_FILE:-} ]]; then
		mdv-topics --brokers "$MDV_KAFKA_BROKERS" --acls "$MDV_INIT_ACLS_FILE" >&2 ||
			die "could not create the ACLs of $MDV_INIT_ACLS_FILE"
	fi
}

main() {
	(($# == 0)) || usage_error "no arguments expected (settings come from the environment)"
	check_settings
	wait_for "PostgreSQL at $PGHOST" pg_isready -t 5
	wait_for "Kafka at $MDV_KAFKA_BROKERS" \
		mdv-topics --brokers "$MDV_KAFKA_BROKERS" --list --timeout-ms 5000
	setup_databases
	setup_topics
	log "done"
}

main "$@"
