"""The propagation matrix (DESIGN.md §3) as student, housing and bereavement
live it: each row's event reaches the service, which acts once on its own
records, reports its step (final status and detail, through the public
API) and writes one applied_effects row per journey and step. The return
to France's AddressChanged, caused by the ResidenceAbroadEnded these
services acted on, adds no second step and applies nothing twice."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest

from mdv_e2e import (
    FRENCH_ADDRESSES,
    REPO_ROOT,
    STEP_SURVIVOR,
    bereavement_declaration,
    end_offsets,
    has_open_claim,
    identity_person_id,
    knows,
    new_address_in_france,
    pivot_identity,
    random_letters,
    read_topic,
    steps_by_code,
    typed_identity,
    unknown_person,
    wait_until,
)

RULES = REPO_ROOT / "services" / "student" / "rules"
COMMUNES = json.loads((RULES / "communes.json").read_text())
BAREME = max(json.loads((RULES / "bourse.json").read_text())["academic_years"],
             key=lambda y: y["academic_year"])
IDENTITY_TOPIC = "mdv.identity.events.v1"
RESIDENCE_REVIEW = ("Ce logement n'est plus votre résidence principale : confirmez le retrait du"
                    " dossier ou gardez-le")


def in_days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


def effects(db, service: str, journey_id: str) -> list[tuple[str, str, str]]:
    return db(service).execute(
        "SELECT effect, status, detail FROM applied_effects WHERE journey_id = %s ORDER BY effect",
        (journey_id,)).fetchall()


def assert_once(db, service: str, journey_id: str, code: str) -> tuple[str, str]:
    rows = [(s, d) for e, s, d in effects(db, service, journey_id) if e == code]
    assert len(rows) == 1, f"{service}: {len(rows)} applied_effects rows for {code} of {journey_id}"
    return rows[0]


def wait_step(usager, journey_id: str, code: str, statuses=("done", "not_applicable", "action_required",
                                                          "failed")) -> dict[str, Any]:
    journey = usager.wait_journey(
        journey_id, until=lambda j: steps_by_code(j).get(code, {}).get("status") in statuses)
    return steps_by_code(journey)[code]


def student_file(db, person_key: str) -> dict[str, Any]:
    row = db("student").execute(
        "SELECT file_id::text, pivot_key, family_name, usage_name, home_commune_code, home_postal_code,"
        " distance_km, distance_points, bourse_echelon, bourse_status FROM student_files"
        " WHERE pivot_key = %s AND status = 'open'", (person_key,)).fetchone()
    assert row, f"no open student file for {person_key}"
    keys = ("file_id", "pivot_key", "family_name", "usage_name", "home_commune_code", "home_postal_code",
            "distance_km", "distance_points", "bourse_echelon", "bourse_status")
    return dict(zip(keys, row))


def pivot_key_of(db, person: dict[str, Any]) -> str:
    person_id = identity_person_id(db("identity"), person)
    return db("identity").execute("SELECT pivot_key FROM persons WHERE person_id = %s",
                                  (person_id,)).fetchone()[0]


# --- The barème, computed here from the rules file the service loads -------


def centre(code: str) -> tuple[float, float]:
    (c,) = [c for c in COMMUNES["communes"]["centres"] if c["code"] == code]
    return c["lat"], c["lon"]


def distance_km(a: str, b: str) -> int:
    (lat1, lon1), (lat2, lon2) = centre(a), centre(b)
    rad = math.pi / 180
    h = (math.sin((lat2 - lat1) * rad / 2) ** 2
         + math.cos(lat1 * rad) * math.cos(lat2 * rad) * math.sin((lon2 - lon1) * rad / 2) ** 2)
    return round(2 * 6371.0 * math.asin(math.sqrt(h)))


def distance_points(km: int) -> int:
    return next(b["points"] for b in BAREME["points_de_charge"]["distance_bands"]["bands"] if km >= b["from_km"])


def echelon(resources: int, points: int) -> str | None:
    rows = BAREME["ceilings"]["by_points"]
    row = rows[min(points, len(rows) - 1)]
    fitting = [e for e, ceiling in zip(BAREME["ceilings"]["echelons"], row) if resources <= ceiling]
    return fitting[-1] if fitting else None


# --- AddressChanged --------------------------------------------------------


def own_home_student(p: dict[str, Any]) -> bool:
    f = p.get("student_file")
    return (knows(p, "identity", "student") and f is not None and f["home_of"] == "student"
            and f["resources"] is not None and "child_student_file" not in p)


def test_address_changed_moves_the_family_home_and_recomputes_the_echelon(usager, find_persons, db):
    """AddressChanged → student.address_updated: the family home moves, the
    distance points and the échelon follow the barème."""
    # Persons whose new échelon differs and persons whose does not: both details.
    changed = lambda p: own_home_student(p) and expected_after_move(p)[2] != p["student_file"]["bourse_echelon"]  # noqa: E731
    same = lambda p: own_home_student(p) and expected_after_move(p)[2] == p["student_file"]["bourse_echelon"]  # noqa: E731
    for predicate in (changed, same):
        (person,) = find_persons(predicate)
        key = pivot_key_of(db, person)
        address, km, new_echelon = expected_after_move(person)
        journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                                        "address": address, "effective_date": in_days(3)})
        step = wait_step(usager, journey_id, "student.address_updated")
        before = person["student_file"]["bourse_echelon"]
        expected = ("échelon inchangé" if new_echelon == before else
                    f"échelon {before} → {new_echelon or 'sans bourse (ressources supérieures au plafond)'}")
        assert step["status"] == "done", step
        assert step["detail"] == f"Dossier étudiant mis à jour : {expected}"
        f = student_file(db, key)
        assert (f["home_commune_code"], f["home_postal_code"]) == (address["commune_code"], address["postal_code"])
        assert (f["distance_km"], f["distance_points"], f["bourse_echelon"]) == (km, distance_points(km), new_echelon)
        assert assert_once(db, "student", journey_id, "student.address_updated")[0] == "done"


def expected_after_move(person: dict[str, Any]) -> tuple[dict[str, Any], int, str | None]:
    """The address the test moves the person to, the new distance and échelon."""
    f = person["student_file"]
    address = new_address_in_france(person)
    km = distance_km(address["commune_code"], f["study_commune_code"])
    return address, km, echelon(f["resources"], distance_points(km) + f["other_points"])


def test_address_changed_for_a_student_with_no_file_is_not_applicable(usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity") and not knows(p, "student"))
    journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                                    "address": new_address_in_france(person), "effective_date": in_days(1)})
    step = wait_step(usager, journey_id, "student.address_updated")
    assert (step["status"], step["detail"]) == ("not_applicable", "Aucun dossier à ce nom")
    assert_once(db, "student", journey_id, "student.address_updated")


def test_address_changed_asks_about_the_dwelling_left_and_the_confirmation_withdraws_it(usager, find_persons, db):
    """AddressChanged → housing.residence_reviewed: action_required, then the
    usager's confirmation withdraws the file."""
    (person,) = find_persons(lambda p: knows(p, "identity", "housing") and p.get("mpr_file") is not None)
    key = pivot_key_of(db, person)
    journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                                    "address": new_address_in_france(person), "effective_date": in_days(2)})
    step = wait_step(usager, journey_id, "housing.residence_reviewed")
    assert (step["status"], step["detail"]) == ("action_required", RESIDENCE_REVIEW)
    (status,) = db("housing").execute("SELECT status FROM mpr_files WHERE pivot_key = %s", (key,)).fetchone()
    assert status == "open", "the file is withdrawn only once the usager confirms"

    resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations",
                          json={"step": "housing.residence_reviewed"})
    assert resp.status_code == 202, resp.text
    step = wait_step(usager, journey_id, "housing.residence_reviewed", statuses=("done",))
    assert step["detail"] == "Dossier retiré"
    status, withdrawn_at = db("housing").execute(
        "SELECT status, withdrawn_at FROM mpr_files WHERE pivot_key = %s", (key,)).fetchone()
    assert status == "withdrawn" and withdrawn_at is not None
    assert assert_once(db, "housing", journey_id, "housing.residence_reviewed") == ("done", "Dossier retiré")


