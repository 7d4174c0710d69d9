"""The partners on Kafka (DESIGN.md §11), as a partner sees them: a death
declared reaches the CNAV and the DGFiP on their own topics, each as its own
minimised projection (rules/entitlements.tsv), once, read with the partner's
own certificate in a group under its own prefix; the partner's step joins
the journey, is received once the partner's group committed past the
notice, and ends with what the partner reports on its outcomes topic (once
per idempotency key, only on its own steps). The stack's simulators play
the partners; the tests that play the CNAV themselves stop its simulator.

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

from confluent_kafka import Producer

from mdv_e2e import (
    STEP_CNAV,
    STEP_DGFIP,
    bereavement_declaration,
    end_offsets,
    group_committed_offsets,
    kafka_config,
    parse_time,
    read_topic,
    record_figures,
    steps_by_code,
    stop_instance,
    unknown_person,
    wait_all_final,
    wait_until,
)

KAFKA_LOG = logging.getLogger("librdkafka")
TIMEOUT = 60
CNAV_TOPIC = "mdv.partner.cnav.v1"
DGFIP_TOPIC = "mdv.partner.dgfip.v1"
CNAV_FIELDS = {"journey_id", "family_name", "given_names", "sex", "birth_date", "birth_place", "death_date"}
DGFIP_FIELDS = CNAV_FIELDS - {"sex"}
CNAV = "Caisse nationale d'assurance vieillesse (CNAV)"
CNAV_GROUP = "mdv.partner.cnav.main"  # services/partners/rules/partners.tsv
OUTCOME_TYPE = "fr.gouv.mdv.partner.outcome_reported.v1"
DLQ = "mdv.dlq.v1"
BURST = 40


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
    journey = usager.wait_journey(journey_id)
    created = parse_time(journey["created_at"])
    record_figures(env, ["declaration to each partner's receipt (received_at - created_at), warm stack: "
                         + ", ".join(f"{code} {(parse_time(step['received_at']) - created).total_seconds():.2f} s"
                                     for code, step in sorted(steps_by_code(journey).items())
                                     if code in (STEP_CNAV, STEP_DGFIP))])
    time.sleep(2)
    for reader in (cnav, dgfip):
        reader.read_until(lambda ms: True, timeout=1)
        assert len(of_journey(reader.messages, journey_id)) == 1
    rows = db("partners").execute(
        "SELECT step_code, partner, repeat_of FROM notices WHERE journey_id = %s ORDER BY step_code",
        (journey_id,)).fetchall()
    assert rows == [("caf.death_notified", "caf", None), ("cnav.death_notified", "cnav", None),
                    ("cpam.death_notified", "cpam", None), ("dgfip.death_notified", "dgfip", None)]


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
        return len(rows) == 4

    deadline = time.monotonic() + TIMEOUT
    while not second_recorded():
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)
    assert rows == [("caf.death_notified", first), ("cnav.death_notified", first),
                    ("cpam.death_notified", first), ("dgfip.death_notified", first)]
    time.sleep(2)
    cnav.read_until(lambda ms: True, timeout=1)
    assert of_journey(cnav.messages, second) == []
    assert len(of_journey(cnav.messages, first)) == 1


# --------------------------------------------------------------------------
# The partner's step on the journey, with the CNAV played here


def encode(env, message: str, fields: dict[str, str]) -> bytes:
    out = subprocess.run([str(codec(env)), "encode", message], input=json.dumps(fields).encode(),
                         capture_output=True, check=True, timeout=10)
    return out.stdout


def produce_outcome(env, partner: str, outcome: dict[str, str]) -> tuple[int, int]:
    """The partner reports on its outcomes topic, as a partner's engineer
    would: CloudEvents headers, key = journey id. Returns (partition, offset)."""
    delivered: list[Any] = []
    producer = Producer(kafka_config(env.kafka_brokers, {"enable.idempotence": True, "acks": "all",
                                                         "logger": KAFKA_LOG}, principal=partner))
    headers = [("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
               ("ce_source", f"/partners/{partner}".encode()), ("ce_type", OUTCOME_TYPE.encode()),
               ("ce_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode()),
               ("content-type", b"application/protobuf")]
    producer.produce(f"mdv.partner.{partner}.outcomes.v1", key=outcome["journey_id"].encode(),
                     value=encode(env, "mdv.partner.v1.PartnerOutcome", outcome), headers=headers,
                     on_delivery=lambda err, msg: delivered.append((err, msg)))
    assert producer.flush(30) == 0
    ((err, msg),) = delivered
    assert err is None, err
    return msg.partition(), msg.offset()


def applied_past(env, partner: str, at: tuple[int, int]) -> None:
    """Waits until the partners service committed past that outcome."""
    partition, offset = at
    topic = f"mdv.partner.{partner}.outcomes.v1"
    wait_until(lambda: (group_committed_offsets(env.kafka_brokers, "mdv-partners", topic, [partition])
                        [partition] or 0) > offset, TIMEOUT, f"mdv-partners past {topic}:{partition}@{offset}")


@pytest.fixture
def cnav_played_here(env):
    """The CNAV's simulator stopped for the test, started again after."""
    env.stack("stop-simulator", "cnav")
    try:
        yield
    finally:
        env.stack("start-simulator", "cnav")


def cnav_step(usager, journey_id: str) -> dict[str, Any]:
    return steps_by_code(usager.journey(journey_id)).get(STEP_CNAV) or {}


