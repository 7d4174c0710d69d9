"""The CAF as an optional recipient of an address change (README, "Optional
recipients, with the usager's consent"): chosen, it gets a POST signed per
Standard Webhooks (checked here with the `standardwebhooks` library) of
exactly its projection, CafAddressNotice, and its step
caf.address_notified joins the journey, received on its 2xx, then done
by its simulator; not chosen, it gets no POST, no delivery and no step."""

from __future__ import annotations

import time

from mdv_e2e import steps_by_code, wait_until
from test_partners_consent import address_change, known_in_france
from test_webhooks import ADMINISTRATION, play  # noqa: F401 (play: a fixture)

TIMEOUT = 60
STEP_CAF_ADDRESS = "caf.address_notified"
STEP_ADDRESS = "identity.address_recorded"
LABEL = "Changement d'adresse transmis à la Caisse d'allocations familiales"


def caf_step(usager, journey_id: str) -> dict:
    return steps_by_code(usager.journey(journey_id)).get(STEP_CAF_ADDRESS) or {}


def test_the_caf_chosen_gets_a_signed_post_of_its_projection_and_its_step(env, usager, find_persons, play, db):
    caf = play("caf")
    (person,) = find_persons(known_in_france)
    body = address_change(person, recipients=["caf"])
    journey_id = usager.declare_ok(body)

    (post,) = caf.receiver.wait(journey_id, 1)
    payload = caf.verify(post)  # raises unless a signature verifies
    assert payload["type"] == "fr.gouv.mdv.partners.caf_address_notice.v1", payload
    assert payload["data"] == {
        "journey_id": journey_id, "family_name": body["person"]["family_name"],
        "given_names": body["person"]["given_names"], "birth_date": body["person"]["birth_date"],
        "birth_place": body["person"]["birth_place"], "address_lines": body["address"]["lines"],
        "postal_code": body["address"]["postal_code"], "city": body["address"]["city"],
        "effective_date": body["effective_date"]}
    step = wait_until(lambda: caf_step(usager, journey_id).get("status") == "received"
                      and caf_step(usager, journey_id), TIMEOUT, "the CAF's receipt")
    assert step["administration"] == ADMINISTRATION["caf"] and step["label"] == LABEL, step
    assert step["received_at"] and step["detail"] == f"Reçu par : {ADMINISTRATION['caf']}"
    (delivery_id,) = db("partners").execute(
        "SELECT id::text FROM deliveries WHERE journey_id = %s AND step_code = %s AND status = 'delivered'",
        (journey_id, STEP_CAF_ADDRESS)).fetchone()
    assert {k.lower(): v for k, v in post["headers"].items()}["webhook-id"] == delivery_id


def test_the_caf_simulator_acknowledges_an_address_change_it_was_chosen_for(usager, find_persons):
    (person,) = find_persons(known_in_france)
    journey_id = usager.declare_ok(address_change(person, recipients=["caf", "cnav"]))
    step = wait_until(lambda: caf_step(usager, journey_id).get("status") == "done"
                      and caf_step(usager, journey_id), TIMEOUT, "the CAF's outcome")
    assert step["detail"] == "Adresse mise à jour par la Caisse d'allocations familiales", step
    assert step["received_at"]


def test_the_caf_not_chosen_hears_nothing_of_the_address(env, usager, find_persons, play, db):
    caf = play("caf")
    (person,) = find_persons(known_in_france)
    chosen = usager.declare_ok(address_change(person, recipients=["caf"]))
    others = [usager.declare_ok(address_change(person, recipients=["cnav"])),
              usager.declare_ok(address_change(person))]
    caf.receiver.wait(chosen, 1)
    # Each address recorded (its AddressChanged out), and some time for a
    # POST that should not come.
    for journey_id in others:
        wait_until(lambda: steps_by_code(usager.journey(journey_id)).get(STEP_ADDRESS, {}).get("status")
                   == "done", TIMEOUT, "the address recorded")
    time.sleep(3)
    for journey_id in others:
        assert caf.receiver.of_journey(journey_id) == []
        assert STEP_CAF_ADDRESS not in steps_by_code(usager.journey(journey_id))
        assert db("partners").execute("SELECT count(*) FROM deliveries WHERE journey_id = %s",
                                      (journey_id,)).fetchone() == (0,)
    assert len(caf.receiver.of_journey(chosen)) == 1
