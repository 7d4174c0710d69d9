"""The bereavement journey end to end: a declaration reaches every
administration, and the usager follows what each one did."""

from __future__ import annotations

import time

from mdv_e2e import (
    CONSUMER_SERVICES,
    NO_RECORD_DETAIL,
    SERVICE_STEP,
    STEP_DEATH_RECORDED,
    STEP_IDENTITY,
    STEP_SURVIVOR,
    assert_bereavement_plan,
    bereavement_declaration,
    days_ago,
    declaration_for,
    identity_deceased_on,
    identity_documents,
    identity_person_id,
    parse_time,
    unknown_person,
)


def count_rows(conn, table: str, journey_id: str) -> int:
    # `table` is one of this file's literals, never input.
    return conn.execute(
        f"SELECT count(*) FROM {table} WHERE journey_id::text = %s", (journey_id,)
    ).fetchone()[0]


def test_person_known_everywhere_declared_by_spouse(usager, find_persons, db, applied_effects):
    identity = db("identity")

    def known_everywhere_with_valid_documents(person):
        if not set(CONSUMER_SERVICES) <= set(person["records"]):
            return False
        documents = identity_documents(identity, identity_person_id(identity, person))
        return any(status == "valid" for _, status, _ in documents)

    (person,) = find_persons(known_everywhere_with_valid_documents)
    person_id = identity_person_id(identity, person)
    valid_before = sum(1 for _, status, _ in identity_documents(identity, person_id) if status == "valid")
    death_date = days_ago(5)

    # Typed by the spouse in upper/lower case and without accents.
    journey_id = usager.declare_ok(declaration_for(person, "spouse", death_date=death_date))
    journey = usager.wait_journey(journey_id)

    steps = assert_bereavement_plan(journey, journey_id)
    assert steps[STEP_DEATH_RECORDED]["status"] == "done"
    for service in CONSUMER_SERVICES:
        assert steps[SERVICE_STEP[service]]["status"] == "done", steps[SERVICE_STEP[service]]
    identity_detail = steps[STEP_IDENTITY]["detail"]
    assert "annul" in identity_detail.lower(), identity_detail
    assert str(valid_before) in identity_detail, f"{valid_before} documents were valid: {identity_detail!r}"
    assert steps[STEP_SURVIVOR]["status"] == "action_required", steps[STEP_SURVIVOR]
    assert journey["status"] == "action_required"

    # identity cancelled every document and marked the person deceased.
    documents = identity_documents(identity, person_id)
    assert documents and all(status == "cancelled" for _, status, _ in documents), documents
    assert all(cancelled_at is not None for _, _, cancelled_at in documents), documents
    assert identity_deceased_on(identity, person_id) == death_date

    # Each administration applied the death once; bereavement recorded it
    # and prepared the survivor's claim.
    for service in CONSUMER_SERVICES:
        assert applied_effects(service, [journey_id]) == {journey_id: 1}, service
    assert count_rows(db("bereavement"), "death_records", journey_id) == 1
    assert count_rows(db("bereavement"), "survivor_claims", journey_id) == 1


def test_person_unknown_everywhere_declared_by_child(usager, db, applied_effects):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))

    # The journey exists as soon as the declaration is accepted.
    first = usager.journey(journey_id)
    assert first["id"] == journey_id and first["kind"] == "bereavement"

    journey = usager.wait_journey(journey_id)
    steps = assert_bereavement_plan(journey, journey_id)
    assert steps[STEP_DEATH_RECORDED]["status"] == "done"
    for service in CONSUMER_SERVICES:
        step = steps[SERVICE_STEP[service]]
        assert step["status"] == "not_applicable", step
        assert NO_RECORD_DETAIL in step["detail"], step
    assert steps[STEP_SURVIVOR]["status"] == "not_applicable"
    assert journey["status"] == "completed"

    # "Nothing to do" is an outcome too, applied once.
    for service in CONSUMER_SERVICES:
        assert applied_effects(service, [journey_id]) == {journey_id: 1}, service
    assert count_rows(db("bereavement"), "survivor_claims", journey_id) == 0


