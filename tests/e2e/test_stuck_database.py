"""A request whose statement cannot go on (a lock another session holds
and does not release, a server stuck) gets its service's 503 with
Retry-After once the pool's statement_timeout (MDV_PG_STATEMENT_TIMEOUT_MS,
5 s) cancels it, rather than holding its thread and its pooled connection
until the lock goes; the same connection then serves the next request.
The gateway, identity and the partners answer it the same way
(mdv_http_unavailable). A request that finds every pooled connection held
(their requests waiting on such a lock) waits for one only as long as
MDV_PG_POOL_WAIT_MS, then gets the same 503.
Each request holds one pooled connection at most: a page authenticated by
its session cookie reads the session on its own connection.

What cannot be shown on one machine: a peer that vanished (its host gone,
a firewall that dropped the connection's state). The kernel of this host
answers the keepalives and acknowledges the data of every connection it
holds, even to a stopped process; the connections' keepalives and
tcp_user_timeout, which detect that case, are held by tests/unit/test_pg.c
to what every connection is opened with."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import psycopg
import pytest
import requests

from conftest import Databases
from mdv_e2e import (StackEnv, assert_problem, bereavement_declaration, metric_total, mint_partner_token, mint_token,
                     restarted_with, unknown_person, wait_until)
from test_known import lookup, pivot, service_token
from test_signin import AGENT, demo_person, mandated_declaration, signed_in

# The pool's statement_timeout, 5 s, and far enough beyond it that only a
# request left waiting on the lock meets this bound.
HANGS_AFTER_S = 60
RETRY_AFTER = "5"


def assert_unavailable(resp: requests.Response) -> None:
    """Every service's answer when its database cannot serve the request."""
    problem = assert_problem(resp, 503)
    assert problem["type"] == "urn:mdv:problem:unavailable", problem
    assert problem["title"] == "Service momentanément indisponible", problem
    assert resp.headers.get("Retry-After") == RETRY_AFTER, resp.headers


def test_a_request_waiting_on_a_held_lock_answers_503_once_its_statement_times_out(env: StackEnv) -> None:
    agent = signed_in(env, AGENT)
    mandate, _ = mandated_declaration(agent, demo_person(env, 15))
    end = f"/v1/mandates/{mandate['id']}/end"
    # Another session takes the mandate's row and keeps it: ending the
    # mandate (an UPDATE of that row) waits for it.
    with psycopg.connect(env.dsn("gateway"), connect_timeout=10) as holder:
        holder.execute("SELECT 1 FROM mandates WHERE mandate_id = %s FOR UPDATE", (mandate["id"],))
        try:
            stuck = agent.api("POST", end, timeout=HANGS_AFTER_S)
        except requests.Timeout:
            raise AssertionError(f"POST {end} still waiting on the lock after {HANGS_AFTER_S} s") from None
        assert_unavailable(stuck)
        assert agent.api("GET", f"/v1/mandates/{mandate['id']}").json()["ended_at"] is None
        holder.rollback()
    # The lock gone, the same request goes through on the pool's connections.
    again = agent.api("POST", end)
    assert again.status_code == 200 and again.json()["ended_by"] == "agent", again.text


def identity_lookup(env: StackEnv) -> requests.Response:
    return lookup(env, pivot(unknown_person()), service_token(env))


def partner_webhook(env: StackEnv) -> requests.Response:
    return requests.get(env.service_urls["partners"] + "/partners/v1/webhook",
                        headers={"Authorization": f"Bearer {mint_partner_token(env, 'caf')}"},
                        timeout=HANGS_AFTER_S)


# What each service's request reads, and a request that reads it: a table
# locked ACCESS EXCLUSIVE holds even its SELECT. Its answer unlocked: an
# unknown person's address (404), the CAF's endpoint (200, or 404 before
# any registered one).
READERS = {
    "identity": ("persons", identity_lookup, {404}),
    "partners": ("endpoints", partner_webhook, {200, 404}),
}


@pytest.mark.parametrize("service", sorted(READERS))
def test_identity_and_the_partners_answer_a_request_waiting_on_a_lock_as_the_gateway_does(
        env: StackEnv, service: str) -> None:
    table, send, unlocked = READERS[service]
    with psycopg.connect(env.dsn(service), connect_timeout=10) as holder:
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            stuck = send(env)
        except requests.Timeout:
            raise AssertionError(f"{service} still waiting on the lock after {HANGS_AFTER_S} s") from None
        assert_unavailable(stuck)
        holder.rollback()
    again = send(env)
    assert again.status_code in unlocked, again.text


def test_the_journeys_page_waiting_on_a_lock_answers_its_503_page_with_retry_after(env: StackEnv) -> None:
    """The HTML pages' 503 asks a browser to wait as the API's does."""
    headers = {"Authorization": f"Bearer {mint_token(env, 'usager-stuck-page')}"}
    with psycopg.connect(env.dsn("gateway"), connect_timeout=10) as holder:
        holder.execute("LOCK TABLE journeys IN ACCESS EXCLUSIVE MODE")
        try:
            stuck = requests.get(env.gateway_url + "/parcours", headers=headers, timeout=HANGS_AFTER_S)
        except requests.Timeout:
            raise AssertionError(f"GET /parcours still waiting on the lock after {HANGS_AFTER_S} s") from None
        holder.rollback()
    assert stuck.status_code == 503, stuck.text[:300]
    assert stuck.headers["Content-Type"] == "text/html; charset=utf-8", stuck.headers
    assert "<h1>Service momentanément indisponible</h1>" in stuck.text
    assert stuck.headers.get("Retry-After") == RETRY_AFTER, stuck.headers


