"""What the administrations already know of the signed-in usager: GET
/v1/me's known, which the gateway asks of identity (its register's current
main address, POST /internal/v1/address-lookups with a service token) for a
usager signed in through the stack's real OpenID provider; null for a usager
identity does not know, and null within the timeout when identity is slow or
down. The internal route itself: only a service's token opens it, its body
is a pivot identity checked field by field, and its log keeps no identity."""

from __future__ import annotations

import json
import re
import subprocess
import time
from typing import Any

import pytest
import requests
import yaml

from conftest import Databases
from mdv_e2e import (REPO_ROOT, StackEnv, assert_problem, instance_log, mint_partner_token, mint_token, pause_instance,
                     resume_instance, unknown_person, wait_until)
from signin import Browser
from test_browser import FORMS, deceased, run_scenario
from test_declaration_kinds import request_examples
from test_openapi import SPEC_PATH, assert_matches, validator_for

LOOKUPS = "/internal/v1/address-lookups"
UNKNOWN_USAGER = "INCONNU-TESTEUR"
BORN_ABROAD_USAGER = "NULLEPART"
# The gateway's MDV_IDENTITY_TIMEOUT_MS default (services/gateway/main.c).
IDENTITY_TIMEOUT_S = 1.0
# curl's own bound on a call without one (shared/httpc.c): an answer sooner
# than this shows the lookup's own timeout cut the wait.
UNBOUNDED_CALL_S = 10.0


def service_token(env: StackEnv, service: str = "gateway", *extra: str) -> str:
    out = env.run_tool(env.tool("mdv-token"), "--service", service, *extra, timeout=30)
    token = out.strip().splitlines()[-1]
    assert token.count(".") == 2, out
    return token


