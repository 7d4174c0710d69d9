"""The usager acts where an administration waits for them: a surviving
spouse confirms the pre-filled pension de réversion claim, and the journey
shows it made and gone on to the caisses de retraite (the CNAV's decision
is a step of its own: test_partners_cnav.py)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from confluent_kafka import Consumer, TopicPartition

from mdv_e2e import (STEP_SURVIVOR, assert_problem, bereavement_declaration, kafka_config, unknown_person,
                     wait_until)

DECLARATIONS_TOPIC = "mdv.gateway.declarations.v1"
STEP_CONFIRMED = "fr.gouv.mdv.gateway.step_confirmed.v1"
CONCURRENT = 16


def confirm(usager, journey_id: str, body=None, **kw):
    return usager.request("POST", f"/v1/journeys/{journey_id}/confirmations",
                          json={"step": STEP_SURVIVOR} if body is None else body, **kw)


def survivor(journey) -> dict:
    (step,) = [s for s in journey["steps"] if s["code"] == STEP_SURVIVOR]
    return step


@pytest.fixture
def spouse_journey(usager) -> str:
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    journey = usager.wait_journey(journey_id)
    assert survivor(journey)["status"] == "action_required"
    return journey_id


def test_spouse_confirms_the_survivor_claim_and_the_journey_moves_on(usager, spouse_journey, db):
    resp = confirm(usager, spouse_journey)
    assert resp.status_code == 202, resp.text
    assert resp.json()["step"] == STEP_SURVIVOR
    assert resp.headers["Location"] == f"/v1/journeys/{spouse_journey}"

    journey = usager.wait_journey(spouse_journey, until=lambda j: survivor(j)["status"] == "done")
    step = survivor(journey)
    assert "confirmée" in step["detail"], step
    # The CNAV's decision follows on its own step, perhaps already in.
    assert journey["status"] in ("in_progress", "completed")
    status, confirmed_at = db("bereavement").execute(
        "SELECT status, confirmed_at FROM survivor_claims WHERE journey_id = %s", (spouse_journey,)
    ).fetchone()
    assert status == "confirmed" and confirmed_at is not None


def test_a_second_confirmation_is_409_and_changes_nothing(usager, spouse_journey):
    assert confirm(usager, spouse_journey).status_code == 202
    usager.wait_journey(spouse_journey, until=lambda j: survivor(j)["status"] == "done")
    problem = assert_problem(confirm(usager, spouse_journey), 409)
    assert "done" in problem["detail"]
    assert survivor(usager.journey(spouse_journey))["status"] == "done"


def test_nothing_to_confirm_when_no_spouse_declared(usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    usager.wait_journey(journey_id)
    assert_problem(confirm(usager, journey_id), 409)


def test_another_usagers_journey_is_404(usager, make_usager, spouse_journey):
    assert_problem(confirm(make_usager(), spouse_journey), 404)
    assert_problem(confirm(usager, str(uuid.uuid4())), 404)
    assert survivor(usager.journey(spouse_journey))["status"] == "action_required"


@pytest.mark.parametrize("body,field", [
    ({}, "step"),
    ({"step": 42}, "step"),
    ({"step": "Bereavement Survivor"}, "step"),
    ({"step": "identity.no_such_step"}, "step"),
    ({"step": STEP_SURVIVOR, "extra": True}, "extra"),
], ids=["missing", "not a string", "not a code", "not a step of the journey", "unknown field"])
def test_bad_confirmation_is_422_naming_the_field(usager, spouse_journey, body, field):
    problem = assert_problem(confirm(usager, spouse_journey, body), 422)
    assert field in {e["field"] for e in problem["errors"]}, problem


def test_confirmation_needs_a_token_and_json(usager, spouse_journey):
    assert_problem(confirm(usager, spouse_journey, auth=False), 401)
    resp = usager.request("POST", f"/v1/journeys/{spouse_journey}/confirmations", data="step",
                          headers={"Content-Type": "text/plain"})
    assert_problem(resp, 415)


def events_of_journey(brokers: str, journey_id: str, timeout: float = 30) -> list[str]:
    """The ce_type of every message keyed by the journey on the declarations
    topic, read from the beginning up to each partition's end."""
    consumer = Consumer(kafka_config(brokers, {"group.id": f"e2e-confirm-{uuid.uuid4()}",
                                               "enable.auto.commit": False}))
    try:
        partitions = consumer.list_topics(DECLARATIONS_TOPIC, timeout=10).topics[DECLARATIONS_TOPIC].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(DECLARATIONS_TOPIC, p), timeout=10)
                for p in partitions}
        todo = {p for p, (low, high) in ends.items() if high > low}
        consumer.assign([TopicPartition(DECLARATIONS_TOPIC, p, ends[p][0]) for p in todo])
        types: list[str] = []
        deadline = time.monotonic() + timeout
        while todo:
            assert time.monotonic() < deadline, f"{DECLARATIONS_TOPIC} not read to its end in {timeout} s"
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.key() == journey_id.encode():
                types.append(dict(msg.headers() or [])["ce_type"].decode())
            if msg.offset() + 1 >= ends[msg.partition()][1]:
                todo.discard(msg.partition())
        return types
    finally:
        consumer.close()


