"""Rolling restart (slow): while declarations keep coming, every service is
stopped with SIGTERM and started again, one after another (student runs two
instances, restarted one at a time). Nothing is lost, nothing is stuck,
nothing happens twice, and every stop is clean.

Declarations posted while the gateway restarts meet a refused connection or
a 503: the client tries again with the same Idempotency-Key, and each key
gives exactly one journey. A restarted consumer comes back under the same
MDV_INSTANCE_ID (static membership) before session.timeout.ms (10 s), so
its partitions wait for it rather than move.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from mdv_e2e import (
    assert_one_effect_per_journey,
    Stopped,
    bereavement_declaration,
    declaration_for,
    parse_time,
    percentile,
    record_figures,
    stop_instance,
    summarise,
    unknown_person,
    wait_all_final,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

BURST = max(200, int(os.environ.get("MDV_E2E_ROLLING_BURST", "200")))
MAX_DECLARATIONS = 3000  # the stream stops here whatever happens
WORKERS = 4
PACE = 0.15  # seconds each worker waits between two declarations
RETRY_FOR = 90.0  # seconds a declaration is retried while the gateway is away
FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "180"))
SHUTDOWN_BOUND = float(os.environ.get("MDV_SHUTDOWN_TIMEOUT_MS", "10000")) / 1000
STUDENT_INSTANCES = 2
# In the order of SERVICES; a scaled service is restarted one instance at a time.
RESTARTS = ["gateway", "identity"] + [f"student-{k}" for k in range(1, STUDENT_INSTANCES + 1)] + [
    "bereavement", "housing", "abroad"]
START_AFTER = 20  # declarations accepted before the first restart


class Declarant:
    """Posts declarations, each with its own Idempotency-Key, retrying a
    refused connection or a 5xx with the same key."""

    def __init__(self, usager):
        self.usager = usager
        self.run = uuid.uuid4().hex[:8]
        self.lock = threading.Lock()
        self.answers: dict[str, list[str]] = {}  # key -> journey id of every 202
        self.retries = 0
        self.refused = 0  # connection refused / reset
        self.unavailable = 0  # 5xx answers

    def post(self, index: int, body: dict[str, Any]) -> str:
        key = f"rolling-{self.run}-{index}"
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                resp = self.usager.declare(body, idempotency_key=key)
            except requests.ConnectionError:
                resp = None
            if resp is not None and resp.status_code == 202:
                journey_id = resp.json()["journey_id"]
                with self.lock:
                    self.answers.setdefault(key, []).append(journey_id)
                return journey_id
            if resp is not None and resp.status_code < 500:
                raise AssertionError(f"declaration {key} refused: {resp.status_code} {resp.text[:300]}")
            with self.lock:
                self.retries += 1
                if resp is None:
                    self.refused += 1
                else:
                    self.unavailable += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"declaration {key} not accepted within {RETRY_FOR:.0f} s")
            time.sleep(0.2)


class Restarter(threading.Thread):
    """Restarts every instance in RESTARTS, one after another."""

    def __init__(self, env):
        super().__init__(name="rolling-restart", daemon=True)
        self.env = env
        self.go = threading.Event()
        self.cancelled = False
        self.finished = threading.Event()
        self.stops: list[Stopped] = []
        self.downtimes: dict[str, float] = {}
        self.error: BaseException | None = None
        self.seconds = 0.0

    def run(self) -> None:
        try:
            if not self.go.wait(timeout=300):
                raise AssertionError("the declarations did not start")
            if self.cancelled:
                return
            started = time.monotonic()
            for instance in RESTARTS:
                down = time.monotonic()
                # The last log line is read by stop_instance, before the start appends to the log.
                self.stops.append(stop_instance(self.env, instance, "TERM"))
                self.env.stack("start-service", instance, timeout=240)  # waits for /readyz
                self.downtimes[instance] = time.monotonic() - down
            self.seconds = time.monotonic() - started
        except BaseException as exc:  # re-raised by the test
            self.error = exc
        finally:
            self.finished.set()


def test_rolling_restart_loses_nothing_and_duplicates_nothing(env, usager, seed, db, applied_effects):
    death_date = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    # Seeded persons first (real effects: documents cancelled, files closed),
    # then persons nobody knows if the restarts take longer.
    persons = seed(400)
    bodies = (declaration_for(p, "child", death_date=death_date) for p in persons)
    more = (bereavement_declaration(unknown_person(), "child", death_date=death_date) for _ in itertools.count())
    source = itertools.chain(bodies, more)
    source_lock = threading.Lock()
    counter = itertools.count()

    declarant = Declarant(usager)
    restarter = Restarter(env)
    try:
        env.stack("scale", "student", str(STUDENT_INSTANCES), timeout=240)
        restarter.start()
        accepted = itertools.count(1)

        def worker() -> None:
            while True:
                with source_lock:
                    index = next(counter)
                    if index >= MAX_DECLARATIONS or (restarter.finished.is_set() and index >= BURST):
                        return
                    body = next(source)
                declarant.post(index, body)
                if next(accepted) >= START_AFTER:
                    restarter.go.set()
                time.sleep(PACE)

        started = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                for future in [pool.submit(worker) for _ in range(WORKERS)]:
                    future.result()
        except BaseException:
            restarter.cancelled = True
            raise
        finally:
            restarter.go.set()
            restarter.join(timeout=600)
        posting_seconds = time.monotonic() - started
        assert not restarter.is_alive(), "the rolling restart did not end"
        if restarter.error:
            raise restarter.error
        ids = sorted({answers[0] for answers in declarant.answers.values()})
        n = len(ids)

        finals = wait_all_final(usager, ids, FINAL_TIMEOUT, "rolling restart")
        all_final_seconds = time.monotonic() - started

        # Figures, before the assertions so that they survive a failure.
        server = [(parse_time(j["updated_at"]) - parse_time(j["created_at"])).total_seconds()
                  for j in finals.journeys.values()]
        lines = [
            f"[rolling_restart] {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}",
            f"  {n} bereavement declarations over {WORKERS} connections in {posting_seconds:.2f} s while"
            f" {len(RESTARTS)} instances were restarted one after another ({restarter.seconds:.2f} s in all);"
            f" {declarant.retries} retries with the same Idempotency-Key ({declarant.refused} refused or reset"
            f" connections, {declarant.unavailable} 5xx answers)",
            "  SIGTERM to exit, s: " + ", ".join(
                f"{s.instance} {s.seconds:.2f} (exit {s.exit_status})" for s in restarter.stops),
            "  stop + start until /readyz, s: " + ", ".join(
                f"{i} {d:.2f}" for i, d in restarter.downtimes.items()),
            f"  declaration to completed journey (updated_at - created_at): median {statistics.median(server):.3f} s,"
            f" p95 {percentile(server, 0.95):.3f} s, worst {max(server):.3f} s",
            f"  all {n} journeys final {all_final_seconds:.2f} s after the first declaration"
            f" ({finals.unavailable_rounds} polling rounds found the gateway unavailable)",
        ]
        record_figures(env, lines)

        # Every stop was clean and within the shutdown bound.
        assert [s.instance for s in restarter.stops] == RESTARTS
        for stopped in restarter.stops:
            assert stopped.exit_status == "0", stopped
            assert stopped.seconds <= SHUTDOWN_BOUND, stopped
            assert stopped.last_message == "stopped", stopped

        # One journey per Idempotency-Key, whatever the retries; no other journey.
        assert n >= BURST
        assert len(declarant.answers) == n
        for key, answers in declarant.answers.items():
            assert len(set(answers)) == 1, f"{key}: several journeys {answers}"
        assert sorted(j["id"] for j in usager.all_journeys(limit=100, max_pages=n // 100 + 2)) == ids

        # Nothing stuck, nothing failed.
        for journey_id in ids:
            journey = finals.journeys[journey_id]
            assert journey["status"] == "completed", summarise(journey)

        # Exactly one effect per journey in every consumer, one death record.
        assert_one_effect_per_journey(applied_effects, ids)
        (records,) = db("bereavement").execute(
            "SELECT count(*) FROM death_records WHERE journey_id::text = ANY(%s)", (ids,)
        ).fetchone()
        assert records == n
    finally:
        restarter.cancelled = True
        restarter.go.set()
        env.stack("scale", "student", "1", timeout=240)
