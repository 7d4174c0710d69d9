"""« Je rénove mon logement » (renovation_grant, owned by housing) end to
end through the public API, for seeded persons: identity's check of the
dwelling against the applicant's recorded main address
(identity.residence_verified: the same address, typed another way, asks no
proof; another dwelling or an unknown applicant asks one, and the usager's
confirmation completes the step), the Anah's file (housing.file_registered:
a file number, or failed with each reason of ineligibility) and estimate
(housing.grant_estimated: each income category of the 2025 barème, inside
and outside Île-de-France, with the amounts the official tables give),
RenovationGrantEstimated published, the file stored where a later
address_change away from the dwelling reaches it, and each effect applied
once."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from mdv_e2e import (
    does_every_step,
    end_offsets,
    knows,
    new_address_in_france,
    parse_time,
    pivot_identity,
    read_topic,
    record_figures,
    steps_by_code,
    unknown_person,
    wait_until,
)

HOUSING_TOPIC = "mdv.housing.events.v1"
REQUESTED = "fr.gouv.mdv.housing.renovation_grant_requested.v1"
ESTIMATED = "fr.gouv.mdv.housing.renovation_grant_estimated.v1"

STEP_RESIDENCE = "identity.residence_verified"
STEP_REGISTERED = "housing.file_registered"
STEP_ESTIMATED = "housing.grant_estimated"
PLAN = [STEP_RESIDENCE, STEP_REGISTERED, STEP_ESTIMATED]
FINAL = {"done", "not_applicable", "action_required", "failed"}

VERIFIED = "Adresse vérifiée : aucun justificatif à fournir"
PROOF = "Justificatif de domicile à fournir"
SENT_VERIFIED = "Justificatif de domicile transmis : adresse vérifiée"
UNKNOWN = "Aucune personne à ce nom dans le registre de l'ANTS"
REVIEW = ("Ce logement n'est plus votre résidence principale : confirmez le retrait du dossier ou "
          "gardez-le")

# The 2025 barème (RULES-REFERENCE.md, france-renov.gouv.fr/bareme): the
# ceilings bleu / jaune / violet for 1 to 5 persons, then each extra one.
OUTSIDE = [(17173, 22015, 30844), (25115, 32197, 45340), (30206, 38719, 54592),
           (35285, 45234, 63844), (40388, 51775, 73098), (5094, 6525, 9254)]
INSIDE = [(23768, 28933, 40404), (34884, 42463, 59394), (41893, 51000, 71060),
          (48914, 59549, 83637), (55961, 68123, 95758), (7038, 8568, 12122)]
IDF_DEPARTMENTS = {"75", "77", "78", "91", "92", "93", "94", "95"}
CATEGORIES = ["bleu", "jaune", "violet", "rose"]
# The work items every application here lists, and their flat amounts.
PUMP = {"code": "air_water_heat_pump", "cost_eur": 12000}
WALLS = {"code": "external_wall_insulation", "surface_m2": 60, "cost_eur": 9000}
PUMP_EUR = {"bleu": 5000, "jaune": 4000, "violet": 3000, "rose": 0}
WALLS_EUR_M2 = {"bleu": 75, "jaune": 60, "violet": 40, "rose": 0}


def ceiling(idf: bool, persons: int, category: str) -> int:
    table = INSIDE if idf else OUTSIDE
    c = CATEGORIES.index(category)
    return table[persons - 1][c] if persons <= 5 else table[4][c] + (persons - 5) * table[5][c]


def euros(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def expected_estimate(category: str, idf: bool) -> str:
    where = "Île-de-France" if idf else "hors Île-de-France"
    if category == "rose":
        return (f"Catégorie rose ({where}) : pas de prime par geste pour les ménages aux revenus"
                " supérieurs ; total 0 €")
    pump, rate = PUMP_EUR[category], WALLS_EUR_M2[category]
    return (f"Catégorie {category} ({where}) : pompe à chaleur air/eau {euros(pump)} € ;"
            f" isolation des murs par l'extérieur 60 m² × {rate} € = {euros(60 * rate)} € ;"
            f" total {euros(pump + 60 * rate)} €")


def home_of(person: dict[str, Any]) -> dict[str, Any]:
    """The person's recorded main address as a dwelling (no country)."""
    a = person["address"]
    return {"lines": list(a["lines"]), "postal_code": a["postal_code"], "commune_code": a["commune_code"],
            "city": a["city"]}