def test_person_known_in_some_services_gets_exactly_those_steps_done(usager, find_persons):
    def known_in_some_services_only(person):
        known = set(person["records"]) & set(CONSUMER_SERVICES)
        return 0 < len(known) < len(CONSUMER_SERVICES)

    (person,) = find_persons(known_in_some_services_only)
    journey_id = usager.declare_ok(declaration_for(person, "sibling"))
    journey = usager.wait_journey(journey_id)

    steps = assert_bereavement_plan(journey, journey_id)
    for service in CONSUMER_SERVICES:
        step = steps[SERVICE_STEP[service]]
        if service in person["records"]:
            assert step["status"] == "done", f"{service} has a record: {step}"
        else:
            assert step["status"] == "not_applicable", f"{service} has no record: {step}"
            assert NO_RECORD_DETAIL in step["detail"], step
    assert steps[STEP_SURVIVOR]["status"] == "not_applicable"
    assert journey["status"] == "completed"


def test_journey_list_is_the_callers_newest_first_with_cursor_pagination(usager, make_usager):
    someone_else = make_usager()
    someone_else.declare_ok(bereavement_declaration(unknown_person(), "child"))

    created = []
    for _ in range(3):
        created.append(usager.declare_ok(bereavement_declaration(unknown_person(), "child")))
        time.sleep(0.02)  # distinct creation times

    paged = usager.all_journeys(limit=1)
    assert [j["id"] for j in paged] == created[::-1]
    for journey in paged:
        assert journey["kind"] == "bereavement"
        assert "status" in journey and "steps" in journey
    times = [parse_time(j["created_at"]) for j in paged]
    assert times == sorted(times, reverse=True)

    resp = usager.list_journeys(limit=10)
    assert resp.status_code == 200
    page = resp.json()
    assert [j["id"] for j in page["items"]] == created[::-1]
    assert page["next_cursor"] is None

    assert len(someone_else.all_journeys(limit=10)) == 1


def test_parent_death_asks_the_crous_to_reassess_the_childs_bourse(usager, find_persons, db, applied_effects):
    """A student whose bourse was assessed on a parent's resources: the
    parent's death re-opens the assessment (the orphan is assessed on their
    own resources), even though the parent has no student file."""
    identity, student = db("identity"), db("student")
    (parent,) = find_persons(lambda p: "identity" in p["records"] and "student" not in p["records"])
    parent_key = identity.execute(
        "SELECT pivot_key FROM persons WHERE person_id = %s", (identity_person_id(identity, parent),)
    ).fetchone()[0]
    child_file = student.execute(
        "INSERT INTO student_files (file_id, family_name, given_names, pivot_key, parent_pivot_key,"
        " status, bourse_echelon) VALUES (gen_random_uuid(), %s, '{Léa}', %s, %s, 'open', '4')"
        " RETURNING file_id::text",
        (parent["family_name"], f"{parent['family_name'].upper()}|LEA|F|2005-01-01|75056", parent_key),
    ).fetchone()[0]

    journey_id = usager.declare_ok(declaration_for(parent, "child"))
    steps = {s["code"]: s for s in usager.wait_journey(journey_id)["steps"]}

    assert steps[SERVICE_STEP["student"]]["status"] == "done", steps[SERVICE_STEP["student"]]
    assert "réexaminée" in steps[SERVICE_STEP["student"]]["detail"], steps[SERVICE_STEP["student"]]
    status, reassessment = student.execute(
        "SELECT status, reassessment FROM student_files WHERE file_id = %s", (child_file,)
    ).fetchone()
    assert (status, reassessment) == ("open", "deces_parent")
    assert applied_effects("student", [journey_id]) == {journey_id: 1}
