"""The journeys identity owns (address_change, name_change,
identity_document) and its steps of the journeys abroad, end to end through
the public API: each identity step's final status and detail, what the
register holds afterwards, the events identity publishes, and each effect
applied once (one applied_effects row per journey and step)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

import pytest

from mdv_e2e import (
    REPO_ROOT,
    address_abroad,
    days_ago,
    end_offsets,
    knows,
    new_address_in_france,
    parse_time,
    pivot_identity,
    random_letters,
    read_topic,
    steps_by_code,
    typed_identity,
    unknown_person,
    wait_until,
)

IDENTITY_TOPIC = "mdv.identity.events.v1"
ADDRESS_CHANGED = "fr.gouv.mdv.identity.address_changed.v1"
NAME_CHANGED = "fr.gouv.mdv.identity.person_name_changed.v1"

STEP_ADDRESS = "identity.address_recorded"
STEP_ADDRESS_ABROAD = "identity.address_abroad_recorded"
STEP_NAME = "identity.name_recorded"
STEP_PREDEMANDE = "identity.predemande_recorded"
STEP_APPOINTMENT = "identity.appointment"
STEP_PRODUCED = "identity.document_produced"

ADDRESS_CHANGE_STEPS = [STEP_ADDRESS, "student.address_updated", "housing.residence_reviewed",
                        "abroad.registration_reviewed", "bereavement.claim_address_updated"]
NAME_CHANGE_STEPS = [STEP_NAME, "student.name_updated", "housing.name_updated",
                     "abroad.name_updated", "bereavement.name_updated"]
DOCUMENT_STEPS = [STEP_PREDEMANDE, STEP_APPOINTMENT, STEP_PRODUCED]

UNKNOWN = "Aucune personne à ce nom dans le registre de l'ANTS"
PRODUCTION = "Titre en fabrication à l'ANTS : ce parcours indiquera quand il sera disponible en mairie"
PLANS = REPO_ROOT / "services" / "identity" / "rules" / "plans.json"


def production_due_days() -> int:
    """The délai of the title's production, from identity's plans file."""
    plans = json.loads(PLANS.read_text(encoding="utf-8"))["plans"]
    (plan,) = [p for p in plans if p["kind"] == "identity_document"]
    (step,) = [s for s in plan["steps"] if s["code"] == STEP_PRODUCED]
    return step["due_days"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]
FINAL = {"done", "not_applicable", "action_required", "failed"}


def french_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {MONTHS[d.month - 1]} {d.year}"


def days_ahead(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


def wait_steps(usager, journey_id: str, codes: list[str], statuses=FINAL) -> dict[str, dict[str, Any]]:
    """Waits until each step of codes has one of statuses; returns every step."""
    def ready(journey):
        steps = steps_by_code(journey)
        return all(steps.get(c, {}).get("status") in statuses for c in codes)
    return steps_by_code(usager.wait_journey(journey_id, until=ready))


def assert_plan(journey: dict[str, Any], kind: str, codes: list[str]) -> None:
    """The journey shows identity's plan of that kind, in order, each step
    with its administration, French label and délai."""
    assert journey["kind"] == kind
    assert [s["code"] for s in journey["steps"]][:len(codes)] == codes, journey["steps"]
    for step in journey["steps"]:
        assert step["administration"] and step["label"] and step["due_at"], step


def identity_effects(db, journey_id: str) -> dict[str, tuple[str, str]]:
    """effect -> (status, detail) of identity's applied_effects rows for the
    journey; asserts one row per step."""
    rows = db("identity").execute(
        "SELECT effect, status, detail FROM applied_effects WHERE journey_id::text = %s",
        (journey_id,)).fetchall()
    effects = {effect: (status, detail) for effect, status, detail in rows}
    assert len(effects) == len(rows), f"more than one row for a step: {rows}"
    return effects


def person_row(db, person: dict[str, Any]) -> tuple[str, str, str, str | None]:
    """(person_id, family_name, pivot_key, usage_name) of a seeded person,
    found by what a name change leaves alone."""
    rows = db("identity").execute(
        "SELECT person_id::text, family_name, pivot_key, usage_name FROM persons"
        " WHERE birth_date::text = %s AND birth_place = %s AND sex = %s AND given_names = %s",
        (person["birth_date"], person["birth_place"], person["sex"], list(person["given_names"]))).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def addresses(db, person_id: str) -> list[tuple]:
    return db("identity").execute(
        "SELECT lines, postal_code, commune_code, city, country_code, valid_from::text,"
        " valid_to::text, journey_id::text FROM addresses WHERE person_id::text = %s"
        " ORDER BY recorded_at, valid_from", (person_id,)).fetchall()


def identity_events(env, db, journey_id: str, start: dict[int, int], ce_type: str) -> list:
    """identity's events of that type for the journey, once its outbox holds
    nothing more for it (so an absent event is not merely late)."""
    wait_until(lambda: db("identity").execute(
        "SELECT count(*) = 0 FROM outbox WHERE aggregateid = %s", (journey_id,)).fetchone()[0],
        30, f"identity's outbox to drain for {journey_id}")
    return [m for m in read_topic(env.kafka_brokers, IDENTITY_TOPIC, start)
            if m.headers.get("ce_type") == ce_type and m.headers.get("mdv_journey_id") == journey_id]


def known_in_france(p: dict[str, Any]) -> bool:
    """known to identity, living at an address in France"""
    return knows(p, "identity") and (p.get("address") or {}).get("country_code") == "99100"


# --------------------------------------------------------------------------
# address_change


def test_address_change_recorded_from_its_date_and_published_once(env, usager, find_persons, db):
    (person,) = find_persons(known_in_france)
    person_id = person_row(db, person)[0]
    before = addresses(db, person_id)
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    address = new_address_in_france(person, lines=["12 rue des Lilas", "Bâtiment B"])
    date = days_ahead(20)

    journey_id = usager.declare_ok({"kind": "address_change", "person": typed_identity(person),
                                    "address": address, "effective_date": date})
    steps = wait_steps(usager, journey_id, [STEP_ADDRESS])

    assert_plan(usager.journey(journey_id), "address_change", ADDRESS_CHANGE_STEPS)
    assert steps[STEP_ADDRESS]["status"] == "done", steps[STEP_ADDRESS]
    assert steps[STEP_ADDRESS]["detail"] == f"Adresse enregistrée à compter du {french_date(date)}"
    assert steps[STEP_ADDRESS]["received_at"], steps[STEP_ADDRESS]

    # The new address is the current one from its date; the previous one
    # ends there; the earlier history is untouched.
    after = addresses(db, person_id)
    assert len(after) == len(before) + 1, after
    new = after[-1]
    assert new == (address["lines"], address["postal_code"], address["commune_code"], address["city"],
                   "99100", date, None, journey_id), new
    (current_before,) = [a for a in before if a[6] is None]
    assert after[:-1] == [a if a is not current_before else (*a[:6], date, a[7]) for a in before]
    assert [a for a in after if a[6] is None] == [new]

    assert identity_effects(db, journey_id) == {STEP_ADDRESS: ("done", steps[STEP_ADDRESS]["detail"])}
    events = identity_events(env, db, journey_id, start, ADDRESS_CHANGED)
    assert len(events) == 1, events
    assert events[0].headers["ce_subject"] == journey_id


def test_address_change_of_a_person_the_register_does_not_know(env, usager, db):
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    journey_id = usager.declare_ok({"kind": "address_change", "person": unknown_person(),
                                    "address": new_address_in_france(), "effective_date": days_ago(2)})

    # identity publishes nothing, so it tells the usager itself that no
    # other administration has anything to update: the journey is final.
    steps = wait_steps(usager, journey_id, ADDRESS_CHANGE_STEPS)
    assert steps[STEP_ADDRESS]["status"] == "failed", steps[STEP_ADDRESS]
    assert steps[STEP_ADDRESS]["detail"] == UNKNOWN
    for code in ADDRESS_CHANGE_STEPS[1:]:
        assert steps[code]["status"] == "not_applicable", steps[code]
        assert steps[code]["detail"] == "Adresse non enregistrée par l'ANTS : rien à mettre à jour"
    assert usager.journey(journey_id)["status"] == "failed"

    assert identity_effects(db, journey_id) == {STEP_ADDRESS: ("failed", UNKNOWN)}
    assert db("identity").execute("SELECT count(*) FROM addresses WHERE journey_id::text = %s",
                                  (journey_id,)).fetchone()[0] == 0
    assert identity_events(env, db, journey_id, start, ADDRESS_CHANGED) == []


# --------------------------------------------------------------------------
# name_change


def test_a_nom_d_usage_is_recorded_and_changes_no_matching_key(env, usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity"))
    person_id, family_name, key_before, _ = person_row(db, person)
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    usage = "USAGE-" + random_letters(8)

    journey_id = usager.declare_ok({"kind": "name_change", "person": typed_identity(person),
                                    "name_type": "usage", "new_family_name": usage,
                                    "effective_date": days_ago(1)})
    steps = wait_steps(usager, journey_id, [STEP_NAME])

    assert_plan(usager.journey(journey_id), "name_change", NAME_CHANGE_STEPS)
    assert steps[STEP_NAME]["status"] == "done", steps[STEP_NAME]
    assert steps[STEP_NAME]["detail"] == f"Nom d'usage enregistré : {usage}"
    assert person_row(db, person) == (person_id, family_name, key_before, usage)
    assert identity_effects(db, journey_id) == {STEP_NAME: ("done", steps[STEP_NAME]["detail"])}
    assert len(identity_events(env, db, journey_id, start, NAME_CHANGED)) == 1


def test_a_nom_de_naissance_re_keys_the_person_found_then_under_the_new_name_only(
        env, usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity"))
    person_id, family_name, key_before, usage_before = person_row(db, person)
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    new_name = "NOUVEAU-" + random_letters(8)

    journey_id = usager.declare_ok({"kind": "name_change", "person": typed_identity(person),
                                    "name_type": "birth", "new_family_name": new_name,
                                    "effective_date": days_ago(3)})
    steps = wait_steps(usager, journey_id, [STEP_NAME])

    assert steps[STEP_NAME]["status"] == "done", steps[STEP_NAME]
    assert steps[STEP_NAME]["detail"] == (
        f"Nom de naissance modifié : {family_name} devient {new_name} (loi du 2 mars 2022)")
    row = person_row(db, person)
    assert row[0] == person_id and row[1] == new_name and row[3] == usage_before, row
    assert row[2] != key_before and row[2].startswith(new_name.replace("-", "") + "|"), row
    assert identity_effects(db, journey_id) == {STEP_NAME: ("done", steps[STEP_NAME]["detail"])}
    assert len(identity_events(env, db, journey_id, start, NAME_CHANGED)) == 1

    # The register now knows the person under the new name, not the old.
    under_new = usager.declare_ok({"kind": "identity_document",
                                   "person": {**pivot_identity(person), "family_name": new_name},
                                   "document_type": "cni", "reason": "renewal"})
    under_old = usager.declare_ok({"kind": "identity_document", "person": pivot_identity(person),
                                   "document_type": "cni", "reason": "renewal"})
    assert wait_steps(usager, under_new, [STEP_PREDEMANDE])[STEP_PREDEMANDE]["status"] == "done"
    old = wait_steps(usager, under_old, [STEP_PREDEMANDE])[STEP_PREDEMANDE]
    assert old["status"] == "failed" and old["detail"].startswith(UNKNOWN), old


def test_name_change_of_a_person_the_register_does_not_know(env, usager, db):
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    journey_id = usager.declare_ok({"kind": "name_change", "person": unknown_person(),
                                    "name_type": "birth", "new_family_name": "DUPONT",
                                    "effective_date": days_ago(1)})
    steps = wait_steps(usager, journey_id, NAME_CHANGE_STEPS)
    assert steps[STEP_NAME]["status"] == "failed" and steps[STEP_NAME]["detail"] == UNKNOWN
    for code in NAME_CHANGE_STEPS[1:]:
        assert steps[code]["status"] == "not_applicable", steps[code]
        assert steps[code]["detail"] == "Nom non enregistré par l'ANTS : rien à mettre à jour"
    assert usager.journey(journey_id)["status"] == "failed"
    assert identity_effects(db, journey_id) == {STEP_NAME: ("failed", UNKNOWN)}
    assert identity_events(env, db, journey_id, start, NAME_CHANGED) == []


# --------------------------------------------------------------------------
# identity_document


def test_predemande_from_the_register_then_rendez_vous_then_production(usager, find_persons, db):
    (person,) = find_persons(known_in_france)
    person_id = person_row(db, person)[0]
    journey_id = usager.declare_ok({"kind": "identity_document", "person": typed_identity(person),
                                    "document_type": "passport", "reason": "first"})
    steps = wait_steps(usager, journey_id, [STEP_PREDEMANDE, STEP_APPOINTMENT])
    journey = usager.journey(journey_id)
    assert_plan(journey, "identity_document", DOCUMENT_STEPS)

    detail = steps[STEP_PREDEMANDE]["detail"]
    assert steps[STEP_PREDEMANDE]["status"] == "done", steps[STEP_PREDEMANDE]
    match = re.fullmatch(r"Pré-demande n° (PD-\d{4}-[0-9A-F]{8}) : état civil et adresse repris du"
                         r" registre, rien à ressaisir", detail)
    assert match, detail
    assert steps[STEP_APPOINTMENT]["status"] == "action_required", steps[STEP_APPOINTMENT]
    assert steps[STEP_APPOINTMENT]["detail"] == (
        "Prenez rendez-vous dans une mairie équipée d'un dispositif de recueil")
    assert steps[STEP_PRODUCED]["status"] == "pending", steps[STEP_PRODUCED]
    assert journey["status"] == "action_required"

    # The pré-demande took the person and their current address.
    row = db("identity").execute(
        "SELECT p.number, p.person_id::text, p.document_type, p.reason, a.valid_to IS NULL"
        " FROM predemandes p JOIN addresses a USING (address_id) WHERE p.journey_id::text = %s",
        (journey_id,)).fetchall()
    assert row == [(match.group(1), person_id, "passport", "first", True)], row

    # The usager took the rendez-vous: the délai of production runs from it.
    time.sleep(1.5)
    confirmed_from = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations",
                          json={"step": STEP_APPOINTMENT})
    assert resp.status_code == 202, resp.text
    steps = wait_steps(usager, journey_id, [STEP_APPOINTMENT, STEP_PRODUCED],
                       statuses={"done", "in_progress"})
    assert steps[STEP_APPOINTMENT]["status"] == "done", steps[STEP_APPOINTMENT]
    assert steps[STEP_APPOINTMENT]["detail"] == (
        f"Rendez-vous pris : présentez en mairie la pré-demande n° {match.group(1)}")
    assert steps[STEP_PRODUCED]["status"] == "in_progress", steps[STEP_PRODUCED]
    assert steps[STEP_PRODUCED]["detail"] == PRODUCTION
    days = production_due_days()
    due = wait_until(lambda: (d := parse_time(steps_by_code(usager.journey(journey_id))[STEP_PRODUCED]
                                              ["due_at"])) >= confirmed_from + dt.timedelta(days=days) and d,
                     30, "the production's due date to move to the rendez-vous")
    assert due <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days), due

    # No producing partner yet: nothing completes the production. Once
    # identity has sent all it had for the journey, the step is still in
    # progress and so is the journey.
    wait_until(lambda: db("identity").execute(
        "SELECT count(*) = 0 FROM outbox WHERE aggregateid = %s", (journey_id,)).fetchone()[0],
        30, "identity's outbox to drain")
    time.sleep(2)
    journey = usager.journey(journey_id)
    assert steps_by_code(journey)[STEP_PRODUCED]["status"] == "in_progress", journey
    assert journey["status"] == "in_progress", journey

    assert identity_effects(db, journey_id) == {
        STEP_PREDEMANDE: ("done", detail),
        STEP_APPOINTMENT: ("done", steps[STEP_APPOINTMENT]["detail"]),
        STEP_PRODUCED: ("in_progress", PRODUCTION),
    }
    assert db("identity").execute("SELECT appointment_confirmed_at IS NOT NULL FROM predemandes"
                                  " WHERE journey_id::text = %s", (journey_id,)).fetchone() == (True,)


def titles(db, person_id: str) -> dict[str, list[tuple]]:
    """kind -> [(status, invalidated_reason, invalidated_by)] of the person's titles."""
    rows = db("identity").execute(
        "SELECT kind, status, invalidated_reason, invalidated_by FROM identity_documents"
        " WHERE person_id::text = %s ORDER BY kind, number", (person_id,)).fetchall()
    out: dict[str, list[tuple]] = {}
    for kind, *rest in rows:
        out.setdefault(kind, []).append(tuple(rest))
    return out


