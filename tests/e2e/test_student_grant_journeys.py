"""The dossier social étudiant (student_grant, owner student) end to end
through the public API: identity's check of the student's title
(identity.identity_verified, a title on record or not, and the usager's
confirmation that they sent one), the bourse from the barème file the
service loads (student.grant_assessed: each échelon 0bis to 7 at its
ceiling, none one euro above the 0bis, the outre-mer supplement), the
housing request, StudentGrantDecided, and the re-assessment on a parent's
death: the bereavement journey's student.files_updated says so, the
student's own journey gains student.grant_reassessed, once."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from mdv_e2e import (
    REPO_ROOT,
    declaration_for,
    end_offsets,
    identity_person_id,
    kafka_config,
    parse_time,
    record_figures,
    knows,
    pivot_identity,
    random_letters,
    steps_by_code,
    unknown_person,
)

STUDENT_TOPIC = "mdv.student.events.v1"
REQUESTED = "fr.gouv.mdv.student.student_grant_requested.v1"
DECIDED = "fr.gouv.mdv.student.student_grant_decided.v1"
STEPS = ["identity.identity_verified", "student.grant_assessed", "student.housing_requested"]
REASSESSED = "student.grant_reassessed"
FINAL = {"done", "not_applicable", "action_required", "failed", "in_progress"}

YEAR = "2025-2026"
BAREME = next(y for y in json.loads((REPO_ROOT / "services" / "student" / "rules" / "bourse.json").read_text())
              ["academic_years"] if y["academic_year"] == YEAR)
ECHELONS = BAREME["ceilings"]["echelons"]
CEILINGS = BAREME["ceilings"]["by_points"]
AMOUNTS = {a["echelon"]: a["amount"] for a in BAREME["amounts"]["annual_eur"]}
MONTHS = BAREME["amounts"]["months"]
OVERSEAS = BAREME["overseas_supplement"]["annual_eur"]
NO_BOURSE = "Ressources supérieures au plafond : pas de bourse"


def euros(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def grant_detail(echelon: str | None, overseas: bool = False) -> str:
    if echelon is None:
        return NO_BOURSE
    amount = AMOUNTS[echelon] + (OVERSEAS if overseas else 0)
    extra = f" dont {euros(OVERSEAS)} € de complément outre-mer" if overseas else ""
    return f"Échelon {echelon} : {euros(amount)} € par an{extra}, versés en {MONTHS} mensualités"


def a_parent() -> dict[str, Any]:
    parent = unknown_person()
    parent["family_name"] = "PARENT-" + random_letters(10)
    parent["birth_date"] = "1968-04-09"
    parent["sex"] = "M"
    return parent


def dossier(person: dict[str, Any], income: int, *, children: int = 1, distance_km: int = 120,
            housing: bool = True, study: str = "69123", parents: list[dict[str, Any]] | None = None,
            **extra: Any) -> dict[str, Any]:
    """A dossier with 2 points per child and 1 for a family home 30-249 km away."""
    body = {"kind": "student_grant", "person": pivot_identity(person), "academic_year": YEAR,
            "institution": "Université Lumière Lyon 2", "study_commune_code": study,
            "parents_income_eur": income, "children_at_charge": children, "children_in_higher_education": 0,
            "family_home_distance_km": distance_km, "housing_wanted": housing,
            "parents": parents if parents is not None else [a_parent()]}
    body.update(extra)
    return body


def income_at(echelon: str | None, points: int) -> int:
    """At the échelon's ceiling for those points; one euro above the 0bis
    ceiling for no bourse."""
    row = CEILINGS[min(points, len(CEILINGS) - 1)]
    return row[0] + 1 if echelon is None else row[ECHELONS.index(echelon)]


def wait_steps(usager, journey_id: str, codes: list[str], statuses=FINAL) -> dict[str, dict[str, Any]]:
    def ready(journey):
        steps = steps_by_code(journey)
        return all(steps.get(c, {}).get("status") in statuses for c in codes)
    return steps_by_code(usager.wait_journey(journey_id, until=ready))


def grant_row(db, journey_id: str) -> dict[str, Any]:
    row = db("student").execute(
        "SELECT echelon, annual_amount_eur, points, resources, reassessed_reason, reassessed_by::text,"
        " initial_echelon FROM student_grants WHERE journey_id = %s", (journey_id,)).fetchone()
    assert row, f"no student_grants row for {journey_id}"
    keys = ("echelon", "annual_amount_eur", "points", "resources", "reassessed_reason", "reassessed_by",
            "initial_echelon")
    return dict(zip(keys, row))


def effects(db, service: str, journey_id: str, code: str) -> list[tuple[str, str]]:
    return db(service).execute("SELECT status, detail FROM applied_effects WHERE journey_id = %s AND effect = %s",
                               (journey_id, code)).fetchall()


def student_events(brokers: str, start: dict[int, int], journey_id: str, timeout: float = 60) -> list[tuple[str, bytes]]:
    """(ce_type, value) of the student's events keyed by the journey, from
    start to the topic's end as it is when called."""
    end = end_offsets(brokers, STUDENT_TOPIC)
    todo = {p for p in start if end[p] > start[p]}
    consumer = Consumer(kafka_config(brokers, {"group.id": f"e2e-grant-{uuid.uuid4()}",
                                               "enable.auto.commit": False}))
    try:
        consumer.assign([TopicPartition(STUDENT_TOPIC, p, start[p]) for p in todo])
        found: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + timeout
        while todo:
            assert time.monotonic() < deadline, f"{STUDENT_TOPIC}: partitions {sorted(todo)} not read to {end}"
            msg = consumer.poll(0.5)
            if msg is None or msg.error() or msg.partition() not in todo:
                continue
            if msg.offset() < end[msg.partition()] and msg.key() == journey_id.encode():
                headers = {k: (v or b"").decode() for k, v in (msg.headers() or [])}
                found.append((headers.get("ce_type", ""), msg.value()))
            if msg.offset() + 1 >= end[msg.partition()]:
                todo.discard(msg.partition())
        return found
    finally:
        consumer.close()


