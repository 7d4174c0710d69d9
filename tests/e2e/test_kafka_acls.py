"""The broker lets no client in without a certificate of the stack's CA, and
each principal does exactly what it is entitled to (DESIGN.md §10–§11):
every service writes only its own topic (and the dead letters), the partners
on Kafka read exactly their own topic, write exactly their outcomes topic and
consume only in groups under their own prefix.

The expected matrix is written here from those rules, not read from
deploy/local/kafka/acls.tsv: the test holds the file to the policy, and the
broker to the file."""

from __future__ import annotations

import logging
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from mdv_e2e import SERVICES as REACTING_SERVICES, kafka_config

KAFKA_LOG = logging.getLogger("librdkafka")
SERVICES = ("gateway",) + REACTING_SERVICES
KAFKA_PARTNERS = ("cnav", "dgfip")
DOMAIN_TOPICS = ["mdv.gateway.declarations.v1"] + [f"mdv.{s}.events.v1" for s in REACTING_SERVICES]
PARTNER_TOPICS = [t for p in KAFKA_PARTNERS for t in (f"mdv.partner.{p}.v1", f"mdv.partner.{p}.outcomes.v1")]
DLQ = "mdv.dlq.v1"
ALL_TOPICS = DOMAIN_TOPICS + [DLQ] + PARTNER_TOPICS
# A probe carries a type no service routes: consumers store its offset and
# apply nothing (DESIGN.md §5), so an allowed write changes no journey.
PROBE_TYPE = "fr.gouv.mdv.test.acl_probe.v1"
TIMEOUT = 30


def own_topic(service: str) -> str:
    return "mdv.gateway.declarations.v1" if service == "gateway" else f"mdv.{service}.events.v1"


def may_write(principal: str, topic: str) -> bool:
    # The partners service feeds each partner's topic, never its outcomes.
    if principal == "partners" and topic in [f"mdv.partner.{p}.v1" for p in KAFKA_PARTNERS]:
        return True
    if principal in SERVICES:
        return topic in (own_topic(principal), DLQ)
    return topic == f"mdv.partner.{principal}.outcomes.v1"


def may_read(principal: str, topic: str) -> bool:
    # ...and reads them back (where each notice landed) and what partners report.
    if principal == "partners" and topic in PARTNER_TOPICS:
        return True
    if principal in SERVICES:
        return topic in DOMAIN_TOPICS
    return topic == f"mdv.partner.{principal}.v1"