def predemande_of(usager, journey_id: str) -> tuple[str, str]:
    step = wait_steps(usager, journey_id, [STEP_PREDEMANDE])[STEP_PREDEMANDE]
    assert step["status"] == "done", step
    match = re.match(r"Pré-demande n° (PD-\d{4}-[0-9A-F]{8}) : état civil et adresse repris du"
                     r" registre, rien à ressaisir", step["detail"])
    assert match, step["detail"]
    return match.group(1), step["detail"]


@pytest.mark.parametrize("document_type, reason, told", [
    ("cni", "loss", "votre ancienne carte d'identité est invalidée (déclarée perdue)"),
    ("passport", "theft", "votre ancien passeport est invalidé (déclaré volé)"),
], ids=["cni-loss", "passport-theft"])
def test_a_title_declared_lost_or_stolen_is_invalidated_once_at_the_predemande(
        usager, find_persons, db, document_type, reason, told):
    """identity_document for a loss or a theft: the valid title of that type
    is invalidated in the register (the other type is left valid), the
    pré-demande says so; a second declaration finds nothing left to
    invalidate."""
    (person,) = find_persons(known_in_france)
    person_id = person_row(db, person)[0]
    other = "passport" if document_type == "cni" else "cni"
    before = titles(db, person_id)
    assert [s for s, _, _ in before[document_type]] == ["valid"], before

    journey_id = usager.declare_ok({"kind": "identity_document", "person": typed_identity(person),
                                    "document_type": document_type, "reason": reason})
    number, detail = predemande_of(usager, journey_id)
    assert detail.endswith(f" ; {told}"), detail
    after = titles(db, person_id)
    assert after[document_type] == [("invalidated", reason, number)], after
    assert after[other] == before[other], "the title of the other type is left as it was"
    assert identity_effects(db, journey_id)[STEP_PREDEMANDE] == ("done", detail)

    # Declared again: nothing valid of that type is left, nothing changes.
    again = usager.declare_ok({"kind": "identity_document", "person": typed_identity(person),
                               "document_type": document_type, "reason": reason})
    _, detail = predemande_of(usager, again)
    none = ("aucune carte d'identité valide enregistrée à invalider" if document_type == "cni"
            else "aucun passeport valide enregistré à invalider")
    assert detail.endswith(f" ; {none}"), detail
    assert titles(db, person_id) == after


