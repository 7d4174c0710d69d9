"""The partners service lives through broker restarts while it waits for a
Kafka partner's receipt.

A receipt is the partner group's committed offset, which a thread of the
partners service asks the broker for every second while a notice awaits
it (services/partners/receipt.c, ListConsumerGroupOffsets). Right after a
broker restart that request is answered "not the coordinator" or "loading",
and librdkafka 2.0.2 answers that by queueing a coordinator query on the
asking handle's own consumer group: on a handle without one it
dereferences NULL, and the whole service died by SIGSEGV (once in a few
broker restarts; librdkafka issue 5040). The handle now has a group of its
own. This test restarts the broker several times with the CNAV's
simulator stopped, so that the CNAV's notice awaits its receipt all along,
and requires the same partners process alive and ready after each
restart, and the receipt recorded once the CNAV is back."""

from __future__ import annotations

import os
import time

import pytest

from mdv_e2e import (
    all_ready,
    bereavement_declaration,
    instance_pid,
    record_figures,
    unknown_person,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

RESTARTS = int(os.environ.get("MDV_E2E_BROKER_RESTARTS", "3"))
TIMEOUT = 120.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def cnav_recipient(usager, journey_id: str):
    return next((r for r in usager.journey(journey_id)["recipients"] if r["partner"] == "cnav"), None)


def awaiting_cnav_receipt(db, journey_id: str) -> bool:
    """The CNAV's notice is on its topic and not yet received: what the
    receipts thread asks the broker about every second."""
    row = db("partners").execute(
        "SELECT sent_offset IS NOT NULL AND received_at IS NULL FROM notices"
        " WHERE journey_id = %s AND partner = 'cnav'", (journey_id,)).fetchone()
    return bool(row and row[0])


def test_partners_lives_through_broker_restarts_while_a_receipt_is_awaited(env, usager, db):
    env.stack("stop-simulator", "cnav")
    try:
        journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
        wait_until(lambda: awaiting_cnav_receipt(db, journey_id), TIMEOUT, "the CNAV's notice sent, unreceived")
        pid = instance_pid(env, "partners")
        recoveries = []
        for restart in range(1, RESTARTS + 1):
            started = time.monotonic()
            env.stack("stop-kafka", timeout=240)
            env.stack("start-kafka", timeout=240)
            wait_until(lambda: not alive(pid) or all_ready(env), TIMEOUT, "every service ready again", interval=0.5)
            assert alive(pid), f"the partners service (pid {pid}) died during broker restart {restart}"
            assert instance_pid(env, "partners") == pid, "the partners service was restarted"
            recoveries.append(time.monotonic() - started)
            assert awaiting_cnav_receipt(db, journey_id), "the CNAV cannot have received it: its simulator is stopped"
    finally:
        env.stack("start-simulator", "cnav")
    # Once the CNAV's group commits, its receipt shows on the journey.
    cnav = wait_until(lambda: (r := cnav_recipient(usager, journey_id)) and r["acknowledged_at"] and r,
                      TIMEOUT, "the CNAV's receipt")
    assert not awaiting_cnav_receipt(db, journey_id)
    assert alive(pid), "the partners service died after the broker restarts"
    record_figures(env, [f"broker restarted {RESTARTS} times with a receipt awaited: partners stayed up (pid {pid});"
                         " stop to every service ready: " + ", ".join(f"{s:.1f} s" for s in recoveries)
                         + f"; the CNAV's receipt at {cnav['acknowledged_at']}"])
