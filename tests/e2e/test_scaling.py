"""Horizontal scaling (slow): three instances of one consumer service
(student) share the 6 partitions of mdv.bereavement.events.v1. During a
burst one instance is killed with SIGKILL and another stopped with SIGTERM;
afterwards every journey is complete, every effect happened exactly once,
the burst was split across instances, and the SIGTERM'd instance exited 0
within the shutdown bound.

Each stopped instance held partitions (its last "partitions assigned" log
line before the stop), and the burst still had declarations on the killed
one's partitions that it had not applied (their DeathRecorded read back from
the topic; their effects applied after the kill): the kill hit work in
flight. A SIGTERM'd instance finishes the batch it holds before it exits,
which may be everything left on its partitions; a tail of declarations
posted once both are stopped makes sure the survivors have work to take
over on both.

librdkafka 2.0.2 static membership (group.instance.id = MDV_INSTANCE_ID): a
member that stops, cleanly or not, does not leave the group; its partitions
wait for session.timeout.ms (10 s) before they move to the survivor: the
first effect another instance applies on them comes at least
session.timeout.ms - heartbeat.interval.ms (the last heartbeat may be that
old) after the stop. The figures (split, takeover delays, longest gap,
worst journey) go to the terminal summary and to build/e2e-figures.txt.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from mdv_e2e import (
    assert_one_effect_per_journey,
    STEP_STUDENT,
    Stopped,
    bereavement_declaration,
    declaration_for,
    effects_by_instance,
    end_offsets,
    instance_log,
    log_records,
    parse_time,
    percentile,
    read_topic,
    record_figures,
    stack_env_file,
    steps_by_code,
    stop_instance,
    summarise,
    unknown_person,
    wait_all_final,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

SERVICE = "student"
INSTANCES = 3
KILLED = f"{SERVICE}-2"  # SIGKILL
TERMINATED = f"{SERVICE}-3"  # SIGTERM
BURST = max(300, int(os.environ.get("MDV_E2E_SCALE_BURST", "300")))
# Posted once both instances are stopped: with 6 partitions, 30 declarations
# all missing the two stopped instances' four has a chance of (2/6)^30.
TAIL = 30
WORKERS = 16
FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "180"))
# MDV_SHUTDOWN_TIMEOUT_MS of the services (the stack leaves the default).
SHUTDOWN_BOUND = float(os.environ.get("MDV_SHUTDOWN_TIMEOUT_MS", "10000")) / 1000
TOPIC = "mdv.bereavement.events.v1"  # what student consumes
DEATH_RECORDED = "fr.gouv.mdv.bereavement.death_recorded.v1"
# shared/kafka.c's session.timeout.ms, and librdkafka's heartbeat.interval.ms
# (not set there): the soonest a stopped static member's partitions move.
SESSION_TIMEOUT = 10.0
HEARTBEAT_INTERVAL = 3.0


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def applied(conn: psycopg.Connection, journey_ids: list[str]) -> list[tuple[str, str, dt.datetime]]:
    """(journey_id, instance_id, applied_at) of the effects on these journeys."""
    return conn.execute(
        "SELECT journey_id::text, coalesce(instance_id, '?'), applied_at FROM applied_effects"
        " WHERE journey_id::text = ANY(%s) ORDER BY applied_at",
        (list(journey_ids),),
    ).fetchall()


def assigned_partitions(env, instance: str, since: dt.datetime, until: dt.datetime) -> set[int]:
    """The partitions of the topic an instance held at `until`: its last
    "partitions assigned" log line since `since`, unless revoked after."""
    held: set[int] = set()
    for record in log_records(instance_log(env, instance)):
        at = parse_time(record["time"]) if "time" in record else None
        message = record.get("message", "")
        if at is None or at < since or at > until:
            continue
        if message.startswith("partitions revoked"):
            held = set()
        elif message.startswith("partitions assigned: "):
            held = set()
            for part in message.removeprefix("partitions assigned: ").split():
                topic, _, numbers = part.rpartition(":")
                if topic == TOPIC and numbers:
                    held |= {int(n) for n in numbers.split(",")}
    return held


def left_at(on_topic: dict[str, tuple[int, int]], applied_at: dict[str, dt.datetime], partitions: set[int],
            at: dt.datetime) -> int:
    """Declarations of the burst on these partitions (where their
    DeathRecorded is on the topic) not applied by `at`."""
    return sum(1 for j, (p, _) in on_topic.items() if p in partitions and (j not in applied_at or applied_at[j] > at))


def journey_partitions(env, instances: list[str], since: dt.datetime) -> dict[str, int]:
    """journey id -> partition of its DeathRecorded, from the instances' logs."""
    where = {}
    for instance in instances:
        for record in log_records(instance_log(env, instance)):
            if record.get("topic") == TOPIC and record.get("journey_id") \
                    and parse_time(record["time"]) >= since:
                where[record["journey_id"]] = int(record["partition"])
    return where


