"""The CNAV's decision on a confirmed pension de réversion claim (README,
"The CNAV's decision on a réversion claim"): the surviving spouse confirms
the pre-filled claim, bereavement's step is done and the claim goes on to
the CNAV as its own projection (CnavSurvivorClaim, exactly the fields its
entitlement lists: the deceased, and the claimant with their current
address when the declaring spouse gave their own identity: the address they
gave with it, or the one their later AddressChanged set), the CNAV's step
cnav.survivor_pension_decided joins the
journey, and the decision the CNAV reports closes it, applied once per
idempotency key. The stack's CNAV simulator decides by its documented rule:
a deceased born in an even year had a career (54 % of 1 000 € + 20 € × the
day of birth, from the first day of the month after the claim), one born in
an odd year had none (refused)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mdv_e2e import (
    REPO_ROOT,
    STEP_SURVIVOR,
    Partner,
    bereavement_declaration,
    has_open_claim,
    knows,
    new_address_in_france,
    pivot_identity,
    random_letters,
    steps_by_code,
    typed_identity,
    unknown_person,
    wait_until,
)
from test_partners import (CNAV, CNAV_TOPIC, applied_past, decode, headers, of_journey, produce_outcome,
                           readers)  # noqa: F401 (readers: a fixture)

TIMEOUT = 60
STEP_DECISION = "cnav.survivor_pension_decided"
CLAIM_TYPE = "fr.gouv.mdv.partners.cnav_survivor_claim.v1"
REFUSED = ("Pension de réversion refusée : aucune carrière au régime général n'est connue"
           " pour la personne décédée")
README = REPO_ROOT / "README.md"


def paris_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/Paris")).date()


def first_of_next_month(day: dt.date) -> str:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return f"01/{month:02d}/{year}"


def granted(birth_date: str, claimed_on: dt.date) -> str:
    """What the simulated CNAV grants, computed here from its rule."""
    day = int(birth_date[8:10])
    cents = (100000 + 2000 * day) * 54 // 100
    return (f"Pension de réversion accordée : {cents // 100},{cents % 100:02d} € par mois"
            f" à compter du {first_of_next_month(claimed_on)}")


def deceased_born(birth_date: str) -> dict[str, Any]:
    return unknown_person() | {"birth_date": birth_date}


def confirm(usager, journey_id: str) -> None:
    resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations", json={"step": STEP_SURVIVOR})
    assert resp.status_code == 202, resp.text


# The claimant's fields of a claim whose spouse gave no identity of their
# own, and its address's when no address reached the claim: empty.
NO_CLAIMANT = {"claimant_family_name": "", "claimant_given_names": [], "claimant_sex": "",
               "claimant_birth_date": "", "claimant_birth_place": "", "claimant_usage_name": "",
               "address_lines": [], "postal_code": "", "city": ""}


def offered_claim(usager, deceased: dict[str, Any],
                  declarant: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """A spouse's declaration (with their own identity when declarant is
    given), once its claim waits for the confirmation."""
    body = bereavement_declaration(deceased, "spouse", death_place="13055")
    if declarant:
        body["declarant"] = declarant
    journey_id = usager.declare_ok(body)
    usager.wait_journey(journey_id, until=lambda j: steps_by_code(j).get(STEP_SURVIVOR, {}).get("status")
                        == "action_required")
    return journey_id, body


def settled(usager, journey_id: str) -> dict[str, Any]:
    """The journey once the CNAV's decision closed it."""
    return usager.wait_journey(journey_id, until=lambda j: j["status"] == "completed"
                               and steps_by_code(j).get(STEP_DECISION, {}).get("status") == "done")


@pytest.fixture
def cnav_reader(readers):
    return readers("cnav", CNAV_TOPIC)


@pytest.fixture
def cnav_played_here(env):
    """The CNAV's simulator stopped for the test, started again after."""
    env.stack("stop-simulator", "cnav")
    try:
        yield
    finally:
        env.stack("start-simulator", "cnav")


def claims_of(messages: list[Any], journey_id: str) -> list[Any]:
    return [m for m in of_journey(messages, journey_id) if headers(m)["ce_type"] == CLAIM_TYPE]


