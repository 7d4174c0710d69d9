"""Bad input at the gateway: every refusal is a clear RFC 9457 problem with
the right status, and a validation problem names the field."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any, Callable

import pytest

from mdv_e2e import (
    FINAL_STEP_STATUSES,
    assert_problem,
    bereavement_declaration,
    random_letters,
    summarise,
    unknown_person,
)

MAX_BODY = 65536
# The most letters a name may have once folded for matching
# (MDV_PIVOT_NAME_MAX): « Œ » and « Æ » fold to two.
NAME_KEY_MAX = 128


def valid_body() -> dict[str, Any]:
    return bereavement_declaration(unknown_person(), "child", death_date="2024-11-20")


def in_days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


def deceased(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["deceased"][key] = value
    return change


def top(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body[key] = value
    return change


def drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        del body[key]
    return change


# A declarant at an address in France (Paris 11e), valid as given.
DECLARANT = {"family_name": "MARTIN", "given_names": ["Pierre"], "sex": "M", "birth_date": "1946-10-07",
             "birth_place": "75056"}
DECLARANT_ADDRESS = {"lines": ["12 rue des Lilas"], "postal_code": "75011", "commune_code": "75111"}


def declarant_address(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """The declarant at DECLARANT_ADDRESS with key changed (value None: left out)."""
    def change(body: dict[str, Any]) -> None:
        address = {k: v for k, v in DECLARANT_ADDRESS.items() if k != key}
        if value is not None:
            address[key] = value
        body["declarant"] = DECLARANT | {"address": address}
    return change


def death_before_birth(body: dict[str, Any]) -> None:
    body["deceased"]["birth_date"] = "1950-06-15"
    body["death_date"] = "1950-06-14"


# (test id, change to a valid body, the fields any one of which the errors must name)
INVALID_FIELDS = [
    ("missing kind", drop("kind"), {"kind"}),
    ("unknown kind", top("kind", "wedding"), {"kind"}),
    ("missing deceased", drop("deceased"), {"deceased"}),
    ("family_name empty", deceased("family_name", ""), {"deceased.family_name"}),
    ("family_name with digits", deceased("family_name", "MART1N"), {"deceased.family_name"}),
    ("family_name 101 chars", deceased("family_name", "A" * 101), {"deceased.family_name"}),
    ("family_name not a string", deceased("family_name", 42), {"deceased.family_name"}),
    ("family_name in a script matching cannot fold", deceased("family_name", "Иванов"), {"deceased.family_name"}),
    ("family_name of 70 Œ folds past the key limit", deceased("family_name", "Œ" * 70), {"deceased.family_name"}),
    ("given name folds past the key limit", deceased("given_names", ["Æ" * 29 + "a" * 71]), {"deceased.given_names[0]"}),
    ("family_name full-width letters", deceased("family_name", "ＭＡＲＴＩＮ"), {"deceased.family_name"}),
    ("unknown field cut inside a character", top("a" * 99 + "é", 1), {"a" * 99}),
    ("given_names empty list", deceased("given_names", []), {"deceased.given_names"}),
    ("given_names not a list", deceased("given_names", "Jeanne"), {"deceased.given_names"}),
    ("given name with digits", deceased("given_names", ["Jeanne2"]), {"deceased.given_names[0]"}),
    ("second given name empty", deceased("given_names", ["Jeanne", ""]), {"deceased.given_names[1]"}),
    ("sex X", deceased("sex", "X"), {"deceased.sex"}),
    ("birth_date 1948-02-30", deceased("birth_date", "1948-02-30"), {"deceased.birth_date"}),
    ("birth_date not a date", deceased("birth_date", "02/03/1948"), {"deceased.birth_date"}),
    ("death_date in the future", top("death_date", in_days(2)), {"death_date"}),
    ("death before birth", death_before_birth, {"death_date", "deceased.birth_date"}),
    ("birth_place 7505", deceased("birth_place", "7505"), {"deceased.birth_place"}),
    ("birth_place 2C123", deceased("birth_place", "2C123"), {"deceased.birth_place"}),
    ("death_place ABCDE", top("death_place", "ABCDE"), {"death_place"}),
    ("declarant_relationship cousin", top("declarant_relationship", "cousin"), {"declarant_relationship"}),
    ("missing declarant_relationship", drop("declarant_relationship"), {"declarant_relationship"}),
    # The declarant's own identity, optional, is checked like the deceased's.
    ("declarant not an object", top("declarant", "MARTIN Pierre"), {"declarant"}),
    ("declarant without given_names", top("declarant", {"family_name": "MARTIN", "sex": "M",
                                                        "birth_date": "1946-10-07", "birth_place": "75056"}),
     {"declarant.given_names"}),
    ("declarant birth_date 1946-02-30", top("declarant", {"family_name": "MARTIN", "given_names": ["Pierre"],
                                                          "sex": "M", "birth_date": "1946-02-30",
                                                          "birth_place": "75056"}), {"declarant.birth_date"}),
    ("declarant with a NIR", top("declarant", {"family_name": "MARTIN", "given_names": ["Pierre"], "sex": "M",
                                               "birth_date": "1946-10-07", "birth_place": "75056",
                                               "nir": "146107505612345"}), {"declarant.nir"}),
    # Where the declarant lives, optional, is checked as an address change's address.
    ("declarant.address postal_code of another commune", declarant_address("postal_code", "69001"),
     {"declarant.address.postal_code"}),
    ("declarant.address postal_code 4 digits", declarant_address("postal_code", "7501"),
     {"declarant.address.postal_code"}),
    ("declarant.address without lines", declarant_address("lines", None), {"declarant.address.lines"}),
    ("declarant.address four lines", declarant_address("lines", ["1 rue A", "B", "C", "D"]),
     {"declarant.address.lines"}),
    ("declarant.address commune_code unknown", declarant_address("commune_code", "75000"),
     {"declarant.address.commune_code"}),
    ("declarant.address abroad", declarant_address("country_code", "99401"), {"declarant.address.country_code"}),
]


@pytest.mark.parametrize("change,fields", [pytest.param(c, f, id=i) for i, c, f in INVALID_FIELDS])
def test_invalid_field_is_422_naming_the_field(usager, change, fields):
    body = valid_body()
    change(body)
    problem = assert_problem(usager.declare(body), 422)
    errors = problem.get("errors")
    assert isinstance(errors, list) and errors, f"422 without errors[]: {problem}"
    for error in errors:
        assert isinstance(error.get("field"), str) and error["field"], error
        assert isinstance(error.get("message"), str) and error["message"], error
    named = {error["field"] for error in errors}
    assert named & fields, f"expected an error on {sorted(fields)}, got {errors}"


@pytest.mark.parametrize("relationship", ["spouse", "child"])
def test_a_declarant_at_an_address_in_france_is_accepted(usager, relationship):
    body = valid_body() | {"declarant_relationship": relationship,
                           "declarant": DECLARANT | {"address": DECLARANT_ADDRESS | {"city": "Paris"}}}
    resp = usager.declare(body)
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("place", ["2A004", "2B033", "99134", "97411"])
def test_valid_cog_codes_are_accepted(usager, place):
    """Corsica (2A/2B), abroad (99xxx) and overseas are real COG codes."""
    body = valid_body()
    body["deceased"]["birth_place"] = place
    body["death_place"] = place
    resp = usager.declare(body)
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("family_name,given_names", [
    ("D'ARTAGNAN-LÉVÊQUE DE LA TOUR", ["Anne-Sophie", "Zoé", "Hélène"]),
    ("A" * 100, ["B" * 100]),
    ("Ø", ["Łucja"]),
], ids=["accents hyphens apostrophes spaces", "100 letters", "one letter"])
def test_valid_names_are_accepted(usager, family_name, given_names):
    body = valid_body()
    body["deceased"]["family_name"] = family_name
    body["deceased"]["given_names"] = given_names
    resp = usager.declare(body)
    assert resp.status_code == 202, resp.text


RAW_BODIES = [
    ("truncated", b'{"kind": "bereavement", "deceased": {'),
    ("not json", b"kind=bereavement"),
    ("trailing garbage", json.dumps({"kind": "bereavement"}).encode() + b" }"),
    ("empty body", b""),
    ("invalid utf-8", b'{"kind": "bereavement\xff\xfe"}'),
]


@pytest.mark.parametrize("raw", [pytest.param(b, id=i) for i, b in RAW_BODIES])
def test_malformed_json_is_400(usager, raw):
    resp = usager.request("POST", "/v1/declarations", data=raw,
                          headers={"Content-Type": "application/json"})
    assert_problem(resp, 400)


@pytest.mark.parametrize("raw", [b"null", b"0", b'"AAA"', b"[1, 2, 3]", b"true", b" 3.5 "])
def test_json_that_is_not_an_object_is_422_naming_the_body(usager, raw):
    """Valid JSON of the wrong type is an invalid request, not malformed JSON."""
    resp = usager.request("POST", "/v1/declarations", data=raw, headers={"Content-Type": "application/json"})
    problem = assert_problem(resp, 422)
    assert [e["field"] for e in problem.get("errors", [])] == ["body"], problem


def nul_in(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = node[path[-1]] + "\u0000" + "X"
    return change


@pytest.mark.parametrize("change,field", [
    pytest.param(nul_in(("deceased", "family_name")), "deceased.family_name", id="family_name"),
    pytest.param(nul_in(("deceased", "given_names", 1)), "deceased.given_names[1]", id="second given name"),
    pytest.param(nul_in(("kind",)), "kind", id="kind"),
    pytest.param(nul_in(("declarant_relationship",)), "declarant_relationship", id="enum value"),
])
def test_nul_character_in_a_string_is_422_naming_the_field(usager, change, field):
    """jansson refuses "\u0000" unless told otherwise: a valid JSON string
    that holds one is a field error, never "malformed JSON", and never
    read as the shorter string before it ("bereavement\u0000X" is not
    "bereavement")."""
    body = valid_body()
    change(body)
    raw = json.dumps(body).encode()
    assert b"\\u0000" in raw
    resp = usager.request("POST", "/v1/declarations", data=raw, headers={"Content-Type": "application/json"})
    problem = assert_problem(resp, 422)
    assert field in {e["field"] for e in problem.get("errors", [])}, problem


def test_name_at_the_key_limit_is_accepted_and_every_step_completes(usager):
    """A family name and a first given name that fold to exactly the key
    limit (128 letters) reach every service, which can key them: every step
    becomes final, none is left pending behind a dead letter."""
    body = valid_body()
    body["deceased"]["family_name"] = "Œ" * 28 + random_letters(72)
    body["deceased"]["given_names"] = ["Æ" * 28 + "b" * 72, "Zoé"]
    assert len(body["deceased"]["family_name"]) == 100
    resp = usager.declare(body)
    assert resp.status_code == 202, resp.text
    journey = usager.wait_journey(resp.json()["journey_id"])
    assert journey["status"] == "completed", summarise(journey)
    assert all(step["status"] in FINAL_STEP_STATUSES for step in journey["steps"]), summarise(journey)


# --------------------------------------------------------------------------
# Journey list cursor: opaque to clients; whatever this API did not return
# is a 422 naming it, never a database error.

SOME_ID = "0b5f3c4e-4f0a-4b1e-9a53-0c2d6f1e8a77"
MALFORMED_CURSORS = [
    ("2^63", f"9223372036854775808_{SOME_ID}"),
    ("2^64", f"18446744073709551616_{SOME_ID}"),
    ("30 digits", f"{'9' * 30}_{SOME_ID}"),
    ("negative", f"-1_{SOME_ID}"),
    ("plus sign", f"+1_{SOME_ID}"),
    ("not a number", f"abc_{SOME_ID}"),
    ("full-width digits", f"１２_{SOME_ID}"),
    ("no id", "1733000000000000_"),
    ("id not a uuid", "1733000000000000_not-a-uuid"),
    ("no separator", "1733000000000000"),
    ("only a separator", "_"),
    ("spaces", " 1_ "),
    ("base64 of a cursor", "MTczMzAwMDAwMDAwMDAwMF8w"),
    ("latin-1 bytes", "%E9%E8"),
    ("invalid utf-8", "%FF%FE"),
]
# A NUL byte or a control character in the target (raw or percent-encoded)
# never reaches the handler: the HTTP edge answers 400 bad-request-target.


@pytest.mark.parametrize("cursor", [pytest.param(c, id=i) for i, c in MALFORMED_CURSORS])
def test_malformed_cursor_is_422_naming_cursor(usager, cursor):
    # Sent as written (already percent-encoded where it needs bytes).
    resp = usager.request("GET", f"/v1/journeys?cursor={cursor}")
    problem = assert_problem(resp, 422)
    assert [e["field"] for e in problem.get("errors", [])] == ["cursor"], problem


def test_cursor_at_the_largest_bigint_is_an_empty_page(usager):
    """The greatest value a cursor may hold is still a cursor: the page
    after it (every journey is older) is this usager's whole list."""
    usager.declare_ok(valid_body())
    resp = usager.list_journeys(cursor=f"9223372036854775807_{uuid.uuid4()}")
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["items"]) == 1, resp.text


