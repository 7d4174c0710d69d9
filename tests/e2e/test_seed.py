"""mdv-seed: each JSON line says what the services' databases hold of the
person, the records agree across services, and everything follows from
--seed; a large enough batch has persons for whom every step of every new
journey does something."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mdv_e2e import does_every_step, seed_persons

KINDS = ("address_change", "name_change", "identity_document", "departure_abroad", "return_to_france")


def one_row(conn: Any, sql: str, params: tuple) -> tuple | None:
    rows = conn.execute(sql, params).fetchall()
    assert len(rows) <= 1, f"more than one row for {params}: {rows}"
    return rows[0] if rows else None


def by_name(conn: Any, table: str, columns: str, person: dict[str, Any]) -> tuple | None:
    # `table` and `columns` are this file's literals, never input.
    return one_row(conn, f"SELECT {columns} FROM {table} WHERE family_name = %s AND given_names = %s",
                   (person["family_name"], person["given_names"]))


def address_of(lines: list[str], postal_code: str | None, commune_code: str | None, city: str | None,
               country_code: str | None = None) -> dict[str, Any]:
    address = {"lines": list(lines), "city": city, "country_code": country_code or "99100"}
    if postal_code is not None:
        address["postal_code"] = postal_code
    if commune_code is not None:
        address["commune_code"] = commune_code
    return address


def without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def five_years_after(day: str) -> str:
    d = dt.date.fromisoformat(day)
    try:
        return d.replace(year=d.year + 5).isoformat()
    except ValueError:  # 29 February
        return dt.date(d.year + 5, 2, 28).isoformat()


def check_identity(conn: Any, person: dict[str, Any]) -> str | None:
    """Returns the person's pivot key when identity holds them."""
    row = by_name(conn, "persons", "person_id, pivot_key, usage_name, sex, birth_date::text, birth_place", person)
    if "identity" not in person["records"]:
        assert row is None, f"identity holds {person}"
        assert "address" not in person and "usage_name" not in person
        return None
    assert row is not None, f"identity lacks {person}"
    person_id, pivot_key, usage_name, sex, birth_date, birth_place = row
    assert (sex, birth_date, birth_place) == (person["sex"], person["birth_date"], person["birth_place"])
    assert usage_name == person.get("usage_name")
    addresses = conn.execute(
        "SELECT lines, postal_code, commune_code, city, country_code, valid_from::text, valid_to::text"
        " FROM addresses WHERE person_id = %s ORDER BY valid_from", (person_id,)).fetchall()
    current = [a for a in addresses if a[6] is None]
    assert len(current) == 1, f"{person['family_name']}: current addresses {addresses}"
    assert addresses[-1] == current[0], "the current address is the latest"
    lines, postal_code, commune_code, city, country_code, valid_from, _ = current[0]
    held = address_of(lines, postal_code, commune_code, city, country_code)
    assert {**held, "valid_from": valid_from} == person["address"]
    # The history is contiguous: each earlier address ends when the next begins.
    for earlier, later in zip(addresses, addresses[1:]):
        assert earlier[6] == later[5], addresses
    return pivot_key


def check_abroad(conn: Any, person: dict[str, Any]) -> None:
    row = by_name(conn, "registrations",
                  "country_code, consulate, status, registered_on::text, expires_on::text, closed_on::text,"
                  " address_lines, address_postal_code, address_city, closed_at", person)
    if "abroad" not in person["records"]:
        assert row is None and "registration" not in person
        return
    assert row is not None, f"abroad lacks {person}"
    country, consulate, status, registered_on, expires_on, closed_on, lines, postal_code, city, closed_at = row
    held = {"country_code": country, "consulate": consulate, "status": status, "registered_on": registered_on,
            "expires_on": expires_on,
            "address": address_of(lines, postal_code, None, city, country)}
    if closed_on is not None:
        held["closed_on"] = closed_on
    assert held == person["registration"]
    assert (closed_at is None) == (status == "open")
    assert expires_on == five_years_after(registered_on)
    if status == "closed":
        assert closed_on > registered_on
    else:
        assert expires_on > dt.date.today().isoformat(), "an open inscription is still valid"