@pytest.mark.parametrize("reason", ["first", "renewal"])
def test_a_first_request_or_a_renewal_invalidates_nothing(usager, find_persons, db, reason):
    (person,) = find_persons(known_in_france)
    person_id = person_row(db, person)[0]
    before = titles(db, person_id)
    journey_id = usager.declare_ok({"kind": "identity_document", "person": typed_identity(person),
                                    "document_type": "cni", "reason": reason})
    _, detail = predemande_of(usager, journey_id)
    assert detail.endswith("rien à ressaisir"), detail
    assert titles(db, person_id) == before


def test_identity_document_of_a_person_the_register_does_not_know(usager, db):
    journey_id = usager.declare_ok({"kind": "identity_document", "person": unknown_person(),
                                    "document_type": "cni", "reason": "loss"})
    steps = wait_steps(usager, journey_id, DOCUMENT_STEPS)
    assert steps[STEP_PREDEMANDE]["status"] == "failed", steps[STEP_PREDEMANDE]
    assert steps[STEP_PREDEMANDE]["detail"] == f"{UNKNOWN} : pré-demande impossible"
    for code in (STEP_APPOINTMENT, STEP_PRODUCED):
        assert steps[code]["status"] == "not_applicable", steps[code]
        assert steps[code]["detail"] == "Pas de pré-demande enregistrée"
    assert usager.journey(journey_id)["status"] == "failed"
    assert identity_effects(db, journey_id) == {
        STEP_PREDEMANDE: ("failed", steps[STEP_PREDEMANDE]["detail"]),
        STEP_APPOINTMENT: ("not_applicable", "Pas de pré-demande enregistrée"),
        STEP_PRODUCED: ("not_applicable", "Pas de pré-demande enregistrée"),
    }
    assert db("identity").execute("SELECT count(*) FROM predemandes WHERE journey_id::text = %s",
                                  (journey_id,)).fetchone()[0] == 0


