"""The same death declared twice, by two relatives (same person as matched
on the pivot identity, same death date): each declarant gets a complete
journey, the death is recorded once, every administration applies it once
and says so on the second journey, and no second pension de réversion claim
is offered."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

from mdv_e2e import (
    CONSUMER_SERVICES,
    SERVICE_STEP,
    STEP_DEATH_RECORDED,
    STEP_SURVIVOR,
    assert_bereavement_plan,
    bereavement_declaration,
    days_ago,
    declaration_for,
    identity_documents,
    identity_person_id,
    strip_accents,
    unknown_person,
)

RECORDED = "Décès enregistré à l'état civil"
ALREADY_RECORDED = re.compile(r"^Décès déjà enregistré le (\d\d/\d\d/\d{4})$")
ALREADY_APPLIED = re.compile(r"^Déjà pris en compte le (\d\d/\d\d/\d{4}) : (.+)$")
CLAIM_OFFERED = "action_required"
ALREADY_OFFERED = re.compile(r"^Demande de pension de réversion déjà proposée le (\d\d/\d\d/\d{4}), .*pas de seconde demande$")


def known_everywhere_with_accents(person) -> bool:
    """known to every administration, with an accent in the name"""
    name = person["family_name"] + person["given_names"][0]
    return set(person["records"]) >= set(CONSUMER_SERVICES) and strip_accents(name) != name


def is_today_in_france(date: str) -> None:
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    shown = dt.datetime.strptime(date, "%d/%m/%Y").date()
    assert shown in (today, today - dt.timedelta(days=1)), date


def final_steps(usager, journey_id):
    return assert_bereavement_plan(usager.wait_journey(journey_id), journey_id)


def bereavement_row(db, sql, *params):
    return db("bereavement").execute(sql, params).fetchall()


def test_a_death_declared_again_by_another_relative_is_applied_once(make_usager, find_persons, db,
                                                                    applied_effects):
    (person,) = find_persons(known_everywhere_with_accents)
    death_date = days_ago(4)
    first_usager, second_usager = make_usager(), make_usager()

    # The first spouse types the name as the records hold it; the second
    # relative without accents, the family name upper-cased, the given
    # names lower-cased: the same person once normalised.
    first = first_usager.declare_ok(bereavement_declaration(person, "spouse", death_date=death_date))
    first_steps = final_steps(first_usager, first)
    assert first_steps[STEP_DEATH_RECORDED]["detail"] == RECORDED
    assert first_steps[STEP_SURVIVOR]["status"] == CLAIM_OFFERED
    person_id = identity_person_id(db("identity"), person)
    documents = identity_documents(db("identity"), person_id)

    second = second_usager.declare_ok(declaration_for(person, "spouse", death_date=death_date))
    second_journey = second_usager.wait_journey(second)
    steps = assert_bereavement_plan(second_journey, second)

    recorded = ALREADY_RECORDED.match(steps[STEP_DEATH_RECORDED]["detail"])
    assert recorded and steps[STEP_DEATH_RECORDED]["status"] == "done", steps[STEP_DEATH_RECORDED]
    is_today_in_france(recorded.group(1))
    for service, code in SERVICE_STEP.items():
        applied = ALREADY_APPLIED.match(steps[code]["detail"])
        assert applied, (service, steps[code])
        is_today_in_france(applied.group(1))
        # What was done the first time, and the same outcome.
        assert applied.group(2) == first_steps[code]["detail"], (service, steps[code])
        assert steps[code]["status"] == first_steps[code]["status"], (service, steps[code])
    survivor = steps[STEP_SURVIVOR]
    assert survivor["status"] == "not_applicable" and ALREADY_OFFERED.match(survivor["detail"]), survivor
    assert second_journey["status"] == "completed", second_journey["status"]

    # One effect per administration; the documents were cancelled once.
    for service in CONSUMER_SERVICES:
        assert applied_effects(service, [first, second]) == {first: 1}, service
    assert identity_documents(db("identity"), person_id) == documents
    # The second record points to the first; one claim offered.
    assert bereavement_row(db, "SELECT repeat_of::text FROM death_records WHERE journey_id = %s",
                           second) == [(first,)]
    assert bereavement_row(db, "SELECT journey_id::text FROM survivor_claims"
                           " WHERE journey_id = ANY(%s::uuid[])", [first, second]) == [(first,)]
    # The first journey is left as it was.
    assert steps_unchanged(first_usager, first, first_steps)


def steps_unchanged(usager, journey_id, before) -> bool:
    now = assert_bereavement_plan(usager.journey(journey_id), journey_id)
    return {c: (s["status"], s["detail"]) for c, s in now.items()} == \
        {c: (s["status"], s["detail"]) for c, s in before.items()}


def test_two_relatives_declaring_at_once_make_one_record_and_one_effect(make_usager, find_persons, db,
                                                                        applied_effects):
    (person,) = find_persons(known_everywhere_with_accents)
    death_date = days_ago(5)
    usagers = [make_usager(), make_usager()]
    bodies = [bereavement_declaration(person, "spouse", death_date=death_date),
              declaration_for(person, "spouse", death_date=death_date)]
    with ThreadPoolExecutor(2) as pool:
        ids = list(pool.map(lambda u, b: u.declare_ok(b), usagers, bodies))
    journeys = [final_steps(u, j) for u, j in zip(usagers, ids)]

    recorded = sorted(bool(ALREADY_RECORDED.match(s[STEP_DEATH_RECORDED]["detail"])) for s in journeys)
    assert recorded == [False, True], [s[STEP_DEATH_RECORDED]["detail"] for s in journeys]
    # Each administration applied it on whichever DeathRecorded it read first.
    for service, code in SERVICE_STEP.items():
        repeats = sorted(bool(ALREADY_APPLIED.match(s[code]["detail"])) for s in journeys)
        assert repeats == [False, True], (service, [s[code]["detail"] for s in journeys])
        effects = applied_effects(service, ids)
        assert sum(effects.values()) == 1 and set(effects.values()) == {1}, (service, effects)
    claims = sorted(s[STEP_SURVIVOR]["status"] for s in journeys)
    assert claims == [CLAIM_OFFERED, "not_applicable"], claims
    assert len(bereavement_row(db, "SELECT 1 FROM death_records WHERE journey_id = ANY(%s::uuid[])"
                               " AND repeat_of IS NULL", ids)) == 1


def test_a_spouse_declaring_after_a_child_is_offered_the_claim(make_usager):
    deceased = unknown_person()
    child, spouse = make_usager(), make_usager()
    death_date = days_ago(6)
    first = child.declare_ok(bereavement_declaration(deceased, "child", death_date=death_date))
    assert final_steps(child, first)[STEP_SURVIVOR]["status"] == "not_applicable"

    second = spouse.declare_ok(bereavement_declaration(deceased, "spouse", death_date=death_date))
    steps = final_steps(spouse, second)
    assert ALREADY_RECORDED.match(steps[STEP_DEATH_RECORDED]["detail"]), steps[STEP_DEATH_RECORDED]
    # Nobody was offered the claim yet: the spouse is, once.
    assert steps[STEP_SURVIVOR]["status"] == CLAIM_OFFERED, steps[STEP_SURVIVOR]
    for code in SERVICE_STEP.values():
        assert ALREADY_APPLIED.match(steps[code]["detail"]), steps[code]
        assert steps[code]["status"] == "not_applicable", steps[code]


def test_another_death_date_is_another_declaration_but_no_second_claim(make_usager, find_persons,
                                                                       applied_effects):
    (person,) = find_persons(known_everywhere_with_accents)
    first_usager, second_usager = make_usager(), make_usager()
    first = first_usager.declare_ok(bereavement_declaration(person, "spouse", death_date=days_ago(8)))
    final_steps(first_usager, first)

    second = second_usager.declare_ok(declaration_for(person, "spouse", death_date=days_ago(7)))
    steps = final_steps(second_usager, second)
    # Not a repeat: recorded and propagated as declared (README, "The same
    # death declared twice"); what was cancelled or closed stays so.
    assert steps[STEP_DEATH_RECORDED]["detail"] == RECORDED
    for service, code in SERVICE_STEP.items():
        assert not ALREADY_APPLIED.match(steps[code]["detail"]), (service, steps[code])
        assert applied_effects(service, [first, second]) == {first: 1, second: 1}, service
    # But one pension de réversion claim per deceased person.
    assert ALREADY_OFFERED.match(steps[STEP_SURVIVOR]["detail"]), steps[STEP_SURVIVOR]
