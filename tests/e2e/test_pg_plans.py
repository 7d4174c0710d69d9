"""Statements that run for every declaration find their rows through an
index rather than by reading a table that grows with every declaration.
The test stack's tables are nearly empty, where PostgreSQL rightly reads
them whole: each test fills the table as a long-lived stack would, inside
a transaction it rolls back (its statistics too), and reads the plan the
services' prepared statement would get."""

from __future__ import annotations

import psycopg

NOTICES = 20000


def test_the_notices_a_journey_repeats_are_found_by_index(env):
    """partners' recipients.c: a step's notice and the later journeys' that
    repeat it, for each recipient event of a declaration. Each side of its
    OR must be an index's condition, not a filter over the step's notices."""
    with psycopg.connect(env.dsn("partners")) as conn:
        conn.execute(
            "INSERT INTO notices (journey_id, step_code, partner, source_ce_id, occurrence, repeat_of)"
            " SELECT gen_random_uuid(), 'partners.plan_probe_' || (i %% 4), 'caf', 'e2e', 'plan-probe-' || i,"
            " CASE WHEN i %% 50 = 0 THEN gen_random_uuid() END FROM generate_series(1, %s) i", (NOTICES,))
        conn.execute("ANALYZE notices")
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute("PREPARE repeats (uuid, text) AS SELECT n.journey_id FROM notices n"
                     " WHERE n.step_code = $2 AND (n.journey_id = $1 OR n.repeat_of = $1)")
        text = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN EXECUTE repeats (gen_random_uuid(), 'partners.plan_probe_1')"))
        conn.rollback()
    conditions = [line.strip() for line in text.splitlines() if line.strip().startswith("Index Cond:")]
    assert any("journey_id = $1" in c for c in conditions), text
    assert any("repeat_of = $1" in c for c in conditions), text
