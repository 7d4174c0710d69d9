"""A request whose statement cannot go on (a lock another session holds
and does not release, a server stuck) gets the gateway's 503 with
Retry-After once the pool's statement_timeout (MDV_PG_STATEMENT_TIMEOUT_MS,
5 s) cancels it, rather than holding its thread and its pooled connection
until the lock goes; the same connection then serves the next request.

What cannot be shown on one machine: a peer that vanished (its host gone,
a firewall that dropped the connection's state). The kernel of this host
answers the keepalives and acknowledges the data of every connection it
holds, even to a stopped process; the connections' keepalives and
tcp_user_timeout, which detect that case, are held by tests/unit/test_pg.c
to what every connection is opened with."""

from __future__ import annotations

import psycopg
import requests

from mdv_e2e import StackEnv, assert_problem
from test_signin import AGENT, demo_person, mandated_declaration, signed_in

# The pool's statement_timeout, 5 s, and far enough beyond it that only a
# request left waiting on the lock meets this bound.
HANGS_AFTER_S = 60


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
        problem = assert_problem(stuck, 503)
        assert problem["title"] == "Service momentanément indisponible", problem
        assert stuck.headers.get("Retry-After") == "5", stuck.headers
        assert agent.api("GET", f"/v1/mandates/{mandate['id']}").json()["ended_at"] is None
        holder.rollback()
    # The lock gone, the same request goes through on the pool's connections.
    again = agent.api("POST", end)
    assert again.status_code == 200 and again.json()["ended_by"] == "agent", again.text
