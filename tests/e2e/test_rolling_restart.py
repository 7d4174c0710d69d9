"""Rolling restart (slow): while declarations keep coming, every service is
stopped with SIGTERM and started again, one after another (student runs two
instances, restarted one at a time). Nothing is lost, nothing is stuck,
nothing happens twice, and every stop is clean.

Declarations keep being accepted while each consumer instance is down (one
is posted for sure in each such window, besides the steady stream).
Declarations posted while the gateway restarts (one for sure) meet a
refused connection or a 503: the client tries again with the same
Idempotency-Key, and each key gives exactly one journey. At the end every key is sent once more, as a
client whose answer was lost would: the replay gives back the first answer,
the same journey, whichever gateway process answered first. A restarted
consumer comes back under the same MDV_INSTANCE_ID (static membership)
before session.timeout.ms (10 s), so its partitions wait for it rather than
move: each student instance gets back the partitions it had, and none of
them goes to the other one meanwhile (their "partitions assigned" log
lines).
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
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mdv_e2e import (
    assert_one_effect_per_journey,
    Stopped,
    bereavement_declaration,
    declaration_for,
    instance_log,
    log_records,
    parse_time,
    percentile,
    record_figures,
    stop_instance,
    summarise,
    unknown_person,
    wait_all_final,
    wait_until,
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
    "bereavement", "housing", "abroad", "partners"]
START_AFTER = 20  # declarations accepted before the first restart
SESSION_TIMEOUT = 10.0  # shared/kafka.c's session.timeout.ms
TOPIC = "mdv.bereavement.events.v1"  # what student consumes
PARTITIONS = 6  # its partition count (DESIGN.md §4: the default)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_partitions(message: str) -> frozenset[int]:
    """The partitions of TOPIC in "partitions assigned: topic:0,1 other:2"."""
    held: set[int] = set()
    for part in message.split(": ", 1)[1].split():
        topic, _, numbers = part.rpartition(":")
        if topic == TOPIC and numbers:
            held |= {int(n) for n in numbers.split(",")}
    return frozenset(held)


def assignments(env, instance: str, since: dt.datetime | None = None) -> list[tuple[dt.datetime, frozenset[int]]]:
    """(time, partitions of TOPIC) of each "partitions assigned" log line of
    an instance (since a time)."""
    return [(parse_time(r["time"]), parse_partitions(r["message"])) for r in log_records(instance_log(env, instance))
            if r.get("message", "").startswith("partitions assigned: ")
            and (since is None or parse_time(r["time"]) >= since)]


def held_now(env, instance: str) -> frozenset[int]:
    """The partitions of TOPIC an instance holds as its log tells: its last
    "partitions assigned" line, unless a "partitions revoked" came after."""
    held: frozenset[int] = frozenset()
    for record in log_records(instance_log(env, instance)):
        message = record.get("message", "")
        if message.startswith("partitions revoked"):
            held = frozenset()
        elif message.startswith("partitions assigned: "):
            held = parse_partitions(message)
    return held


def students_settled(env) -> bool:
    """Every student instance holds some partitions of TOPIC, none twice,
    all of them held (the group rebalanced after the scale-up)."""
    held = [held_now(env, f"student-{k}") for k in range(1, STUDENT_INSTANCES + 1)]
    return all(held) and sum(map(len, held)) == len(frozenset().union(*held)) == PARTITIONS


class Declarant:
    """Posts declarations, each with its own Idempotency-Key, retrying a
    refused connection or a 5xx with the same key."""

    def __init__(self, usager):
        self.usager = usager
        self.run = uuid.uuid4().hex[:8]
        self.lock = threading.Lock()
        self.answers: dict[str, list[str]] = {}  # key -> journey id of every 202
        self.bodies: dict[str, dict[str, Any]] = {}  # key -> what was declared
        self.retries = 0
        self.refused = 0  # connection refused / reset
        self.unavailable = 0  # 5xx answers

    def post(self, index: int | str, body: dict[str, Any]) -> str:
        """Posts one declaration under the key of `index` (or `index` itself,
        a key already used: a replay); returns the journey id."""
        key = index if isinstance(index, str) else f"rolling-{self.run}-{index}"
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
                    self.bodies[key] = body
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


    def progress(self) -> tuple[int, int]:
        """(declarations accepted, retries) so far."""
        with self.lock:
            return len(self.answers), self.retries


@dataclass(frozen=True)
class Window:
    """One instance's restart: from the signal to /readyz again."""

    down_at: dt.datetime
    up_at: dt.datetime
    accepted: int  # declarations accepted meanwhile
    retries: int  # declarations retried meanwhile


