"""A webhook partner down during a burst (DESIGN.md §11, README "Webhook
partners"): the CAF's simulator is stopped (stack.sh stop-simulator caf)
while a burst of deaths is declared, and started again once deliveries
have failed. Every delivery then arrives at the partner, counted from the
simulator's own log of the POSTs it accepted: each journey's under one
webhook-id only (a POST sent again carries the same id), none
dead-lettered while the schedule still had attempts, and every journey's
CAF step ends done by the simulator's report, with its receipt.

The schedule is the test stack's, set through the partners' configuration
by tests/e2e/run.sh (MDV_WEBHOOK_*): the partner is back well within its
shortest span from a first failure to the last attempt (15.5 s), so no
delivery may use its last attempt."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mdv_e2e import (
    bereavement_declaration,
    instance_log,
    log_records,
    record_figures,
    steps_by_code,
    unknown_person,
    wait_until,
)

ATTEMPTS = int(os.environ.get("MDV_WEBHOOK_ATTEMPTS", "12"))
BACKOFF_S = int(os.environ.get("MDV_WEBHOOK_BACKOFF_MS", "30000")) / 1000
BACKOFF_MAX_S = int(os.environ.get("MDV_WEBHOOK_BACKOFF_MAX_MS", "21600000")) / 1000
BURST = 30
TIMEOUT = 120
STEP = "caf.death_notified"
ACCEPTED = re.compile(r"^webhook (\S+) accepted for journey (\S+)$")

pytestmark = pytest.mark.skipif(BACKOFF_MAX_S > 60, reason="needs the short schedule of tests/e2e/run.sh")


def shortest_span_s() -> float:
    """The least time from a first failure to the last attempt: each delay
    at least half its d = base * 2^(n-1), capped (equal jitter)."""
    return sum(min(BACKOFF_S * 2 ** (n - 1) / 2, BACKOFF_MAX_S) for n in range(1, ATTEMPTS))


def accepted(env) -> list[tuple[str, str]]:
    """(webhook-id, journey id) of every POST the CAF's simulator accepted."""
    found = []
    for record in log_records(instance_log(env, "simulator-caf")):
        m = ACCEPTED.match(record.get("message", ""))
        if m:
            found.append((m.group(1), m.group(2)))
    return found


def registrations(env) -> int:
    return sum(1 for r in log_records(instance_log(env, "simulator-caf"))
               if r.get("message", "").startswith("endpoint ") and "registered for caf" in r["message"])


def deliveries(db, journey_ids: list[str]) -> dict[str, tuple[str, str, int]]:
    """journey id -> (delivery id = webhook-id, status, attempts)."""
    rows = db("partners").execute(
        "SELECT journey_id::text, id::text, status, attempts FROM deliveries"
        " WHERE step_code = %s AND journey_id = ANY(%s::uuid[])", (STEP, journey_ids)).fetchall()
    return {j: (i, s, a) for j, i, s, a in rows}


def failed_once(db, journey_ids: list[str]) -> int:
    """Deliveries of the burst that failed an attempt and wait for the next."""
    return sum(1 for _, status, attempts in deliveries(db, journey_ids).values()
               if status == "pending" and attempts >= 1)


def test_the_caf_down_during_a_burst_gets_every_delivery_once_per_webhook_id(env, usager, db):
    assert shortest_span_s() >= 10, "the schedule leaves no room for an outage"
    before = registrations(env)
    journey_ids: list[str] = []
    with ThreadPoolExecutor(4) as pool:
        def declare(n: int) -> list:
            return [pool.submit(usager.declare_ok, bereavement_declaration(unknown_person(), "spouse"))
                    for _ in range(n)]
        # Down in the middle of the burst: a third is on its way, the rest
        # is declared while the partner is down (so some deliveries fail
        # whatever the machine's speed).
        posted = declare(BURST // 3)
        env.stack("stop-simulator", "caf")
        down_at = time.monotonic()
        posted += declare(BURST - len(posted))
        journey_ids = [f.result() for f in posted]
    wait_until(lambda: failed_once(db, journey_ids) >= 3, TIMEOUT, "deliveries failing while the CAF is down")
    env.stack("start-simulator", "caf")
    wait_until(lambda: registrations(env) > before, TIMEOUT, "the CAF's simulator registered again")
    # From the stop to the new registration; a delivery's own deadline runs
    # from its first failure, later (checked below: none used its last
    # attempt).
    outage = time.monotonic() - down_at

    def all_done():
        steps = [steps_by_code(usager.journey(j)).get(STEP, {}) for j in journey_ids]
        return all(s.get("status") == "done" for s in steps) and steps
    steps = wait_until(all_done, TIMEOUT, "every journey's CAF step done")
    assert all(s["received_at"] for s in steps), steps
    assert all(s["detail"] == "Décès pris en compte par la Caisse d'allocations familiales" for s in steps)

    # The partner acknowledges (and the step is done) before the partners
    # service records the POST's answer: the last rows may still say pending.
    rows = wait_until(lambda: (r := deliveries(db, journey_ids))
                      and all(status != "pending" for _, status, _ in r.values()) and r,
                      TIMEOUT, "every delivery's answer recorded")
    assert set(rows) == set(journey_ids)
    assert {status for _, status, _ in rows.values()} == {"delivered"}, rows
    assert max(attempts for _, _, attempts in rows.values()) < ATTEMPTS, "a delivery used its last attempt"
    retried = sum(1 for _, _, attempts in rows.values() if attempts > 1)
    assert retried >= 3, "the outage hit no delivery"

    # At the partner: each journey's notice under its delivery's webhook-id
    # only, and every one of them arrived.
    ours = set(journey_ids)
    seen: dict[str, set[str]] = {}
    posts = 0
    for webhook_id, journey_id in accepted(env):
        if journey_id in ours:
            seen.setdefault(journey_id, set()).add(webhook_id)
            posts += 1
    assert {j: ids for j, ids in seen.items()} == {j: {rows[j][0]} for j in journey_ids}
    record_figures(env, [
        f"webhook outage: the CAF down {outage:.1f} s during a burst of {BURST} deaths "
        f"(schedule {ATTEMPTS} attempts, {BACKOFF_S:g} s doubling up to {BACKOFF_MAX_S:g} s: at least "
        f"{shortest_span_s():.1f} s before the last): {retried} deliveries retried, at most "
        f"{max(a for _, _, a in rows.values())} attempts, {posts} POSTs accepted for {BURST} webhook-ids, "
        f"none dead-lettered"])
