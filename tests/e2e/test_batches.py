"""Consumers apply a batch of messages per transaction (DESIGN.md §5): a
message that can never be processed, inside a batch, goes alone to the
dead-letter topic while the others are applied once; a SIGKILL in the
middle of a batch loses nothing and applies nothing twice.

identity is the consumer under test: it is paused (SIGSTOP) while
declarations pile up on mdv.bereavement.events.v1, so that it takes them
in as batches when it resumes.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer

from mdv_e2e import (
    KAFKA_LOG,
    declaration_for,
    duplicates_skipped,
    end_offsets,
    identity_person_id,
    kafka_config,
    metric_total,
    pause_instance,
    read_topic,
    resume_instance,
    stop_instance,
    wait_all_final,
    wait_until,
)
from test_dlq import header_dict, read_dlq

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

VICTIM = "identity"
TOPIC = "mdv.bereavement.events.v1"
DEATH_RECORDED = "fr.gouv.mdv.bereavement.death_recorded.v1"
PILE = 24  # declarations piled up while identity is paused
FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "180"))
# The class (first key) of the outbox's per-aggregate advisory locks
# (shared/pg.c), held by a transaction from its first event to its commit.
OUTBOX_LOCK_CLASS = 4242002


def persons_known_in_identity(seed, n: int) -> list[dict[str, Any]]:
    persons: list[dict[str, Any]] = []
    for _ in range(10):
        persons += [p for p in seed(max(n, 100)) if "identity" in p["records"]]
        if len(persons) >= n:
            return persons[:n]
    raise AssertionError(f"mdv-seed gave only {len(persons)} persons known in identity")


def bodies_for(persons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    death_date = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    return [declaration_for(p, "child", death_date=death_date) for p in persons]


def wait_on_topic(env, start: dict[int, int], journey_ids: list[str]) -> None:
    """Until every journey's DeathRecorded is on the topic."""
    def there() -> bool:
        seen = {m.headers.get("mdv_journey_id") for m in read_topic(env.kafka_brokers, TOPIC, start)
                if m.headers.get("ce_type") == DEATH_RECORDED}
        return set(journey_ids) <= seen
    wait_until(there, 120, f"the DeathRecorded of {len(journey_ids)} declarations on {TOPIC}", interval=0.5)