def test_the_cnav_step_is_received_when_its_group_commits_then_closed_by_its_outcome(
        env, usager, readers, cnav_played_here, db):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    pending = wait_until(lambda: cnav_step(usager, journey_id).get("status") == "pending"
                         and cnav_step(usager, journey_id), TIMEOUT, "the CNAV's step on the journey")
    assert pending["administration"] == CNAV
    assert pending["label"] == "Signalement du décès à l'Assurance retraite"
    assert pending["detail"] == f"Transmis à : {CNAV}"
    assert pending["received_at"] is None
    assert parse_time(pending["due_at"]) > parse_time(usager.journey(journey_id)["created_at"])
    # The DGFiP's simulator, meanwhile, did all of it.
    dgfip = wait_until(lambda: steps_by_code(usager.journey(journey_id)).get(STEP_DGFIP, {}).get("status")
                       == "done" and steps_by_code(usager.journey(journey_id))[STEP_DGFIP],
                       TIMEOUT, "the DGFiP's step done")
    assert dgfip["detail"] == "Décès pris en compte par les Finances publiques" and dgfip["received_at"]

    # Read, not yet committed: still not received.
    consumer = Consumer(kafka_config(env.kafka_brokers, {
        "group.id": CNAV_GROUP, "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "logger": KAFKA_LOG}, principal="cnav"))
    try:
        consumer.subscribe([CNAV_TOPIC])
        mine = None
        deadline = time.monotonic() + TIMEOUT
        while mine is None:
            assert time.monotonic() < deadline, "the CNAV's group never got the notice"
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error() and msg.key() == journey_id.encode():
                mine = msg
        time.sleep(3)
        assert cnav_step(usager, journey_id)["status"] == "pending"
        committed_at = time.time()
        consumer.commit(message=mine, asynchronous=False)
    finally:
        consumer.close()
    received = wait_until(lambda: cnav_step(usager, journey_id).get("status") == "received"
                          and cnav_step(usager, journey_id), TIMEOUT, "the CNAV's receipt")
    assert received["detail"] == f"Reçu par : {CNAV}"
    assert parse_time(received["received_at"]).timestamp() >= committed_at - 1
    assert db("partners").execute("SELECT received_at IS NOT NULL FROM notices WHERE journey_id = %s"
                                  " AND step_code = %s", (journey_id, STEP_CNAV)).fetchone() == (True,)

    # The outcome closes the step; the same outcome again changes nothing.
    outcome = {"journey_id": journey_id, "step_code": STEP_CNAV, "status": "done",
               "detail": "Pension de réversion : dossier ouvert", "idempotency_key": f"cnav-{uuid.uuid4()}"}
    produce_outcome(env, "cnav", outcome)
    done = wait_until(lambda: cnav_step(usager, journey_id).get("status") == "done"
                      and cnav_step(usager, journey_id), TIMEOUT, "the CNAV's outcome")
    assert done["detail"] == outcome["detail"] and done["received_at"] == received["received_at"]
    applied_past(env, "cnav", produce_outcome(env, "cnav", {**outcome, "status": "failed",
                                                            "detail": "Rejoué : ne doit rien changer"}))
    assert cnav_step(usager, journey_id) == done
    assert db("partners").execute("SELECT count(*) FROM outcomes WHERE idempotency_key = %s",
                                  (outcome["idempotency_key"],)).fetchone() == (1,)

    # The DGFiP may not report on the CNAV's step: a dead letter says why.
    dlq_start = end_offsets(env.kafka_brokers, DLQ)
    applied_past(env, "dgfip", produce_outcome(env, "dgfip", {
        "journey_id": journey_id, "step_code": STEP_CNAV, "status": "failed",
        "detail": "Rapport d'un autre partenaire", "idempotency_key": f"dgfip-{uuid.uuid4()}"}))
    letters = [m.headers for m in read_topic(env.kafka_brokers, DLQ, dlq_start)
               if m.headers.get("mdv_dlq_service") == "partners"]
    assert any("partner dgfip reports on step cnav.death_notified" in h["mdv_dlq_error"]
               and "does not own" in h["mdv_dlq_error"] for h in letters), letters
    assert cnav_step(usager, journey_id) == done


# --------------------------------------------------------------------------
# The partners service SIGKILLed during a burst


def test_partners_killed_during_a_burst_sends_each_notice_once_and_every_step_ends(env, usager):
    starts = {t: end_offsets(env.kafka_brokers, t) for t in (CNAV_TOPIC, DGFIP_TOPIC)}
    ids: list[str] = []
    for i in range(BURST):
        ids.append(usager.declare_ok(bereavement_declaration(unknown_person(), "child")))
        if i == BURST // 2:
            stopped = stop_instance(env, "partners-1", "KILL")
            assert stopped.exit_status == "137", stopped
    env.stack("start-service", "partners")
    finals = wait_all_final(usager, ids, 180, "partners killed during a burst")
    for journey_id, journey in finals.journeys.items():
        steps = steps_by_code(journey)
        for code in (STEP_CNAV, STEP_DGFIP):
            assert steps[code]["status"] == "done" and steps[code]["received_at"], (journey_id, steps[code])
    figures = []
    for topic in (CNAV_TOPIC, DGFIP_TOPIC):
        notices: dict[str, set[str]] = {}
        copies: dict[str, int] = {}
        for msg in read_topic(env.kafka_brokers, topic, starts[topic]):
            journey_id = msg.headers.get("mdv_journey_id")
            notices.setdefault(journey_id, set()).add(msg.headers["ce_id"])
            copies[journey_id] = copies.get(journey_id, 0) + 1
        # One notice per journey (a copy the relay resent after the kill
        # carries the same ce_id, which a partner deduplicates on).
        assert {j: len(notices.get(j, ())) for j in ids} == {j: 1 for j in ids}, topic
        figures.append(f"  {topic}: {len(ids)} notices, {sum(copies.get(j, 0) for j in ids) - len(ids)}"
                       " resent copies (same ce_id)")
    record_figures(env, [f"partners SIGKILLed during a burst of {BURST} deaths:", *figures])