def test_a_confirmed_claim_reaches_the_cnav_and_its_grant_completes_the_journey(env, usager, cnav_reader, db):
    deceased = deceased_born("1950-06-15")
    journey_id, body = offered_claim(usager, deceased)
    before = paris_today()
    confirm(usager, journey_id)

    (claim,) = claims_of(cnav_reader.read_until(lambda ms: claims_of(ms, journey_id)), journey_id)
    after = paris_today()
    got = decode(env, "mdv.partner.v1.CnavSurvivorClaim", claim.value())
    assert got.pop("_unknown") == 0, got
    claimed_on = dt.date.fromisoformat(got.pop("claimed_on"))
    assert before <= claimed_on <= after
    assert got == {"journey_id": journey_id, "family_name": deceased["family_name"],
                   "given_names": deceased["given_names"], "sex": deceased["sex"],
                   "birth_date": deceased["birth_date"], "birth_place": deceased["birth_place"],
                   "death_date": body["death_date"]} | NO_CLAIMANT
    # Nothing else of the declaration: not the place of death, nor who declared.
    assert b"13055" not in claim.value() and b"spouse" not in claim.value()
    assert headers(claim)["ce_source"] == "/mdv/partners" and headers(claim)["ce_subject"] == journey_id

    journey = settled(usager, journey_id)
    steps = steps_by_code(journey)
    assert steps[STEP_SURVIVOR]["status"] == "done" and "confirmée" in steps[STEP_SURVIVOR]["detail"]
    decision = steps[STEP_DECISION]
    assert decision["administration"] == CNAV, decision
    assert decision["label"] == "Décision sur la pension de réversion"
    assert decision["detail"] == granted(deceased["birth_date"], claimed_on), decision
    assert decision["received_at"] and decision["due_at"]
    assert db("partners").execute(
        "SELECT partner, received_at IS NOT NULL FROM notices WHERE journey_id = %s AND step_code = %s",
        (journey_id, STEP_DECISION)).fetchall() == [("cnav", True)]


def claim_of(env, cnav_reader, journey_id: str) -> dict[str, Any]:
    (claim,) = claims_of(cnav_reader.read_until(lambda ms: claims_of(ms, journey_id)), journey_id)
    got = decode(env, "mdv.partner.v1.CnavSurvivorClaim", claim.value())
    assert got.pop("_unknown") == 0, got
    return got


def claimant_fields(identity: dict[str, Any], address: dict[str, Any]) -> dict[str, Any]:
    """What the CNAV is told of the claimant: the identity as declared, no
    nom d'usage known, the address without its commune code."""
    return {"claimant_family_name": identity["family_name"], "claimant_given_names": identity["given_names"],
            "claimant_sex": identity["sex"], "claimant_birth_date": identity["birth_date"],
            "claimant_birth_place": identity["birth_place"], "claimant_usage_name": "",
            "address_lines": address["lines"], "postal_code": address["postal_code"], "city": address["city"]}


def test_a_claim_names_its_claimant_at_the_address_they_moved_to(env, usager, cnav_reader, find_persons):
    """The declaring spouse gives their own identity (as a usager types it);
    their AddressChanged reaches the offered claim (matched on the pivot
    identity normalised); the confirmed claim names them at that address."""
    (spouse,) = find_persons(lambda p: knows(p, "identity") and not has_open_claim(p))
    declarant = typed_identity(spouse)
    # The address they gave declaring the death, which the move replaces.
    given = new_address_in_france(spouse, lines=[f"{random_letters(6)} rue des Ormes"])
    journey_id, body = offered_claim(usager, deceased_born("1950-06-15"), declarant | {"address": given})
    address = new_address_in_france(spouse, lines=[f"{random_letters(6)} avenue des Tilleuls", "Bâtiment C"])
    moved = usager.declare_ok({"kind": "address_change", "person": pivot_identity(spouse), "address": address,
                               "effective_date": paris_today().isoformat()})
    step = steps_by_code(usager.wait_journey(moved, until=lambda j: steps_by_code(j).get(
        "bereavement.claim_address_updated", {}).get("status") in ("done", "not_applicable")))
    assert step["bereavement.claim_address_updated"]["status"] == "done", step
    confirm(usager, journey_id)

    got = claim_of(env, cnav_reader, journey_id)
    assert {k: got[k] for k in NO_CLAIMANT} == claimant_fields(declarant, address)
    assert got["family_name"] == body["deceased"]["family_name"]
    assert steps_by_code(settled(usager, journey_id))[STEP_DECISION]["detail"] == granted(
        body["deceased"]["birth_date"], dt.date.fromisoformat(got["claimed_on"]))


def test_a_spouse_who_confirms_at_once_is_written_to_at_the_address_they_gave(env, usager, cnav_reader):
    """The declaring spouse gives their identity and address (the page's
    is the one the administrations know) and confirms the claim at once:
    no AddressChanged ever reaches it, the CNAV's claim has that address,
    the city the commune's name when they leave it out."""
    declarant = unknown_person() | {"sex": "F", "birth_date": "1952-05-21"}
    address = {"lines": [f"{random_letters(6)} rue des Glycines", "Escalier B"], "postal_code": "13006",
               "commune_code": "13055"}
    journey_id, _ = offered_claim(usager, deceased_born("1950-06-15"), declarant | {"address": address})
    confirm(usager, journey_id)
    got = claim_of(env, cnav_reader, journey_id)
    assert {k: got[k] for k in NO_CLAIMANT} == claimant_fields(declarant, address | {"city": "Marseille"})