def lookup(env: StackEnv, body: Any, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kw: dict[str, Any] = {"json": body}
    if isinstance(body, (str, bytes)):
        headers["Content-Type"] = "application/json"
        kw = {"data": body}
    return requests.post(env.service_urls["identity"] + LOOKUPS, headers=headers, timeout=30, **kw)


def demo_persons(env: StackEnv) -> list[dict[str, Any]]:
    """The stack's own seed, which the provider lists."""
    assert env.stack_dir is not None
    return [json.loads(line) for line in (env.stack_dir / "seed.jsonl").read_text().splitlines() if line.strip()]


def current_address(db: Databases, person: dict[str, Any]) -> dict[str, Any] | None:
    """The current main address in France identity's database holds for a
    seeded person, in the contract's shape; None when it holds none."""
    row = db("identity").execute(
        "SELECT a.lines, coalesce(a.postal_code, ''), a.commune_code, a.city FROM persons p"
        " JOIN addresses a ON a.person_id = p.person_id AND a.valid_to IS NULL"
        " WHERE upper(p.family_name) = upper(%s) AND p.birth_date::text = %s AND p.birth_place = %s"
        " AND p.sex = %s AND a.country_code = '99100'",
        (person["family_name"], person["birth_date"], person["birth_place"], person["sex"]),
    ).fetchone()
    if row is None:
        return None
    return {"lines": list(row[0]), "postal_code": row[1], "commune_code": row[2], "city": row[3]}


def pivot(person: dict[str, Any]) -> dict[str, Any]:
    return {k: person[k] for k in ("family_name", "given_names", "sex", "birth_date", "birth_place")}


def housed_demo_person(env: StackEnv, db: Databases) -> dict[str, Any]:
    """A seeded person the provider lists whose family name is theirs alone
    there and whom identity knows at an address in France."""
    persons = demo_persons(env)
    for person in persons:
        same_name = [p for p in persons if p["family_name"].upper() == person["family_name"].upper()]
        if len(same_name) == 1 and current_address(db, person):
            return person
    pytest.fail("no seeded person of the stack with a current address in France")


def signed_in(env: StackEnv, who: str) -> Browser:
    browser = Browser(env.gateway_url)
    callback = browser.sign_in(who)
    assert callback.status_code == 303, f"sign-in as {who}: {callback.status_code} {callback.text[:300]}"
    return browser


def me(browser: Browser) -> dict[str, Any]:
    resp = browser.me()
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_seeded_usager_gets_their_current_address_from_identity(env: StackEnv, db: Databases) -> None:
    person = housed_demo_person(env, db)
    browser = signed_in(env, person["family_name"].upper())
    body = me(browser)
    assert body["family_name"] == person["family_name"].upper() and body["birthdate"] == person["birth_date"]
    # Other tests may move this person meanwhile: the answer is the
    # register's address as it is when asked.
    wait_until(lambda: me(browser)["known"] == {"address": current_address(db, person)}, 30,
               f"known.address of {person['family_name']} to be identity's current address")
    assert set(body["known"]["address"]) == {"lines", "postal_code", "commune_code", "city"}


def test_a_usager_known_to_no_administration_gets_known_null(env: StackEnv) -> None:
    for who in (UNKNOWN_USAGER, BORN_ABROAD_USAGER):
        body = me(signed_in(env, who))
        assert body["family_name"] == who
        assert body["known"] is None, f"{who}: {body['known']}"


def test_a_bearer_token_or_an_agent_gets_known_null(env: StackEnv) -> None:
    resp = requests.get(env.gateway_url + "/v1/me", headers={"Authorization": f"Bearer {mint_token(env, 'prog')}"},
                        timeout=30)
    assert resp.status_code == 200 and resp.json()["known"] is None
    agent = me(signed_in(env, "AGENTE"))
    assert agent["role"] == "agent" and agent["known"] is None


def test_identity_slow_or_down_leaves_known_null_and_me_answers(env: StackEnv, db: Databases) -> None:
    person = housed_demo_person(env, db)
    browser = signed_in(env, person["family_name"].upper())
    assert me(browser)["known"] is not None
    pause_instance(env, "identity-1")  # accepts connections, answers nothing
    try:
        started = time.monotonic()
        body = me(browser)
        slow = time.monotonic() - started
    finally:
        resume_instance(env, "identity-1")
    assert body["known"] is None and body["family_name"] == person["family_name"].upper()
    assert IDENTITY_TIMEOUT_S * 0.9 <= slow < UNBOUNDED_CALL_S, f"GET /v1/me took {slow:.2f} s with identity paused"
    env.stack("stop-service", "identity-1", timeout=120)
    try:
        started = time.monotonic()
        body = me(browser)
        down = time.monotonic() - started
        assert body["known"] is None and down < UNBOUNDED_CALL_S
    finally:
        env.stack("start-service", "identity-1", timeout=240)
    wait_until(lambda: me(browser)["known"] == {"address": current_address(db, person)}, 30,
               "known again once identity is back")
    print(f"figures: GET /v1/me with identity paused {slow:.2f} s, stopped {down:.2f} s")


def test_the_lookup_answers_a_service_token_with_the_current_address(env: StackEnv, db: Databases) -> None:
    person = housed_demo_person(env, db)
    token = service_token(env)
    resp = lookup(env, pivot(person), token)
    assert resp.status_code == 200, resp.text
    assert resp.json() == current_address(db, person)
    # Typed as usagers type: the matching key folds case and accents.
    typed = dict(pivot(person), family_name=person["family_name"].lower())
    assert lookup(env, typed, token).status_code == 200
    missing = assert_problem(lookup(env, pivot(unknown_person()), token), 404)
    assert missing["title"] == "Adresse inconnue"


@pytest.mark.parametrize("how", ["none", "usager", "partner", "other_audience", "other_issuer", "expired",
                                 "not_bearer"])
def test_the_lookup_refuses_every_token_but_a_service_one(env: StackEnv, how: str) -> None:
    person = pivot(unknown_person())
    token = {
        "none": lambda: None,
        "usager": lambda: mint_token(env, "gateway"),
        "partner": lambda: mint_partner_token(env, "cnav"),
        "other_audience": lambda: service_token(env, "gateway", "--audience", "mdv"),
        "other_issuer": lambda: service_token(env, "gateway", "--issuer", "mdv-local"),
        "expired": lambda: service_token(env, "gateway", "--ttl", "-60"),
        "not_bearer": lambda: None,
    }[how]()
    if how == "not_bearer":
        resp = requests.post(env.service_urls["identity"] + LOOKUPS, json=person, timeout=30,
                             headers={"Authorization": f"Basic {service_token(env)}"})
    else:
        resp = lookup(env, person, token)
    assert_problem(resp, 401)


def test_the_lookup_serves_only_the_services_it_names(env: StackEnv) -> None:
    problem = assert_problem(lookup(env, pivot(unknown_person()), service_token(env, "student")), 403)
    assert problem["title"] == "Accès réservé aux services autorisés"


@pytest.mark.parametrize(("change", "field"), [
    ({"family_name": None}, "family_name"),
    ({"family_name": "R2D2"}, "family_name"),
    ({"given_names": []}, "given_names"),
    ({"given_names": ["Anne", 7]}, "given_names[1]"),
    ({"sex": "X"}, "sex"),
    ({"birth_date": "2001-02-30"}, "birth_date"),
    ({"birth_date": 20010203}, "birth_date"),
    ({"birth_place": "7505"}, "birth_place"),
    ({"nir": "1 77 07 2B 033 123 45"}, "nir"),
])
def test_the_lookup_names_the_wrong_field(env: StackEnv, change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**pivot(unknown_person()), **change}.items() if v is not None}
    problem = assert_problem(lookup(env, body, service_token(env)), 422)
    assert field in [e["field"] for e in problem["errors"]], problem