def with_title(p: dict[str, Any]) -> bool:
    """Known to identity, with a CNI or passport valid today (mdv-seed's
    "documents")."""
    today = dt.date.today().isoformat()
    return knows(p, "identity") and any(d["status"] == "valid" and d["expires_on"] >= today
                                        for d in p.get("documents", []))


def declare_titles_lost(usager, person: dict[str, Any]) -> None:
    """Both titles of a seeded person declared lost or stolen (pré-demandes):
    the register then holds no valid title for them."""
    for document_type, reason in (("cni", "loss"), ("passport", "theft")):
        journey_id = usager.declare_ok({"kind": "identity_document", "person": pivot_identity(person),
                                        "document_type": document_type, "reason": reason})
        wait_steps(usager, journey_id, ["identity.predemande_recorded"])


# ---------------------------------------------------------------------------
# The bourse


@pytest.mark.parametrize("echelon", ECHELONS + [None], ids=[f"echelon-{e}" for e in ECHELONS] + ["none"])
def test_the_bourse_is_the_echelon_of_the_bareme(env, usager, find_persons, db, echelon):
    """At the ceiling of an échelon for 3 points de charge (a child at
    charge, a family home 120 km away): that échelon and its annual amount;
    one euro above the 0bis ceiling: no bourse. StudentGrantRequested and
    StudentGrantDecided are published for the journey."""
    (person,) = find_persons(with_title)
    start = end_offsets(env.kafka_brokers, STUDENT_TOPIC)
    journey_id = usager.declare_ok(dossier(person, income_at(echelon, 3)))
    steps = wait_steps(usager, journey_id, STEPS)
    journey = usager.journey(journey_id)
    assert [s["code"] for s in journey["steps"]] == STEPS
    for s in journey["steps"]:
        assert s["administration"] and s["label"] and s["due_at"], s
    assert steps["student.grant_assessed"]["status"] == "done", steps
    assert steps["student.grant_assessed"]["detail"] == grant_detail(echelon)
    row = grant_row(db, journey_id)
    assert (row["echelon"], row["annual_amount_eur"], row["points"]) == (
        echelon, AMOUNTS[echelon] if echelon else 0, 3)
    assert effects(db, "student", journey_id, "student.grant_assessed") == [("done", grant_detail(echelon))]
    types = [t for t, _ in student_events(env.kafka_brokers, start, journey_id)]
    assert types.count(REQUESTED) == 1 and types.count(DECIDED) == 1, types