def test_empty_cursor_is_the_first_page(usager):
    usager.declare_ok(valid_body())
    first = usager.list_journeys(limit=5)
    empty = usager.list_journeys(limit=5, cursor="")
    assert first.status_code == 200 and empty.status_code == 200, empty.text
    assert [j["id"] for j in empty.json()["items"]] == [j["id"] for j in first.json()["items"]]
    assert len(empty.json()["items"]) == 1


def padded(size: int) -> bytes:
    """A valid declaration padded with JSON whitespace to exactly `size` bytes."""
    raw = json.dumps(valid_body()).encode()
    assert len(raw) < size
    return raw[:-1] + b" " * (size - len(raw)) + raw[-1:]


def test_body_over_64_kib_is_413(usager):
    resp = usager.request("POST", "/v1/declarations", data=padded(MAX_BODY + 1),
                          headers={"Content-Type": "application/json"})
    assert_problem(resp, 413)


def test_chunked_body_over_64_kib_is_413(usager):
    raw = padded(4 * MAX_BODY)

    def chunked():
        for i in range(0, len(raw), 8192):
            yield raw[i:i + 8192]

    resp = usager.request("POST", "/v1/declarations", data=chunked(),
                          headers={"Content-Type": "application/json"})
    assert_problem(resp, 413)


