"""Fault tests (DESIGN.md §9): during a burst of declarations a service is
killed with SIGKILL, the broker is restarted, the database is restarted;
afterwards every declaration is complete and every effect happened exactly
once.

Each scenario shows that the fault hit work in flight and made Kafka
redeliver, rather than hoping the timing cooperates:

- identity, the victim, is paused (SIGSTOP) while it applies the burst, and
  stays paused while the rest of the burst piles up on its topic; the fault
  lands once the declarations on mdv.bereavement.events.v1 outnumber what
  identity applied (measured from the outside: the topic against identity's
  applied_effects), and that count is asserted > 0.
- A redelivery is arranged: the pause is taken, and taken again, until
  identity has applied messages whose offsets are stored but not yet
  committed (auto-commit runs every second; the group's committed offsets
  are read from the broker). identity is then killed with SIGKILL (exit 137
  asserted) and started again, so Kafka must redeliver those messages, and
  the restarted identity's mdv_messages_duplicate_total (a fresh process
  counts from 0) must count at least that many. A database restart alone
  does not redeliver (the consumer seeks back to the failed message and
  keeps its stored offsets), nor does a broker restart reliably (only when
  a consumer is fenced and renewed): in those two scenarios the kill lands
  during the fault (PostgreSQL restarted, or the broker down), and the
  duplicates the other services skipped are added to the figures.

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

from mdv_e2e import (
    BEREAVEMENT_STEPS,
    Stopped,
    all_ready,
    assert_one_effect_per_journey,
    POLL_INTERVAL,
    STEP_IDENTITY,
    declaration_for,
    duplicates_skipped,
    end_offsets,
    group_committed_offsets,
    identity_deceased_on,
    identity_documents,
    identity_person_id,
    parse_time,
    pause_instance,
    percentile,
    read_topic,
    record_figures,
    resume_instance,
    steps_by_code,
    stop_instance,
    summarise,
    wait_all_final,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

BURST = int(os.environ.get("MDV_E2E_BURST", "200"))
WORKERS = 16
FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "180"))

VICTIM = "identity"
VICTIM_GROUP = f"mdv-{VICTIM}"
TOPIC = "mdv.bereavement.events.v1"  # what identity consumes
DEATH_RECORDED = "fr.gouv.mdv.bereavement.death_recorded.v1"
PAUSE_AT = 0.25  # the victim is paused once this share of the burst was accepted
KILL = ("kill-victim",)  # a step of a fault: SIGKILL the paused victim


@dataclass(frozen=True)
class Fault:
    name: str
    steps: tuple[tuple[str, ...], ...]  # stack.sh commands (or KILL), in order
    size: int  # declarations in the burst
    after: float  # land once this share of the burst was accepted
    describe: str


FAULTS = [
    Fault("identity_killed", (KILL, ("start-service", VICTIM)),
          BURST, 0.5, "mdv-identity killed (SIGKILL) and started again"),
    # The gateway needs its database to accept a declaration, so the
    # database restarts once the whole burst is in, while the services are
    # still working through it.
    Fault("database_restarted", (("restart-pg",), KILL, ("start-service", VICTIM)),
          max(BURST // 2, 1), 1.0, "PostgreSQL restarted (mdv-identity killed meanwhile)"),
    # Last: a broker that comes back wrong would break every later scenario.
    Fault("broker_restarted", (("stop-kafka",), KILL, ("start-kafka",), ("start-service", VICTIM)),
          max(BURST // 2, 1), 0.5, "Kafka broker restarted (mdv-identity killed while it was down)"),
]


@dataclass(frozen=True, repr=False)
class Progress:
    """The victim's progress through the burst, seen from the outside."""

    on_topic: dict[str, tuple[int, int]]  # journey -> (partition, offset) of its DeathRecorded
    applied: frozenset[str]  # journeys in the victim's applied_effects
    committed: dict[int, int | None]  # partition -> the victim group's committed offset

    @property
    def unapplied(self) -> int:
        """Declarations on the topic the victim has not applied."""
        return len(set(self.on_topic) - self.applied)

    @property
    def redeliverable(self) -> int:
        """Applied messages at or past the committed offset: Kafka
        redelivers them to the victim's next start."""
        return sum(1 for p, o in (self.on_topic[j] for j in self.applied) if o >= (self.committed.get(p) or 0))

    @property
    def lag(self) -> int:
        """Burst messages past the committed offsets (applied or not)."""
        return sum(1 for p, o in self.on_topic.values() if o >= (self.committed.get(p) or 0))

    def __repr__(self) -> str:
        return (f"Progress({len(self.on_topic)} DeathRecorded on the topic, {len(self.applied)} applied,"
                f" {self.unapplied} not applied, {self.redeliverable} applied past the committed offsets"
                f" {self.committed})")


