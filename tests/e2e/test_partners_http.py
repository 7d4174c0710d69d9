"""The partners' HTTP API (services/partners/openapi.yaml), as a partner's
engineer uses it: POST /partners/v1/outcomes with a partner's token (its own
issuer and audience, sub = the partner id), on its own steps only, once per
Idempotency-Key, every refusal a problem naming its field. The CNAV's
simulator is stopped so that only these reports reach its step."""

from __future__ import annotations

import re
import subprocess
import uuid
from typing import Any

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate as validate_spec

from mdv_e2e import (
    REPO_ROOT,
    STEP_CNAV,
    Partner,
    assert_problem,
    bereavement_declaration,
    mint_partner_token,
    steps_by_code,
    unknown_person,
    wait_until,
)

TIMEOUT = 60
CNAV = "Caisse nationale d'assurance vieillesse (CNAV)"
SPEC_PATH = REPO_ROOT / "services" / "partners" / "openapi.yaml"
README = REPO_ROOT / "README.md"
OUTCOMES = "/partners/v1/outcomes"


@pytest.fixture
def cnav_played_here(env):
    env.stack("stop-simulator", "cnav")
    try:
        yield
    finally:
        env.stack("start-simulator", "cnav")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def cnav_step(usager, journey_id: str) -> dict[str, Any]:
    return steps_by_code(usager.journey(journey_id)).get(STEP_CNAV) or {}


