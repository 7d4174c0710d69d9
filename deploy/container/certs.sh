#!/usr/bin/env bash
# mdv-certs: the broker's TLS material for a cluster of containers, made by
# the openssl CLI as deploy/local/stack.sh makes the local stack's (make_tls):
# a CA, the broker's certificate (serverAuth and clientAuth, with the SANs its
# clients dial) and one client certificate per principal, whose CN is the
# principal the broker's ACLs name (deploy/local/kafka/acls.tsv). Keys are
# P-256 in PKCS#8, unencrypted: the folder is the secret.
#
# It is the one-shot `certs` service of docker-compose.yml, writing into the
# kafka-tls volume; on Kubernetes it is one way to make the material of the
# mdv-kafka-<principal> Secrets (deploy/k8s/README.md). Made once: a second
# run finds DIR/done and changes nothing, so every `up` may run it.
#
# Layout, one folder per reader, so that each container mounts only its own:
#   DIR/ca.crt, DIR/ca.key     the CA (ca.key is read by this script only)
#   DIR/broker/                ca.crt, broker.pem (key and certificate: Kafka's
#                              PEM keystore), client.properties (the broker's
#                              own Kafka tools, e.g. its health check)
#   DIR/<principal>/           ca.crt, client.crt, client.key
#
# Usage: mdv-certs [DIR]       (default /tls)
# Environment:
#   MDV_CERTS_BROKER_SANS  the broker certificate's subjectAltName (default
#                          DNS:kafka,DNS:localhost,IP:127.0.0.1)
#   MDV_CERTS_BROKER_GROUP a group id: the broker's folder is made readable by
#                          it (the broker image's user is not this image's)
#   MDV_CERTS_DAYS         validity (default 825)
# Exit status: 0 done, 1 openssl failed, 2 usage.
set -euo pipefail

# The services, the partners on Kafka and the operators' tools: every client
# of the broker (the same list as stack.sh's TLS_CLIENTS).
CLIENTS=(gateway identity student bereavement housing abroad partners cnav dgfip admin)

DIR=${1:-/tls}
SANS=${MDV_CERTS_BROKER_SANS:-DNS:kafka,DNS:localhost,IP:127.0.0.1}
DAYS=${MDV_CERTS_DAYS:-825}

log() { printf 'mdv-certs: %s\n' "$*" >&2; }

new_key_and_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$2" -subj "/CN=$1" -out "$3" 2>/dev/null
}

# issue NAME FOLDER EXTENSIONS: FOLDER/client.key and FOLDER/client.crt for CN=NAME.
issue() {
	# Beside the key, not in /tmp: the container's root may be read-only.
	local name=$1 out=$2 ext=$2/client.ext
	printf '%s\n' "$3" >"$ext"
	new_key_and_csr "$name" "$out/client.key" "$out/client.csr"
	openssl x509 -req -in "$out/client.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
		-CAcreateserial -days "$DAYS" -extfile "$ext" -out "$out/client.crt" 2>/dev/null
	rm -f "$out/client.csr" "$ext"
	cp "$DIR/ca.crt" "$out/ca.crt"
}

make_broker() {
	local out=$DIR/broker
	mkdir -p "$out"
	issue broker "$out" "$(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth' "$SANS")"
	cat "$out/client.key" "$out/client.crt" >"$out/broker.pem"
	rm -f "$out/client.key" "$out/client.crt"
	cat >"$out/client.properties" <<-EOF
		security.protocol=SSL
		ssl.keystore.type=PEM
		ssl.keystore.location=/etc/kafka/tls/broker.pem
		ssl.truststore.type=PEM
		ssl.truststore.location=/etc/kafka/tls/ca.crt
	EOF
	if [[ -n ${MDV_CERTS_BROKER_GROUP:-} ]]; then
		chgrp -R "$MDV_CERTS_BROKER_GROUP" "$out"
		chmod 0750 "$out"
		chmod 0640 "$out"/*
	fi
}

main() {
	(($# <= 1)) || {
		log "usage: mdv-certs [DIR]"
		exit 2
	}
	if [[ -f $DIR/done ]]; then
		log "$DIR already holds the TLS material"
		return 0
	fi
	umask 077
	mkdir -p "$DIR"
	log "a CA, the broker ($SANS) and ${#CLIENTS[@]} clients in $DIR"
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$DIR/ca.key" -subj "/CN=mdv CA" -days "$DAYS" -out "$DIR/ca.crt" 2>/dev/null
	make_broker
	local name
	for name in "${CLIENTS[@]}"; do
		mkdir -p "$DIR/$name"
		issue "$name" "$DIR/$name" 'extendedKeyUsage=clientAuth'
	done
	touch "$DIR/done"
	log "done"
}

main "$@"