def victim_progress(env, start: dict[int, int]) -> Progress:
    on_topic = {m.headers["mdv_journey_id"]: (m.partition, m.offset)
                for m in read_topic(env.kafka_brokers, TOPIC, start) if m.headers.get("ce_type") == DEATH_RECORDED}
    with psycopg.connect(env.dsn(VICTIM), autocommit=True, connect_timeout=10) as conn:
        applied = frozenset(j for (j,) in conn.execute(
            "SELECT DISTINCT journey_id::text FROM applied_effects WHERE journey_id::text = ANY(%s)",
            (list(on_topic),)).fetchall())
    committed = group_committed_offsets(env.kafka_brokers, VICTIM_GROUP, TOPIC, sorted(start))
    return Progress(on_topic, applied, committed)


def leave_victim_running(env) -> None:
    """Never leaves the victim paused or dead for the tests after this one,
    whatever failed (start-service does nothing to a running instance)."""
    try:
        resume_instance(env, VICTIM)
    except (OSError, ValueError):
        pass  # not running: started below
    try:
        env.stack("start-service", VICTIM, timeout=240)
    except RuntimeError as exc:
        print(f"could not start {VICTIM} again: {exc}")


class PostGate:
    """Holds the burst's declarations past PAUSE_AT until the victim is
    paused. Without it a quick stack could accept and apply the whole burst
    while the injector was still trying to pause the victim, leaving no
    declaration unapplied for the fault to land on. Each failed try lets
    two more through, for the victim to have fresh applied work."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = False
        self._permits = 0

    def wait(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._open or self._permits > 0, timeout=600)
            if not self._open and self._permits > 0:
                self._permits -= 1

    def let_through(self, n: int) -> None:
        with self._cond:
            self._permits += n
            self._cond.notify_all()

    def open(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()


class Injector(threading.Thread):
    """Pauses the victim once PAUSE_AT of the burst was accepted, with
    applied work not yet committed (the rest of the burst waits at the
    gate meanwhile); lands the fault once `after` of it was accepted and
    the victim has declarations on its topic it has not applied; then waits
    until every service is ready again."""

    def __init__(self, env, fault: Fault, journey_ids: list[str], start: dict[int, int]):
        super().__init__(name=f"fault-{fault.name}", daemon=True)
        self.env, self.fault, self.journey_ids, self.start_offsets = env, fault, journey_ids, start
        self.pause_at = max(1, int(fault.size * PAUSE_AT))
        self.at = max(1, int(fault.size * fault.after))
        self.cancelled = False
        self.pauses = 0
        self.accepted_at_fault = 0
        self.at_fault: Progress | None = None  # right before the fault landed
        self.at_restart: Progress | None = None  # the victim dead, right before it started again
        self.duplicates_before: dict[str, int] = {}  # every process, before the fault
        self.killed: Stopped | None = None
        self.recovery_seconds = 0.0
        self.error: BaseException | None = None
        self.gate = PostGate()

    def cancel(self) -> None:
        self.cancelled = True
        self.gate.open()

    def _wait(self, predicate, what: str) -> Any:
        return wait_until(lambda: self.cancelled or predicate(), 300, what, interval=0.1)

    def _pause_with_uncommitted_work(self) -> None:
        """Pauses the victim, and pauses it again a little later, until the
        broker's committed offsets are behind work it applied."""
        for self.pauses in range(1, 41):
            pause_instance(self.env, VICTIM)
            time.sleep(0.5)  # a commit already on the wire reaches the broker
            if victim_progress(self.env, self.start_offsets).redeliverable > 0:
                return
            resume_instance(self.env, VICTIM)
            self.gate.let_through(2)
            time.sleep(0.3)
        raise AssertionError(f"{VICTIM} never had applied work past its committed offsets when paused")

    def _step(self, step: tuple[str, ...]) -> None:
        if step == KILL:
            self.killed = stop_instance(self.env, VICTIM, "KILL")
        elif step == ("start-service", VICTIM):
            self.at_restart = victim_progress(self.env, self.start_offsets)
            self.env.stack(*step, timeout=240)
        else:
            self.env.stack(*step, timeout=240)

    def run(self) -> None:
        try:
            self._wait(lambda: len(self.journey_ids) >= self.pause_at, f"{self.pause_at} declarations accepted")
            if self.cancelled:
                return
            self._pause_with_uncommitted_work()
            self.gate.open()  # the rest of the burst, posted while the victim is paused
            self._wait(lambda: len(self.journey_ids) >= self.at, f"{self.at} declarations accepted")
            self._wait(lambda: victim_progress(self.env, self.start_offsets).unapplied > 0,
                       f"declarations on {TOPIC} that {VICTIM} has not applied")
            if self.cancelled:
                return
            self.duplicates_before = {s: duplicates_skipped(u) for s, u in self.env.all_urls.items() if s != VICTIM}
            self.accepted_at_fault = len(self.journey_ids)
            self.at_fault = victim_progress(self.env, self.start_offsets)
            started = time.monotonic()
            for step in self.fault.steps:
                self._step(step)
            wait_until(lambda: all_ready(self.env), 120, "every service ready again", interval=0.5)
            self.recovery_seconds = time.monotonic() - started
        except BaseException as exc:  # re-raised by the test
            self.error = exc
        finally:
            self.gate.open()


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
    injector = Injector(env, fault, journey_ids, end_offsets(env.kafka_brokers, TOPIC))
    injector.start()

    def post(index_body: tuple[int, dict[str, Any]]) -> str:
        index, body = index_body
        if index >= injector.pause_at:
            injector.gate.wait()
        started = time.monotonic()
        journey_id = usager.declare_ok(body)
        with lock:
            journey_ids.append(journey_id)
            posted_at[journey_id] = started
        return journey_id

    burst_started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            ids = list(pool.map(post, enumerate(bodies)))
        burst_seconds = time.monotonic() - burst_started
        injector.join(timeout=600)
    finally:
        injector.cancel()
        injector.join(timeout=300)
        leave_victim_running(env)
    assert not injector.is_alive(), f"{fault.describe}: the stack did not recover in time"
    if injector.error:
        raise injector.error
    assert len(set(ids)) == n
    at_fault, at_restart = injector.at_fault, injector.at_restart
    assert at_fault is not None and at_restart is not None and injector.killed is not None, "the fault did not land"
    db.reconnect()  # the database may have restarted
    identity = db("identity")

    # Every journey becomes final; one round reads them all through the
    # journey list (pages of 100) rather than one GET per journey. Right
    # after a fault the gateway may answer 503 for a while: a usager would
    # try again, and so does wait_all_final, until the deadline.
    finals = wait_all_final(usager, ids, FINAL_TIMEOUT, fault.describe)
    all_final_seconds = time.monotonic() - burst_started

    # Redeliveries the inbox skipped: the restarted victim counts from 0;
    # the other processes since just before the fault.
    duplicates = {s: duplicates_skipped(u) - injector.duplicates_before.get(s, 0) for s, u in env.all_urls.items()}

    # Figures, recorded before the assertions so that they survive a failure.
    server = [(parse_time(j["updated_at"]) - parse_time(j["created_at"])).total_seconds()
              for j in finals.journeys.values()]
    client = [finals.seen_at[j] - posted_at[j] for j in ids]
    lines = [
        f"[{fault.name}] {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}",
        f"  burst: {n} bereavement declarations over {WORKERS} connections, posted in {burst_seconds:.2f} s",
        f"  fault: {fault.describe} after {injector.accepted_at_fault} accepted declarations; {VICTIM} paused"
        f" (SIGSTOP, {injector.pauses} tries) with {len(at_fault.applied)} applied,"
        f" {at_fault.unapplied} on {TOPIC} not applied, lag {at_fault.lag}; every service ready again after"
        f" {injector.recovery_seconds:.2f} s",
        f"  redeliveries: {at_restart.redeliverable} applied messages past {VICTIM_GROUP}'s committed offsets"
        f" when {VICTIM} was killed (exit {injector.killed.exit_status}); duplicates skipped since: "
        + ", ".join(f"{s} {d}" for s, d in duplicates.items()) + f" (sum {sum(duplicates.values())})",
        f"  declaration to completed journey (journey updated_at - created_at): median"
        f" {statistics.median(server):.3f} s, p95 {percentile(server, 0.95):.3f} s, worst {max(server):.3f} s",
        f"  declaration to final journey seen by the usager (polling every {POLL_INTERVAL * 1000:.0f} ms):"
        f" median {statistics.median(client):.3f} s, p95 {percentile(client, 0.95):.3f} s,"
        f" worst {max(client):.3f} s",
        f"  all {n} journeys final {all_final_seconds:.2f} s after the burst started"
        f" ({finals.unavailable_rounds} polling rounds answered 503 or found the gateway down)",
    ]
    record_figures(env, lines)

    # The fault landed while identity had declarations on its topic it had
    # not applied, and identity died by SIGKILL with applied work its group
    # had not committed: Kafka redelivered it and the inbox skipped it.
    assert at_fault.unapplied > 0, at_fault
    assert injector.killed.exit_status == "137", injector.killed
    assert at_restart.redeliverable > 0, at_restart
    assert duplicates[VICTIM] >= at_restart.redeliverable, (
        f"{at_restart.redeliverable} messages redelivered to {VICTIM}, its inbox skipped {duplicates[VICTIM]}")

    # Every journey complete, identity's step done, nothing failed.
    for journey_id in ids:
        journey = finals.journeys[journey_id]
        steps = steps_by_code(journey)
        assert sorted(s["code"] for s in journey["steps"]) == sorted(BEREAVEMENT_STEPS), summarise(journey)
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
