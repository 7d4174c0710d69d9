"""How a service's writers wake its outbox relay (README, Performance;
shared/outbox.c): a writer in the process whose relay leads wakes it in
the process once its transaction committed, with no NOTIFY (each NOTIFY
costs every session listening in the database a transaction); a writer
in a process whose relay stands by notifies, for the replica that leads.

What woke a relay shows in mdv_outbox_relay_wakes_total{by="process"}
and {by="notification"}: a relay woken by neither waited for its fallback
poll (5 s), so the counters tell a prompt relay from a late one without
timing anything."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from mdv_e2e import (
    SERVICES,
    declaration_for,
    effects_by_instance,
    knows,
    record_figures,
    stack_env_file,
    wait_until,
)

ALL = ("gateway", *SERVICES)
PRODUCED = "mdv_messages_produced_total"
ROUNDS = "mdv_outbox_relay_rounds_total"
WAKES = "mdv_outbox_relay_wakes_total"


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of the samples `name` whose labels include `labels` (0 when
    the process has reported none)."""
    text = requests.get(url + "/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def listen(env, service: str) -> psycopg.Connection:
    conn = psycopg.connect(env.dsn(service), autocommit=True)
    conn.execute("LISTEN mdv_outbox")
    return conn


def notifications(conn: psycopg.Connection) -> int:
    """The notifications that reached conn (delivered at the writers'
    commits, so all of them by now), taken."""
    return sum(1 for _ in conn.notifies(timeout=1.0))


def test_a_leading_relays_own_writers_notify_no_one_and_wake_it_in_the_process(env, usager, find_persons):
    """One instance of each service, so each relay leads: a declaration
    that every service acts on (each writes events) sends no notification
    on mdv_outbox in any database, and every relay that produced was
    woken by its own process."""
    urls = {"gateway": env.gateway_url, **env.service_urls}
    listeners = {s: listen(env, s) for s in ALL}
    try:
        for conn in listeners.values():
            notifications(conn)  # what earlier tests left
        produced = {s: metric(urls[s], PRODUCED) for s in ALL}
        woken = {s: metric(urls[s], WAKES, by="process") for s in ALL}
        person = find_persons(lambda p: knows(p, "student", "housing"))[0]
        usager.wait_journey(usager.declare_ok(declaration_for(person)))
        heard = {s: notifications(conn) for s, conn in listeners.items()}
        producers = [s for s in ALL if metric(urls[s], PRODUCED) > produced[s]]
        woken_after = {s: metric(urls[s], WAKES, by="process") for s in producers}
    finally:
        for conn in listeners.values():
            conn.close()
    assert {"gateway", "identity", "bereavement", "student", "housing"} <= set(producers), producers
    assert not any(heard.values()), f"NOTIFY mdv_outbox per database: {heard}"
    assert all(woken_after[s] > woken[s] for s in producers), (woken, woken_after)


def rounds_move(url: str, seconds: float = 6.0) -> bool:
    """Whether the relay of this instance runs rounds: the one that leads
    polls at least every 5 s; one that stands by runs none."""
    before = metric(url, ROUNDS)
    time.sleep(seconds)
    return metric(url, ROUNDS) > before


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_writer_whose_relay_stands_by_notifies_the_leader(env, make_usager, find_persons, db):
    """Two student instances: the first one's relay leads (it started
    first), the second stands by. An event the second writes is
    notified (seen by a session listening on mdv_outbox), and the leader
    was woken by that notification, not by its poll."""
    service = "student"
    env.stack("scale", service, "2", timeout=240)
    try:
        urls = stack_env_file(env)[f"MDV_{service.upper()}_URLS"].split()
        assert len(urls) == 2, urls
        leading = [u for u in urls if rounds_move(u)]
        assert len(leading) == 1, f"relays running rounds: {leading} of {urls}"
        standby = next(u for u in urls if u not in leading)
        standby_instance = f"{service}-{urls.index(standby) + 1}"
        listener = listen(env, service)
        try:
            notifications(listener)
            notified = metric(leading[0], WAKES, by="notification")
            usager = make_usager()
            ids: list[str] = []

            def standby_applied() -> bool:
                person = find_persons(lambda p: knows(p, service))[0]
                ids.append(usager.declare_ok(declaration_for(person)))
                time.sleep(1)
                return effects_by_instance(db(service), ids).get(standby_instance, 0) > 0

            wait_until(standby_applied, 240, f"{standby_instance} applying an effect", interval=0)
            for journey_id in ids:
                usager.wait_journey(journey_id)
            heard = notifications(listener)
        finally:
            listener.close()
        assert heard > 0, f"{standby_instance} wrote events without NOTIFY mdv_outbox"
        assert metric(leading[0], WAKES, by="notification") > notified
        assert metric(standby, ROUNDS) == 0, "the standby relay ran rounds"
    finally:
        env.stack("scale", service, "1", timeout=240)


WINDOW = 12.0  # seconds: past the statistics' lag (about 10 s), two relay polls


def commits(env, service: str) -> int:
    """pg_stat_database.xact_commit of mdv_<service>, read from the
    postgres database so that the reading counts in neither."""
    dsn = f"host={env.pg_host} port={env.pg_port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s",
                            (f"mdv_{service}",)).fetchone()[0]