def test_the_points_de_charge_count_every_rule(usager, find_persons, db):
    """2 children at charge, 1 brother in higher education, a disability and
    a family home 3 500 km away: 4 + 4 + 4 + 3 = 15 points."""
    (person,) = find_persons(with_title)
    journey_id = usager.declare_ok(dossier(person, income_at("5", 15), children=2, distance_km=3500,
                                           children_in_higher_education=1, disability=True))
    steps = wait_steps(usager, journey_id, STEPS)
    assert steps["student.grant_assessed"]["detail"] == grant_detail("5")
    assert grant_row(db, journey_id)["points"] == 15


def test_outre_mer_adds_its_supplement(usager, find_persons):
    """A place of study at Saint-Denis de La Réunion: +300 € a year."""
    (person,) = find_persons(with_title)
    journey_id = usager.declare_ok(dossier(person, income_at("3", 3), study="97411"))
    steps = wait_steps(usager, journey_id, STEPS)
    assert steps["student.grant_assessed"]["detail"] == grant_detail("3", overseas=True)


def test_housing_is_requested_only_when_wanted(usager, find_persons):
    wanted, unwanted = find_persons(with_title, n=2)
    a = usager.declare_ok(dossier(wanted, income_at("2", 3), housing=True))
    b = usager.declare_ok(dossier(unwanted, income_at("2", 3), housing=False))
    sa = wait_steps(usager, a, STEPS)["student.housing_requested"]
    sb = wait_steps(usager, b, STEPS)["student.housing_requested"]
    assert (sa["status"], sa["detail"]) == ("in_progress", "Demande de logement transmise au CROUS")
    assert (sb["status"], sb["detail"]) == ("not_applicable", "Pas de demande de logement")
    assert usager.journey(b)["status"] == "completed"


# ---------------------------------------------------------------------------
# Identity


def test_a_valid_title_on_record_asks_for_no_document(usager, find_persons, db):
    (person,) = find_persons(with_title)
    journey_id = usager.declare_ok(dossier(person, income_at("1", 3), housing=False))
    step = wait_steps(usager, journey_id, STEPS)["identity.identity_verified"]
    assert step["status"] == "done", step
    assert step["detail"] in ("Identité vérifiée : aucune pièce à fournir (CNI valide)",
                              "Identité vérifiée : aucune pièce à fournir (passeport valide)"), step
    assert len(effects(db, "identity", journey_id, "identity.identity_verified")) == 1
    assert usager.journey(journey_id)["status"] == "completed"


@pytest.mark.parametrize("who", ["titles-declared-lost", "unknown"])
def test_no_valid_title_asks_for_one_and_the_usager_confirms_sending_it(usager, find_persons, db, who):
    """Nobody of that name in the register, or a person whose two titles
    were declared lost and stolen: a title to provide."""
    if who == "unknown":
        person = unknown_person()
    else:
        (person,) = find_persons(with_title)
        declare_titles_lost(usager, person)
    journey_id = usager.declare_ok(dossier(person, income_at("6", 3), housing=False))
    step = wait_steps(usager, journey_id, STEPS)["identity.identity_verified"]
    assert (step["status"], step["detail"]) == ("action_required", "Pièce d'identité à fournir"), step
    journey = usager.journey(journey_id)
    assert journey["status"] == "action_required"
    # The bourse does not wait for the title.
    assert steps_by_code(journey)["student.grant_assessed"]["detail"] == grant_detail("6")

    resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations",
                          json={"step": "identity.identity_verified"})
    assert resp.status_code == 202, resp.text
    step = wait_steps(usager, journey_id, ["identity.identity_verified"], {"done"})["identity.identity_verified"]
    assert step["detail"] == "Pièce transmise : identité vérifiée"
    assert usager.journey(journey_id)["status"] == "completed"
    assert effects(db, "identity", journey_id, "identity.identity_verified") == [
        ("done", "Pièce transmise : identité vérifiée")]
    again = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations",
                           json={"step": "identity.identity_verified"})
    assert again.status_code == 409, again.text


# ---------------------------------------------------------------------------
# A parent's death


