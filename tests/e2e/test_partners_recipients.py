"""Every recipient on the usager's journey (DESIGN.md §11, transparency):
the partners service tells the gateway, with each notice and again with
the partner's receipt (RecipientNotified on mdv.partners.events.v1), and
`GET /v1/journeys/{id}` lists `recipients`: each partner, its
administration, the fields it received under the gateway's French labels,
its legal basis, mandatory or chosen, when it was notified and when it
acknowledged (null until then), exactly as the partners service recorded
them. A death reaches the CNAV, the DGFiP (Kafka), the CAF and the CPAM
(webhooks); an address change lists only the partners the usager chose. A
redelivered message is applied once, an older state never empties a
receipt, and a SIGKILL of the partners service changes nothing. The live
stream carries the list as GET does; the contract's example and the
README's curl example are run here."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer

from mdv_e2e import (
    REPO_ROOT,
    bereavement_declaration,
    duplicates_skipped,
    end_offsets,
    group_committed_offsets,
    kafka_config,
    knows,
    new_address_in_france,
    parse_time,
    read_topic,
    record_figures,
    steps_by_code,
    stop_instance,
    typed_identity,
    unknown_person,
    wait_until,
)
from test_journey_events import EventStream
from test_openapi import SPEC_PATH, assert_matches, validator_for

TIMEOUT = 60
RULES = REPO_ROOT / "services" / "partners" / "rules"
EVENTS_TOPIC = "mdv.partners.events.v1"
RECIPIENT_TYPE = "fr.gouv.mdv.partners.recipient_notified.v1"
IDENTITY_TOPIC = "mdv.identity.events.v1"
DEATH = "fr.gouv.mdv.bereavement.death_recorded.v1"
ADDRESS = "fr.gouv.mdv.identity.address_changed.v1"
# The gateway's labels (services/gateway/migrations/006_recipients.sql).
LABELS = {"journey_id": "Référence de la démarche", "family_name": "Nom de naissance",
          "given_names": "Prénoms", "sex": "Sexe", "birth_date": "Date de naissance",
          "birth_place": "Lieu de naissance", "death_date": "Date du décès",
          "address_lines": "Adresse", "postal_code": "Code postal", "city": "Commune",
          "effective_date": "Date d'effet"}


def rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]


def entitlements(event: str) -> dict[str, dict[str, Any]]:
    """partner -> what its entitlement to event says, from the rules file."""
    administration = {r[0]: r[1] for r in rows(RULES / "partners.tsv")}
    return {r[0]: {"administration": administration[r[0]], "fields": r[3].split(","),
                   "mandatory": r[4] == "mandatory", "step": r[5], "legal_basis": r[8]}
            for r in rows(RULES / "entitlements.tsv") if r[1] == event}


def recipients(usager, journey_id: str) -> dict[str, dict[str, Any]]:
    return {r["partner"]: r for r in usager.journey(journey_id)["recipients"]}


def wait_recipients(usager, journey_id: str, partners: set[str], acknowledged: bool = True,
                    timeout: float = TIMEOUT) -> dict[str, dict[str, Any]]:
    def ready():
        got = recipients(usager, journey_id)
        return (set(got) == partners and all(bool(r["acknowledged_at"]) == acknowledged
                                             for r in got.values()) and got)
    return wait_until(ready, timeout, f"recipients {sorted(partners)} listed"
                      + (" and acknowledged" if acknowledged else ""))


def assert_recipient(recipient: dict[str, Any], entitlement: dict[str, Any], basis: str) -> None:
    assert recipient["administration"] == entitlement["administration"], recipient
    assert recipient["step"] == entitlement["step"], recipient
    assert [f["name"] for f in recipient["fields"]] == entitlement["fields"], recipient
    assert all(f["label"] == LABELS[f["name"]] for f in recipient["fields"]), recipient
    assert recipient["legal_basis"] == entitlement["legal_basis"], recipient
    assert recipient["basis"] == basis, recipient


def assert_as_recorded(db, journey_id: str, listed: dict[str, dict[str, Any]]) -> None:
    """The times the journey shows are the partners service's own."""
    notices = db("partners").execute(
        "SELECT partner, notified_at, received_at FROM notices WHERE journey_id = %s",
        (journey_id,)).fetchall()
    assert {p: (n, r) for p, n, r in notices} == {
        p: (parse_time(r["notified_at"]), r["acknowledged_at"] and parse_time(r["acknowledged_at"]))
        for p, r in listed.items()}


