"""Undecodable messages on a topic become dead letters on mdv.dlq.v1 and the
consumers carry on."""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from mdv_e2e import CONSUMER_SERVICES, bereavement_declaration, unknown_person

DLQ_TOPIC = "mdv.dlq.v1"
BEREAVEMENT_EVENTS = "mdv.bereavement.events.v1"
DECLARATIONS = "mdv.gateway.declarations.v1"
DLQ_HEADERS = ("mdv_dlq_topic", "mdv_dlq_partition", "mdv_dlq_offset", "mdv_dlq_service", "mdv_dlq_error")
TIMEOUT = 60
# librdkafka's own log lines go through logging, so pytest captures them.
KAFKA_LOG = logging.getLogger("librdkafka")


def produce(brokers: str, topic: str, key: bytes, value: bytes,
            headers: list[tuple[str, bytes]] | None) -> tuple[int, int]:
    """Produces one message; returns its (partition, offset)."""
    delivered: list[Any] = []
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "acks": "all",
                         "logger": KAFKA_LOG})
    kwargs = {"headers": headers} if headers is not None else {}
    producer.produce(topic, key=key, value=value,
                     on_delivery=lambda err, msg: delivered.append((err, msg)), **kwargs)
    assert producer.flush(30) == 0, "message not delivered in 30 s"
    ((err, msg),) = delivered
    assert err is None, err
    return msg.partition(), msg.offset()


def header_dict(msg: Any) -> dict[str, str]:
    """Headers as text; the last value wins (there should be one of each)."""
    return {k: (v or b"").decode("utf-8", "replace") for k, v in (msg.headers() or [])}


def service_name(value: str) -> str:
    return value.removeprefix("mdv-")


def read_dlq(brokers: str, want: Any, timeout: float = TIMEOUT) -> list[Any]:
    """Reads mdv.dlq.v1 from the beginning (fresh group) until want(messages)
    is true; returns the messages read so far."""
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"e2e-dlq-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "logger": KAFKA_LOG,
    })
    try:
        partitions = consumer.list_topics(DLQ_TOPIC, timeout=10).topics[DLQ_TOPIC].partitions
        assert partitions, f"{DLQ_TOPIC} has no partitions (not created?)"
        consumer.assign([TopicPartition(DLQ_TOPIC, p, OFFSET_BEGINNING) for p in partitions])
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.1)
            if msg is None:
                if want(messages):
                    return messages
                continue
            if msg.error():
                continue
            messages.append(msg)
            if want(messages):
                return messages
        return messages
    finally:
        consumer.close()


def assert_dead_letter(msg: Any, topic: str, partition: int, offset: int, key: bytes, value: bytes) -> str:
    """A dead letter carrying the original message and where it came from;
    returns the service that dead-lettered it."""
    headers = header_dict(msg)
    for name in DLQ_HEADERS:
        assert headers.get(name), f"dead letter without {name}: {headers}"
    assert headers["mdv_dlq_topic"] == topic
    assert int(headers["mdv_dlq_partition"]) == partition
    assert int(headers["mdv_dlq_offset"]) == offset
    assert msg.key() == key
    assert msg.value() == value
    return service_name(headers["mdv_dlq_service"])


def committed_offsets(brokers: str, topic: str, partition: int) -> dict[str, int]:
    """Committed offset of every consumer group on one partition (groups
    that never committed there are left out)."""
    admin = AdminClient({"bootstrap.servers": brokers, "logger": KAFKA_LOG})
    groups = admin.list_consumer_groups(request_timeout=10).result().valid
    offsets: dict[str, int] = {}
    for group in groups:
        if group.group_id.startswith("e2e-"):
            continue
        request = [ConsumerGroupTopicPartitions(group.group_id, [TopicPartition(topic, partition)])]
        result = admin.list_consumer_group_offsets(request, request_timeout=10)[group.group_id].result()
        for tp in result.topic_partitions:
            if tp.error is None and tp.offset >= 0:
                offsets[group.group_id] = tp.offset
    return offsets


@pytest.fixture
def brokers(env) -> str:
    return env.kafka_brokers


def test_undecodable_event_is_dead_lettered_by_every_consumer(brokers):
    ce_id = str(uuid.uuid4())
    key = f"e2e-dlq-{uuid.uuid4()}".encode()
    value = b"\xff\xff\xff\xff" + os.urandom(64)  # field 0 / truncated varint: never valid protobuf
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_source", b"/mdv/bereavement"),
        ("ce_type", b"fr.gouv.mdv.bereavement.death_recorded.v1"),
        ("ce_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode()),
        ("ce_subject", str(uuid.uuid4()).encode()),
        ("content-type", b"application/protobuf"),
    ]
    partition, offset = produce(brokers, BEREAVEMENT_EVENTS, key, value, headers)

    def mine(messages):
        return [m for m in messages if header_dict(m).get("ce_id") == ce_id]

    def every_consumer_reported(messages):
        services = {service_name(header_dict(m).get("mdv_dlq_service", "")) for m in mine(messages)}
        return set(CONSUMER_SERVICES) <= services

    letters = mine(read_dlq(brokers, every_consumer_reported))
    assert letters, f"no dead letter with ce_id {ce_id} on {DLQ_TOPIC} after {TIMEOUT} s"
    services = set()
    for msg in letters:
        services.add(assert_dead_letter(msg, BEREAVEMENT_EVENTS, partition, offset, key, value))
        # The original CloudEvents headers travel with the dead letter.
        got = header_dict(msg)
        for name, original in headers:
            assert got.get(name) == original.decode(), f"header {name} lost: {got}"
    assert set(CONSUMER_SERVICES) <= services, f"dead-lettered by {sorted(services)} only"

    # Every group that consumes the partition moved past the bad message.
    def moved_on():
        offsets = committed_offsets(brokers, BEREAVEMENT_EVENTS, partition)
        return offsets and all(o > offset for o in offsets.values()) and offsets

    deadline = time.monotonic() + TIMEOUT
    offsets: Any = None
    while time.monotonic() < deadline and not offsets:
        offsets = moved_on()
        if not offsets:
            time.sleep(0.5)
    assert offsets, (f"consumer groups still at or before offset {offset} of {BEREAVEMENT_EVENTS}"
                     f"[{partition}]: {committed_offsets(brokers, BEREAVEMENT_EVENTS, partition)}")


def test_message_without_headers_is_dead_lettered(brokers):
    key = f"e2e-dlq-{uuid.uuid4()}".encode()
    value = b"no headers at all " + os.urandom(32)
    partition, offset = produce(brokers, DECLARATIONS, key, value, None)

    def mine(messages):
        return [m for m in messages if m.value() == value]

    letters = mine(read_dlq(brokers, mine))
    assert letters, f"no dead letter for the header-less message on {DLQ_TOPIC} after {TIMEOUT} s"
    for msg in letters:
        assert_dead_letter(msg, DECLARATIONS, partition, offset, key, value)


def test_declarations_still_complete_after_dead_letters(brokers, usager):
    """Run after the two tests above: the consumers carried on."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    journey = usager.wait_journey(journey_id)
    assert journey["status"] == "completed", journey