def application(who: dict[str, Any], dwelling: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {"kind": "renovation_grant", "person": who, "dwelling": dwelling, "construction_year": 1975,
            "main_residence": True, "owner_occupier": True, "household_size": 2,
            "reference_tax_income_eur": 30000, "items": [dict(PUMP), dict(WALLS)]}
    body.update(changes)
    return body


# Known to identity, whose main address is in France: the seeded persons
# for whom every step of the plan does something.
at_home_in_france = does_every_step("renovation_grant")


def seeded_category(p: dict[str, Any]) -> str:
    """The category of the person's seeded fiscal household, from the
    official tables, for a dwelling at their home."""
    household = p["fiscal_household"]
    idf = p["address"]["commune_code"][:2] in IDF_DEPARTMENTS
    income, persons = household["reference_tax_income_eur"], household["persons"]
    return next((c for c in CATEGORIES[:3] if income <= ceiling(idf, persons, c)), "rose")


def wait_steps(usager, journey_id: str, codes: list[str], statuses=FINAL) -> dict[str, dict[str, Any]]:
    def ready(journey):
        steps = steps_by_code(journey)
        return all(steps.get(c, {}).get("status") in statuses for c in codes)
    return steps_by_code(usager.wait_journey(journey_id, until=ready))


def effects(db, service: str, journey_id: str) -> dict[str, tuple[str, str]]:
    rows = db(service).execute(
        "SELECT effect, status, detail FROM applied_effects WHERE journey_id::text = %s",
        (journey_id,)).fetchall()
    found = {effect: (status, detail) for effect, status, detail in rows}
    assert len(found) == len(rows), f"more than one row for a step: {rows}"
    return found


def housing_events(env, db, journey_id: str, start: dict[int, int], ce_type: str) -> list:
    wait_until(lambda: db("housing").execute(
        "SELECT count(*) = 0 FROM outbox WHERE aggregateid = %s", (journey_id,)).fetchone()[0],
        30, f"housing's outbox to drain for {journey_id}")
    return [m for m in read_topic(env.kafka_brokers, HOUSING_TOPIC, start)
            if m.headers.get("ce_type") == ce_type and m.headers.get("mdv_journey_id") == journey_id]


def file_row(db, journey_id: str) -> tuple | None:
    return db("housing").execute(
        "SELECT file_number, status, category, ile_de_france, total_eur, dwelling_lines,"
        " dwelling_postal_code, dwelling_commune_code FROM mpr_files WHERE journey_id::text = %s",
        (journey_id,)).fetchone()


def test_a_dwelling_that_is_the_recorded_main_address_needs_no_proof(env, db, usager, find_persons):
    """The seeded person's home, typed another way (case, punctuation,
    accents): identity finds it, asks nothing; the file is registered with
    its number and stored; the estimate is published; one effect per step."""
    [person] = find_persons(lambda p: at_home_in_france(p) and not knows(p, "housing"))
    dwelling = home_of(person)
    dwelling["lines"] = [re.sub(r"^(\d+) ", r"\1, ", line.upper()) for line in dwelling["lines"]]
    start = end_offsets(env.kafka_brokers, HOUSING_TOPIC)
    journey_id = usager.declare_ok(application(pivot_identity(person), dwelling))

    journey = usager.wait_journey(journey_id, expected_steps=3)
    steps = steps_by_code(journey)
    assert [s["code"] for s in journey["steps"]] == PLAN, journey["steps"]
    for step in journey["steps"]:
        assert step["administration"] and step["label"] and step["due_at"], step
    assert steps[STEP_RESIDENCE]["status"] == "done" and steps[STEP_RESIDENCE]["detail"] == VERIFIED, steps
    assert steps[STEP_REGISTERED]["status"] == "done", steps[STEP_REGISTERED]
    year = dt.date.today().year
    match = re.fullmatch(rf"Dossier n° (MPR-{year}-[0-9A-F]{{8}}) enregistré", steps[STEP_REGISTERED]["detail"])
    assert match, steps[STEP_REGISTERED]
    assert steps[STEP_ESTIMATED]["status"] == "done", steps[STEP_ESTIMATED]
    assert journey["status"] == "completed", journey

    idf = person["address"]["commune_code"][:2] in IDF_DEPARTMENTS
    category = next((c for c in CATEGORIES[:3] if 30000 <= ceiling(idf, 2, c)), "rose")
    assert steps[STEP_ESTIMATED]["detail"] == expected_estimate(category, idf)
    row = file_row(db, journey_id)
    total = PUMP_EUR[category] + 60 * WALLS_EUR_M2[category]
    assert row == (match.group(1), "open", category, idf, total, dwelling["lines"],
                   dwelling["postal_code"], dwelling["commune_code"]), row
    assert len(housing_events(env, db, journey_id, start, REQUESTED)) == 1
    assert len(housing_events(env, db, journey_id, start, ESTIMATED)) == 1
    assert effects(db, "identity", journey_id) == {STEP_RESIDENCE: ("done", VERIFIED)}
    assert set(effects(db, "housing", journey_id)) == {STEP_REGISTERED, STEP_ESTIMATED}


def test_another_dwelling_asks_a_proof_that_the_usager_confirms(db, usager, find_persons):
    [person] = find_persons(at_home_in_france)
    dwelling = new_address_in_france(person)
    journey_id = usager.declare_ok(application(pivot_identity(person), dwelling))
    steps = wait_steps(usager, journey_id, PLAN)
    assert steps[STEP_RESIDENCE]["status"] == "action_required", steps[STEP_RESIDENCE]
    assert steps[STEP_RESIDENCE]["detail"] == (
        f"{PROOF} : le logement n'est pas l'adresse principale enregistrée")
    assert usager.journey(journey_id)["status"] == "action_required"
    # The Anah registers and estimates all the same: the proof holds the
    # payment, not the file.
    assert steps[STEP_REGISTERED]["status"] == "done" and steps[STEP_ESTIMATED]["status"] == "done", steps

    resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations", json={"step": STEP_RESIDENCE})
    assert resp.status_code == 202, resp.text
    steps = wait_steps(usager, journey_id, [STEP_RESIDENCE], statuses={"done"})
    assert steps[STEP_RESIDENCE]["detail"] == SENT_VERIFIED
    assert usager.journey(journey_id)["status"] == "completed"
    assert effects(db, "identity", journey_id) == {STEP_RESIDENCE: ("done", SENT_VERIFIED)}


def test_an_applicant_unknown_to_the_register_is_asked_a_proof(usager):
    journey_id = usager.declare_ok(application(unknown_person(), new_address_in_france()))
    steps = wait_steps(usager, journey_id, PLAN)
    assert steps[STEP_RESIDENCE]["status"] == "action_required", steps[STEP_RESIDENCE]
    assert steps[STEP_RESIDENCE]["detail"] == f"{PROOF} : {UNKNOWN}"


def in_ile_de_france(p: dict[str, Any]) -> bool:
    return p["address"]["commune_code"][:2] in IDF_DEPARTMENTS


@pytest.mark.parametrize("idf", [True, False], ids=["ile-de-france", "hors-ile-de-france"])
@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("persons", [1, 4, 6])
def test_each_category_at_its_ceiling(db, usager, find_persons, idf, category, persons):
    """A household at its category's ceiling (rose: one euro above violet),
    for a seeded person whose home, the dwelling, is in or out of
    Île-de-France."""
    [person] = find_persons(lambda p: at_home_in_france(p) and in_ile_de_france(p) == idf)
    income = ceiling(idf, persons, "violet") + 1 if category == "rose" else ceiling(idf, persons, category)
    journey_id = usager.declare_ok(application(pivot_identity(person), home_of(person),
                                               household_size=persons, reference_tax_income_eur=income))
    steps = wait_steps(usager, journey_id, PLAN)
    assert steps[STEP_ESTIMATED]["status"] == "done", steps[STEP_ESTIMATED]
    assert steps[STEP_ESTIMATED]["detail"] == expected_estimate(category, idf), (idf, persons, income)
    assert file_row(db, journey_id)[2:4] == (category, idf)


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_seeded_household_of_each_category(db, usager, find_persons, category):
    """mdv-seed gives each person known to identity the fiscal household a
    renovation_grant declares; one of each category files its application
    with it."""
    [person] = find_persons(lambda p: at_home_in_france(p) and seeded_category(p) == category)
    household = person["fiscal_household"]
    journey_id = usager.declare_ok(application(pivot_identity(person), home_of(person),
                                               household_size=household["persons"],
                                               reference_tax_income_eur=household["reference_tax_income_eur"]))
    steps = wait_steps(usager, journey_id, PLAN)
    idf = person["address"]["commune_code"][:2] in IDF_DEPARTMENTS
    assert steps[STEP_ESTIMATED]["detail"] == expected_estimate(category, idf), household
    assert steps[STEP_RESIDENCE]["detail"] == VERIFIED


NOT_OWNER = "le demandeur n'est pas propriétaire occupant du logement"
NOT_MAIN = "le logement n'est pas la résidence principale du demandeur"


def too_recent(year: int) -> str:
    return f"logement construit en {year} : moins de 15 ans à la date de la demande"


@pytest.mark.parametrize("change,reasons", [
    ({"owner_occupier": False}, [NOT_OWNER]),
    ({"construction_year": dt.date.today().year - 14}, [too_recent(dt.date.today().year - 14)]),
    ({"main_residence": False}, [NOT_MAIN]),
    ({"owner_occupier": False, "construction_year": dt.date.today().year, "main_residence": False},
     [NOT_OWNER, too_recent(dt.date.today().year), NOT_MAIN]),
], ids=["not-owner-occupier", "under-15-years", "not-main-residence", "all-three"])
def test_an_ineligible_file_fails_with_its_reasons(env, db, usager, find_persons, change, reasons):
    [person] = find_persons(at_home_in_france)
    start = end_offsets(env.kafka_brokers, HOUSING_TOPIC)
    journey_id = usager.declare_ok(application(pivot_identity(person), home_of(person), **change))
    steps = wait_steps(usager, journey_id, PLAN)
    assert steps[STEP_REGISTERED]["status"] == "failed", steps[STEP_REGISTERED]
    assert steps[STEP_REGISTERED]["detail"] == "Dossier non recevable : " + " ; ".join(reasons)
    assert steps[STEP_ESTIMATED]["status"] == "not_applicable", steps[STEP_ESTIMATED]
    assert steps[STEP_ESTIMATED]["detail"] == "Pas d'estimation : le dossier n'est pas recevable"
    assert steps[STEP_RESIDENCE]["status"] == "done", steps[STEP_RESIDENCE]
    assert usager.journey(journey_id)["status"] == "failed"
    assert file_row(db, journey_id) is None
    assert housing_events(env, db, journey_id, start, ESTIMATED) == []
    assert len(housing_events(env, db, journey_id, start, REQUESTED)) == 1


def test_a_dwelling_15_years_old_this_year_is_eligible(usager, find_persons):
    [person] = find_persons(at_home_in_france)
    body = application(pivot_identity(person), home_of(person), construction_year=dt.date.today().year - 15)
    steps = wait_steps(usager, usager.declare_ok(body), PLAN)
    assert steps[STEP_REGISTERED]["status"] == "done", steps[STEP_REGISTERED]


def test_a_later_address_change_away_from_the_dwelling_reaches_the_new_file(db, usager, find_persons):
    """The file the journey registered is the one housing asks about when
    the applicant moves: withdrawn once the usager confirms."""
    [person] = find_persons(lambda p: at_home_in_france(p) and not knows(p, "housing"))
    renovation = usager.declare_ok(application(pivot_identity(person), home_of(person)))
    wait_steps(usager, renovation, PLAN)
    assert file_row(db, renovation)[1] == "open"

    move = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                              "address": new_address_in_france(person),
                              "effective_date": (dt.date.today() + dt.timedelta(days=7)).isoformat()})
    steps = wait_steps(usager, move, ["identity.address_recorded", "housing.residence_reviewed"])
    assert steps["housing.residence_reviewed"]["status"] == "action_required", steps
    assert steps["housing.residence_reviewed"]["detail"] == REVIEW
    resp = usager.request("POST", f"/v1/journeys/{move}/confirmations", json={"step": "housing.residence_reviewed"})
    assert resp.status_code == 202, resp.text
    wait_steps(usager, move, ["housing.residence_reviewed"], statuses={"done"})
    assert file_row(db, renovation)[1] == "withdrawn"