def test_the_usager_may_keep_the_file_of_the_dwelling_left(usager, find_persons, db):
    """The other answer to housing.residence_reviewed: the usager keeps the
    file (choice keep); it stays open, the step says so, once."""
    (person,) = find_persons(lambda p: knows(p, "identity", "housing") and p.get("mpr_file") is not None)
    key = pivot_key_of(db, person)
    journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                                    "address": new_address_in_france(person), "effective_date": in_days(2)})
    step = wait_step(usager, journey_id, "housing.residence_reviewed")
    assert step["status"] == "action_required", step
    resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations",
                          json={"step": "housing.residence_reviewed", "choice": "keep"})
    assert resp.status_code == 202, resp.text
    step = wait_step(usager, journey_id, "housing.residence_reviewed", statuses=("done",))
    assert step["detail"] == "Dossier conservé à votre demande"
    (status,) = db("housing").execute("SELECT status FROM mpr_files WHERE pivot_key = %s", (key,)).fetchone()
    assert status == "open"
    assert assert_once(db, "housing", journey_id, "housing.residence_reviewed") == (
        "done", "Dossier conservé à votre demande")


def test_a_choice_is_refused_for_a_step_that_offers_none(usager, find_persons):
    (person,) = find_persons(lambda p: knows(p, "identity"))
    journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                                    "address": new_address_in_france(person), "effective_date": in_days(2)})
    for body, message in (({"step": "identity.address_recorded", "choice": "keep"},
                           "only housing.residence_reviewed offers a choice"),
                          ({"step": "housing.residence_reviewed", "choice": "maybe"}, "must be withdraw or keep")):
        resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations", json=body)
        assert resp.status_code == 422, resp.text
        assert {"field": "choice", "message": message} in resp.json()["errors"]