# --------------------------------------------------------------------------
# The journeys abroad (owned by abroad): identity's steps


ABROAD_TOPIC = "mdv.abroad.events.v1"
RESIDENCE_ENDED = "fr.gouv.mdv.abroad.residence_abroad_ended.v1"
DEPARTURE_STEPS = ["abroad.registration_opened", STEP_ADDRESS_ABROAD, "student.mobility_reviewed",
                   "housing.files_reviewed"]
RETURN_STEPS = ["abroad.registration_closed", STEP_ADDRESS, "student.mobility_reviewed",
                "housing.files_reviewed"]


def departure(person: dict[str, Any], date: str) -> dict[str, Any]:
    return {"kind": "departure_abroad", "person": person, "address": address_abroad("99401"),
            "departure_date": date, "consular_registration": True, "study_mobility": False}


def test_departure_abroad_records_the_address_abroad(usager, find_persons, db):
    (person,) = find_persons(known_in_france)
    person_id = person_row(db, person)[0]
    date = days_ago(4)
    journey_id = usager.declare_ok(departure(typed_identity(person), date))

    step = wait_steps(usager, journey_id, [STEP_ADDRESS_ABROAD])[STEP_ADDRESS_ABROAD]
    assert step["status"] == "done", step
    assert step["detail"] == "Adresse à l'étranger enregistrée (Canada)"
    abroad = address_abroad("99401")
    current = [a for a in addresses(db, person_id) if a[6] is None]
    assert current == [(abroad["lines"], abroad["postal_code"], None, abroad["city"], "99401", date, None,
                        journey_id)], current
    assert identity_effects(db, journey_id) == {STEP_ADDRESS_ABROAD: ("done", step["detail"])}