def test_a_parents_death_reassesses_the_bourse_once(env, usager, make_usager, find_persons, db):
    """The parents earn too much for a bourse; one of them dies: the
    orphan's bourse is re-assessed on their own household's resources
    (none in the dossier: 0 €, the highest échelon for their points). The
    bereavement journey's student.files_updated says so, the student's own
    journey shows student.grant_reassessed, StudentGrantDecided (reason
    parent_death) is published; the same death declared again changes
    nothing."""
    (person,) = find_persons(with_title)
    mother, father = a_parent(), a_parent()
    mother["sex"] = "F"
    grant_journey = usager.declare_ok(dossier(person, income_at(None, 3), housing=False,
                                              parents=[mother, father]))
    assert wait_steps(usager, grant_journey, STEPS)["student.grant_assessed"]["detail"] == NO_BOURSE

    relative = make_usager()
    start = end_offsets(env.kafka_brokers, STUDENT_TOPIC)
    death_journey = relative.declare_ok(declaration_for(father, relationship="spouse"))
    step = wait_steps(relative, death_journey, ["student.files_updated"])["student.files_updated"]
    assert (step["status"], step["detail"]) == ("done", f"Bourse réexaminée (décès d'un parent) : {grant_detail('7')}")

    reassessed = wait_steps(usager, grant_journey, [REASSESSED])[REASSESSED]
    assert reassessed["status"] == "done", reassessed
    assert reassessed["detail"] == ("Bourse réexaminée après le décès d'un parent, sur les ressources de votre"
                                    f" foyer : {grant_detail('7')}")
    assert reassessed["administration"] == "CROUS" and reassessed["label"] and reassessed["due_at"]
    listed = {j["id"]: j for j in usager.list_journeys(limit=10).json()["items"]}
    assert REASSESSED in [s["code"] for s in listed[grant_journey]["steps"]]

    row = grant_row(db, grant_journey)
    assert row == {"echelon": "7", "annual_amount_eur": AMOUNTS["7"], "points": 3, "resources": 0,
                   "reassessed_reason": "parent_death", "reassessed_by": death_journey, "initial_echelon": None}
    decided = [v for t, v in student_events(env.kafka_brokers, start, death_journey) if t == DECIDED]
    assert len(decided) == 1 and b"parent_death" in decided[0] and grant_journey.encode() in decided[0]
    assert effects(db, "student", grant_journey, REASSESSED) == [("done", reassessed["detail"])]

    # The same death declared by another relative, and the other parent's
    # death: the dossier was re-assessed once, as an orphan's.
    repeat_usager, other_usager = make_usager(), make_usager()
    again = repeat_usager.declare_ok(declaration_for(father, relationship="child"))
    other = other_usager.declare_ok(declaration_for(mother, relationship="spouse"))
    repeat = wait_steps(repeat_usager, again, ["student.files_updated"])["student.files_updated"]
    assert repeat["detail"].startswith("Déjà pris en compte"), repeat
    second = wait_steps(other_usager, other, ["student.files_updated"])["student.files_updated"]
    assert second["status"] == "not_applicable", second
    assert len(effects(db, "student", grant_journey, REASSESSED)) == 1
    assert grant_row(db, grant_journey)["reassessed_by"] == death_journey


def test_the_seed_lists_the_titles_identity_holds(find_persons, db):
    """mdv-seed's "documents" are the register's titles."""
    (person,) = find_persons(with_title)
    rows = db("identity").execute(
        "SELECT kind, number, status, expires_on::text FROM identity_documents WHERE person_id::text = %s"
        " ORDER BY kind", (identity_person_id(db("identity"), person),)).fetchall()
    assert rows == [(d["kind"], d["number"], d["status"], d["expires_on"])
                    for d in sorted(person["documents"], key=lambda d: d["kind"])]


def test_a_dossier_on_a_warm_stack_how_long_to_the_last_final_step(env, usager, find_persons):
    """A dossier after a warm-up one, no housing asked: every step final
    (identity's check, the bourse, the housing step); the figure is the
    journey's updated_at - created_at."""
    seconds = []
    for person in find_persons(with_title, n=2):
        journey_id = usager.declare_ok(dossier(person, income_at("4", 3), housing=False))
        journey = usager.wait_journey(journey_id, expected_steps=len(STEPS), timeout=60)
        assert journey["status"] == "completed", journey
        seconds.append((parse_time(journey["updated_at"]) - parse_time(journey["created_at"])).total_seconds())
    record_figures(env, [f"[student_grant_warm] declaration to last final step on a warm stack: {seconds[1] * 1000:.0f} ms"
                         f" (warm-up {seconds[0] * 1000:.0f} ms)"])