class Restarter(threading.Thread):
    """Restarts every instance in RESTARTS, one after another."""

    def __init__(self, env, declarant: "Declarant", death_date: str):
        super().__init__(name="rolling-restart", daemon=True)
        self.env = env
        self.declarant = declarant
        self.death_date = death_date
        self.windows: dict[str, Window] = {}
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
                down, down_at = time.monotonic(), utc_now()
                accepted, retries = self.declarant.progress()
                # The last log line is read by stop_instance, before the start appends to the log.
                self.stops.append(stop_instance(self.env, instance, "TERM"))
                # One declaration for sure while the instance is down, whatever
                # the workers' pace: the gateway must take it with a consumer
                # away; with the gateway away it meets a refused connection
                # and is retried until the new gateway answers.
                extra = ThreadPoolExecutor(max_workers=1)
                posted = extra.submit(self.declarant.post, f"rolling-{self.declarant.run}-while-{instance}-down",
                                      bereavement_declaration(unknown_person(), "child", death_date=self.death_date))
                if instance != "gateway":
                    posted.result()
                self.env.stack("start-service", instance, timeout=240)  # waits for /readyz
                self.downtimes[instance] = time.monotonic() - down
                posted.result()
                extra.shutdown()
                accepted_after, retries_after = self.declarant.progress()
                self.windows[instance] = Window(down_at, utc_now(), accepted_after - accepted,
                                                retries_after - retries)
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
    restarter = Restarter(env, declarant, death_date)
    try:
        env.stack("scale", "student", str(STUDENT_INSTANCES), timeout=240)
        wait_until(lambda: students_settled(env), 120, "the student instances sharing the partitions",
                   interval=0.2)
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

        # Every key once more, after every restart: a client whose answer
        # was lost tries again.
        replays_before = declarant.retries
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(lambda key: declarant.post(key, declarant.bodies[key]), sorted(declarant.answers)))

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
            "  declarations accepted (retried) while each was down: " + ", ".join(
                f"{i} {w.accepted} ({w.retries})" for i, w in restarter.windows.items()),
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

        # Declarations kept coming: accepted while each consumer was down;
        # refused or answered 503 while the gateway was, and retried.
        for instance, window in restarter.windows.items():
            if instance == "gateway":
                assert window.retries > 0, f"no declaration met the gateway down: {window}"
            else:
                assert window.accepted > 0, f"no declaration accepted while {instance} was down: {window}"

        # One journey per Idempotency-Key, whatever the retries, and the
        # replay of every key gave back its first journey; no other journey.
        assert n >= BURST
        assert len(declarant.answers) == n
        assert declarant.retries == replays_before, "a replay was refused or answered 5xx"
        for key, answers in declarant.answers.items():
            assert len(answers) >= 2, f"{key}: never replayed {answers}"
            assert len(set(answers)) == 1, f"{key}: several journeys {answers}"
        assert sorted(j["id"] for j in usager.all_journeys(limit=100, max_pages=n // 100 + 2)) == ids

        # Static membership: every consumer came back within the session
        # timeout, and each student instance got back its own partitions,
        # which did not go to the other one meanwhile.
        for instance in RESTARTS[1:]:
            assert restarter.downtimes[instance] < SESSION_TIMEOUT, (instance, restarter.downtimes[instance])
        students = [i for i in RESTARTS if i.startswith("student-")]
        for instance in students:
            window = restarter.windows[instance]
            (other,) = [i for i in students if i != instance]
            # Its last assignment before the stop: the scale-up may not have
            # needed a new one (a static member back within the timeout).
            before = [p for at, p in assignments(env, instance) if at < window.down_at]
            after = [p for at, p in assignments(env, instance, window.down_at)]
            assert before and after and after[0] == before[-1], (
                f"{instance}: partitions {before[-1:]} before its restart, {after[:1]} after")
            back_at = max(window.up_at, [at for at, _ in assignments(env, instance, window.down_at)][0])
            # A rebalance may still run meanwhile; none of its partitions may
            # go to the other instance.
            moved = [(at, p) for at, p in assignments(env, other, window.down_at) if at <= back_at and p & before[-1]]
            assert not moved, f"{instance}'s partitions {sorted(before[-1])} went to {other} meanwhile: {moved}"

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