def check_student(conn: Any, person: dict[str, Any]) -> None:
    row = by_name(conn, "student_files",
                  "status, bourse_echelon, bourse_status, home_of, home_postal_code, home_commune_code,"
                  " study_commune_code, distance_km, distance_points, other_points, resources", person)
    if "student" not in person["records"]:
        assert row is None and "student_file" not in person
        return
    assert row is not None, f"student lacks {person}"
    status, echelon, bourse, home_of, postal_code, commune_code, study, km, points, other, resources = row
    assert {"status": status, "bourse_echelon": echelon, "bourse_status": bourse, "home_of": home_of,
            "family_home": {"postal_code": postal_code, "commune_code": commune_code},
            "study_commune_code": study, "distance_km": km, "distance_points": points,
            "other_points": other, "resources": resources} == person["student_file"]


def check_child_file(conn: Any, person: dict[str, Any], pivot_key: str | None) -> None:
    """A child's file whose family home is the person's address names the
    person as its parent (parent_pivot_key)."""
    child = person.get("child_student_file")
    if pivot_key is None:
        assert child is None, "a child's file is only seeded for a person identity knows"
        return
    rows = conn.execute(
        "SELECT family_name, given_names, status, bourse_echelon, home_of, home_postal_code, home_commune_code,"
        " study_commune_code, distance_km, distance_points, other_points, resources FROM student_files"
        " WHERE parent_pivot_key = %s AND pivot_key <> %s", (pivot_key, pivot_key)).fetchall()
    if child is None:
        assert rows == []
        return
    assert "student" in person["records"], "only a person the CROUS knows has a child's file seeded"
    assert len(rows) == 1, rows
    (family_name, given_names, status, echelon, home_of, postal_code, commune_code, study, km, points, other,
     resources) = rows[0]
    assert (family_name, given_names) == (child["child"]["family_name"], child["child"]["given_names"])
    assert family_name == person["family_name"] and given_names[0] != person["given_names"][0]
    assert {"status": status, "bourse_echelon": echelon, "home_of": home_of,
            "family_home": {"postal_code": postal_code, "commune_code": commune_code},
            "study_commune_code": study, "distance_km": km, "distance_points": points,
            "other_points": other, "resources": resources} == without(child, "child")
    # The family home is the parent's address.
    assert (postal_code, commune_code) == (person["address"]["postal_code"], person["address"]["commune_code"])


def check_housing(conn: Any, person: dict[str, Any]) -> None:
    row = by_name(conn, "mpr_files", "category, status, dwelling_lines, dwelling_postal_code, dwelling_commune_code",
                  person)
    if "housing" not in person["records"]:
        assert row is None and "mpr_file" not in person
        return
    assert row is not None, f"housing lacks {person}"
    category, status, lines, postal_code, commune_code = row
    mpr = person["mpr_file"]
    assert (category, status) == (mpr["category"], mpr["status"])
    assert address_of(lines, postal_code, commune_code, mpr["dwelling"]["city"]) == mpr["dwelling"]


def check_bereavement(conn: Any, person: dict[str, Any], pivot_key: str | None) -> None:
    claim = person.get("survivor_claim")
    if pivot_key is None:
        assert claim is None, "a claim is only seeded for a person identity knows"
        return
    rows = conn.execute(
        "SELECT c.status, c.deceased_key, c.address_lines, c.address_postal_code, c.address_commune_code,"
        " c.address_city, d.family_name, d.given_names, d.sex, d.birth_date::text, d.birth_place,"
        " d.death_date::text, d.declarant_relationship, d.pivot_key"
        " FROM survivor_claims c JOIN death_records d USING (journey_id) WHERE c.survivor_key = %s",
        (pivot_key,)).fetchall()
    if claim is None:
        assert rows == []
        return
    assert len(rows) == 1, rows
    (status, deceased_key, lines, postal_code, commune_code, city, family_name, given_names, sex, birth_date,
     birth_place, death_date, relationship, death_key) = rows[0]
    assert status == claim["status"] and death_date == claim["death_date"]
    assert address_of(lines, postal_code, commune_code, city) == claim["address"]
    assert {"family_name": family_name, "given_names": given_names, "sex": sex, "birth_date": birth_date,
            "birth_place": birth_place} == claim["deceased"]
    assert relationship == "spouse" and deceased_key == death_key