def test_departure_abroad_of_a_person_the_register_does_not_know(usager, db):
    journey_id = usager.declare_ok(departure(unknown_person(), days_ago(1)))
    step = wait_steps(usager, journey_id, [STEP_ADDRESS_ABROAD])[STEP_ADDRESS_ABROAD]
    assert step["status"] == "not_applicable" and step["detail"] == "Aucun dossier à ce nom", step
    assert identity_effects(db, journey_id) == {STEP_ADDRESS_ABROAD: ("not_applicable", step["detail"])}
    assert db("identity").execute("SELECT count(*) FROM addresses WHERE journey_id::text = %s",
                                  (journey_id,)).fetchone()[0] == 0


def test_return_to_france_records_the_address_and_tells_it_as_caused_by_the_return(
        env, usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity"))
    person_id = person_row(db, person)[0]
    identity_start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    abroad_start = end_offsets(env.kafka_brokers, ABROAD_TOPIC)
    address = new_address_in_france(person)
    date = days_ago(2)

    journey_id = usager.declare_ok({"kind": "return_to_france", "person": typed_identity(person),
                                    "address": address, "return_date": date})
    step = wait_steps(usager, journey_id, [STEP_ADDRESS])[STEP_ADDRESS]
    assert step["status"] == "done", step
    assert step["detail"] == f"Adresse enregistrée à compter du {french_date(date)}"
    current = [a for a in addresses(db, person_id) if a[6] is None]
    assert current == [(address["lines"], address["postal_code"], address["commune_code"], address["city"],
                        "99100", date, None, journey_id)], current
    assert identity_effects(db, journey_id) == {STEP_ADDRESS: ("done", step["detail"])}

    # AddressChanged under the return journey, caused by abroad's
    # ResidenceAbroadEnded: the services that acted on the return know it.
    (changed,) = identity_events(env, db, journey_id, identity_start, ADDRESS_CHANGED)
    (ended,) = [m for m in read_topic(env.kafka_brokers, ABROAD_TOPIC, abroad_start)
                if m.headers.get("ce_type") == RESIDENCE_ENDED and m.headers.get("mdv_journey_id") == journey_id]
    assert changed.headers["mdv_causation_id"] == ended.headers["ce_id"]
    assert changed.headers["ce_subject"] == journey_id


@pytest.mark.parametrize("kind", ["departure_abroad", "return_to_france"])
def test_journeys_abroad_become_final_with_identity_s_step_done(usager, find_persons, kind):
    (person,) = find_persons(known_in_france)
    if kind == "departure_abroad":
        body, codes = departure(typed_identity(person), days_ago(3)), DEPARTURE_STEPS
    else:
        body = {"kind": kind, "person": typed_identity(person), "address": new_address_in_france(person),
                "return_date": days_ago(3)}
        codes = RETURN_STEPS
    journey_id = usager.declare_ok(body)
    journey = usager.wait_journey(journey_id, expected_steps=len(codes))
    # The plan's steps first; a service may add one after them (a return's
    # address reaching a survivor claim, a MaPrimeRénov' file left behind).
    assert [s["code"] for s in journey["steps"]][:len(codes)] == codes, journey["steps"]
    step = steps_by_code(journey)[STEP_ADDRESS_ABROAD if kind == "departure_abroad" else STEP_ADDRESS]
    assert step["status"] == "done", step
    assert journey["status"] in ("completed", "action_required"), journey