def outbox_rows(db, journey_id: str) -> int:
    return db("gateway").execute("SELECT count(*) FROM outbox WHERE aggregateid = %s",
                                 (journey_id,)).fetchone()[0]


def test_concurrent_confirmations_one_wins_the_others_409_one_event(env, usager, spouse_journey, db):
    keys = [str(uuid.uuid4()) for _ in range(CONCURRENT)]
    start = threading.Barrier(CONCURRENT)

    def post(key):
        start.wait()
        return confirm(usager, spouse_journey, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(post, keys))

    statuses = [a.status_code for a in answers]
    assert sorted(statuses) == [202] + [409] * (CONCURRENT - 1), statuses
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409)
    won = statuses.index(202)

    # The winner's key gets the first answer back; a loser's gets its 409.
    replay = confirm(usager, spouse_journey, headers={"Idempotency-Key": keys[won]})
    assert replay.status_code == 202, replay.text
    assert replay.json() == answers[won].json()
    assert replay.headers["Location"] == answers[won].headers["Location"]
    assert_problem(confirm(usager, spouse_journey, headers={"Idempotency-Key": keys[won - 1]}), 409)

    usager.wait_journey(spouse_journey, until=lambda j: survivor(j)["status"] == "done")
    wait_until(lambda: outbox_rows(db, spouse_journey) == 0, 30, "the gateway's outbox to drain")
    types = events_of_journey(env.kafka_brokers, spouse_journey)
    assert types.count(STEP_CONFIRMED) == 1, types
    assert db("gateway").execute("SELECT count(*) FROM step_confirmations WHERE journey_id = %s",
                                 (spouse_journey,)).fetchone()[0] == 1


def test_a_confirmation_key_cannot_confirm_another_step(usager, make_usager, spouse_journey):
    key = str(uuid.uuid4())
    assert confirm(usager, spouse_journey, headers={"Idempotency-Key": key}).status_code == 202
    other = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    usager.wait_journey(other)
    assert_problem(confirm(usager, other, headers={"Idempotency-Key": key}), 422)
    assert survivor(usager.journey(other))["status"] == "action_required"
    # Keys belong to their usager: another one may use the same.
    theirs = make_usager()
    their_journey = theirs.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    theirs.wait_journey(their_journey)
    assert confirm(theirs, their_journey, headers={"Idempotency-Key": key}).status_code == 202


def test_a_malformed_confirmation_key_is_422(usager, spouse_journey):
    problem = assert_problem(confirm(usager, spouse_journey, headers={"Idempotency-Key": "a b"}), 422)
    assert "Idempotency-Key" in {e["field"] for e in problem["errors"]}