def test_a_claim_names_its_claimant_without_an_address_when_none_reached_it(env, usager, cnav_reader):
    declarant = unknown_person() | {"sex": "M", "birth_date": "1949-02-11"}
    journey_id, _ = offered_claim(usager, deceased_born("1950-06-15"), declarant)
    confirm(usager, journey_id)
    got = claim_of(env, cnav_reader, journey_id)
    assert {k: got[k] for k in NO_CLAIMANT} == claimant_fields(
        declarant, {"lines": [], "postal_code": "", "city": ""})


def test_a_claim_the_cnav_refuses_completes_the_journey_with_its_reason(env, usager, cnav_reader):
    journey_id, _ = offered_claim(usager, deceased_born("1951-03-09"))
    confirm(usager, journey_id)
    claims_of(cnav_reader.read_until(lambda ms: claims_of(ms, journey_id)), journey_id)
    decision = steps_by_code(settled(usager, journey_id))[STEP_DECISION]
    assert decision["detail"] == REFUSED, decision


def test_without_a_confirmation_the_cnav_gets_no_claim(env, usager, cnav_reader, db):
    journey_id, _ = offered_claim(usager, deceased_born("1950-06-15"))
    # The death's own notice reached the CNAV; no claim came with it.
    cnav_reader.read_until(lambda ms: of_journey(ms, journey_id))
    usager.wait_journey(journey_id)
    assert claims_of(cnav_reader.messages, journey_id) == []
    assert STEP_DECISION not in steps_by_code(usager.journey(journey_id))
    assert db("partners").execute("SELECT count(*) FROM notices WHERE journey_id = %s AND step_code = %s",
                                  (journey_id, STEP_DECISION)).fetchone() == (0,)


def readme_decision_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### The CNAV's decision on a réversion claim", 1)[1].split("\n### ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    return block


def test_a_replayed_decision_is_applied_once(env, usager, cnav_played_here, db):
    """The README's decision, run as written twice, then the same key on the
    CNAV's outcomes topic: one report on the journey."""
    journey_id, _ = offered_claim(usager, deceased_born("1950-06-15"))
    confirm(usager, journey_id)
    wait_until(lambda: steps_by_code(usager.journey(journey_id)).get(STEP_DECISION, {}).get("status")
               == "pending", TIMEOUT, "the CNAV's decision step pending")
    block = readme_decision_block()
    run_env = {**env.process_env, "JOURNEY_ID": journey_id,
               "PATH": f"{env.bin_dir}:{env.process_env.get('PATH', '')}"}
    answers = []
    for _ in range(2):
        proc = subprocess.run(["bash", "-ec", block], capture_output=True, text=True, timeout=60, env=run_env)
        assert proc.returncode == 0, proc.stderr
        assert "HTTP/1.1 202 Accepted" in proc.stdout, proc.stdout
        answers.append(proc.stdout.split("\n\n", 1)[1])  # text mode: CRLF read as LF
    assert answers[0] == answers[1]
    key = f"cnav-{journey_id}-reversion"
    at = produce_outcome(env, "cnav", {"journey_id": journey_id, "step_code": STEP_DECISION, "status": "done",
                                       "detail": REFUSED, "idempotency_key": key})
    applied_past(env, "cnav", at)
    decision = wait_until(lambda: (s := steps_by_code(usager.journey(journey_id)).get(STEP_DECISION, {}))
                          .get("status") == "done" and s, TIMEOUT, "the decision on the journey")
    assert decision["detail"] == "Pension de réversion accordée : 702,00 € par mois à compter du 01/01/2027"
    assert decision["received_at"]
    assert db("partners").execute("SELECT count(*) FROM outcomes WHERE partner = 'cnav' AND idempotency_key = %s",
                                  (key,)).fetchone() == (1,)
    # The step's reports, numbered by the partners service: pending, then
    # received and done from the first decision; nothing from the replays.
    assert db("partners").execute("SELECT last FROM step_sequences WHERE journey_id = %s AND code = %s",
                                  (journey_id, STEP_DECISION)).fetchone() == (3,)
    # A new key is a new report: the CNAV may revise its decision.
    later = Partner(env, "cnav").report({"journey_id": journey_id, "step_code": STEP_DECISION, "status": "done",
                                         "detail": REFUSED}, f"cnav-{uuid.uuid4()}")
    assert later.status_code == 202, later.text
    wait_until(lambda: steps_by_code(usager.journey(journey_id))[STEP_DECISION]["detail"] == REFUSED,
               TIMEOUT, "the revised decision")