def test_address_changed_updates_the_survivor_claim(usager, find_persons, db):
    """AddressChanged → bereavement.claim_address_updated."""
    (person,) = find_persons(lambda p: knows(p, "identity") and has_open_claim(p))
    key = pivot_key_of(db, person)
    address = new_address_in_france(person, lines=[f"{random_letters(6)} avenue des Tilleuls", "Bâtiment C"])
    journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                                    "address": address, "effective_date": in_days(5)})
    step = wait_step(usager, journey_id, "bereavement.claim_address_updated")
    assert (step["status"], step["detail"]) == ("done", "Adresse de la demande de pension de réversion mise à jour")
    row = db("bereavement").execute(
        "SELECT address_lines, address_postal_code, address_commune_code, address_city FROM survivor_claims"
        " WHERE survivor_key = %s", (key,)).fetchone()
    assert row == (address["lines"], address["postal_code"], address["commune_code"], address["city"])
    assert_once(db, "bereavement", journey_id, "bereavement.claim_address_updated")


def test_a_spouse_who_names_themself_has_the_claim_follow_their_address(usager, find_persons, db):
    """The declaring spouse's own identity (declarant, typed as a usager
    types it) names the claim's survivor: their AddressChanged finds it."""
    (spouse,) = find_persons(lambda p: knows(p, "identity") and not has_open_claim(p))
    declarant = typed_identity(spouse)
    death = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse") | {"declarant": declarant})
    wait_step(usager, death, STEP_SURVIVOR, statuses=("action_required",))
    address = new_address_in_france(spouse, lines=[f"{random_letters(6)} allée des Saules"])
    journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(spouse),
                                    "address": address, "effective_date": in_days(1)})
    step = wait_step(usager, journey_id, "bereavement.claim_address_updated")
    assert (step["status"], step["detail"]) == ("done", "Adresse de la demande de pension de réversion mise à jour")
    row = db("bereavement").execute(
        "SELECT survivor_key, survivor_family_name, survivor_given_names, survivor_sex,"
        " survivor_birth_date::text, survivor_birth_place, address_lines, address_postal_code, address_city"
        " FROM survivor_claims WHERE journey_id = %s", (death,)).fetchone()
    assert row == (pivot_key_of(db, spouse), declarant["family_name"], declarant["given_names"], declarant["sex"],
                   declarant["birth_date"], declarant["birth_place"], address["lines"], address["postal_code"],
                   address["city"])


