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

from mdv_e2e import CONSUMER_SERVICES, bereavement_declaration, kafka_config, unknown_person

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
    producer = Producer(kafka_config(brokers, {"enable.idempotence": True, "acks": "all",
                                               "logger": KAFKA_LOG}))
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
    consumer = Consumer(kafka_config(brokers, {
        "group.id": f"e2e-dlq-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "logger": KAFKA_LOG,
    }))
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


# The consumer groups of the suite's services on each topic the tests
# write to (shared/journey.c and each main.c: group mdv-<service>).
GROUPS_OF = {
    BEREAVEMENT_EVENTS: tuple(f"mdv-{s}" for s in CONSUMER_SERVICES) + ("mdv-gateway", "mdv-partners"),
    DECLARATIONS: ("mdv-bereavement",),
}


def committed_offsets(brokers: str, topic: str, partition: int, groups: tuple[str, ...]) -> dict[str, int | None]:
    """Committed offset of each named consumer group on one partition; None
    for a group with no committed offset there (or an error reading it)."""
    admin = AdminClient(kafka_config(brokers, {"logger": KAFKA_LOG}))
    offsets: dict[str, int | None] = {}
    for group in groups:
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, partition)])]
        result = admin.list_consumer_group_offsets(request, request_timeout=10)[group].result()
        (tp,) = [tp for tp in result.topic_partitions if tp.topic == topic and tp.partition == partition]
        offsets[group] = tp.offset if tp.error is None and tp.offset >= 0 else None
    return offsets


def assert_every_group_moves_past(brokers: str, topic: str, partition: int, offset: int) -> dict[str, int | None]:
    """Every group of GROUPS_OF[topic], each by name, commits an offset past
    `offset` on the partition within TIMEOUT; a group missing from the
    answer, or that never committed there, fails."""
    groups = GROUPS_OF[topic]
    deadline = time.monotonic() + TIMEOUT
    while True:
        offsets = committed_offsets(brokers, topic, partition, groups)
        behind = {g: o for g, o in offsets.items() if o is None or o <= offset}
        if set(offsets) == set(groups) and not behind:
            return offsets
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer groups not past offset {offset} of {topic}[{partition}] after"
                                 f" {TIMEOUT} s (None: no committed offset): {behind}; all: {offsets}")
        time.sleep(0.5)


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
    assert_every_group_moves_past(brokers, BEREAVEMENT_EVENTS, partition, offset)


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
    assert_every_group_moves_past(brokers, DECLARATIONS, partition, offset)


def test_declarations_still_complete_after_dead_letters(brokers, usager):
    """Run after the two tests above: the consumers carried on."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    journey = usager.wait_journey(journey_id)
    assert journey["status"] == "completed", journey