def probe_headers() -> list[tuple[str, bytes]]:
    return [("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
            ("ce_source", b"/mdv/test"), ("ce_type", PROBE_TYPE.encode()),
            ("ce_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode()),
            ("content-type", b"application/protobuf")]


def write_outcomes(brokers: str, principal: str) -> dict[str, bool]:
    """topic -> whether the broker took a probe from principal."""
    reports: dict[str, KafkaError | None] = {}
    producer = Producer(kafka_config(brokers, {"acks": "all", "message.timeout.ms": TIMEOUT * 1000,
                                               "logger": KAFKA_LOG}, principal=principal))
    for topic in ALL_TOPICS:
        producer.produce(topic, key=b"acl-probe", value=b"", headers=probe_headers(),
                         on_delivery=lambda err, msg, t=topic: reports.__setitem__(t, err))
    assert producer.flush(TIMEOUT + 10) == 0, f"{principal}: probes still queued"
    unexpected = {t: e for t, e in reports.items()
                  if e is not None and e.code() != KafkaError.TOPIC_AUTHORIZATION_FAILED}
    assert not unexpected, f"{principal}: writes failed for another reason than authorization: {unexpected}"
    return {t: reports[t] is None for t in ALL_TOPICS}


def read_outcomes(brokers: str, principal: str, partitions: int = 6) -> dict[str, bool]:
    """topic -> whether principal could fetch it. A topic the principal may
    not even describe is refused in the metadata; one it may describe but
    not read fails its fetches (TOPIC_AUTHORIZATION_FAILED); an authorized
    partition reaches its end (partition EOF). Assigned at the end, so no
    group offsets are used."""
    group = f"mdv.partner.{principal}.acl-probe" if principal in KAFKA_PARTNERS else f"mdv-{principal}"
    consumer = Consumer(kafka_config(brokers, {"group.id": group, "enable.auto.commit": False,
                                               "enable.partition.eof": True, "logger": KAFKA_LOG},
                                     principal=principal))
    eof: dict[str, set[int]] = {t: set() for t in ALL_TOPICS}
    refused: set[str] = set()
    try:
        for t in ALL_TOPICS:
            error = consumer.list_topics(t, timeout=TIMEOUT).topics[t].error
            if error is not None:
                assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, f"{principal}: {t}: {error}"
                refused.add(t)
        consumer.assign([TopicPartition(t, p, OFFSET_END) for t in ALL_TOPICS if t not in refused
                         for p in range(partitions)])
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            pending = [t for t in ALL_TOPICS if t not in refused and len(eof[t]) < partitions]
            if not pending:
                break
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is None:
                continue
            code = msg.error().code()
            if code == KafkaError._PARTITION_EOF:
                eof[msg.topic()].add(msg.partition())
            elif code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                refused.add(msg.topic() or "")
            else:
                KAFKA_LOG.info("%s: %s", principal, msg.error())
    finally:
        consumer.close()
    undecided = [t for t in ALL_TOPICS if t not in refused and len(eof[t]) < partitions]
    assert not undecided, f"{principal}: neither read nor refused within {TIMEOUT}s: {undecided}"
    return {t: t not in refused for t in ALL_TOPICS}


def join_group(brokers: str, principal: str, group: str, topic: str) -> bool:
    """Whether principal may consume topic in group: True once partitions
    are assigned, False on GROUP_AUTHORIZATION_FAILED."""
    assigned: list[Any] = []
    consumer = Consumer(kafka_config(brokers, {"group.id": group, "enable.auto.commit": False,
                                               "logger": KAFKA_LOG}, principal=principal))
    try:
        consumer.subscribe([topic], on_assign=lambda c, parts: assigned.extend(parts))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not assigned:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is not None:
                if msg.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
                    return False
                KAFKA_LOG.info("%s in %s: %s", principal, group, msg.error())
        assert assigned, f"{principal} in {group}: neither assigned nor refused within {TIMEOUT}s"
        return True
    finally:
        consumer.close()


def matrix_mismatches(actual: dict[str, bool], expected: Any, principal: str, what: str) -> list[str]:
    return [f"{principal} {what} {t}: broker {'allows' if ok else 'refuses'}, policy says "
            f"{'allow' if expected(principal, t) else 'refuse'}"
            for t, ok in actual.items() if ok != expected(principal, t)]


@pytest.mark.parametrize("principal", SERVICES + KAFKA_PARTNERS)
def test_each_principal_writes_and_reads_exactly_what_it_is_entitled_to(env, principal):
    writes = write_outcomes(env.kafka_brokers, principal)
    reads = read_outcomes(env.kafka_brokers, principal)
    wrong = (matrix_mismatches(writes, may_write, principal, "write")
             + matrix_mismatches(reads, may_read, principal, "read"))
    assert not wrong, "\n".join(wrong)
    # The matrix is not vacuous: each principal has allowed and refused cases.
    assert any(writes.values()) and not all(writes.values())
    assert any(reads.values()) and not all(reads.values())


@pytest.mark.parametrize("principal,group,allowed", [
    ("cnav", "mdv.partner.cnav.simulator", True),
    ("cnav", "mdv.partner.dgfip.simulator", False),
    ("cnav", "cnav", False),
    ("cnav", "mdv.partner.cnavx", False),  # the prefix keeps its trailing dot
    ("dgfip", "mdv.partner.dgfip.simulator", True),
    ("dgfip", "mdv.partner.cnav.simulator", False),
    ("identity", "mdv-student", False),   # a service consumes in its own group only
    ("gateway", "mdv.partner.cnav.simulator", False),
])
def test_consumer_groups_are_limited_to_the_principal_s_own(env, principal, group, allowed):
    topic = f"mdv.partner.{principal}.v1" if principal in KAFKA_PARTNERS else "mdv.identity.events.v1"
    assert join_group(env.kafka_brokers, principal, group, topic) is allowed


def make_foreign_certificate(tmp: Path) -> tuple[Path, Path]:
    """A client certificate with CN=cnav from a CA the broker does not trust."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(tmp / "ca.key"), "-subj", "/CN=foreign CA", "-days", "2", "-out", str(tmp / "ca.crt"))
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(tmp / "cnav.key"), "-subj", "/CN=cnav", "-out", str(tmp / "cnav.csr"))
    openssl("x509", "-req", "-in", str(tmp / "cnav.csr"), "-CA", str(tmp / "ca.crt"), "-CAkey", str(tmp / "ca.key"),
            "-CAcreateserial", "-days", "2", "-out", str(tmp / "cnav.crt"))
    return tmp / "cnav.crt", tmp / "cnav.key"


def refused(config: dict[str, Any]) -> str:
    """The error a client with this configuration gets asking for metadata."""
    consumer = Consumer({**config, "group.id": f"acl-{uuid.uuid4()}", "logger": KAFKA_LOG})
    try:
        consumer.list_topics(timeout=8)
    except KafkaException as exc:
        return str(exc)
    finally:
        consumer.close()
    pytest.fail(f"the broker answered a client it should refuse: {sorted(k for k in config if k.startswith('ssl'))}")


def test_no_client_gets_in_without_a_certificate_of_the_stack_s_ca(env, tmp_path):
    good = kafka_config(env.kafka_brokers, principal="cnav")
    crt, key = make_foreign_certificate(tmp_path)
    plaintext = {"bootstrap.servers": env.kafka_brokers}
    no_certificate = {k: v for k, v in good.items() if k not in ("ssl.certificate.location", "ssl.key.location")}
    foreign = {**good, "ssl.certificate.location": str(crt), "ssl.key.location": str(key)}
    for name, config in [("plaintext", plaintext), ("TLS without a client certificate", no_certificate),
                         ("a certificate of another CA", foreign)]:
        assert refused(config), name
    # ...while the stack's own certificate for the same CN is let in.
    consumer = Consumer({**good, "group.id": "mdv.partner.cnav.probe", "logger": KAFKA_LOG})
    try:
        assert consumer.list_topics(timeout=TIMEOUT).brokers
    finally:
        consumer.close()
