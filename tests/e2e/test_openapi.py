"""The gateway's OpenAPI 3 contract is valid, and real answers match it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator, oas30_format_checker, oas31_format_checker
from openapi_spec_validator import validate as validate_spec

from mdv_e2e import REPO_ROOT, bereavement_declaration, unknown_person

SPEC_PATH = REPO_ROOT / "services" / "gateway" / "openapi.yaml"

# The answers the contract must describe: (method, path, status).
REQUIRED_RESPONSES = [
    ("post", "/v1/declarations", "202"),
    ("post", "/v1/declarations", "400"),
    ("post", "/v1/declarations", "401"),
    ("post", "/v1/declarations", "413"),
    ("post", "/v1/declarations", "415"),
    ("post", "/v1/declarations", "422"),
    ("get", "/v1/journeys", "200"),
    ("get", "/v1/journeys", "401"),
    ("get", "/v1/journeys", "422"),
    ("get", "/v1/journeys/{}", "200"),
    ("get", "/v1/journeys/{}", "404"),
    ("post", "/v1/journeys/{}/confirmations", "202"),
    ("post", "/v1/journeys/{}/confirmations", "401"),
    ("post", "/v1/journeys/{}/confirmations", "404"),
    ("post", "/v1/journeys/{}/confirmations", "409"),
    ("post", "/v1/journeys/{}/confirmations", "422"),
]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.fail(f"{SPEC_PATH.relative_to(REPO_ROOT)} is missing: the gateway must ship its OpenAPI 3 contract")
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follows local $refs ("#/components/...") until a plain object."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local $refs are supported: {ref}"
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def find_path(spec: dict[str, Any], path: str) -> dict[str, Any]:
    """The path item whose template matches `path` ("{}" stands for any one
    parameter, whatever its name)."""
    for template, item in spec.get("paths", {}).items():
        if re.sub(r"\{[^}]+\}", "{}", template) == path:
            return resolve(spec, item)
    raise AssertionError(f"{SPEC_PATH.name} declares no path {path}")


def response_for(spec: dict[str, Any], method: str, path: str, status: str) -> dict[str, Any]:
    operation = find_path(spec, path).get(method)
    assert operation, f"{SPEC_PATH.name}: no {method.upper()} {path}"
    responses = operation.get("responses", {})
    for key in (status, status[0] + "XX", "default"):
        if key in responses:
            return resolve(spec, responses[key])
    raise AssertionError(f"{SPEC_PATH.name}: {method.upper()} {path} declares no {status} response")


def validator_for(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    # The components travel with the schema so that its $refs resolve.
    root = {"components": spec.get("components", {}), "allOf": [schema]}
    if str(spec.get("openapi", "")).startswith("3.0"):
        return OAS30Validator(root, format_checker=oas30_format_checker)
    return OAS31Validator(root, format_checker=oas31_format_checker)


def assert_matches(spec: dict[str, Any], method: str, path: str, resp: requests.Response) -> None:
    response = response_for(spec, method, path, str(resp.status_code))
    ctype = resp.headers.get("Content-Type", "").split(";")[0].strip()
    content = response.get("content", {})
    assert ctype in content, (
        f"{method.upper()} {path} {resp.status_code}: Content-Type {ctype!r} not declared ({sorted(content)})"
    )
    schema = content[ctype].get("schema")
    assert schema, f"{method.upper()} {path} {resp.status_code} {ctype}: no schema"
    errors = sorted(validator_for(spec, schema).iter_errors(resp.json()), key=lambda e: list(e.path))
    assert not errors, "answer does not match the contract:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors
    )


# --------------------------------------------------------------------------


def test_spec_is_valid_openapi_3(spec):
    assert str(spec.get("openapi", "")).startswith("3."), f"openapi: {spec.get('openapi')!r}"
    validate_spec(spec)


@pytest.mark.parametrize("method,path,status", REQUIRED_RESPONSES)
def test_spec_declares_the_answers(spec, method, path, status):
    response = response_for(spec, method, path, status)
    content = response.get("content", {})
    expected = "application/json" if status.startswith("2") else "application/problem+json"
    assert expected in content, f"{method.upper()} {path} {status}: {expected} not declared"
    assert content[expected].get("schema"), f"{method.upper()} {path} {status}: no schema"


def test_spec_declares_bearer_authentication(spec):
    schemes = spec.get("components", {}).get("securitySchemes", {})
    bearer = [s for s in map(lambda s: resolve(spec, s), schemes.values())
              if s.get("type") == "http" and s.get("scheme", "").lower() == "bearer"]
    assert bearer, f"no http bearer security scheme: {schemes}"


def test_real_answers_match_the_spec(spec, usager):
    accepted = usager.declare(bereavement_declaration(unknown_person(), "child"))
    assert accepted.status_code == 202, accepted.text
    assert_matches(spec, "post", "/v1/declarations", accepted)
    journey_id = accepted.json()["journey_id"]

    in_progress = usager.get_journey(journey_id)
    assert_matches(spec, "get", "/v1/journeys/{}", in_progress)

    usager.wait_journey(journey_id)
    final = usager.get_journey(journey_id)
    assert final.status_code == 200
    assert_matches(spec, "get", "/v1/journeys/{}", final)

    listing = usager.list_journeys(limit=1)
    assert listing.status_code == 200
    assert_matches(spec, "get", "/v1/journeys", listing)

    body = bereavement_declaration(unknown_person(), "child")
    body["declarant_relationship"] = "cousin"
    invalid = usager.declare(body)
    assert invalid.status_code == 422
    assert_matches(spec, "post", "/v1/declarations", invalid)

    unknown = usager.get_journey(str(uuid.uuid4()))
    assert unknown.status_code == 404
    assert_matches(spec, "get", "/v1/journeys/{}", unknown)

    anonymous = requests.get(usager.gateway_url + "/v1/journeys", timeout=30)
    assert anonymous.status_code == 401
    assert_matches(spec, "get", "/v1/journeys", anonymous)


def test_real_confirmation_answers_match_the_spec(spec, usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    usager.wait_journey(journey_id)
    path = f"/v1/journeys/{journey_id}/confirmations"
    invalid = usager.request("POST", path, json={"step": "not a code"})
    assert invalid.status_code == 422
    assert_matches(spec, "post", "/v1/journeys/{}/confirmations", invalid)
    accepted = usager.request("POST", path, json={"step": "bereavement.survivor_pension"})
    assert accepted.status_code == 202, accepted.text
    assert_matches(spec, "post", "/v1/journeys/{}/confirmations", accepted)
    usager.wait_journey(journey_id, until=lambda j: all(s["status"] != "action_required" for s in j["steps"]))
    again = usager.request("POST", path, json={"step": "bereavement.survivor_pension"})
    assert again.status_code == 409
    assert_matches(spec, "post", "/v1/journeys/{}/confirmations", again)


def test_declaration_example_of_the_design_matches_the_request_schema(spec):
    """The request schema accepts the design's example and refuses a body
    without kind."""
    operation = find_path(spec, "/v1/declarations")["post"]
    body = resolve(spec, operation["requestBody"])
    schema = body["content"]["application/json"]["schema"]
    example = {
        "kind": "bereavement",
        "deceased": {"family_name": "MARTIN", "given_names": ["Jeanne", "Marie"],
                     "sex": "F", "birth_date": "1948-03-02", "birth_place": "75056"},
        "death_date": "2024-11-20", "death_place": "75056",
        "declarant_relationship": "spouse",
    }
    validator = validator_for(spec, schema)
    assert not list(validator.iter_errors(example)), list(validator.iter_errors(example))
    assert list(validator.iter_errors({k: v for k, v in example.items() if k != "kind"})), (
        "the request schema accepts a declaration without kind"
    )



# --------------------------------------------------------------------------
# The Name pattern is the gateway's rule, letter for letter.

# Letters just outside the Latin blocks that iswalpha knows and iconv can
# fold to A-Z, and a few of other scripts: the pattern and the gateway must
# refuse them alike.
OUTSIDE_LATIN_BLOCKS = (
    "\u00aa\u00b5\u00ba"            # ª µ º
    "\u0250\u0259\u0271\u02b0"      # IPA, modifier letter
    "\u0391\u03b1\u0410\u0430\u05d0\u0627\u0905\u3042\u5c71\uac00"
    "\u2c7c\ua7f2\ufb00\ufb01\ufb03\uff21\uff41\u24b6"
    "\U0001d400\U0001d41a"
)


def name_candidates() -> list[str]:
    chars = [chr(c) for c in range(0x21, 0x250)] + [chr(c) for c in range(0x1E00, 0x1F00)]
    return chars + list(OUTSIDE_LATIN_BLOCKS)


def gateway_accepts(usager, names: list[str]) -> dict[str, bool]:
    """Which of (at most 11) one-letter names the gateway accepts, in one
    declaration: the first as family name, the others as given names."""
    body = bereavement_declaration(unknown_person(), "child")
    body["deceased"]["family_name"] = names[0]
    body["deceased"]["given_names"] = names[1:] or ["Marie"]
    resp = usager.declare(body)
    if resp.status_code == 202:
        return {name: True for name in names}
    assert resp.status_code == 422, resp.text
    fields = {e["field"] for e in resp.json()["errors"]}
    expected = {"deceased.family_name"} | {f"deceased.given_names[{i}]" for i in range(len(names) - 1)}
    assert fields <= expected, f"errors on other fields than the names: {resp.text}"
    refused = {names[0]} if "deceased.family_name" in fields else set()
    refused |= {names[i + 1] for i in range(len(names) - 1) if f"deceased.given_names[{i}]" in fields}
    return {name: name not in refused for name in names}


def test_name_pattern_accepts_exactly_the_letters_the_gateway_accepts(spec, usager):
    """Each character alone as a name: the contract's pattern matches it if
    and only if the gateway accepts it (every Latin block, and letters of
    other blocks and scripts)."""
    name = resolve(spec, spec["components"]["schemas"]["Name"])
    pattern = re.compile(name["pattern"])
    candidates = name_candidates()
    accepted: dict[str, bool] = {}
    for i in range(0, len(candidates), 11):
        accepted.update(gateway_accepts(usager, candidates[i:i + 11]))
    disagree = [f"U+{ord(c):04X} {c!r}: pattern {'matches' if pattern.search(c) else 'refuses'},"
                f" gateway {'accepts' if accepted[c] else 'refuses'}"
                for c in candidates if bool(pattern.search(c)) != accepted[c]]
    assert not disagree, f"{len(disagree)} characters disagree:\n" + "\n".join(disagree[:40])
    assert sum(accepted.values()) > 600, "the gateway accepts almost no letter: the test checks nothing"


def test_name_pattern_and_gateway_agree_on_separators(spec, usager):
    pattern = re.compile(resolve(spec, spec["components"]["schemas"]["Name"])["pattern"])
    names = ["Le Goff", "N'Diaye", "N\u2019Diaye", "Marie-Claire", "Jean  Paul", "Jean-'Paul", "-Marie",
             "Marie'", " Marie", "Marie\tClaire", "Marie_Claire"]
    accepted = gateway_accepts(usager, names)
    for n in names:
        assert bool(pattern.search(n)) == accepted[n], f"{n!r}: pattern and gateway disagree"


def test_every_refusal_names_a_problem_type_and_a_valid_field_pattern(spec):
    found = 0
    for template, item in spec["paths"].items():
        for method, operation in resolve(spec, item).items():
            response = operation.get("responses", {}).get("422") if isinstance(operation, dict) else None
            for refusal in (response or {}).get("x-refusals", []):
                found += 1
                assert refusal.get("type", "").startswith("urn:mdv:problem:"), (template, method, refusal)
                if "field" in refusal:
                    re.compile(refusal["field"])
                    assert isinstance(refusal.get("message"), str), (template, method, refusal)
    assert found >= 4, f"only {found} x-refusals in the contract"
