"""The delivery core under database and broker trouble (DESIGN.md §5, §10):

- a database that refuses writes for a while (read-only) is the database's
  fault, never the message's: nothing is dead-lettered, every journey
  completes, every effect happens once;
- one aggregate's events reach Kafka in the order their transactions
  committed, even when two transactions write for the same key at once;
- mdv_outbox_backlog counts every event waiting in the outbox, however many.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import requests
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from mdv_e2e import (
    kafka_config,
    assert_one_effect_per_journey,
    declaration_for,
    record_figures,
    summarise,
    wait_all_final,
    wait_until,
)

DLQ_TOPIC = "mdv.dlq.v1"
ABROAD_EVENTS = "mdv.abroad.events.v1"
# A type no service routes: consumers skip it by design, so probes of the
# outbox can travel on a real topic without effect.
PROBE_TYPE = "fr.gouv.mdv.abroad.outbox_probe.v1"
FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "180"))


# ---------------------------------------------------------------- helpers

def metric_sum(url: str, name: str) -> float:
    """Sum of every series of one metric on a process's /metrics."""
    text = requests.get(url + "/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", line)
        if match:
            total += float(match.group(1))
    return total


def metric_over_services(env, name: str) -> float:
    return sum(metric_sum(url, name) for url in env.all_urls.values())


