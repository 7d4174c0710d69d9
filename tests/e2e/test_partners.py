"""The partners on Kafka (DESIGN.md §11), as a partner sees them: a death
declared reaches the CNAV and the DGFiP on their own topics, each as its own
minimised projection (rules/entitlements.tsv), once, read with the partner's
own certificate in a group under its own prefix.

A partner has no protobuf library here: tests/tools/partner_codec (built by
`make e2e`) turns the bytes into JSON by the message's own descriptor, and
counts the fields the bytes carry that the message does not define."""

from __future__ import annotations

import json
import logging
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from mdv_e2e import bereavement_declaration, end_offsets, kafka_config, unknown_person

KAFKA_LOG = logging.getLogger("librdkafka")
TIMEOUT = 60
CNAV_TOPIC = "mdv.partner.cnav.v1"
DGFIP_TOPIC = "mdv.partner.dgfip.v1"
CNAV_FIELDS = {"journey_id", "family_name", "given_names", "sex", "birth_date", "birth_place", "death_date"}
DGFIP_FIELDS = CNAV_FIELDS - {"sex"}


def codec(env) -> Path:
    # build/bin -> build/tests/partner_codec (build/asan/bin -> build/asan/tests/...)
    path = env.bin_dir.parent / "tests" / "partner_codec"
    assert path.is_file(), f"{path} not found: build with make e2e"
    return path


def decode(env, message: str, value: bytes) -> dict[str, Any]:
    out = subprocess.run([str(codec(env)), "decode", message], input=value, capture_output=True,
                         check=True, timeout=10)
    return json.loads(out.stdout)


class PartnerReader:
    """A partner reading its own topic from given offsets with its own
    certificate, in a group of its prefix that never commits (it
    acknowledges nothing)."""

    def __init__(self, env, partner: str, topic: str, start: dict[int, int]):
        self.env, self.topic = env, topic
        self.consumer = Consumer(kafka_config(env.kafka_brokers, {
            "group.id": f"mdv.partner.{partner}.test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False, "logger": KAFKA_LOG}, principal=partner))
        self.consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
        self.messages: list[Any] = []

    def read_until(self, predicate, timeout: float = TIMEOUT) -> list[Any]:
        deadline = time.monotonic() + timeout
        while not predicate(self.messages):
            assert time.monotonic() < deadline, f"{self.topic}: got {len(self.messages)} message(s)"
            msg = self.consumer.poll(0.5)
            if msg is not None and not msg.error():
                self.messages.append(msg)
        return self.messages

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def readers(env):
    opened: list[PartnerReader] = []

    def open_reader(partner: str, topic: str) -> PartnerReader:
        reader = PartnerReader(env, partner, topic, end_offsets(env.kafka_brokers, topic))
        opened.append(reader)
        return reader

    yield open_reader
    for reader in opened:
        reader.close()


def of_journey(messages: list[Any], journey_id: str) -> list[Any]:
    return [m for m in messages if m.key() == journey_id.encode()]


def headers(msg) -> dict[str, str]:
    return {k: (v or b"").decode() for k, v in (msg.headers() or [])}


def test_a_death_reaches_cnav_and_dgfip_each_as_its_own_projection_once(env, usager, readers, db):
    cnav = readers("cnav", CNAV_TOPIC)
    dgfip = readers("dgfip", DGFIP_TOPIC)
    deceased = unknown_person()
    body = bereavement_declaration(deceased, "spouse", death_place="13055")
    journey_id = usager.declare_ok(body)

    (to_cnav,) = of_journey(cnav.read_until(lambda ms: of_journey(ms, journey_id)), journey_id)
    (to_dgfip,) = of_journey(dgfip.read_until(lambda ms: of_journey(ms, journey_id)), journey_id)

    expected = {"journey_id": journey_id, "family_name": deceased["family_name"],
                "given_names": deceased["given_names"], "sex": deceased["sex"],
                "birth_date": deceased["birth_date"], "birth_place": deceased["birth_place"],
                "death_date": body["death_date"]}
    notice = decode(env, "mdv.partner.v1.CnavDeathNotice", to_cnav.value())
    assert notice.pop("_unknown") == 0, notice
    assert notice == expected
    notice = decode(env, "mdv.partner.v1.DgfipDeathNotice", to_dgfip.value())
    assert notice.pop("_unknown") == 0, notice
    assert notice == {k: v for k, v in expected.items() if k in DGFIP_FIELDS}
    # Nothing else of the declaration travelled: not the place of death,
    # nor who declared it.
    for msg in (to_cnav, to_dgfip):
        assert b"13055" not in msg.value() and b"spouse" not in msg.value()

    for msg, partner in ((to_cnav, "cnav"), (to_dgfip, "dgfip")):
        h = headers(msg)
        assert h["ce_source"] == "/mdv/partners", h
        assert h["ce_type"] == f"fr.gouv.mdv.partners.{partner}_death_notice.v1", h
        assert h["ce_subject"] == journey_id and h["mdv_journey_id"] == journey_id, h
        assert h["ce_specversion"] == "1.0" and h["ce_id"] and h["mdv_causation_id"], h

    # Once: the journey settled, nothing more came for it.
    usager.wait_journey(journey_id)
    time.sleep(2)
    for reader in (cnav, dgfip):
        reader.read_until(lambda ms: True, timeout=1)
        assert len(of_journey(reader.messages, journey_id)) == 1
    rows = db("partners").execute(
        "SELECT step_code, partner, repeat_of FROM notices WHERE journey_id = %s ORDER BY step_code",
        (journey_id,)).fetchall()
    assert rows == [("cnav.death_notified", "cnav", None), ("dgfip.death_notified", "dgfip", None)]


def test_a_death_declared_twice_reaches_each_partner_once(env, usager, make_usager, readers, db):
    cnav = readers("cnav", CNAV_TOPIC)
    deceased = unknown_person()
    body = bereavement_declaration(deceased, "child")
    first = usager.declare_ok(body)
    usager.wait_journey(first)
    second = make_usager().declare_ok({**body, "declarant_relationship": "sibling"})

    cnav.read_until(lambda ms: of_journey(ms, first))
    rows = []

    def second_recorded():
        rows[:] = db("partners").execute(
            "SELECT step_code, repeat_of::text FROM notices WHERE journey_id = %s ORDER BY step_code",
            (second,)).fetchall()
        return len(rows) == 2

    deadline = time.monotonic() + TIMEOUT
    while not second_recorded():
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)
    assert rows == [("cnav.death_notified", first), ("dgfip.death_notified", first)]
    time.sleep(2)
    cnav.read_until(lambda ms: True, timeout=1)
    assert of_journey(cnav.messages, second) == []
    assert len(of_journey(cnav.messages, first)) == 1