# identity's pool holds 2 connections (services/identity/main.c) for its 4
# HTTP threads: two lookups waiting on a lock hold them all, and a third
# request still finds a thread to be taken by.
IDENTITY_POOL_SIZE = 2
# The bound under test, short; the statement timeout long, so that only
# the pool's bound can answer the third request while the lock is held.
POOL_WAIT_MS = 500


@pytest.fixture
def identity_with_a_short_pool_wait(env: StackEnv) -> Iterator[None]:
    """identity restarted with MDV_PG_POOL_WAIT_MS=500 and a statement
    timeout past the test; restarted as it was after."""
    with restarted_with(env, ("identity",), MDV_PG_POOL_WAIT_MS=str(POOL_WAIT_MS),
                        MDV_PG_STATEMENT_TIMEOUT_MS=str(HANGS_AFTER_S * 1000)):
        yield


def lookups_waiting_on_a_lock(db: Databases) -> int:
    """identity's address lookups whose statement waits on a lock (the
    lookup's own SQL, services/identity/lookup.c)."""
    return db("identity").execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'mdv_identity'"
        " AND wait_event_type = 'Lock' AND query LIKE '%json_build_object(''lines''%'").fetchone()[0]


def test_a_request_finding_every_pooled_connection_held_answers_503_at_the_pool_wait(
        env: StackEnv, db: Databases, identity_with_a_short_pool_wait: None) -> None:
    token = service_token(env)
    metrics_of = env.service_urls["identity"]
    with psycopg.connect(env.dsn("identity"), connect_timeout=10) as holder, \
            ThreadPoolExecutor(IDENTITY_POOL_SIZE) as threads:
        holder.execute("LOCK TABLE persons IN ACCESS EXCLUSIVE MODE")
        holding = [threads.submit(lookup, env, pivot(unknown_person()), token) for _ in range(IDENTITY_POOL_SIZE)]
        wait_until(lambda: lookups_waiting_on_a_lock(db) == IDENTITY_POOL_SIZE, 30,
                   "both of identity's pooled connections held by lookups waiting on the lock")
        timeouts = metric_total(metrics_of, "mdv_pg_pool_wait_timeouts_total")
        started = time.monotonic()
        try:
            refused = identity_lookup(env)
        except requests.Timeout:
            raise AssertionError("a lookup still waiting for a pooled connection after 30 s") from None
        waited = time.monotonic() - started
        # Answered by the pool's bound, while the two holders still wait.
        assert not any(f.done() for f in holding), [f.result().text for f in holding if f.done()]
        assert_unavailable(refused)
        assert waited >= POOL_WAIT_MS / 1000, waited
        assert metric_total(metrics_of, "mdv_pg_pool_wait_timeouts_total") == timeouts + 1
        holder.rollback()
        # The lock gone, the holders' lookups go through and give their
        # connections back.
        assert [f.result().status_code for f in holding] == [404] * IDENTITY_POOL_SIZE
    assert identity_lookup(env).status_code == 404


@pytest.fixture
def gateway_with_one_pooled_connection(env: StackEnv) -> Iterator[None]:
    """The gateway restarted with a pool of one connection and a short
    wait for it; restarted as it was after."""
    with restarted_with(env, ("gateway",), MDV_PG_POOL_SIZE="1", MDV_PG_POOL_WAIT_MS=str(POOL_WAIT_MS)):
        yield


def test_a_page_by_session_cookie_holds_one_pooled_connection_at_a_time(
        env: StackEnv, gateway_with_one_pooled_connection: None) -> None:
    """Regression: a page took its pooled connection, then the session
    cookie's lookup took a second one from the same pool. With the pool's
    four connections held by four such pages (its four HTTP threads), each
    waited for a second one that none would give back: four 503s at the
    pool's wait. A pool of one shows the same without a race: the page's
    lookup finds the only connection held by its own page."""
    usager = signed_in(env, "MONTELNIL")
    declared = usager.api("POST", "/v1/declarations", json=bereavement_declaration(unknown_person(), "child"))
    assert declared.status_code == 202, declared.text
    journey_id = declared.json()["journey_id"]
    csrf = usager.csrf()
    timeouts = metric_total(env.gateway_url, "mdv_pg_pool_wait_timeouts_total")
    # Every page that authenticates on its own connection, and what it
    # answers this usager: their list, their journey, a rating of a journey
    # not completed yet, the end of a mandate the journey has not.
    pages = [
        (usager.get("/parcours"), 200, "<h1>Mes démarches</h1>"),
        (usager.get(f"/parcours/{journey_id}"), 200, "Je perds un proche"),
        (usager.http.post(f"{env.gateway_url}/parcours/{journey_id}/avis", data={"csrf_token": csrf, "score": "7"},
                          allow_redirects=False, timeout=30), 409, "Démarche pas encore terminée"),
        (usager.http.post(f"{env.gateway_url}/parcours/{journey_id}/fin-du-mandat", data={"csrf_token": csrf},
                          allow_redirects=False, timeout=30), 404, "Démarche introuvable"),
    ]
    answered = [(resp.request.method, resp.url, resp.status_code) for resp, _, _ in pages]
    assert answered == [(resp.request.method, resp.url, status) for resp, status, _ in pages], answered
    for resp, _, text in pages:
        assert text in resp.text, resp.text[:500]
    assert metric_total(env.gateway_url, "mdv_pg_pool_wait_timeouts_total") == timeouts