def test_body_of_exactly_64_kib_is_accepted(usager):
    resp = usager.request("POST", "/v1/declarations", data=padded(MAX_BODY),
                          headers={"Content-Type": "application/json"})
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
def test_wrong_content_type_is_415(usager, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    resp = usager.request("POST", "/v1/declarations", data=json.dumps(valid_body()).encode(), headers=headers)
    assert_problem(resp, 415)


def test_json_content_type_with_charset_is_accepted(usager):
    resp = usager.request("POST", "/v1/declarations", data=json.dumps(valid_body()).encode(),
                          headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("path", ["/v1/nothing", "/v2/declarations", "/nothing", "/static", "/v1/journeys/x/y"])
def test_unknown_path_is_404(usager, path):
    assert_problem(usager.request("GET", path), 404)


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/v1/declarations", "POST"),
    ("PUT", "/v1/declarations", "POST"),
    ("DELETE", "/v1/journeys", "GET"),
    ("POST", "/v1/journeys", "GET"),
])
def test_wrong_method_is_405_with_allow(usager, method, path, allowed):
    resp = usager.request(method, path)
    assert_problem(resp, 405)
    allow = {m.strip().upper() for m in resp.headers.get("Allow", "").split(",")}
    assert allowed in allow, f"Allow: {resp.headers.get('Allow')!r}"


def test_refused_declarations_create_no_journey(usager):
    body = copy.deepcopy(valid_body())
    body["deceased"]["sex"] = "X"
    assert usager.declare(body).status_code == 422
    assert usager.request("POST", "/v1/declarations", data=b"{", headers={"Content-Type": "application/json"}
                          ).status_code == 400
    assert usager.all_journeys(limit=10) == []