def notified_journey(usager) -> str:
    """A death declared, once the CNAV's step is on the journey."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    wait_until(lambda: cnav_step(usager, journey_id).get("status") == "pending", TIMEOUT,
               "the CNAV's step pending")
    return journey_id


def outcome(journey_id: str, **kw: str) -> dict[str, str]:
    return {"journey_id": journey_id, "step_code": STEP_CNAV, "status": "done",
            "detail": "Décès pris en compte par l'Assurance retraite", **kw}


def check_answer(spec: dict[str, Any], resp: requests.Response) -> None:
    """The answer is one the contract describes, body and all."""
    responses = spec["paths"][OUTCOMES]["post"]["responses"]
    assert str(resp.status_code) in responses, f"{resp.status_code} not in the contract: {resp.text}"
    content = responses[str(resp.status_code)]["content"]
    ctype = resp.headers["Content-Type"].split(";")[0]
    assert ctype in content, (ctype, list(content))
    schema = {"components": spec["components"], "allOf": [content[ctype]["schema"]]}
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(resp.json())


def field_errors(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def test_a_partner_reports_on_its_step_over_http_once_per_key(env, usager, cnav_played_here, db, spec):
    journey_id = notified_journey(usager)
    cnav = Partner(env, "cnav")
    key = f"cnav-{uuid.uuid4()}"
    first = cnav.report(outcome(journey_id), key)
    assert first.status_code == 202, first.text
    check_answer(spec, first)
    answer = first.json()
    assert {k: answer[k] for k in ("journey_id", "step_code", "status", "detail")} == outcome(journey_id)
    # Reported before any commit of the CNAV's group: that was its receipt too.
    done = wait_until(lambda: cnav_step(usager, journey_id).get("status") == "done"
                      and cnav_step(usager, journey_id), TIMEOUT, "the CNAV's outcome on the journey")
    assert done["detail"] == "Décès pris en compte par l'Assurance retraite" and done["received_at"]

    # A replay gets the first answer and changes nothing.
    again = cnav.report(outcome(journey_id), key)
    assert again.status_code == 202 and again.json() == answer, again.text
    # The same key for another report is refused, and changes nothing either.
    other = assert_problem(cnav.report(outcome(journey_id, status="failed", detail="Autre chose"), key), 422)
    assert other["type"].endswith("idempotency-key-reused"), other
    assert db("partners").execute("SELECT count(*) FROM outcomes WHERE idempotency_key = %s",
                                  (key,)).fetchone() == (1,)
    # A later report under a new key is applied.
    later = cnav.report(outcome(journey_id, status="in_progress", detail="Dossier de réversion à l'étude"),
                        f"cnav-{uuid.uuid4()}")
    assert later.status_code == 202, later.text
    wait_until(lambda: cnav_step(usager, journey_id).get("status") == "in_progress", TIMEOUT,
               "the second report")
    assert cnav_step(usager, journey_id)["received_at"] == done["received_at"]


def test_received_alone_acknowledges_the_step(env, usager, cnav_played_here, db):
    journey_id = notified_journey(usager)
    resp = Partner(env, "cnav").report(outcome(journey_id, status="received", detail="Signalement reçu"),
                                       f"cnav-{uuid.uuid4()}")
    assert resp.status_code == 202, resp.text
    step = wait_until(lambda: cnav_step(usager, journey_id).get("status") == "received"
                      and cnav_step(usager, journey_id), TIMEOUT, "the CNAV's receipt")
    assert step["detail"] == f"Reçu par : {CNAV}" and step["received_at"]
    assert db("partners").execute("SELECT received_at IS NOT NULL FROM notices WHERE journey_id = %s"
                                  " AND step_code = %s", (journey_id, STEP_CNAV)).fetchone() == (True,)


def test_another_partners_step_and_an_unknown_journey_get_the_same_404(env, usager, cnav_played_here, spec):
    journey_id = notified_journey(usager)
    dgfip = Partner(env, "dgfip")
    theirs = dgfip.report(outcome(journey_id), f"dgfip-{uuid.uuid4()}")
    check_answer(spec, theirs)
    refused = assert_problem(theirs, 404)
    assert field_errors(refused) == {"step_code"}, refused
    unknown = assert_problem(dgfip.report(outcome(str(uuid.uuid4())), f"dgfip-{uuid.uuid4()}"), 404)
    assert unknown == refused
    assert cnav_step(usager, journey_id)["status"] == "pending"


def test_without_a_partners_token_the_api_answers_401_or_403(env, usager, spec):
    cnav = Partner(env, "cnav")
    body = outcome(str(uuid.uuid4()))
    none = cnav.report(body, "k-1", auth=False)
    check_answer(spec, none)
    assert_problem(none, 401)
    # A usager's token (the gateway's audience) opens nothing here, nor a
    # partner's token made for the gateway's audience, nor an expired one.
    for token in (usager.token, mint_partner_token(env, "cnav", "--audience", "mdv"),
                  mint_partner_token(env, "cnav", "--ttl", "-60")):
        assert_problem(Partner(env, "cnav", token).report(body, "k-1"), 401)
    forbidden = Partner(env, "cnav", mint_partner_token(env, "no-such-partner")).report(body, "k-1")
    check_answer(spec, forbidden)
    assert_problem(forbidden, 403)


BAD_OUTCOMES = [
    ("journey_id", {"journey_id": "not-a-uuid"}),
    ("journey_id", {"journey_id": 42}),
    ("step_code", {"step_code": ""}),
    ("status", {"status": "rejected"}),
    ("status", {"status": "pending"}),
    ("detail", {"detail": ""}),
    ("detail", {"detail": "é" * 128}),
    ("detail", {"detail": "deux\nlignes"}),
    ("colour", {"colour": "bleu"}),
]


@pytest.mark.parametrize("field,change", BAD_OUTCOMES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_OUTCOMES)])
def test_a_bad_field_is_a_422_naming_it(env, field, change, spec):
    resp = Partner(env, "cnav").report({**outcome(str(uuid.uuid4())), **change}, f"k-{uuid.uuid4()}")
    check_answer(spec, resp)
    assert field_errors(assert_problem(resp, 422)) == {field}


def test_a_missing_member_key_or_body_is_named(env, spec):
    cnav = Partner(env, "cnav")
    body = outcome(str(uuid.uuid4()))
    del body["step_code"]
    assert field_errors(assert_problem(cnav.report(body, "k-2"), 422)) == {"step_code"}
    no_key = cnav.report(outcome(str(uuid.uuid4())))
    check_answer(spec, no_key)
    assert field_errors(assert_problem(no_key, 422)) == {"Idempotency-Key"}
    long_key = cnav.report(outcome(str(uuid.uuid4())), "k" * 129)
    assert field_errors(assert_problem(long_key, 422)) == {"Idempotency-Key"}
    bad_json = cnav.report("{not json", "k-3", headers={"Content-Type": "application/json"})
    check_answer(spec, bad_json)
    assert_problem(bad_json, 400)
    text = cnav.report("status=done", "k-4", headers={"Content-Type": "text/plain"})
    check_answer(spec, text)
    assert_problem(text, 415)


# --------------------------------------------------------------------------
# The contract and the README


def test_the_partners_contract_is_valid_openapi(spec):
    validate_spec(spec)


def request_examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    content = spec["paths"][OUTCOMES]["post"]["requestBody"]["content"]["application/json"]
    return sorted((name, ex["value"]) for name, ex in content["examples"].items())


def test_every_example_of_the_contract_is_accepted(env, usager, cnav_played_here, spec):
    """Each example as written, but for its journey id: a real journey's,
    notified to the CNAV (no example can know one in advance)."""
    examples = request_examples(spec)
    assert examples
    for name, example in examples:
        OAS30Validator({"components": spec["components"], "$ref": "#/components/schemas/Outcome"},
                       format_checker=oas30_format_checker).validate(example)
        journey_id = notified_journey(usager)
        resp = Partner(env, "cnav").report({**example, "journey_id": journey_id}, f"example-{uuid.uuid4()}")
        assert resp.status_code == 202, f"{name}: {resp.text}"
        wait_until(lambda: cnav_step(usager, journey_id).get("status") == example["status"], TIMEOUT,
                   f"example {name} on the journey")


def readme_partner_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### A partner reports over HTTP", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        commands.append(block)
    return commands


def test_the_readme_partner_examples_run_as_written(env, usager, cnav_played_here):
    """The README's block, by bash with the stack's env file and JOURNEY_ID
    (the journey id the CNAV's notice carried)."""
    (block,) = readme_partner_commands()
    assert "mdv-token --partner cnav" in block and "/partners/v1/outcomes" in block
    journey_id = notified_journey(usager)
    proc = subprocess.run(["bash", "-ec", block], capture_output=True, text=True, timeout=60,
                          env={**env.process_env, "JOURNEY_ID": journey_id,
                               "PATH": f"{env.bin_dir}:{env.process_env.get('PATH', '')}"})
    assert proc.returncode == 0, proc.stderr
    assert "HTTP/1.1 202 Accepted" in proc.stdout, proc.stdout
    wait_until(lambda: cnav_step(usager, journey_id).get("status") == "done", TIMEOUT,
               "the README's report on the journey")
