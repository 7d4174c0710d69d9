"""The journeys abroad owns (departure_abroad, return_to_france) and what
abroad does with identity's events (AddressChanged, PersonNameChanged),
through the public API: each of abroad's steps with its final status and
detail, the inscription as the registre holds it afterwards, and exactly
one applied_effects row per journey and step in abroad's database."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from mdv_e2e import (
    NO_RECORD_DETAIL,
    address_abroad,
    days_ago,
    does_every_step,
    end_offsets,
    has_open_registration,
    instance_log,
    knows,
    log_records,
    new_address_in_france,
    is_final,
    pivot_identity,
    record_figures,
    registration_status,
    read_topic,
    steps_by_code,
    strip_accents,
    typed_identity,
    unknown_person,
    wait_until,
)

OPENED = "abroad.registration_opened"
CLOSED = "abroad.registration_closed"
REVIEWED = "abroad.registration_reviewed"
NAME = "abroad.name_updated"
FINAL = {"done", "not_applicable", "action_required", "failed"}
ABROAD_TOPIC = "mdv.abroad.events.v1"

DEPARTURE_PLAN = {
    OPENED: "Consulat",
    "identity.address_abroad_recorded": "ANTS",
    "student.mobility_reviewed": "CROUS",
    "housing.files_reviewed": "Anah",
}
RETURN_PLAN = {
    CLOSED: "Consulat",
    "identity.address_recorded": "ANTS",
    "student.mobility_reviewed": "CROUS",
    "housing.files_reviewed": "Anah",
}
# The countries' names as abroad's rules give them.
COUNTRIES = json.loads((Path(__file__).resolve().parents[2] / "services" / "abroad" / "rules"
                        / "consulates.json").read_text(encoding="utf-8"))["countries"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]


def french_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{'1er' if d.day == 1 else d.day} {MONTHS[d.month - 1]} {d.year}"


def in_days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


def departure(person: dict[str, Any], registration: bool = True, country: str = "99401",
              when: str | None = None) -> dict[str, Any]:
    return {"kind": "departure_abroad", "person": person, "address": address_abroad(country),
            "departure_date": when or in_days(20), "consular_registration": registration,
            "study_mobility": False}


def return_home(person: dict[str, Any], when: str | None = None) -> dict[str, Any]:
    return {"kind": "return_to_france", "person": person, "address": new_address_in_france(),
            "return_date": when or days_ago(5)}


def step_final(code: str):
    def final(journey: dict[str, Any]) -> bool:
        step = steps_by_code(journey).get(code)
        return step is not None and step["status"] in FINAL
    return final


def wait_step(usager, journey_id: str, code: str) -> dict[str, Any]:
    return steps_by_code(usager.wait_journey(journey_id, until=step_final(code)))[code]


def abroad_effects(db, journey_id: str) -> list[tuple[str, str, str]]:
    """(effect, status, detail) of every applied_effects row of the journey."""
    return db("abroad").execute(
        "SELECT effect, status, detail FROM applied_effects WHERE journey_id = %s ORDER BY id",
        (journey_id,)).fetchall()


def folded(name: str) -> str:
    """A name as the matching key holds it: upper-case A-Z only."""
    for ligature, letters in (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE"), ("ß", "ss")):
        name = name.replace(ligature, letters)
    return "".join(c for c in strip_accents(name).upper() if "A" <= c <= "Z")


def registrations(db, person: dict[str, Any]) -> list[dict[str, Any]]:
    """abroad's inscriptions of a person, found by the matching key (DESIGN.md
    §2: FAMILY|FIRSTGIVEN|SEX|BIRTHDATE|PLACE)."""
    key = "|".join([folded(person["family_name"]), folded(person["given_names"][0]), person["sex"],
                    person["birth_date"], person["birth_place"]])
    cur = db("abroad").execute(
        "SELECT registration_id::text, family_name, status, country_code, consulate,"
        " registered_on, expires_on, closed_on, closed_reason, journey_id::text, usage_name"
        " FROM registrations WHERE pivot_key = %s ORDER BY registered_on", (key,))
    names = [c.name for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def events_of(env, journey_id: str, start: dict[int, int]) -> list[str]:
    """The ce_types abroad published for the journey since start."""
    return [m.headers.get("ce_type", "") for m in read_topic(env.kafka_brokers, ABROAD_TOPIC, start)
            if m.headers.get("mdv_journey_id") == journey_id]


# The steps a service may add by itself to a return's journey when the
# return's AddressChanged reaches a record of theirs (rules/steps_added.json):
# whether they appear, and when, depends on the seeded person.
ADDED_TO_A_RETURN = {"housing.residence_reviewed", "bereavement.claim_address_updated", "student.address_updated"}


def assert_plan(journey: dict[str, Any], plan: dict[str, str], may_add: frozenset[str] = frozenset()) -> None:
    steps = steps_by_code(journey)
    assert set(plan) <= set(steps) and set(steps) - set(plan) <= may_add, f"steps {sorted(steps)}"
    for code, administration in plan.items():
        assert steps[code]["administration"] == administration, steps[code]
        assert steps[code]["label"].strip() and steps[code]["due_at"], steps[code]


# --------------------------------------------------------------------------
# departure_abroad


def test_departure_with_registration_opens_an_inscription_for_five_years(usager, find_persons, db, env):
    (person,) = find_persons(does_every_step("departure_abroad"))
    start = end_offsets(env.kafka_brokers, ABROAD_TOPIC)
    started = time.monotonic()
    journey_id = usager.declare_ok(departure(typed_identity(person)))

    step = wait_step(usager, journey_id, OPENED)
    record_figures(env, [f"departure_abroad: declared -> {OPENED} final in {time.monotonic() - started:.2f} s"])
    assert step["status"] == "done", step
    assert step["detail"] == ("Inscription au registre ouverte pour 5 ans"
                              " (Consulat général de France à Montréal)"), step
    assert step["received_at"]
    assert_plan(usager.journey(journey_id), DEPARTURE_PLAN)
    (opened,) = [r for r in registrations(db, person) if r["journey_id"] == journey_id]
    assert opened["status"] == "open" and opened["country_code"] == "99401"
    assert opened["consulate"] == "Consulat général de France à Montréal"
    assert opened["registered_on"] == dt.date.today() + dt.timedelta(days=20)
    assert opened["expires_on"] == opened["registered_on"].replace(year=opened["registered_on"].year + 5)
    assert abroad_effects(db, journey_id) == [(OPENED, "done", step["detail"])]
    assert events_of(env, journey_id, start).count("fr.gouv.mdv.abroad.residence_abroad_started.v1") == 1


def test_departure_without_registration_opens_nothing_and_still_tells_the_others(usager, env, db):
    person = unknown_person()
    start = end_offsets(env.kafka_brokers, ABROAD_TOPIC)
    journey_id = usager.declare_ok(departure(person, registration=False, country="99109"))

    step = wait_step(usager, journey_id, OPENED)
    assert (step["status"], step["detail"]) == ("not_applicable", "Inscription non demandée"), step
    assert registrations(db, person) == []
    assert abroad_effects(db, journey_id) == [(OPENED, "not_applicable", "Inscription non demandée")]
    types = wait_until(lambda: events_of(env, journey_id, start) or None, 30, "abroad's events")
    assert types.count("fr.gouv.mdv.abroad.residence_abroad_started.v1") == 1, types


def test_departure_to_another_country_closes_the_inscription_left(usager, find_persons, db):
    (person,) = find_persons(lambda p: has_open_registration(p) and p["registration"]["country_code"] != "99109")
    journey_id = usager.declare_ok(departure(typed_identity(person), country="99109", when=days_ago(2)))

    step = wait_step(usager, journey_id, OPENED)
    assert step["status"] == "done", step
    assert step["detail"].startswith("Inscription au registre ouverte pour 5 ans"
                                     " (Consulat général de France à Munich) ; l'inscription précédente"), step
    held = registrations(db, person)
    assert [r["status"] for r in held if r["journey_id"] == journey_id] == ["open"]
    assert sum(r["status"] == "open" for r in held) == 1, held
    (left,) = [r for r in held if r["closed_reason"] == "transfert"]
    assert left["closed_on"] == dt.date.today() - dt.timedelta(days=2)


# --------------------------------------------------------------------------
# return_to_france


def test_return_closes_the_open_inscription(usager, find_persons, db, env):
    (person,) = find_persons(does_every_step("return_to_france"))
    start = end_offsets(env.kafka_brokers, ABROAD_TOPIC)
    returned = days_ago(5)
    started = time.monotonic()
    journey_id = usager.declare_ok(return_home(typed_identity(person), returned))

    step = wait_step(usager, journey_id, CLOSED)
    record_figures(env, [f"return_to_france: declared -> {CLOSED} final in {time.monotonic() - started:.2f} s"])
    assert step["status"] == "done", step
    assert step["detail"].startswith(f"Inscription au registre clôturée au {french_date(returned)}"), step
    assert_plan(usager.journey(journey_id), RETURN_PLAN, frozenset(ADDED_TO_A_RETURN))
    held = registrations(db, person)
    assert all(r["status"] == "closed" for r in held), held
    closed = [r for r in held if r["closed_reason"] == "retour"]
    assert len(closed) == 1 and closed[0]["closed_on"] == dt.date.fromisoformat(returned), held
    assert abroad_effects(db, journey_id) == [(CLOSED, "done", step["detail"])]
    assert events_of(env, journey_id, start).count("fr.gouv.mdv.abroad.residence_abroad_ended.v1") == 1


def test_a_return_with_no_inscription_is_valid_and_not_applicable(usager, db):
    journey_id = usager.declare_ok(return_home(unknown_person()))
    step = wait_step(usager, journey_id, CLOSED)
    assert (step["status"], step["detail"]) == ("not_applicable", "Aucune inscription en cours au registre")
    assert abroad_effects(db, journey_id) == [(CLOSED, "not_applicable", step["detail"])]


def test_the_address_changed_of_its_own_return_changes_nothing_twice(usager, find_persons, db, env):
    """identity records the return's address from ResidenceAbroadEnded and
    publishes AddressChanged for the return journey: abroad recognises it as
    caused by itself and adds no step."""
    (person,) = find_persons(does_every_step("return_to_france"))
    journey_id = usager.declare_ok(return_home(typed_identity(person)))
    usager.wait_journey(journey_id, until=step_final("identity.address_recorded"))

    def said_taken() -> bool:
        return any(r.get("journey_id") == journey_id and "Déjà pris en compte" in r.get("message", "")
                   for r in log_records(instance_log(env, "abroad")))
    wait_until(said_taken, 30, "abroad's « Déjà pris en compte » for the return's AddressChanged")
    journey = usager.journey(journey_id)
    assert REVIEWED not in steps_by_code(journey), journey
    assert [e[0] for e in abroad_effects(db, journey_id)] == [CLOSED]
    assert not db("abroad").execute("SELECT 1 FROM registration_reviews WHERE journey_id = %s",
                                    (journey_id,)).fetchall()


# --------------------------------------------------------------------------
# AddressChanged (identity's address_change journey)


def confirm(usager, journey_id: str, step: str):
    return usager.request("POST", f"/v1/journeys/{journey_id}/confirmations", json={"step": step})


def address_change(person: dict[str, Any], effective: str) -> dict[str, Any]:
    return {"kind": "address_change", "person": person, "address": new_address_in_france(person),
            "effective_date": effective}


def test_an_address_in_france_offers_to_close_the_inscription_and_the_usager_confirms(usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity") and has_open_registration(p))
    country = COUNTRIES[person["registration"]["country_code"]]["name"]
    effective = days_ago(3)
    journey_id = usager.declare_ok(address_change(typed_identity(person), effective))

    step = wait_step(usager, journey_id, REVIEWED)
    assert step["status"] == "action_required", step
    assert step["detail"] == (f"Vous êtes inscrit au registre des Français de l'étranger ({country}) :"
                              " confirmez la clôture de l'inscription"), step
    assert [r["status"] for r in registrations(db, person)].count("open") == 1

    resp = confirm(usager, journey_id, REVIEWED)
    assert resp.status_code == 202, resp.text
    step = steps_by_code(usager.wait_journey(
        journey_id, until=lambda j: steps_by_code(j)[REVIEWED]["status"] == "done"))[REVIEWED]
    assert step["detail"] == f"Inscription clôturée au {french_date(effective)}", step
    held = registrations(db, person)
    assert all(r["status"] == "closed" for r in held), held
    assert [r["closed_on"] for r in held if r["closed_reason"] == "adresse en France"] == [
        dt.date.fromisoformat(effective)]
    assert abroad_effects(db, journey_id) == [(REVIEWED, "done", step["detail"])]
    # A second confirmation is refused: the step no longer waits.
    assert confirm(usager, journey_id, REVIEWED).status_code == 409


@pytest.mark.parametrize("who,detail", [
    ("unknown_abroad", NO_RECORD_DETAIL),
    ("closed", "Aucune inscription en cours au registre"),
])
def test_an_address_with_no_open_inscription_is_not_applicable(usager, find_persons, db, who, detail):
    if who == "unknown_abroad":
        (person,) = find_persons(lambda p: knows(p, "identity") and not knows(p, "abroad"))
    else:
        (person,) = find_persons(lambda p: knows(p, "identity") and registration_status(p) == "closed")
    journey_id = usager.declare_ok(address_change(pivot_identity(person), days_ago(1)))
    step = wait_step(usager, journey_id, REVIEWED)
    assert (step["status"], step["detail"]) == ("not_applicable", detail), step
    assert abroad_effects(db, journey_id) == [(REVIEWED, "not_applicable", detail)]


# --------------------------------------------------------------------------
# PersonNameChanged


def test_a_new_birth_name_rekeys_the_inscription(usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity") and has_open_registration(p))
    new_name = "RENOMME-" + uuid.uuid4().hex[:8].upper().translate(str.maketrans("0123456789", "GHIJKLMNOP"))
    body = {"kind": "name_change", "person": pivot_identity(person), "name_type": "birth",
            "new_family_name": new_name, "effective_date": days_ago(10)}
    journey_id = usager.declare_ok(body)

    step = wait_step(usager, journey_id, NAME)
    assert step["status"] == "done", step
    assert step["detail"] == (f"Nom mis à jour dans l'inscription : nom de naissance {person['family_name']}"
                              f" devient {new_name}"), step
    assert registrations(db, person) == []
    renamed = {**person, "family_name": new_name}
    assert [r["status"] for r in registrations(db, renamed)].count("open") == 1
    assert abroad_effects(db, journey_id) == [(NAME, "done", step["detail"])]

    # Found under the new name, no longer under the old one.
    back_old = usager.declare_ok(return_home(pivot_identity(person)))
    assert wait_step(usager, back_old, CLOSED)["status"] == "not_applicable"
    back_new = usager.declare_ok(return_home(pivot_identity(renamed)))
    assert wait_step(usager, back_new, CLOSED)["status"] == "done"


def test_a_nom_dusage_is_written_on_the_inscription(usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity", "abroad"))
    body = {"kind": "name_change", "person": pivot_identity(person), "name_type": "usage",
            "new_family_name": "Lefèvre", "effective_date": days_ago(1)}
    journey_id = usager.declare_ok(body)
    step = wait_step(usager, journey_id, NAME)
    assert (step["status"], step["detail"]) == (
        "done", "Nom mis à jour dans l'inscription : nom d'usage Lefèvre"), step
    assert {r["usage_name"] for r in registrations(db, person)} == {"Lefèvre"}
    assert abroad_effects(db, journey_id) == [(NAME, "done", step["detail"])]


# --------------------------------------------------------------------------
# The whole journeys: every service reports its step


@pytest.mark.parametrize("kind", ["departure_abroad", "return_to_france"])
def test_the_whole_journey_completes(usager, find_persons, env, kind):
    (person,) = find_persons(does_every_step(kind))
    if kind == "departure_abroad":
        body = departure(typed_identity(person))
    else:
        # Back to the dwelling of the MaPrimeRénov' file: no file is left
        # for another dwelling, nothing waits for the usager.
        body = return_home(typed_identity(person))
        dwelling = person["mpr_file"]["dwelling"]
        body["address"] = {k: dwelling[k] for k in ("lines", "postal_code", "commune_code", "city")}
    started = time.monotonic()
    journey_id = usager.declare_ok(body)
    journey = usager.wait_journey(journey_id, expected_steps=4, timeout=30)
    record_figures(env, [f"{kind}: declared -> every step final in {time.monotonic() - started:.2f} s"])
    assert is_final(journey, 4) and journey["status"] == "completed", journey