def test_a_death_lists_its_four_recipients_with_their_fields_and_their_receipts(env, usager, db):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    entitled = entitlements(DEATH)
    assert set(entitled) == {"cnav", "dgfip", "caf", "cpam"}
    listed = wait_recipients(usager, journey_id, set(entitled))
    steps = steps_by_code(usager.journey(journey_id))
    for partner, recipient in listed.items():
        assert_recipient(recipient, entitled[partner], "mandatory")
        notified, acknowledged = parse_time(recipient["notified_at"]), parse_time(recipient["acknowledged_at"])
        assert notified <= acknowledged, recipient
        # Recorded in the transaction that reported the step received.
        received = parse_time(steps[recipient["step"]]["received_at"])
        assert dt.timedelta(0) <= received - acknowledged < dt.timedelta(seconds=30), (recipient, received)
    assert_as_recorded(db, journey_id, listed)
    created = parse_time(usager.journey(journey_id)["created_at"])
    record_figures(env, ["declaration to each recipient's acknowledged_at on the journey: " + ", ".join(
        f"{p} {(parse_time(listed[p]['acknowledged_at']) - created).total_seconds():.2f} s" for p in sorted(listed))])


def test_a_recipient_is_listed_unacknowledged_until_its_group_commits(env, usager, db):
    env.stack("stop-simulator", "cnav")
    try:
        journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
        # The webhook partners and the DGFiP acknowledge meanwhile.
        listed = wait_until(lambda: (got := recipients(usager, journey_id)).keys() == {"cnav", "dgfip", "caf", "cpam"}
                            and all(got[p]["acknowledged_at"] for p in ("dgfip", "caf", "cpam")) and got,
                            TIMEOUT, "the others acknowledged")
        assert listed["cnav"]["acknowledged_at"] is None, listed["cnav"]
        etag = usager.get_journey(journey_id).headers["ETag"]
    finally:
        env.stack("start-simulator", "cnav")
    # The simulator's group commits: the CNAV's receipt, a new version.
    cnav = wait_until(lambda: recipients(usager, journey_id)["cnav"]["acknowledged_at"]
                      and recipients(usager, journey_id)["cnav"], TIMEOUT, "the CNAV's receipt")
    assert cnav["notified_at"] == listed["cnav"]["notified_at"]
    assert usager.get_journey(journey_id).headers["ETag"] != etag
    assert_as_recorded(db, journey_id, recipients(usager, journey_id))


def address_change(person: dict[str, Any], **extra: Any) -> dict[str, Any]:
    date = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    return {"kind": "address_change", "person": typed_identity(person),
            "address": new_address_in_france(person, lines=["3 allée des Érables"]),
            "effective_date": date, **extra}


def known_in_france(p: dict[str, Any]) -> bool:
    return knows(p, "identity") and (p.get("address") or {}).get("country_code") == "99100"


def partners_passed(env, journey_id: str, start: dict[int, int]) -> None:
    """Waits until the partners service committed past the journey's
    AddressChanged: whatever it does with it is done."""
    mine = wait_until(lambda: [m for m in read_topic(env.kafka_brokers, IDENTITY_TOPIC, start)
                               if m.headers.get("mdv_journey_id") == journey_id
                               and m.headers.get("ce_type") == ADDRESS], TIMEOUT, "the AddressChanged")
    (msg,) = mine
    wait_until(lambda: (group_committed_offsets(env.kafka_brokers, "mdv-partners", IDENTITY_TOPIC,
                                                [msg.partition])[msg.partition] or 0) > msg.offset,
               TIMEOUT, "the partners service past the AddressChanged")


