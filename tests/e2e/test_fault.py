"""Fault tests (DESIGN.md §9): during a burst of declarations a service is
killed with SIGKILL, the broker is restarted, the database is restarted;
afterwards every declaration is complete and every effect happened exactly
once.

The identity scenario also measures how long a declaration takes to become a
completed journey under a burst; the figures go to the terminal summary and
to build/e2e-figures.txt.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import requests

from mdv_e2e import (
    assert_one_effect_per_journey,
    POLL_INTERVAL,
    STEP_IDENTITY,
    declaration_for,
    identity_deceased_on,
    identity_documents,
    identity_person_id,
    parse_time,
    percentile,
    record_figures,
    steps_by_code,
    summarise,
    wait_all_final,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

BURST = int(os.environ.get("MDV_E2E_BURST", "200"))
WORKERS = 16
FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "180"))


@dataclass(frozen=True)
class Fault:
    name: str
    commands: tuple[tuple[str, ...], ...]  # stack.sh commands, in order
    size: int  # declarations in the burst
    after: float  # inject once this share of the burst was accepted
    describe: str


FAULTS = [
    Fault("identity_killed", (("stop-service", "identity", "KILL"), ("start-service", "identity")),
          BURST, 0.25, "mdv-identity killed (SIGKILL) and started again"),
    # The gateway needs its database to accept a declaration, so the
    # database restarts once the whole burst is in, while the services are
    # still working through it.
    Fault("database_restarted", (("restart-pg",),), max(BURST // 2, 1), 1.0, "PostgreSQL restarted"),
    # Last: a broker that comes back wrong would break every later scenario.
    Fault("broker_restarted", (("restart-kafka",),), max(BURST // 2, 1), 0.25, "Kafka broker restarted"),
]


def all_ready(env) -> bool:
    for url in env.all_urls.values():
        try:
            if requests.get(url + "/readyz", timeout=5).status_code != 200:
                return False
        except requests.RequestException:
            return False
    return True


class Injector(threading.Thread):
    """Injects a fault once `at` declarations were accepted, then waits
    until every service is ready again."""

    def __init__(self, env, fault: Fault, journey_ids: list[str]):
        super().__init__(name=f"fault-{fault.name}", daemon=True)
        self.env, self.fault, self.journey_ids = env, fault, journey_ids
        self.at = max(1, int(fault.size * fault.after))
        self.trigger = threading.Event()
        self.cancelled = False
        self.accepted_at_fault = 0
        self.applied_at_fault = -1
        self.recovery_seconds = 0.0
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self.cancelled = True
        self.trigger.set()

    def run(self) -> None:
        try:
            self.trigger.wait(timeout=300)
            if self.cancelled:
                return
            ids = list(self.journey_ids)
            self.accepted_at_fault = len(ids)
            with psycopg.connect(self.env.dsn("identity"), autocommit=True) as conn:
                self.applied_at_fault = conn.execute(
                    "SELECT count(DISTINCT journey_id) FROM applied_effects WHERE journey_id::text = ANY(%s)",
                    (ids,),
                ).fetchone()[0]
            started = time.monotonic()
            for command in self.fault.commands:
                self.env.stack(*command, timeout=240)
            wait_until(lambda: all_ready(self.env), 120, "every service ready again", interval=0.5)
            self.recovery_seconds = time.monotonic() - started
        except BaseException as exc:  # re-raised by the test
            self.error = exc


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_after_a_fault_mid_burst_every_declaration_completes_exactly_once(env, usager, seed, db, applied_effects,
                                                                          fault):
    identity = db("identity")
    n = fault.size

    # Persons known in identity, with their valid documents before the burst.
    persons: list[dict[str, Any]] = []
    for _ in range(10):
        persons += [p for p in seed(max(n, 100)) if "identity" in p["records"]]
        if len(persons) >= n:
            break
    assert len(persons) >= n, f"mdv-seed gave only {len(persons)} persons known in identity"
    persons = persons[:n]
    person_ids = [identity_person_id(identity, p) for p in persons]
    valid_before = [sum(1 for _, s, _ in identity_documents(identity, pid) if s == "valid") for pid in person_ids]
    death_date = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    bodies = [declaration_for(p, "child", death_date=death_date) for p in persons]

    # The burst, with the fault injected part of the way through.
    journey_ids: list[str] = []
    posted_at: dict[str, float] = {}
    lock = threading.Lock()
    injector = Injector(env, fault, journey_ids)
    injector.start()

    def post(body: dict[str, Any]) -> str:
        started = time.monotonic()
        journey_id = usager.declare_ok(body)
        with lock:
            journey_ids.append(journey_id)
            posted_at[journey_id] = started
            if len(journey_ids) >= injector.at:
                injector.trigger.set()
        return journey_id

    burst_started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            ids = list(pool.map(post, bodies))
    except BaseException:
        injector.cancel()
        raise
    burst_seconds = time.monotonic() - burst_started
    injector.join(timeout=600)
    assert not injector.is_alive(), f"{fault.describe}: the stack did not recover in time"
    if injector.error:
        raise injector.error
    assert len(set(ids)) == n
    db.reconnect()  # the database may have restarted
    identity = db("identity")

    # Every journey becomes final; one round reads them all through the
    # journey list (pages of 100) rather than one GET per journey. Right
    # after a fault the gateway may answer 503 for a while: a usager would
    # try again, and so does wait_all_final, until the deadline.
    finals = wait_all_final(usager, ids, FINAL_TIMEOUT, fault.describe)
    all_final_seconds = time.monotonic() - burst_started

    # Figures, recorded before the assertions so that they survive a failure.
    server = [(parse_time(j["updated_at"]) - parse_time(j["created_at"])).total_seconds()
              for j in finals.journeys.values()]
    client = [finals.seen_at[j] - posted_at[j] for j in ids]
    lines = [
        f"[{fault.name}] {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}",
        f"  burst: {n} bereavement declarations over {WORKERS} connections, posted in {burst_seconds:.2f} s",
        f"  fault: {fault.describe} after {injector.accepted_at_fault} accepted declarations"
        f" ({injector.applied_at_fault} applied by identity by then); every service ready again after"
        f" {injector.recovery_seconds:.2f} s",
        f"  declaration to completed journey (journey updated_at - created_at): median"
        f" {statistics.median(server):.3f} s, p95 {percentile(server, 0.95):.3f} s, worst {max(server):.3f} s",
        f"  declaration to final journey seen by the usager (polling every {POLL_INTERVAL * 1000:.0f} ms):"
        f" median {statistics.median(client):.3f} s, p95 {percentile(client, 0.95):.3f} s,"
        f" worst {max(client):.3f} s",
        f"  all {n} journeys final {all_final_seconds:.2f} s after the burst started"
        f" ({finals.unavailable_rounds} polling rounds answered 503 or found the gateway down)",
    ]
    record_figures(env, lines)

    # The fault really hit while identity had work to do.
    assert injector.applied_at_fault < n

    # Every journey complete, identity's step done, nothing failed.
    for journey_id in ids:
        journey = finals.journeys[journey_id]
        steps = steps_by_code(journey)
        assert len(journey["steps"]) == 6, summarise(journey)
        assert steps[STEP_IDENTITY]["status"] == "done", summarise(journey)
        assert journey["status"] == "completed", summarise(journey)

    # Exactly one applied effect per journey in every consumer service.
    assert_one_effect_per_journey(applied_effects, ids)

    # One death record per journey; one journey per declaration.
    (records,) = db("bereavement").execute(
        "SELECT count(*) FROM death_records WHERE journey_id::text = ANY(%s)", (ids,)
    ).fetchone()
    assert records == n
    assert sorted(j["id"] for j in usager.all_journeys(limit=100, max_pages=n)) == sorted(ids)

    # identity cancelled each person's documents once and says how many.
    for person_id, journey_id, valid in zip(person_ids, ids, valid_before):
        documents = identity_documents(identity, person_id)
        assert all(status == "cancelled" and at is not None for _, status, at in documents), documents
        assert identity_deceased_on(identity, person_id) == death_date
        if valid:
            detail = steps_by_code(finals.journeys[journey_id])[STEP_IDENTITY]["detail"]
            assert str(valid) in detail, f"{valid} documents were valid, detail says {detail!r}"
