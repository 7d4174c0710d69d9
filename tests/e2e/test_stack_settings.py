"""The throw-away test stack runs PostgreSQL as tests/e2e/run.sh asked
(MDV_PG_FSYNC=off reaches the server through deploy/local/stack.sh); the
durable default of `make up` is checked in tests/static."""

from __future__ import annotations

import os


def test_the_test_stack_runs_postgresql_as_asked(db):
    conn = db("gateway")
    settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("fsync", "synchronous_commit", "full_page_writes")}
    assert settings == {"fsync": os.environ.get("MDV_PG_FSYNC", "on"),
                        "synchronous_commit": "on", "full_page_writes": "on"}