# --- PersonNameChanged -----------------------------------------------------


def test_a_nom_de_naissance_re_keys_student_housing_and_bereavement(usager, find_persons, db):
    """PersonNameChanged (birth) → <service>.name_updated, each record found
    under the new name only."""
    (person,) = find_persons(lambda p: knows(p, "identity", "student", "housing") and has_open_claim(p))
    old_key = pivot_key_of(db, person)
    new_name = "NOUVEAU" + random_letters(8).upper()
    journey_id = usager.declare_ok({"kind": "name_change", "person": pivot_identity(person), "name_type": "birth",
                                    "new_family_name": new_name, "effective_date": in_days(-3)})
    expected = {
        "student.name_updated": f"Nom mis à jour dans le dossier étudiant : {new_name}",
        "housing.name_updated": f"Nom mis à jour dans le dossier MaPrimeRénov' : {new_name}",
        "bereavement.name_updated": f"Nom mis à jour dans la demande de pension de réversion : {new_name}",
    }
    for code, detail in expected.items():
        step = wait_step(usager, journey_id, code)
        assert (step["status"], step["detail"]) == ("done", detail), code
        assert_once(db, code.split(".")[0], journey_id, code)
    new_key = new_name + old_key[old_key.index("|"):]
    for service, table, column in (("student", "student_files", "pivot_key"), ("housing", "mpr_files", "pivot_key"),
                                   ("bereavement", "survivor_claims", "survivor_key")):
        count = lambda k: db(service).execute(  # noqa: E731
            f"SELECT count(*) FROM {table} WHERE {column} = %s", (k,)).fetchone()[0]
        assert count(old_key) == 0, f"{service} still finds the person under the old name"
        assert count(new_key) >= 1, f"{service} does not find the person under the new name"
    assert student_file(db, new_key)["family_name"] == new_name


def test_a_nom_d_usage_is_recorded_without_re_keying(usager, find_persons, db):
    """PersonNameChanged (usage) → <service>.name_updated, same matching key."""
    (person,) = find_persons(lambda p: knows(p, "identity", "student", "housing"))
    key = pivot_key_of(db, person)
    usage = "USAGE" + random_letters(6).upper()
    journey_id = usager.declare_ok({"kind": "name_change", "person": pivot_identity(person), "name_type": "usage",
                                    "new_family_name": usage, "effective_date": in_days(-1)})
    for code, where in (("student.name_updated", "le dossier étudiant"),
                        ("housing.name_updated", "le dossier MaPrimeRénov'")):
        step = wait_step(usager, journey_id, code)
        assert (step["status"], step["detail"]) == ("done", f"Nom d'usage enregistré dans {where} : {usage}")
    assert student_file(db, key)["usage_name"] == usage
    (held,) = db("housing").execute("SELECT usage_name FROM mpr_files WHERE pivot_key = %s", (key,)).fetchone()
    assert held == usage
    step = wait_step(usager, journey_id, "bereavement.name_updated")
    assert step["status"] in ("done", "not_applicable")
    for service in ("student", "housing", "bereavement"):
        assert_once(db, service, journey_id, f"{service}.name_updated")


# --- ResidenceAbroadStarted / Ended ----------------------------------------


