"""The five declarations of the identity and abroad journeys are accepted:
202, a journey of that kind that is the caller's (and nobody else's), and a
DeclarationSubmitted keyed by the journey on the declarations topic for the
kind's owner. Every example of the contract's request schema, and every
curl example of the README's API section, is posted as written and
accepted. (Which steps each journey then gets is its owner's to say: see
the tests of each owner.)"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from typing import Any

import pytest
import yaml
from confluent_kafka import Consumer, TopicPartition

from kinds import KINDS, VALID
from mdv_e2e import REPO_ROOT, assert_problem, kafka_config

SPEC_PATH = REPO_ROOT / "services" / "gateway" / "openapi.yaml"
README = REPO_ROOT / "README.md"
DECLARATIONS_TOPIC = "mdv.gateway.declarations.v1"
SUBMITTED = "fr.gouv.mdv.gateway.declaration_submitted.v1"


def submitted_value(brokers: str, journey_id: str, timeout: float = 30) -> tuple[dict[str, str], bytes]:
    """Headers and value of the message keyed by the journey on the
    declarations topic (the outbox relay sends it shortly after the 202)."""
    consumer = Consumer(kafka_config(brokers, {"group.id": f"e2e-kinds-{uuid.uuid4()}",
                                               "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    try:
        partitions = consumer.list_topics(DECLARATIONS_TOPIC, timeout=10).topics[DECLARATIONS_TOPIC].partitions
        consumer.assign([TopicPartition(DECLARATIONS_TOPIC, p, 0) for p in partitions])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() or msg.key() != journey_id.encode():
                continue
            headers = {k: (v or b"").decode() for k, v in (msg.headers() or [])}
            if headers.get("ce_type") == SUBMITTED:
                return headers, msg.value()
        raise AssertionError(f"no {SUBMITTED} keyed {journey_id} on {DECLARATIONS_TOPIC} within {timeout} s")
    finally:
        consumer.close()


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_accepted_and_its_journey_is_the_callers(env, usager, make_usager, kind):
    body = VALID[kind]()
    journey_id = usager.declare_ok(body)
    journey = usager.journey(journey_id)
    assert journey["id"] == journey_id and journey["kind"] == kind, journey
    assert journey["status"] in ("in_progress", "completed", "action_required", "failed"), journey
    listed = usager.list_journeys(limit=5).json()["items"]
    assert journey_id in [j["id"] for j in listed], listed
    assert_problem(make_usager().get_journey(journey_id), 404)

    headers, value = submitted_value(env.kafka_brokers, journey_id)
    assert headers["ce_subject"] == journey_id and headers["mdv_journey_id"] == journey_id, headers
    # Protobuf strings travel as their UTF-8 bytes: the kind and the
    # person's name must be in the message the owner gets.
    assert kind.encode() in value and body["person"]["family_name"].encode() in value


def test_a_city_left_out_is_the_communes_cog_name(env, usager):
    """Arrondissement 75111: the city of the address is its commune's name,
    « Paris », as a postal address writes it."""
    body = VALID["address_change"]()
    body["address"] = {"lines": ["5 rue de la Roquette"], "postal_code": "75011", "commune_code": "75111"}
    journey_id = usager.declare_ok(body)
    _, value = submitted_value(env.kafka_brokers, journey_id)
    assert b"\x22\x05Paris" in value, value  # Address.city (field 4, length 5)
    assert b"Arrondissement" not in value


def test_the_study_mobility_defaults_to_false(env, usager):
    body = VALID["departure_abroad"]()
    del body["study_mobility"]
    body["consular_registration"] = True
    journey_id = usager.declare_ok(body)
    _, value = submitted_value(env.kafka_brokers, journey_id)
    assert b"\x20\x01" in value and b"\x28\x01" not in value, value  # field 4 true, field 5 absent


def test_a_replay_of_a_new_kind_returns_the_first_journey(usager):
    body = VALID["return_to_france"]()
    key = f"retour-{uuid.uuid4()}"
    first = usager.declare_ok(body, idempotency_key=key)
    assert usager.declare_ok(body, idempotency_key=key) == first


# --------------------------------------------------------------------------
# The contract's examples


def request_examples() -> list[tuple[str, dict[str, Any]]]:
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    body = spec["paths"]["/v1/declarations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    declaration = schemas[body["$ref"].rsplit("/", 1)[-1]]
    examples = []
    for ref in declaration["oneOf"]:
        name = ref["$ref"].rsplit("/", 1)[-1]
        assert "example" in schemas[name], f"{name} has no example"
        examples.append((name, schemas[name]["example"]))
    return examples


def test_the_contract_has_an_example_for_every_kind():
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    mapping = spec["components"]["schemas"]["Declaration"]["discriminator"]["mapping"]
    assert set(mapping) == {"bereavement", *KINDS}, mapping
    assert {example["kind"] for _, example in request_examples()} == set(mapping)


@pytest.mark.parametrize("name,example", [pytest.param(n, e, id=n) for n, e in request_examples()])
def test_every_example_of_the_contract_is_accepted(usager, name, example):
    resp = usager.declare(example)
    assert resp.status_code == 202, (
        f"{name}'s example in openapi.yaml is refused (a date out of its window? move it): {resp.text}"
    )
    assert usager.journey(resp.json()["journey_id"])["kind"] == example["kind"]


# --------------------------------------------------------------------------
# The README's curl examples


def readme_declarations() -> list[str]:
    """The curl commands of the README's « Declarations of each kind »."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Declarations of each kind", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = []
    for block in blocks:
        commands += [c.strip() for c in re.findall(r"^curl .*?(?=^\S|\Z)", block, re.S | re.M)]
    return commands


def test_the_readme_shows_every_kind():
    kinds = {re.search(r'"kind": "([a-z_]+)"', c).group(1) for c in readme_declarations()}
    assert kinds == {"bereavement", *KINDS}, kinds


@pytest.mark.parametrize("command", readme_declarations(), ids=lambda c: re.search(r'"kind": "([a-z_]+)"', c).group(1))
def test_every_readme_example_runs_as_written(env, usager, command):
    """Run by bash with the README's variables: MDV_GATEWAY_URL (the
    stack's env file) and TOKEN."""
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          env={**env.process_env, "TOKEN": usager.token})
    assert proc.returncode == 0, proc.stderr
    status = proc.stdout.splitlines()[0].strip()
    assert status == "HTTP/1.1 202 Accepted", proc.stdout
    journey_id = re.search(r'"journey_id":\s*"([0-9a-f-]{36})"', proc.stdout).group(1)
    assert usager.journey(journey_id)["id"] == journey_id