def test_on_a_warm_stack_how_long_to_the_last_final_step(env, usager, find_persons):
    """A warm-up application, then one measured: journey updated_at -
    created_at once its three steps are final (the residence verified)."""
    persons = find_persons(at_home_in_france, n=4)
    timings = []
    for index, person in enumerate(persons):
        journey = usager.wait_journey(usager.declare_ok(application(pivot_identity(person), home_of(person))),
                                      expected_steps=3)
        assert journey["status"] == "completed", journey
        if index:
            timings.append((parse_time(journey["updated_at"]) - parse_time(journey["created_at"])).total_seconds())
    record_figures(env, ["[renovation_warm] renovation_grant, declaration to last final step on a warm stack: "
                         + ", ".join(f"{t * 1000:.0f} ms" for t in timings)])


def test_a_later_departure_abroad_suspends_the_new_file(db, usager, find_persons):
    [person] = find_persons(lambda p: at_home_in_france(p) and not knows(p, "housing"))
    renovation = usager.declare_ok(application(pivot_identity(person), home_of(person)))
    wait_steps(usager, renovation, PLAN)
    departure = usager.declare_ok({"kind": "departure_abroad", "person": pivot_identity(person),
                                   "address": {"lines": ["12 Cromwell Road"], "city": "London",
                                               "postal_code": "SW7 2EU", "country_code": "99132"},
                                   "departure_date": (dt.date.today() + dt.timedelta(days=20)).isoformat(),
                                   "consular_registration": False})
    steps = wait_steps(usager, departure, ["housing.files_reviewed"])
    assert steps["housing.files_reviewed"]["status"] == "done", steps
    assert steps["housing.files_reviewed"]["detail"] == (
        "1 dossier suspendu : le logement n'est plus la résidence principale")
    assert file_row(db, renovation)[1] == "suspended"