def departure(person: dict[str, Any], study_mobility: bool) -> dict[str, Any]:
    return {"kind": "departure_abroad", "person": pivot_identity(person),
            "address": {"lines": ["1234 rue Saint-Denis"], "city": "Montréal", "postal_code": "H2X 1Y4",
                        "country_code": "99401"},
            "departure_date": in_days(-20), "consular_registration": False, "study_mobility": study_mobility}


def test_a_study_mobility_keeps_the_bourse(usager, find_persons, db):
    (person,) = find_persons(lambda p: knows(p, "identity", "student"))
    journey_id = usager.declare_ok(departure(person, study_mobility=True))
    step = wait_step(usager, journey_id, "student.mobility_reviewed")
    assert (step["status"], step["detail"]) == ("done", "Bourse maintenue pendant la mobilité")
    assert student_file(db, pivot_key_of(db, person))["bourse_status"] == "active"
    assert_once(db, "student", journey_id, "student.mobility_reviewed")


def identity_address_changed(env, start: dict[int, int], journey_id: str) -> dict[str, str]:
    """The headers of identity's AddressChanged for the journey, once it is on the topic."""
    def find():
        for m in read_topic(env.kafka_brokers, IDENTITY_TOPIC, start):
            if (m.headers.get("ce_type") == "fr.gouv.mdv.identity.address_changed.v1"
                    and m.headers.get("mdv_journey_id") == journey_id):
                return m.headers
        return None
    return wait_until(find, 60, f"identity's AddressChanged of {journey_id}", interval=0.5)


def test_departure_suspends_and_return_resumes_without_acting_twice(env, usager, find_persons, db):
    """ResidenceAbroadStarted → bourse suspended, files suspended; Ended →
    resumed; the return's AddressChanged (caused by that Ended) reaches
    student, housing and bereavement and adds no step, applies nothing."""
    # Nothing the return leaves undone: no survivor claim, no child's file.
    (person,) = find_persons(lambda p: knows(p, "identity", "student", "housing") and p.get("mpr_file") is not None
                             and p["mpr_file"]["dwelling"]["commune_code"] == p["address"]["commune_code"]
                             and not has_open_claim(p) and "child_student_file" not in p)
    key = pivot_key_of(db, person)
    gone = usager.declare_ok(departure(person, study_mobility=False))
    student = wait_step(usager, gone, "student.mobility_reviewed")
    housing = wait_step(usager, gone, "housing.files_reviewed")
    assert (student["status"], student["detail"]) == ("done", "Bourse suspendue : résidence hors de France")
    assert (housing["status"], housing["detail"]) == (
        "done", "1 dossier suspendu : le logement n'est plus la résidence principale")
    assert student_file(db, key)["bourse_status"] == "suspended"

    # Back to the dwelling of the MaPrimeRénov' file.
    dwelling = person["mpr_file"]["dwelling"]
    home = {k: dwelling[k] for k in ("lines", "postal_code", "commune_code", "city")}
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    back = usager.declare_ok({"kind": "return_to_france", "person": pivot_identity(person), "address": home,
                              "return_date": in_days(-2)})
    student = wait_step(usager, back, "student.mobility_reviewed")
    housing = wait_step(usager, back, "housing.files_reviewed")
    assert student["status"] == "done" and student["detail"].startswith("Bourse rétablie"), student
    assert (housing["status"], housing["detail"]) == (
        "done", "1 dossier repris : le logement est à nouveau la résidence principale")
    assert student_file(db, key)["bourse_status"] == "active"

    # identity's AddressChanged of the return, caused by abroad's Ended.
    headers = identity_address_changed(env, start, back)
    for service in ("student", "housing", "bereavement"):
        wait_until(lambda: db(service).execute("SELECT 1 FROM inbox WHERE ce_id = %s",
                                               (headers["ce_id"],)).fetchone(),
                   60, f"{service} to consume the return's AddressChanged")
    journey = usager.journey(back)
    codes = set(steps_by_code(journey))
    for code in ("student.address_updated", "housing.residence_reviewed", "bereavement.claim_address_updated"):
        assert code not in codes, f"the return journey got a second step {code}"
    assert [e for e, _, _ in effects(db, "student", back)] == ["student.mobility_reviewed"]
    assert [e for e, _, _ in effects(db, "housing", back)] == ["housing.files_reviewed"]
    assert effects(db, "bereavement", back) == []