def test_an_address_change_lists_the_chosen_recipients_only(env, usager, find_persons, db):
    (person,) = find_persons(known_in_france)
    entitled = entitlements(ADDRESS)
    start = end_offsets(env.kafka_brokers, IDENTITY_TOPIC)
    chosen = usager.declare_ok(address_change(person, recipients=["dgfip"]))
    alone = usager.declare_ok(address_change(person))

    listed = wait_recipients(usager, chosen, {"dgfip"})
    assert_recipient(listed["dgfip"], entitled["dgfip"], "chosen")
    assert_as_recorded(db, chosen, listed)
    # The CNAV, not chosen, is not listed; nor is anyone on the journey
    # that chose nobody, once the partners service has handled it.
    partners_passed(env, alone, start)
    assert db("partners").execute("SELECT count(*) FROM notices WHERE journey_id = %s",
                                  (alone,)).fetchone() == (0,)
    assert usager.journey(alone)["recipients"] == []
    partners_passed(env, chosen, start)
    assert set(recipients(usager, chosen)) == {"dgfip"}


def recipient_messages(env, journey_id: str, start: dict[int, int]) -> list[Any]:
    return [m for m in read_topic(env.kafka_brokers, EVENTS_TOPIC, start)
            if m.headers.get("ce_type") == RECIPIENT_TYPE and m.headers.get("mdv_journey_id") == journey_id]


