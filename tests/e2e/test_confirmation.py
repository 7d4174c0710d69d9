"""The usager acts where an administration waits for them: a surviving
spouse confirms the pre-filled pension de réversion claim, and the journey
shows it going on to the caisses de retraite."""

from __future__ import annotations

import uuid

import pytest

from mdv_e2e import STEP_SURVIVOR, assert_problem, bereavement_declaration, unknown_person


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

    journey = usager.wait_journey(spouse_journey, until=lambda j: survivor(j)["status"] == "in_progress")
    step = survivor(journey)
    assert "confirmée" in step["detail"], step
    assert journey["status"] == "in_progress"
    status, confirmed_at = db("bereavement").execute(
        "SELECT status, confirmed_at FROM survivor_claims WHERE journey_id = %s", (spouse_journey,)
    ).fetchone()
    assert status == "confirmed" and confirmed_at is not None


def test_a_second_confirmation_is_409_and_changes_nothing(usager, spouse_journey):
    assert confirm(usager, spouse_journey).status_code == 202
    usager.wait_journey(spouse_journey, until=lambda j: survivor(j)["status"] == "in_progress")
    problem = assert_problem(confirm(usager, spouse_journey), 409)
    assert "in_progress" in problem["detail"]
    assert survivor(usager.journey(spouse_journey))["status"] == "in_progress"


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