# --- The return's AddressChanged: what the return itself did not do ------


def return_home(person: dict[str, Any], address: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "return_to_france", "person": pivot_identity(person), "address": address,
            "return_date": in_days(-2)}


def wait_consumed(db, services, headers: dict[str, str]) -> None:
    for service in services:
        wait_until(lambda: db(service).execute("SELECT 1 FROM inbox WHERE ce_id = %s",
                                               (headers["ce_id"],)).fetchone(),
                   60, f"{service} to consume the return's AddressChanged")


def assert_added_after_the_plan(journey: dict[str, Any], codes: list[str]) -> None:
    """The return's plan first (abroad's four steps), then the steps added,
    each with its administration, label and délai."""
    steps = journey["steps"]
    assert [s["code"] for s in steps[:4]] == ["abroad.registration_closed", "identity.address_recorded",
                                               "student.mobility_reviewed", "housing.files_reviewed"], steps
    assert sorted(s["code"] for s in steps[4:]) == sorted(codes), steps
    for step in steps[4:]:
        assert step["administration"] and step["label"] and step["due_at"], step


def test_the_return_s_address_reaches_the_claim_and_the_file_the_return_left(env, usager, find_persons, db):
    """identity's AddressChanged of a return_to_france (caused by abroad's
    ResidenceAbroadEnded): bereavement updates the open survivor claim's
    address and housing asks about the open MaPrimeRénov' file of the
    dwelling left, each adding its step to the return journey, once;
    student, which moved nothing of a child's here, adds no step."""
    (person,) = find_persons(lambda p: knows(p, "identity", "housing") and p.get("mpr_file") is not None
                             and has_open_claim(p) and "child_student_file" not in p)
    key = pivot_key_of(db, person)
    address = new_address_in_france(person)
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    back = usager.declare_ok(return_home(person, address))

    claim = wait_step(usager, back, "bereavement.claim_address_updated")
    assert (claim["status"], claim["detail"]) == ("done", "Adresse de la demande de pension de réversion mise à jour")
    row = db("bereavement").execute(
        "SELECT address_lines, address_postal_code, address_commune_code, address_city FROM survivor_claims"
        " WHERE survivor_key = %s", (key,)).fetchone()
    assert row == (address["lines"], address["postal_code"], address["commune_code"], address["city"])

    review = wait_step(usager, back, "housing.residence_reviewed")
    assert (review["status"], review["detail"]) == ("action_required", RESIDENCE_REVIEW)
    resp = usager.request("POST", f"/v1/journeys/{back}/confirmations", json={"step": "housing.residence_reviewed"})
    assert resp.status_code == 202, resp.text
    review = wait_step(usager, back, "housing.residence_reviewed", statuses=("done",))
    assert review["detail"] == "Dossier retiré"
    (status,) = db("housing").execute("SELECT status FROM mpr_files WHERE pivot_key = %s", (key,)).fetchone()
    assert status == "withdrawn"

    headers = identity_address_changed(env, start, back)
    wait_consumed(db, ("student", "housing", "bereavement"), headers)
    journey = usager.journey(back)
    assert_added_after_the_plan(journey, ["bereavement.claim_address_updated", "housing.residence_reviewed"])
    assert effects(db, "bereavement", back) == [("bereavement.claim_address_updated", "done", claim["detail"])]
    assert assert_once(db, "housing", back, "housing.residence_reviewed") == ("done", "Dossier retiré")
    assert "student.address_updated" not in [e for e, _, _ in effects(db, "student", back)]


# --- A parent's move and the child's student file --------------------------


def with_child_file(p: dict[str, Any]) -> bool:
    """known to identity, the parent whose address is a child's family home"""
    return knows(p, "identity") and "child_student_file" in p