def test_the_lookup_refuses_what_is_no_json_object(env: StackEnv) -> None:
    token = service_token(env)
    assert_problem(lookup(env, "{not json", token), 400)
    assert_problem(lookup(env, "[]", token), 422)


def test_the_lookup_logs_no_identity(env: StackEnv, db: Databases) -> None:
    person = housed_demo_person(env, db)
    log = instance_log(env, "identity-1")
    before = log.stat().st_size
    assert lookup(env, pivot(person), service_token(env)).status_code == 200

    def logged() -> str | None:
        with log.open(encoding="utf-8", errors="replace") as f:
            f.seek(before)
            text = f.read()
        return text if "address lookup by gateway: 200" in text else None

    text = wait_until(logged, 10, "the lookup in identity's log")
    lines = [line for line in text.splitlines() if "address lookup" in line]
    assert lines
    for value in (person["family_name"], person["birth_date"], person["birth_place"], *person["given_names"]):
        assert all(value not in line and value.upper() not in line for line in lines), (value, lines)


def test_the_renovation_form_shows_the_recorded_address_editable(env: StackEnv, db: Databases) -> None:
    person = housed_demo_person(env, db)
    fields = ["f-dwelling-lines-0", "f-dwelling-lines-1", "f-dwelling-postal_code", "f-dwelling-commune_code",
              "f-dwelling-city"]
    before = current_address(db, person)
    report = run_scenario(env, "prefilled", {"person": person["family_name"].upper(), "kind": "renovation_grant",
                                             "fields": fields, "typed": "3 rue Neuve"})
    steps = report["steps"]

    def as_fields(address: dict[str, Any]) -> dict[str, str]:
        lines = address["lines"] + [""] * (2 - len(address["lines"]))
        return dict(zip(fields, [*lines[:2], address["postal_code"], address["commune_code"], address["city"]]))

    # The address as the register holds it when the page asked: the one
    # read before the scenario, or after it if an earlier journey moved
    # this person meanwhile.
    assert steps["values"] in (as_fields(before), as_fields(current_address(db, person))), steps["values"]
    assert steps["notice"] and "enregistrée par l'ANTS" in steps["notice"]
    assert steps["edited"] == "3 rue Neuve"