def produce_poison(env, partitions: list[int]) -> list[str]:
    """One DeathRecorded that no consumer can decode on each partition;
    returns their ce_ids."""
    producer = Producer(kafka_config(env.kafka_brokers, {"enable.idempotence": True, "acks": "all",
                                                          "logger": KAFKA_LOG}))
    errors: list[Any] = []
    ce_ids = []
    for partition in partitions:
        ce_id = str(uuid.uuid4())
        ce_ids.append(ce_id)
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", ce_id.encode()),
            ("ce_source", b"/mdv/bereavement"),
            ("ce_type", DEATH_RECORDED.encode()),
            ("ce_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode()),
            ("ce_subject", str(uuid.uuid4()).encode()),
            ("content-type", b"application/protobuf"),
        ]
        value = b"\xff\xff\xff\xff" + os.urandom(32)  # field 0, truncated varint: never protobuf
        producer.produce(TOPIC, key=ce_id.encode(), value=value, partition=partition, headers=headers,
                         on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert producer.flush(30) == 0 and not errors, f"poison messages not delivered: {errors}"
    return ce_ids


def assert_each_applied_once(applied_effects, ids: list[str]) -> None:
    counts = applied_effects(VICTIM, ids)
    missing = [j for j in ids if j not in counts]
    doubled = {j: c for j, c in counts.items() if c != 1}
    assert not missing and not doubled, f"{VICTIM}: {len(missing)} journeys without effect, doubled: {doubled}"


def test_a_poison_message_inside_a_batch_goes_alone_to_the_dlq_and_the_others_are_applied_once(
        env, usager, seed, applied_effects):
    url = env.service_urls[VICTIM]
    bodies = bodies_for(persons_known_in_identity(seed, PILE))
    isolated_before = metric_total(url, "mdv_consumer_batches_isolated_total")
    duplicates_before = duplicates_skipped(url)
    start = end_offsets(env.kafka_brokers, TOPIC)
    pause_instance(env, VICTIM)
    try:
        # Real declarations, a poison message on every partition, more
        # declarations: each partition has good messages on both sides.
        ids = [usager.declare_ok(b) for b in bodies[: PILE // 2]]
        wait_on_topic(env, start, ids)
        poison = produce_poison(env, sorted(start))
        ids += [usager.declare_ok(b) for b in bodies[PILE // 2:]]
        wait_on_topic(env, start, ids)
    finally:
        resume_instance(env, VICTIM)

    wait_all_final(usager, ids, FINAL_TIMEOUT, "declarations around poison messages")
    assert_each_applied_once(applied_effects, ids)

    def identity_letters(messages):
        return [m for m in messages if header_dict(m).get("mdv_dlq_service", "").removeprefix("mdv-") == VICTIM
                and header_dict(m).get("ce_id") in poison]

    def all_poison_letters(messages):
        return {header_dict(m)["ce_id"] for m in identity_letters(messages)} >= set(poison)

    dlq = read_dlq(env.kafka_brokers, all_poison_letters)
    letters = identity_letters(dlq)
    assert sorted(header_dict(m)["ce_id"] for m in letters) == sorted(poison), (
        f"{VICTIM} should dead-letter each poison message once: {[header_dict(m) for m in letters]}")
    journeys = set(ids)
    wrongly = [header_dict(m) for m in dlq if header_dict(m).get("mdv_journey_id") in journeys]
    assert not wrongly, f"good messages dead-lettered: {wrongly}"
    # The poison was inside a batch, which was run again one message at a
    # time; nothing had been committed before, so nothing came twice.
    assert metric_total(url, "mdv_consumer_batches_isolated_total") > isolated_before
    assert duplicates_skipped(url) == duplicates_before


def blocked_backend(conn) -> int | None:
    """The identity backend waiting on a lock, if any."""
    row = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = 'mdv_identity'"
                       " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchone()
    return row[0] if row else None


def outbox_locks_held(conn, pid: int) -> int:
    """Aggregates whose events the backend's open transaction wrote to the
    outbox (one advisory lock each, held to the commit)."""
    (n,) = conn.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory'"
                        " AND granted AND classid::bigint = %s", (pid, OUTBOX_LOCK_CLASS)).fetchone()
    return n


def test_a_sigkill_in_the_middle_of_a_batch_loses_nothing_and_applies_nothing_twice(
        env, usager, seed, db, applied_effects):
    identity = db(VICTIM)
    persons = persons_known_in_identity(seed, PILE)
    blocker = identity_person_id(identity, persons[-1])
    start = end_offsets(env.kafka_brokers, TOPIC)
    holder = psycopg.connect(env.dsn(VICTIM), connect_timeout=10)  # a transaction of its own
    pause_instance(env, VICTIM)
    killed = None
    try:
        ids = [usager.declare_ok(b) for b in bodies_for(persons)]
        wait_on_topic(env, start, ids)
        # The last declaration's deceased is locked: identity's batch stops
        # there, its transaction open with the work before it.
        holder.execute("SELECT 1 FROM persons WHERE person_id = %s FOR UPDATE", (blocker,))
        resume_instance(env, VICTIM)
        pid = wait_until(lambda: blocked_backend(identity), 60, f"{VICTIM} waiting on the locked person")
        held = wait_until(lambda: outbox_locks_held(identity, pid), 30,
                          f"{VICTIM}'s blocked transaction holding other journeys' events")
        assert held >= 1
        # Longer than auto.commit.interval.ms: an offset stored before the
        # COMMIT would reach the broker now, and its message be lost.
        time.sleep(2)
        killed = stop_instance(env, VICTIM, "KILL")
    finally:
        holder.rollback()
        holder.close()
        try:
            resume_instance(env, VICTIM)
        except (OSError, ValueError):
            pass  # killed: started below
        env.stack("start-service", VICTIM, timeout=240)
    assert killed is not None and killed.exit_status == "137", killed

    wait_all_final(usager, ids, FINAL_TIMEOUT, f"declarations after {VICTIM} was killed mid-batch")
    assert_each_applied_once(applied_effects, ids)