def change_text(before: str | None, after: str | None) -> str:
    if after == before:
        return "échelon inchangé"
    return f"échelon {before or 'sans bourse'} → {after or 'sans bourse (ressources supérieures au plafond)'}"


def expected_for_file(f: dict[str, Any], commune_code: str) -> tuple[int, str | None, str]:
    """The distance, the échelon and the change once the family home is in commune_code."""
    km = distance_km(commune_code, f["study_commune_code"])
    new = echelon(f["resources"], distance_points(km) + f["other_points"])
    return km, new, change_text(f["bourse_echelon"], new)


def child_file_row(db, parent_key: str) -> tuple:
    return db("student").execute(
        "SELECT home_of, home_commune_code, home_postal_code, distance_km, distance_points, bourse_echelon"
        " FROM student_files WHERE parent_pivot_key = %s AND pivot_key <> %s AND status = 'open'",
        (parent_key, parent_key)).fetchone()


def address_away_from(person: dict[str, Any]) -> dict[str, Any]:
    """An address in another commune than the parent's, and than the
    child's place of study (a distance to compute)."""
    avoid = {person["address"]["commune_code"], person["child_student_file"]["study_commune_code"]}
    own = person.get("student_file")
    if own:
        avoid |= {own["family_home"]["commune_code"], own["study_commune_code"]}
    choice = next(a for a in FRENCH_ADDRESSES if a["commune_code"] not in avoid)
    return {"lines": [f"{random_letters(5)} rue des Écoles"], **choice}


def test_a_parent_s_move_recomputes_the_child_s_distance_points(usager, find_persons, db):
    """AddressChanged of the parent named by a student file whose family
    home is the parent's: the child's family home moves, its distance
    points and échelon are computed again, and the parent's step says
    whether the child's échelon changes, once."""
    (person,) = find_persons(with_child_file)
    key = pivot_key_of(db, person)
    address = address_away_from(person)
    km, new_echelon, child_change = expected_for_file(person["child_student_file"], address["commune_code"])
    own = person["student_file"]
    own_change = (expected_for_file(own, address["commune_code"])[2] if own["home_of"] == "student"
                  else "échelon inchangé")
    journey_id = usager.declare_ok({"kind": "address_change", "person": pivot_identity(person),
                                    "address": address, "effective_date": in_days(4)})
    step = wait_step(usager, journey_id, "student.address_updated")
    assert step["status"] == "done", step
    assert step["detail"] == (f"Dossier étudiant mis à jour : {own_change} ;"
                              f" dossier étudiant de votre enfant mis à jour : {child_change}")
    assert child_file_row(db, key) == ("parent", address["commune_code"], address["postal_code"], km,
                                       distance_points(km), new_echelon)
    assert assert_once(db, "student", journey_id, "student.address_updated") == ("done", step["detail"])


def test_a_parent_s_return_adds_the_child_s_file_to_the_return_journey(env, usager, find_persons, db):
    """A parent's return_to_france: student's own step (mobility) is the
    plan's; the AddressChanged of the return moves the child's family home
    too, and student adds its step student.address_updated to the return
    journey, once."""
    (person,) = find_persons(with_child_file)
    key = pivot_key_of(db, person)
    address = address_away_from(person)
    km, new_echelon, child_change = expected_for_file(person["child_student_file"], address["commune_code"])
    back = usager.declare_ok(return_home(person, address))
    step = wait_step(usager, back, "student.address_updated")
    assert (step["status"], step["detail"]) == ("done", f"Dossier étudiant de votre enfant mis à jour : {child_change}")
    assert child_file_row(db, key) == ("parent", address["commune_code"], address["postal_code"], km,
                                       distance_points(km), new_echelon)
    assert wait_step(usager, back, "student.mobility_reviewed")["status"] in ("done", "not_applicable")
    assert assert_once(db, "student", back, "student.address_updated") == ("done", step["detail"])
    assert "student.address_updated" in [s["code"] for s in usager.journey(back)["steps"][4:]]