def notify_window(env, service: str, k: int, seen: list[int], most: int) -> bool:
    """k notifications on a channel nobody listens to, one transaction
    each, 0.2 s apart so that the listeners are idle for each; the
    service's commits over the window besides those k into seen, and
    whether they stayed at most `most`."""
    before = commits(env, service)
    started = time.monotonic()
    with psycopg.connect(env.dsn(service), autocommit=True) as conn:
        for _ in range(k):
            conn.execute("SELECT pg_notify('mdv_test_probe', '')")
            time.sleep(0.2)
    time.sleep(max(0.0, WINDOW - (time.monotonic() - started)))
    seen.append(commits(env, service) - before - k)
    return seen[-1] <= most


@pytest.mark.timeout(240)
def test_a_notify_in_the_gateways_database_is_read_by_one_session(env):
    """Every listening session of a database runs a transaction to read
    each NOTIFY there, whatever its channel. The gateway listens on one
    session (the journeys' cache's, live.c, which wakes the relay too),
    not two (the relay listened on its own): k notifications cost it about
    k commits, 2k before. The relay still hears of rows written by hand
    with a NOTIFY (a replica that stands by writes them so), and a
    journey change still reaches the cache (test_journey_cache.py). Two
    listening sessions would cost 2k for the reads alone."""
    k = 20
    most = 2 * k - 2  # under two sessions' reads alone: one session's, plus the polls
    seen: list[int] = []
    try:
        wait_until(lambda: notify_window(env, "gateway", k, seen, most), 200,
                   f"{k} notifications costing the gateway at most {most} commits", interval=0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; commits per window seen: {seen}") from None
    record_figures(env, [f"[gateway] commits for {k} notifications: {seen[-1]}"])

    notified = metric(env.gateway_url, WAKES, by="notification")
    with psycopg.connect(env.dsn("gateway"), autocommit=True) as conn:
        conn.execute("SELECT pg_notify('mdv_outbox', '')")
    wait_until(lambda: metric(env.gateway_url, WAKES, by="notification") > notified, 30,
               "the gateway's relay woken by a NOTIFY mdv_outbox")


RELAY_ROUND = "WITH sent AS (DELETE FROM outbox WHERE seq = ANY($1::bigint[]))%"


def relay_round_counts(env) -> tuple[int, int]:
    """(calls, plans) of the relays' round statement in every service
    database, from pg_stat_statements (read by the cluster's superuser;
    the stack tracks planning)."""
    with psycopg.connect(env.dsn("gateway"), user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        row = conn.execute(
            "SELECT coalesce(sum(s.calls), 0), coalesce(sum(s.plans), 0) FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname LIKE 'mdv\\_%%' AND s.query LIKE %s",
            (RELAY_ROUND,)).fetchone()
    return int(row[0]), int(row[1])


def test_a_relays_round_is_planned_once_and_not_at_every_call(env, usager, find_persons):
    """The round is prepared once per session (shared/pg_statements.c),
    but PostgreSQL's plan cache may still plan it at every call: with the
    outbox's dead rows at the end of its index, a custom plan keeps looking
    cheaper than the generic one, and each call paid 0.1-0.2 ms of planning
    (README, Performance). The relay's session takes the generic plan
    (an index scan on seq, right for any batch): a few plans at most (one
    per session, again after an ANALYZE of the outbox) for every round."""
    calls0, plans0 = relay_round_counts(env)
    persons = find_persons(lambda p: knows(p, "student", "housing"), n=6)
    for person in persons:
        usager.wait_journey(usager.declare_ok(declaration_for(person)))
    calls, plans = (a - b for a, b in zip(relay_round_counts(env), (calls0, plans0)))
    assert calls >= 20, f"only {calls} rounds: the declarations made no relay work"
    assert plans * 4 <= calls, f"{plans} plans for {calls} rounds"
