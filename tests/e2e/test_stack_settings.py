"""The throw-away test stack runs PostgreSQL as tests/e2e/run.sh asked
(MDV_PG_FSYNC=off reaches the server through deploy/local/stack.sh); the
durable default of `make up` is checked in tests/static. The services
reach it over its Unix socket."""

from __future__ import annotations

import os

import pytest
from mdv_e2e import SERVICES


def test_the_test_stack_runs_postgresql_as_asked(db):
    conn = db("gateway")
    settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("fsync", "synchronous_commit", "full_page_writes")}
    assert settings == {"fsync": os.environ.get("MDV_PG_FSYNC", "on"),
                        "synchronous_commit": "on", "full_page_writes": "on"}


@pytest.mark.parametrize("service", ("gateway",) + SERVICES)
def test_each_service_reaches_postgresql_over_the_unix_socket(db, service):
    """Loopback TCP cost the services and PostgreSQL CPU on every statement
    (README, Performance): the local stack's DSN names the socket folder.
    The tests' own connections come over TCP, so a backend without a client
    address is a service's."""
    conn = db(service)
    rows = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND backend_type = 'client backend' AND client_addr IS NULL").fetchone()
    assert rows[0] >= 1