def end_offsets(brokers: str, topic: str) -> dict[int, int]:
    consumer = Consumer(kafka_config(brokers, {"group.id": f"e2e-offsets-{uuid.uuid4()}"}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def admin_dsn(env) -> str:
    # The local cluster trusts its loopback; postgres is its superuser.
    return f"host={env.pg_host} port={env.pg_port} user=postgres dbname=postgres"


def set_read_only(env, on: bool) -> None:
    """default_transaction_read_only for every session, existing ones
    included (a reload reaches them at their next statement)."""
    with psycopg.connect(admin_dsn(env), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")  # this session keeps writing
        if on:
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
        conn.execute("SELECT pg_reload_conf()")


def probe_headers(key: str) -> str:
    return json.dumps({
        "ce_specversion": "1.0", "ce_id": str(uuid.uuid4()), "ce_source": "/mdv/abroad",
        "ce_type": PROBE_TYPE, "ce_time": dt.datetime.now(dt.timezone.utc).isoformat(),
        "ce_subject": key, "content-type": "application/protobuf",
    })


def insert_probe(conn: psycopg.Connection, key: str, payload: bytes) -> None:
    """One outbox row as mdv_outbox_add writes it, inside conn's transaction."""
    conn.execute(
        "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers)"
        " VALUES (%s, 'probe', %s, %s, %s, %s, %s)",
        (str(uuid.uuid4()), key, PROBE_TYPE, payload, ABROAD_EVENTS, probe_headers(key)),
    )


def read_keyed(brokers: str, topic: str, start: dict[int, int], key: str, want: int,
               timeout: float = 60) -> list[bytes]:
    """Values of the messages with this key produced since start, in topic order."""
    consumer = Consumer(kafka_config(brokers, {"group.id": f"e2e-order-{uuid.uuid4()}",
                                               "enable.auto.commit": False}))
    try:
        consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < want and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            if msg.key() == key.encode():
                values.append(msg.value())
        return values
    finally:
        consumer.close()


# ------------------------------------------------ a read-only database

def post_until_accepted(usager, body: dict[str, Any], key: str, deadline: float) -> str:
    """What a client does when the gateway cannot take a declaration for a
    while (503 while the database refuses writes): the same request again,
    same Idempotency-Key, until it is accepted."""
    while True:
        resp = usager.declare(body, idempotency_key=key)
        if resp.status_code == 202:
            return resp.json()["journey_id"]
        assert resp.status_code == 503, f"{resp.status_code} {resp.text}"
        assert time.monotonic() < deadline, "declaration refused until the deadline"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_read_only_database_during_a_burst_dead_letters_nothing(env, usager, find_persons, applied_effects):
    """default_transaction_read_only switched on for some seconds while the
    services work through a burst: every write fails with 25006 meanwhile.
    The messages in hand are held back and retried (counted), none is
    dead-lettered, and afterwards every journey completes with one effect
    per journey."""
    n = 80
    persons = find_persons(lambda p: "identity" in p["records"], n=n, batch=100)
    death_date = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    bodies = [declaration_for(p, "child", death_date=death_date) for p in persons]
    dlq_before = sum(end_offsets(env.kafka_brokers, DLQ_TOPIC).values())
    dead_before = metric_over_services(env, "mdv_messages_dead_lettered_total")
    retried_before = metric_over_services(env, "mdv_messages_retried_total")

    accepted = threading.Event()
    count = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + 120

    def post(i: int) -> str:
        journey_id = post_until_accepted(usager, bodies[i], f"read-only-{uuid.uuid4()}", deadline)
        with lock:
            count[0] += 1
            if count[0] >= n // 4:
                accepted.set()
        return journey_id

    window = 5.0
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(post, i) for i in range(n)]
            assert accepted.wait(60), "the burst did not start"
            set_read_only(env, True)
            time.sleep(window)
            set_read_only(env, False)
            ids = [f.result() for f in futures]
    finally:
        set_read_only(env, False)

    # Dead letters would be written during the window: look before waiting.
    early_dlq = sum(end_offsets(env.kafka_brokers, DLQ_TOPIC).values()) - dlq_before
    assert early_dlq == 0, f"{early_dlq} messages dead-lettered while the database was read-only"
    finals = wait_all_final(usager, ids, FINAL_TIMEOUT, "after a read-only database")
    retried = metric_over_services(env, "mdv_messages_retried_total") - retried_before
    dead = metric_over_services(env, "mdv_messages_dead_lettered_total") - dead_before
    dlq = sum(end_offsets(env.kafka_brokers, DLQ_TOPIC).values()) - dlq_before
    record_figures(env, [
        f"[read_only_database] {n} declarations, default_transaction_read_only on for {window:.0f} s"
        f" a quarter of the way through: {retried:.0f} messages held back and retried, {dead:.0f} dead letters",
    ])

    assert dead == 0 and dlq == 0, f"{dead:.0f} dead-lettered ({dlq} on {DLQ_TOPIC})"
    # The window hit work in flight: writes were refused and retried.
    assert retried > 0, "no message was retried: the read-only window missed the work"
    for journey_id in ids:
        assert finals.journeys[journey_id]["status"] == "completed", summarise(finals.journeys[journey_id])
    assert_one_effect_per_journey(applied_effects, ids)


# ------------------------------------------------ commit order per key

def test_one_keys_events_reach_kafka_in_the_order_their_transactions_committed(env):
    """Two transactions write an event for the same key at once; the one
    that started writing first commits last if it can. Kafka must show the
    events in commit order, which is not the order their rows were
    allocated in."""
    key = f"order-probe-{uuid.uuid4()}"
    start = end_offsets(env.kafka_brokers, ABROAD_EVENTS)
    first = psycopg.connect(env.dsn("abroad"))
    second = psycopg.connect(env.dsn("abroad"))
    commits: list[bytes] = []
    # Each commit and its note in one critical section: the order of the
    # notes is the order of the commits.
    noting = threading.Lock()
    try:
        insert_probe(first, key, b"first-writer")

        def second_writer() -> None:
            insert_probe(second, key, b"second-writer")
            with noting:
                second.commit()
                commits.append(b"second-writer")

        writer = threading.Thread(target=second_writer)
        writer.start()
        writer.join(timeout=1.5)  # free to commit before the first, if nothing stops it
        with noting:
            first.commit()
            commits.append(b"first-writer")
        writer.join(timeout=30)
        assert not writer.is_alive()
    finally:
        first.close()
        second.close()

    published = read_keyed(env.kafka_brokers, ABROAD_EVENTS, start, key, want=2)
    assert published == commits, f"committed in the order {commits}, published as {published}"


@pytest.mark.parametrize("service", ["gateway", "abroad", "partners"])
def test_each_outbox_row_draws_one_seq(env, service):
    """The commit-order trigger draws a row's seq, and nothing else does
    (the column's default used to draw one more per row, which the trigger
    replaced): rows written by one statement, with every other writer held
    off by a lock, get consecutive seqs. Rolled back: nothing is sent."""
    with psycopg.connect(env.dsn(service)) as conn:
        conn.execute("LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE")
        seqs = [r[0] for r in conn.execute(
            "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers)"
            " SELECT gen_random_uuid(), 'probe', 'seq-probe-' || i, %s, '\\x00', %s, '{}'"
            " FROM generate_series(1, 4) i RETURNING seq", (PROBE_TYPE, ABROAD_EVENTS)).fetchall()]
        conn.rollback()
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 4)), seqs