def check_across_services(person: dict[str, Any]) -> None:
    """The records of one person agree: one address, seen by every service
    that keeps one."""
    home = person.get("address")
    if home is None:
        return
    in_france = without(home, "valid_from")
    if "mpr_file" in person:
        assert person["mpr_file"]["dwelling"] == in_france
    student = person.get("student_file")
    if student and student["home_of"] == "student":
        assert student["family_home"] == {"postal_code": home["postal_code"], "commune_code": home["commune_code"]}
    if "survivor_claim" in person:
        assert person["survivor_claim"]["address"] == in_france


def test_each_line_says_what_every_database_holds(seed, db):
    persons = seed(120)
    for person in persons:
        pivot_key = check_identity(db("identity"), person)
        check_abroad(db("abroad"), person)
        check_student(db("student"), person)
        check_housing(db("housing"), person)
        check_bereavement(db("bereavement"), person, pivot_key)
        check_child_file(db("student"), person, pivot_key)
        check_across_services(person)


def test_a_batch_has_persons_for_every_step_of_every_new_journey(seed):
    persons = seed(400)
    for kind in KINDS:
        found = [p for p in persons if does_every_step(kind)(p)]
        assert found, f"no seeded person does every step of {kind}"
    # And the variety the journeys' details need.
    assert any("usage_name" in p for p in persons)
    assert {p["registration"]["status"] for p in persons if "registration" in p} == {"open", "closed"}
    students = [p["student_file"] for p in persons if "student_file" in p]
    assert {s["home_of"] for s in students} == {"student", "parent"}
    assert {s["distance_points"] for s in students} >= {0, 1, 2, 3}
    assert {p["survivor_claim"]["status"] for p in persons if "survivor_claim" in p} == {"offered", "confirmed"}
    assert any("child_student_file" in p for p in persons), "no parent whose move reaches a child's file"


def test_the_first_of_every_twenty_gives_every_administration_something_to_do(seed):
    """So that the stack's 20 demo persons hold one: an address_change of
    theirs reaches a student file at their own address, a MaPrimeRénov'
    file at the current address, an open inscription, a survivor claim."""
    persons = seed(41)
    for person in (persons[0], persons[20], persons[40]):
        assert does_every_step("address_change")(person), person
        assert person["student_file"]["home_of"] == "student"
        assert person["mpr_file"]["dwelling"] == without(person["address"], "valid_from")


def test_everything_printed_follows_from_the_seed(env, next_seed, db):
    s = next_seed()
    first = seed_persons(env, 30, s)
    # The same seed again prints the same persons; it duplicates the rows
    # of identity, student, housing and abroad (no natural key there), and
    # finds the spouses' deaths and claims there already.
    again = seed_persons(env, 30, s)
    assert again == first
    claims = [p for p in first if "survivor_claim" in p]
    for person in claims:
        deceased = person["survivor_claim"]["deceased"]
        (n,) = db("bereavement").execute(
            "SELECT count(*) FROM death_records WHERE family_name = %s AND birth_date::text = %s",
            (deceased["family_name"], deceased["birth_date"])).fetchone()
        assert n == 1, deceased
    other = seed_persons(env, 30, next_seed())

    def identities(persons: list[dict[str, Any]]) -> set[tuple]:
        return {(p["family_name"], tuple(p["given_names"]), p["birth_date"]) for p in persons}

    assert not identities(other) & identities(first)
