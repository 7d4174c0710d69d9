"""Optional recipients (DESIGN.md §11): an address change names the partners
the usager chooses to tell (`recipients`, with their consent); the gateway
records the choice, identity's AddressChanged carries it, and the partners
service sends its projection to a chosen partner only. A partner not chosen
receives nothing on its topic (read here with its own certificate) and
appears nowhere on the journey. A recipient the kind cannot name is a 422
naming it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from mdv_e2e import (
    assert_problem,
    bereavement_declaration,
    end_offsets,
    knows,
    new_address_in_france,
    steps_by_code,
    typed_identity,
    unknown_person,
    wait_until,
)
from test_partners import PartnerReader, decode, headers, of_journey

TIMEOUT = 60
STEP_CNAV_ADDRESS = "cnav.address_notified"
STEP_DGFIP_ADDRESS = "dgfip.address_notified"
CNAV_TOPIC = "mdv.partner.cnav.v1"
DGFIP_TOPIC = "mdv.partner.dgfip.v1"


def known_in_france(p: dict[str, Any]) -> bool:
    return knows(p, "identity") and (p.get("address") or {}).get("country_code") == "99100"


@pytest.fixture
def readers(env):
    opened: list[PartnerReader] = []

    def open_reader(partner: str, topic: str) -> PartnerReader:
        reader = PartnerReader(env, partner, topic, end_offsets(env.kafka_brokers, topic))
        opened.append(reader)
        return reader

    yield open_reader
    for reader in opened:
        reader.close()


def drain(reader: PartnerReader, seconds: float = 3) -> None:
    """Whatever else reaches the reader's topic within seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = reader.consumer.poll(0.5)
        if msg is not None and not msg.error():
            reader.messages.append(msg)


def address_change(person: dict[str, Any], **extra: Any) -> dict[str, Any]:
    date = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    return {"kind": "address_change", "person": typed_identity(person),
            "address": new_address_in_france(person, lines=["7 rue des Tilleuls"]),
            "effective_date": date, **extra}


def settled(usager, journey_id: str, codes: set[str]) -> dict[str, Any]:
    return wait_until(lambda: codes <= set(steps_by_code(usager.journey(journey_id)))
                      and all(s["status"] == "done" for c, s in steps_by_code(usager.journey(journey_id)).items()
                              if c in codes) and steps_by_code(usager.journey(journey_id)),
                      TIMEOUT, f"steps {sorted(codes)} done")


def test_a_chosen_partner_gets_its_projection_and_one_not_chosen_nothing(env, usager, find_persons,
                                                                          readers, db):
    (person,) = find_persons(known_in_france)
    cnav = readers("cnav", CNAV_TOPIC)
    dgfip = readers("dgfip", DGFIP_TOPIC)
    body = address_change(person, recipients=["cnav"])
    journey_id = usager.declare_ok(body)

    (notice,) = of_journey(cnav.read_until(lambda ms: of_journey(ms, journey_id)), journey_id)
    assert headers(notice)["ce_type"] == "fr.gouv.mdv.partners.cnav_address_notice.v1"
    got = decode(env, "mdv.partner.v1.CnavAddressNotice", notice.value())
    assert got.pop("_unknown") == 0, got
    assert got == {"journey_id": journey_id, "family_name": body["person"]["family_name"],
                   "given_names": body["person"]["given_names"], "sex": body["person"]["sex"],
                   "birth_date": body["person"]["birth_date"], "birth_place": body["person"]["birth_place"],
                   "address_lines": body["address"]["lines"], "postal_code": body["address"]["postal_code"],
                   "city": body["address"]["city"], "effective_date": body["effective_date"]}

    # The CNAV's simulator acknowledged and reported: its step is done.
    steps = settled(usager, journey_id, {STEP_CNAV_ADDRESS})
    assert steps[STEP_CNAV_ADDRESS]["detail"] == "Adresse mise à jour par l'Assurance retraite"
    assert steps[STEP_CNAV_ADDRESS]["received_at"]
    # The DGFiP, not chosen, got nothing and is nowhere on the journey.
    drain(dgfip)
    assert of_journey(dgfip.messages, journey_id) == []
    assert STEP_DGFIP_ADDRESS not in steps_by_code(usager.journey(journey_id))
    assert db("partners").execute("SELECT partner, chosen FROM notices WHERE journey_id = %s",
                                  (journey_id,)).fetchall() == [("cnav", True)]
    # The consent is recorded with the journey: what, and when.
    ((partner, chosen_at),) = db("gateway").execute(
        "SELECT partner, chosen_at FROM consents WHERE journey_id = %s", (journey_id,)).fetchall()
    assert partner == "cnav" and chosen_at is not None


def test_without_a_choice_no_partner_hears_of_the_address(env, usager, find_persons, readers, db):
    (person,) = find_persons(known_in_france)
    cnav = readers("cnav", CNAV_TOPIC)
    dgfip = readers("dgfip", DGFIP_TOPIC)
    both = usager.declare_ok(address_change(person, recipients=["dgfip", "cnav"]))
    alone = usager.declare_ok(address_change(person))
    settled(usager, both, {STEP_CNAV_ADDRESS, STEP_DGFIP_ADDRESS})
    # The second journey's address recorded (its AddressChanged out), and
    # some time for a notice that should not come.
    wait_until(lambda: steps_by_code(usager.journey(alone)).get("identity.address_recorded", {})
               .get("status") == "done", TIMEOUT, "the second address recorded")
    for reader in (cnav, dgfip):
        reader.read_until(lambda ms: of_journey(ms, both))
        drain(reader)
        assert len(of_journey(reader.messages, both)) == 1
        assert of_journey(reader.messages, alone) == []
    assert not {STEP_CNAV_ADDRESS, STEP_DGFIP_ADDRESS} & set(steps_by_code(usager.journey(alone)))
    assert db("partners").execute("SELECT count(*) FROM notices WHERE journey_id = %s",
                                  (alone,)).fetchone() == (0,)


@pytest.mark.parametrize("body,field", [
    (lambda p: address_change(p, recipients=["cpam"]), "recipients[0]"),
    (lambda p: address_change(p, recipients=["cnav", "cnav"]), "recipients[1]"),
    (lambda p: address_change(p, recipients=["cnav", 3]), "recipients[1]"),
    (lambda p: address_change(p, recipients="cnav"), "recipients"),
    (lambda p: bereavement_declaration(p, "spouse") | {"recipients": ["cnav"]}, "recipients[0]"),
], ids=["unknown", "twice", "not-a-string", "not-a-list", "kind-without-optional-recipients"])
def test_a_recipient_the_kind_cannot_name_is_refused_naming_it(usager, body, field):
    problem = assert_problem(usager.declare(body(unknown_person())), 422)
    assert {e["field"] for e in problem["errors"]} == {field}, problem