def takeover_seconds(effects, partition_of: dict[str, int], partitions: set[int], stopped: str,
                     at: dt.datetime) -> tuple[float | None, str | None]:
    """Seconds from `at` to the first effect applied by another instance on
    one of `partitions`, and that instance."""
    for journey_id, instance, applied_at in effects:  # ordered by applied_at
        if applied_at > at and instance != stopped and partition_of.get(journey_id) in partitions:
            return (applied_at - at).total_seconds(), instance
    return None, None


class Stopper(threading.Thread):
    """Kills KILLED once the service applied a quarter of the burst, then
    stops TERMINATED with SIGTERM once it applied half: both instances hold
    partitions with work left on them."""

    def __init__(self, env, n: int, since: dt.datetime):
        super().__init__(name="stopper", daemon=True)
        self.env, self.n, self.since = env, n, since
        self.kill_at, self.term_at = max(1, n // 4), max(2, n // 2)
        self.done = threading.Event()
        self.killed_at: dt.datetime | None = None
        self.terminated_at: dt.datetime | None = None
        self.applied_at_kill = self.applied_at_term = -1
        self.killed: Stopped | None = None
        self.terminated: Stopped | None = None
        self.error: BaseException | None = None

    def _wait_applied(self, conn, count: int) -> int:
        """Waits until the service applied `count` effects since the burst
        started; returns how many it had."""
        deadline = time.monotonic() + 300
        while not self.done.is_set() and time.monotonic() < deadline:
            (applied_now,) = conn.execute("SELECT count(*) FROM applied_effects WHERE applied_at >= %s",
                                          (self.since,)).fetchone()
            if applied_now >= count:
                return applied_now
            time.sleep(0.02)
        raise AssertionError(f"{SERVICE} did not apply {count} effects of the burst")

    def run(self) -> None:
        try:
            with psycopg.connect(self.env.dsn(SERVICE), autocommit=True) as conn:
                self.applied_at_kill = self._wait_applied(conn, self.kill_at)
                self.killed_at = utc_now()
                self.killed = stop_instance(self.env, KILLED, "KILL")
                self.applied_at_term = self._wait_applied(conn, self.term_at)
                self.terminated_at = utc_now()
                self.terminated = stop_instance(self.env, TERMINATED, "TERM")
        except BaseException as exc:  # re-raised by the test
            self.error = exc


def warm_up(env, make_usager, conn) -> float:
    """Declarations of unknown persons until every instance has applied at
    least one: the group has rebalanced and each instance holds partitions.
    Returns how long that took."""
    started = time.monotonic()
    usager = make_usager()
    ids: list[str] = []
    wanted = {f"{SERVICE}-{k}" for k in range(1, INSTANCES + 1)}

    def every_instance_applied() -> bool:
        ids.extend(usager.declare_ok(bereavement_declaration(unknown_person(), "child")) for _ in range(6))
        time.sleep(1)
        return wanted <= set(effects_by_instance(conn, ids))

    wait_until(every_instance_applied, 120, f"every {SERVICE} instance applying effects", interval=0.5)
    return time.monotonic() - started


def test_three_instances_share_the_burst_and_survive_kill_and_term(env, usager, make_usager, seed, db,
                                                                   applied_effects):
    student = db(SERVICE)

    # Persons the CROUS knows, so that every journey's student step is "done".
    persons: list[dict[str, Any]] = []
    for _ in range(10):
        persons += [p for p in seed(300) if SERVICE in p["records"]]
        if len(persons) >= BURST + TAIL:
            break
    assert len(persons) >= BURST + TAIL, f"mdv-seed gave only {len(persons)} persons known in {SERVICE}"
    death_date = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    bodies = [declaration_for(p, "child", death_date=death_date) for p in persons[:BURST]]
    tail_bodies = [declaration_for(p, "child", death_date=death_date) for p in persons[BURST:BURST + TAIL]]

    scaled_at = utc_now()
    try:
        started = time.monotonic()
        env.stack("scale", SERVICE, str(INSTANCES), timeout=240)
        scale_seconds = time.monotonic() - started
        urls = stack_env_file(env)[f"MDV_{SERVICE.upper()}_URLS"].split()
        assert len(urls) == INSTANCES, urls
        settle_seconds = warm_up(env, make_usager, student)

        # The burst, with the two stops part of the way through.
        start_offsets = end_offsets(env.kafka_brokers, TOPIC)
        burst_started = time.monotonic()
        burst_started_utc = utc_now()
        stopper = Stopper(env, BURST, burst_started_utc)
        stopper.start()
        try:
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                ids = list(pool.map(usager.declare_ok, bodies))
            burst_seconds = time.monotonic() - burst_started
            stopper.join(timeout=600)
        finally:
            stopper.done.set()
        assert not stopper.is_alive(), "stack.sh stop-service did not return"
        if stopper.error:
            raise stopper.error
        assert len(set(ids)) == BURST
        # The tail, while both are stopped (see the module's docstring).
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            tail_ids = list(pool.map(usager.declare_ok, tail_bodies))
        every_id = ids + tail_ids
        assert len(set(every_id)) == BURST + TAIL

        finals = wait_all_final(usager, every_id, FINAL_TIMEOUT, f"{KILLED} killed, {TERMINATED} stopped")
        all_final_seconds = time.monotonic() - burst_started

        # Figures, before the assertions so that they survive a failure.
        effects = applied(student, every_id)
        split = effects_by_instance(student, every_id)
        instances = [f"{SERVICE}-{k}" for k in range(1, INSTANCES + 1)]
        partition_of = journey_partitions(env, instances, scaled_at)
        killed_partitions = assigned_partitions(env, KILLED, scaled_at, stopper.killed_at)
        terminated_partitions = assigned_partitions(env, TERMINATED, scaled_at, stopper.terminated_at)
        on_topic = {m.headers["mdv_journey_id"]: (m.partition, m.offset)
                    for m in read_topic(env.kafka_brokers, TOPIC, start_offsets)
                    if m.headers.get("ce_type") == DEATH_RECORDED and m.headers.get("mdv_journey_id") in set(ids)}
        applied_at = {j: a for j, _, a in effects}
        left_at_kill = left_at(on_topic, applied_at, killed_partitions, stopper.killed_at)
        left_at_term = left_at(on_topic, applied_at, terminated_partitions, stopper.terminated_at)
        kill_takeover, kill_heir = takeover_seconds(effects, partition_of, killed_partitions, KILLED,
                                                    stopper.killed_at)
        term_takeover, term_heir = takeover_seconds(effects, partition_of, terminated_partitions, TERMINATED,
                                                    stopper.terminated_at)
        # What the SIGTERM'd instance applied between the signal and its exit.
        finished_in_hand = sum(1 for _, i, a in effects if i == TERMINATED and a > stopper.terminated_at)
        times = [a for _, _, a in effects if a >= burst_started_utc]
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        longest_gap = max(gaps, default=0.0)
        gap_at = times[gaps.index(longest_gap)] if gaps else None
        server = [(parse_time(j["updated_at"]) - parse_time(j["created_at"])).total_seconds()
                  for j in finals.journeys.values()]

        def since(at: dt.datetime | None, t: dt.datetime | None) -> str:
            return f"{(t - at).total_seconds():+.2f} s" if at and t else "n/a"

        def takeover(seconds: float | None, heir: str | None) -> str:
            return f"{seconds:.2f} s (by {heir})" if seconds is not None else "n/a (no later effect there)"

        term = stopper.terminated
        lines = [
            f"[scaling] {utc_now().isoformat(timespec='seconds')}",
            f"  {INSTANCES} instances of {SERVICE} (6 partitions); scale-up {scale_seconds:.2f} s, every instance"
            f" applying effects {settle_seconds:.2f} s later",
            f"  burst: {BURST} bereavement declarations over {WORKERS} connections, posted in {burst_seconds:.2f} s",
            f"  {KILLED} SIGKILL once {stopper.applied_at_kill} effects were applied:"
            f" exit {stopper.killed.exit_status}; it held partitions {sorted(killed_partitions)}"
            f" ({left_at_kill} declarations of the burst there not applied yet), taken over after"
            f" {takeover(kill_takeover, kill_heir)}",
            f"  {TERMINATED} SIGTERM once {stopper.applied_at_term} were"
            f" ({since(stopper.killed_at, stopper.terminated_at)} after the kill):"
            f" exit {term.exit_status} {term.seconds:.2f} s after the signal (stop-service"
            f" {term.wall_seconds:.2f} s), last log line {term.last_message!r};"
            f" it held partitions {sorted(terminated_partitions)} ({left_at_term} declarations of the burst there"
            f" not applied yet; it applied {finished_in_hand} of them before it exited), taken over after"
            f" {takeover(term_takeover, term_heir)}",
            f"  tail: {TAIL} declarations posted once both were stopped",
            "  split of the effects: " + ", ".join(f"{i} {n}" for i, n in split.items()),
            f"  longest gap between two effects during the burst: {longest_gap:.2f} s"
            f" (from {since(stopper.killed_at, gap_at)} after the kill)",
            f"  declaration to completed journey (updated_at - created_at): median {statistics.median(server):.3f} s,"
            f" p95 {percentile(server, 0.95):.3f} s, worst {max(server):.3f} s",
            f"  all {BURST} + {TAIL} journeys final {all_final_seconds:.2f} s after the burst started",
        ]
        record_figures(env, lines)

        # Each stopped instance held partitions, and the burst had
        # declarations on them it had not applied: the stops hit work in flight.
        assert killed_partitions, f"{KILLED} held no partition of {TOPIC} when it was killed"
        assert terminated_partitions, f"{TERMINATED} held no partition of {TOPIC} when it was stopped"
        assert left_at_kill > 0, (f"no declaration of the burst left on {KILLED}'s partitions"
                                  f" {sorted(killed_partitions)} at the kill")
        # The SIGTERM'd instance may have nothing left there: it stops after
        # the kill, and finishes the batch it holds before exiting, which on
        # a quick machine is all the burst left it (the figures say how
        # many). The tail, posted once it is stopped, is what its heir takes
        # over, below.

        # Static membership: the partitions waited for the session timeout
        # before another instance took them.
        soonest = SESSION_TIMEOUT - HEARTBEAT_INTERVAL
        assert kill_takeover is not None and kill_takeover >= soonest, (kill_takeover, kill_heir)
        assert term_takeover is not None and term_takeover >= soonest, (term_takeover, term_heir)

        # Every journey complete, the student step done.
        for journey_id in every_id:
            journey = finals.journeys[journey_id]
            assert steps_by_code(journey)[STEP_STUDENT]["status"] == "done", summarise(journey)
            assert journey["status"] == "completed", summarise(journey)

        # Exactly one effect per journey, whichever instance applied it.
        assert_one_effect_per_journey(applied_effects, every_id)

        # The burst was split: the partitions were shared.
        assert len([i for i, n in split.items() if n > 0]) >= 2, f"one instance did everything: {split}"
        assert set(split) <= set(instances), split

        # SIGKILL is not a clean exit; SIGTERM is, within the bound.
        assert stopper.killed.exit_status == "137", stopper.killed
        assert stopper.terminated.exit_status == "0", stopper.terminated
        assert stopper.terminated.seconds <= SHUTDOWN_BOUND, stopper.terminated
        assert stopper.terminated.last_message == "stopped", stopper.terminated
    finally:
        env.stack("scale", SERVICE, "1", timeout=240)