def produce(env, journey_id: str, headers: dict[str, str], value: bytes) -> None:
    """As the partners service's relay would, with its certificate."""
    producer = Producer(kafka_config(env.kafka_brokers, {"acks": "all"}, principal="partners"))
    delivered: list[Any] = []
    producer.produce(EVENTS_TOPIC, key=journey_id.encode(), value=value,
                     headers=[(k, v.encode()) for k, v in headers.items()],
                     on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0 and delivered == [None], delivered


def test_a_redelivered_recipient_is_applied_once_and_an_older_state_empties_no_receipt(env, usager):
    start = end_offsets(env.kafka_brokers, EVENTS_TOPIC)
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    listed = wait_recipients(usager, journey_id, {"cnav", "dgfip", "caf", "cpam"})
    # The journey settled: every partner's outcome reported too (the
    # simulators report done), so nothing else changes it meanwhile.
    wait_until(lambda: all(steps_by_code(usager.journey(journey_id)).get(r["step"], {}).get("status") == "done"
                           for r in listed.values()), TIMEOUT, "the partners' steps done")
    messages = wait_until(lambda: len(ms := recipient_messages(env, journey_id, start)) >= 8 and ms,
                          TIMEOUT, "two RecipientNotified per partner")
    before = usager.get_journey(journey_id)
    skipped = duplicates_skipped(env.gateway_url)

    # The last message again, as Kafka redelivers it (same ce_id): skipped.
    last = messages[-1]
    produce(env, journey_id, last.headers, last.value)
    wait_until(lambda: duplicates_skipped(env.gateway_url) > skipped, TIMEOUT, "the copy skipped")
    again = usager.get_journey(journey_id)
    assert again.headers["ETag"] == before.headers["ETag"] and again.json() == before.json()

    # A notice's first state (not acknowledged yet) coming late, as a new
    # event: applied, and the receipt stays.
    first = next(m for m in messages if m.headers["ce_id"] != last.headers["ce_id"])
    produce(env, journey_id, {**first.headers, "ce_id": str(uuid.uuid4())}, first.value)
    later = wait_until(lambda: usager.journey(journey_id)["updated_at"] != before.json()["updated_at"]
                       and usager.journey(journey_id), TIMEOUT, "the late state applied")
    assert later["recipients"] == before.json()["recipients"]


def test_the_partners_service_killed_during_deaths_changes_nothing_on_the_recipients(env, usager, db):
    ids = []
    for i in range(12):
        ids.append(usager.declare_ok(bereavement_declaration(unknown_person(), "child")))
        if i == 5:
            stopped = stop_instance(env, "partners-1", "KILL")
            assert stopped.exit_status == "137", stopped
    env.stack("start-service", "partners")
    for journey_id in ids:
        listed = wait_recipients(usager, journey_id, {"cnav", "dgfip", "caf", "cpam"}, timeout=180)
        assert_as_recorded(db, journey_id, listed)
        entitled = entitlements(DEATH)
        for partner, recipient in listed.items():
            assert_recipient(recipient, entitled[partner], "mandatory")


def test_the_live_stream_carries_the_recipients_as_get_does(usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    stream = EventStream(usager, journey_id)
    try:
        assert stream.resp.status_code == 200, stream.resp.text
        while True:
            _, journey = stream.next_journey()
            if len(journey["recipients"]) == 4 and all(r["acknowledged_at"] for r in journey["recipients"]):
                break
    finally:
        stream.close()
    assert journey["recipients"] == [r for r in usager.journey(journey_id)["recipients"]]


def test_the_contract_example_is_the_cnav_of_a_real_death(usager):
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    schema = spec["components"]["schemas"]["Recipient"]
    example = schema["example"]
    assert not list(validator_for(spec, schema).iter_errors(example))
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    cnav = wait_recipients(usager, journey_id, {"cnav", "dgfip", "caf", "cpam"})["cnav"]
    assert set(cnav) == set(example)
    assert {k: v for k, v in cnav.items() if not k.endswith("_at")} == \
        {k: v for k, v in example.items() if not k.endswith("_at")}
    assert_matches(spec, "get", "/v1/journeys/{}", usager.get_journey(journey_id))


def readme_recipients_command() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Every recipient on the usager's journey\n", 1)[1].split("\n### ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    (command,) = re.findall(r"^curl .*?(?=^#|\Z)", block, re.S | re.M)
    return command


def test_the_readme_example_runs_as_written(env, usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    listed = wait_recipients(usager, journey_id, {"cnav", "dgfip", "caf", "cpam"})
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_recipients_command()],
                          capture_output=True, text=True, timeout=60,
                          env={**env.process_env, "TOKEN": usager.token, "ID": journey_id})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4, proc.stdout
    cnav = listed["cnav"]
    assert ("cnav mandatory: " + ", ".join(f["label"] for f in cnav["fields"])
            + f"; acknowledged {cnav['acknowledged_at']}") in lines, proc.stdout


def test_a_death_declared_again_lists_the_partners_with_the_notice_sent_and_follows_its_receipt(
        env, usager, make_usager):
    deceased = unknown_person()
    body = bereavement_declaration(deceased, "child")
    env.stack("stop-simulator", "cnav")
    try:
        first = usager.declare_ok(body)
        wait_until(lambda: (got := recipients(usager, first)).keys() == {"cnav", "dgfip", "caf", "cpam"}
                   and all(got[p]["acknowledged_at"] for p in ("dgfip", "caf", "cpam")), TIMEOUT,
                   "the first journey's recipients, the CNAV waiting")
        relative = make_usager()
        second = relative.declare_ok({**body, "declarant_relationship": "sibling"})
        # Nothing was sent again: the second journey shows the first's
        # notices, the CNAV's still unacknowledged.
        repeated = wait_until(
            lambda: (got := recipients(relative, second)).keys() == {"cnav", "dgfip", "caf", "cpam"} and got,
            TIMEOUT, "the second journey's recipients")
        assert repeated == recipients(usager, first)
        assert repeated["cnav"]["acknowledged_at"] is None
    finally:
        env.stack("start-simulator", "cnav")
    # The CNAV acknowledges the notice it got: both journeys say so.
    acked = wait_until(lambda: recipients(usager, first)["cnav"]["acknowledged_at"], TIMEOUT, "the CNAV's receipt")
    wait_until(lambda: recipients(relative, second)["cnav"]["acknowledged_at"] == acked, TIMEOUT,
               "the CNAV's receipt on the second journey")
    assert recipients(relative, second) == recipients(usager, first)