def test_a_usager_the_register_does_not_know_gets_an_empty_form(env: StackEnv) -> None:
    fields = ["f-dwelling-lines-0", "f-dwelling-postal_code", "f-dwelling-commune_code", "f-dwelling-city"]
    report = run_scenario(env, "prefilled", {"person": UNKNOWN_USAGER, "kind": "renovation_grant",
                                             "fields": fields, "typed": "3 rue Neuve"})
    assert report["steps"]["values"] == {f: "" for f in fields}
    assert report["steps"]["notice"] is None


def test_a_spouse_declaring_a_death_sends_the_recorded_address_with_their_identity(
        env: StackEnv, db: Databases) -> None:
    """The bereavement form shows the address the register holds and sends
    it as the declarant's, so that the réversion claim offered has it
    before any AddressChanged."""
    person = housed_demo_person(env, db)
    before = current_address(db, person)
    values = {**FORMS["bereavement"], **deceased(), "f-declarant_relationship": "spouse"}
    report = run_scenario(env, "declarant", {"person": person["family_name"].upper(), "values": values})
    steps = report["steps"]
    address = steps["declarant"]["address"]
    # The register's address when the page asked: the one read before the
    # scenario, or after it if an earlier journey moved this person meanwhile.
    assert address in (before, current_address(db, person)), steps
    assert steps["shown"] and address["lines"][0] in steps["shown"] and address["city"] in steps["shown"]
    assert "enregistrée par l'ANTS" in steps["shown"]
    claim = wait_until(lambda: db("bereavement").execute(
        "SELECT address_lines, address_postal_code, address_commune_code, address_city FROM survivor_claims"
        " WHERE journey_id = %s", (steps["journey_id"],)).fetchone(), 30, "the offered claim")
    assert claim == (address["lines"], address["postal_code"], address["commune_code"], address["city"])


def test_a_usager_the_register_does_not_know_sends_their_identity_alone(env: StackEnv) -> None:
    values = {**FORMS["bereavement"], **deceased(), "f-declarant_relationship": "spouse"}
    report = run_scenario(env, "declarant", {"person": UNKNOWN_USAGER, "values": values})
    assert report["steps"]["shown"] is None
    assert report["steps"]["declarant"] and "address" not in report["steps"]["declarant"], report["steps"]


def readme_block() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### What the administrations already know\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    return block


def test_the_readme_examples_run_as_written(env: StackEnv, db: Databases) -> None:
    block = readme_block()
    montelnil = next(p for p in demo_persons(env) if p["family_name"] == "Montelnil")
    assert current_address(db, montelnil), "the README's demo person has no current address in France"
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", block], capture_output=True, text=True, timeout=60,
                          env={**env.process_env, "PATH": f"{env.bin_dir}:{env.process_env.get('PATH', '')}"})
    assert proc.returncode == 0, proc.stderr
    expected = [line[2:] for line in block.splitlines() if line.startswith("# ") and not line[2:3].isupper()]
    assert proc.stdout.splitlines() == expected, (proc.stdout, expected)


def test_the_contracts_me_example_is_a_real_answer_and_its_address_declarable(env: StackEnv, db: Databases,
                                                                              usager) -> None:
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    example = spec["paths"]["/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    schema = {"$ref": "#/components/schemas/Me"}
    assert not list(validator_for(spec, schema).iter_errors(example))
    # A real answer with a known address matches the same schema...
    resp = signed_in(env, housed_demo_person(env, db)["family_name"].upper()).me()
    assert resp.json()["known"] is not None
    assert_matches(spec, "get", "/v1/me", resp)
    # ... and the example's known address is one a form may send back as is.
    (renovation,) = [e for _, e in request_examples() if e["kind"] == "renovation_grant"]
    accepted = usager.declare({**renovation, "dwelling": example["known"]["address"]})
    assert accepted.status_code == 202, accepted.text
