"""Bad input at the gateway: every refusal is a clear RFC 9457 problem with
the right status, and a validation problem names the field."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any, Callable

import pytest

from mdv_e2e import assert_problem, bereavement_declaration, unknown_person

MAX_BODY = 65536


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


def test_json_that_is_not_an_object_is_refused(usager):
    resp = usager.request("POST", "/v1/declarations", data=b"[1, 2, 3]",
                          headers={"Content-Type": "application/json"})
    assert resp.status_code in (400, 422), resp.text
    assert_problem(resp, resp.status_code)


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


@pytest.mark.parametrize("path", ["/v1/nothing", "/v2/declarations", "/", "/v1/journeys/x/y"])
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
