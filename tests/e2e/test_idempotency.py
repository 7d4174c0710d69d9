"""Idempotency-Key: a replayed declaration returns the first answer and
creates nothing; the same key with another body is refused."""

from __future__ import annotations

import uuid

from mdv_e2e import assert_problem, bereavement_declaration, unknown_person


def test_same_key_same_body_returns_the_first_answer(usager):
    key = str(uuid.uuid4())
    body = bereavement_declaration(unknown_person(), "child")

    first = usager.declare(body, idempotency_key=key)
    second = usager.declare(body, idempotency_key=key)

    assert first.status_code == 202, first.text
    assert second.status_code == first.status_code, second.text
    assert second.json()["journey_id"] == first.json()["journey_id"]
    assert second.headers.get("Location") == first.headers.get("Location")
    assert [j["id"] for j in usager.all_journeys(limit=10)] == [first.json()["journey_id"]]
    # The one journey completes normally.
    usager.wait_journey(first.json()["journey_id"])


def test_same_key_other_body_is_422(usager):
    key = str(uuid.uuid4())
    first = usager.declare(bereavement_declaration(unknown_person(), "child"), idempotency_key=key)
    assert first.status_code == 202, first.text

    other = usager.declare(bereavement_declaration(unknown_person(), "child"), idempotency_key=key)
    assert_problem(other, 422)
    assert [j["id"] for j in usager.all_journeys(limit=10)] == [first.json()["journey_id"]]


def test_usagers_reuse_the_same_key_independently(usager, make_usager):
    other_usager = make_usager()
    key = str(uuid.uuid4())
    body = bereavement_declaration(unknown_person(), "child")

    mine = usager.declare(body, idempotency_key=key)
    theirs = other_usager.declare(body, idempotency_key=key)

    assert mine.status_code == 202 and theirs.status_code == 202, (mine.text, theirs.text)
    assert mine.json()["journey_id"] != theirs.json()["journey_id"]
    assert other_usager.journey(theirs.json()["journey_id"])["id"] == theirs.json()["journey_id"]
    assert_problem(other_usager.get_journey(mine.json()["journey_id"]), 404)


def test_different_keys_make_different_journeys(usager):
    body = bereavement_declaration(unknown_person(), "child")
    first = usager.declare(body, idempotency_key=str(uuid.uuid4()))
    second = usager.declare(body, idempotency_key=str(uuid.uuid4()))
    assert first.status_code == second.status_code == 202
    assert first.json()["journey_id"] != second.json()["journey_id"]
