"""A request whose statement cannot go on (a lock another session holds
and does not release, a server stuck) gets its service's 503 with
Retry-After once the pool's statement_timeout (MDV_PG_STATEMENT_TIMEOUT_MS,
5 s) cancels it, rather than holding its thread and its pooled connection
until the lock goes; the same connection then serves the next request.
The gateway, identity and the partners answer it the same way
(mdv_http_unavailable).

What cannot be shown on one machine: a peer that vanished (its host gone,
a firewall that dropped the connection's state). The kernel of this host
answers the keepalives and acknowledges the data of every connection it
holds, even to a stopped process; the connections' keepalives and
tcp_user_timeout, which detect that case, are held by tests/unit/test_pg.c
to what every connection is opened with."""

from __future__ import annotations

import psycopg
import pytest
import requests

from mdv_e2e import StackEnv, assert_problem, mint_partner_token, mint_token, unknown_person
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