@pytest.mark.parametrize("service", ["gateway", "abroad", "partners"])
def test_the_outbox_has_no_index_nothing_reads(env, service):
    """The relay reads by seq; nothing looks a row up by its id (a fresh
    UUID, the event's ce_id): its unique index only cost every row a
    random btree insert."""
    with psycopg.connect(env.dsn(service)) as conn:
        indexes = [r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'outbox'")]
    assert indexes == ["outbox_pkey"]


def test_different_keys_do_not_wait_for_each_other(env):
    """The per-key turn serialises one aggregate's writers only."""
    first = psycopg.connect(env.dsn("abroad"))
    second = psycopg.connect(env.dsn("abroad"))
    try:
        insert_probe(first, f"order-probe-{uuid.uuid4()}", b"a")
        started = time.monotonic()
        insert_probe(second, f"order-probe-{uuid.uuid4()}", b"b")
        second.commit()
        assert time.monotonic() - started < 1.0, "a writer for another key waited"
        first.commit()
    finally:
        first.close()
        second.close()


# ------------------------------------------------ the backlog metric

def kafka_pid(env) -> int:
    assert env.stack_dir, "MDV_STACK_DIR is needed to find the broker"
    return int((env.stack_dir / "pids" / "kafka.pid").read_text().split()[0])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_backlog_metric_counts_every_event_waiting_in_the_outbox(env):
    """With the broker frozen (SIGSTOP), 600 events committed in abroad's
    outbox cannot leave: mdv_outbox_backlog must say 600, not the relay's
    batch size. Once the broker runs again they all leave and the metric
    falls back to 0."""
    n = 600
    key = f"backlog-probe-{uuid.uuid4()}"
    url = env.service_urls["abroad"]
    start = end_offsets(env.kafka_brokers, ABROAD_EVENTS)
    pid = kafka_pid(env)
    os.kill(pid, signal.SIGSTOP)
    try:
        with psycopg.connect(env.dsn("abroad")) as conn:
            for i in range(n):
                insert_probe(conn, key, str(i).encode())
        seen = wait_until(lambda: (v := metric_sum(url, "mdv_outbox_backlog")) >= n and v, 15,
                          f"mdv_outbox_backlog reaching {n}", interval=0.3)
    finally:
        os.kill(pid, signal.SIGCONT)
    record_figures(env, [f"[outbox_backlog] broker frozen, {n} events committed: mdv_outbox_backlog = {seen:.0f}"])
    wait_until(lambda: metric_sum(url, "mdv_outbox_backlog") == 0, 90, "the backlog draining to 0", interval=0.5)
    published = read_keyed(env.kafka_brokers, ABROAD_EVENTS, start, key, want=n, timeout=60)
    assert [int(v) for v in published] == list(range(n))


# ------------------------------------------------ an idle stack

IDLE_SERVICES = ("identity", "student", "bereavement", "housing", "abroad")
IDLE_WINDOW = 10.0  # seconds; the relay's fallback poll comes every 5


def commits_by_database(env) -> dict[str, int]:
    """xact_commit of each service database, read from the postgres
    database so that the reading itself is counted in none of them."""
    with psycopg.connect(admin_dsn(env), autocommit=True) as conn:
        rows = conn.execute("SELECT datname, xact_commit FROM pg_stat_database"
                            " WHERE datname = ANY(%s)", ([f"mdv_{s}" for s in IDLE_SERVICES],)).fetchall()
    return {name.removeprefix("mdv_"): n for name, n in rows}


@pytest.mark.timeout(180)
def test_an_idle_service_commits_only_its_relays_fallback_poll(env):
    """With nothing to do, a service's database sees its relay's fallback
    poll (one read every 5 s: NOTIFY wakes the relay for every event the
    library writes) and nothing else: no poll twice a second, no backlog
    count once a second while the relay knows the outbox is empty (the
    three made 3 commits a second per service, most of an idle stack's
    commits). Waits for a quiet window, since earlier tests may leave work
    in flight; mdv_outbox_backlog still says 0."""
    most = 5  # two polls in the window, autovacuum, the statistics' own lag
    seen: list[dict[str, int]] = []

    def quiet_window() -> bool:
        before = commits_by_database(env)
        time.sleep(IDLE_WINDOW)
        after = commits_by_database(env)
        seen.append({s: after[s] - before[s] for s in IDLE_SERVICES})
        return all(n <= most for n in seen[-1].values())

    try:
        wait_until(quiet_window, 120, f"a {IDLE_WINDOW:g} s window with at most {most} commits per service",
                   interval=0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; commits per window seen: {seen}") from None
    record_figures(env, [f"[idle] commits in {IDLE_WINDOW:g} s per idle service: {seen[-1]}"])
    for s in IDLE_SERVICES:
        assert metric_sum(env.service_urls[s], "mdv_outbox_backlog") == 0, s


@pytest.mark.timeout(240)
def test_a_train_of_events_costs_the_relay_one_commit_each(env):
    """Events committed one after another, 0.1 s apart, as a service's
    messages come under a steady load: each relay round deletes what the
    last one sent with its own read, so the train costs the relay about one
    transaction per event (plus one to delete the last), not two (the read,
    then the deletion on an empty read). Counted by the relay itself
    (mdv_outbox_relay_rounds_total: PostgreSQL's statistics of a session
    lag by up to 10 s); every event reaches the topic in order and leaves
    the outbox. Tried up to three times: a fallback poll or work left by
    earlier tests only adds rounds."""
    k = 20
    url = env.service_urls["abroad"]
    spent: list[float] = []
    for attempt in range(3):
        key = f"train-probe-{uuid.uuid4()}"
        start = end_offsets(env.kafka_brokers, ABROAD_EVENTS)
        before = metric_sum(url, "mdv_outbox_relay_rounds_total")
        with psycopg.connect(env.dsn("abroad"), autocommit=True) as conn:
            for i in range(k):
                with conn.transaction():
                    insert_probe(conn, key, str(i).encode())
                    conn.execute("SELECT pg_notify('mdv_outbox', '')")
                time.sleep(0.1)
            wait_until(lambda: conn.execute("SELECT count(*) = 0 FROM outbox WHERE aggregateid = %s",
                                            (key,)).fetchone()[0], 30, "the train to leave the outbox")
        published = read_keyed(env.kafka_brokers, ABROAD_EVENTS, start, key, want=k, timeout=60)
        assert [int(v) for v in published] == list(range(k))
        spent.append(metric_sum(url, "mdv_outbox_relay_rounds_total") - before)
        if spent[-1] <= k + 3:
            break
    record_figures(env, [f"[relay] transactions for a train of {k} events 0.1 s apart: {spent}"])
    assert spent[-1] <= k + 3, f"relay transactions per attempt for {k} events: {spent}"
