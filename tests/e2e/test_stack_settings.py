"""The throw-away test stack runs PostgreSQL as tests/e2e/run.sh asked
(MDV_PG_FSYNC=off reaches the server through deploy/local/stack.sh); the
durable default of `make up` is checked in tests/static. The services
reach it over its Unix socket."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psycopg
import pytest
from mdv_e2e import SERVICES, instance_pid, restarted_with


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


def test_the_stack_loads_pg_stat_statements(env):
    """make bench reads the statements' time per declaration from it
    (README, Performance), and anyone diagnosing the stack may too. Only
    the cluster's superuser may read the setting (trust, as stack.sh made
    the local cluster)."""
    with psycopg.connect(env.dsn("gateway"), user="postgres") as conn:
        loaded = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
        planning = conn.execute("SHOW pg_stat_statements.track_planning").fetchone()[0]
    assert "pg_stat_statements" in loaded.split(", ")
    # The summary's "planned" figure: without it every statement reads as
    # never planned.
    assert planning == "on"


def test_the_broker_runs_with_the_threads_it_was_given(env):
    """deploy/local/kafka/server.properties.in sizes the broker's threads
    for two cores and spaces its controller's no-op records (README,
    Performance); the broker logs the configuration
    it started with, and its last start is what runs now."""
    assert env.stack_dir is not None, "MDV_STACK_DIR is not set"
    text = (env.stack_dir / "logs" / "kafka.log").read_text(encoding="utf-8", errors="replace")
    started = text.rsplit("KafkaConfig values:", 1)
    assert len(started) == 2, "the broker logged no configuration"
    values = dict(re.findall(r"^\t([a-z.]+) = (.*)$", started[1], re.M))
    assert (values.get("num.network.threads"), values.get("num.io.threads")) == ("1", "2")
    assert values.get("metadata.max.idle.interval.ms") == "5000"


def consumer_environment(env, instance: str) -> dict[str, str]:
    """The MDV_CONSUMER_* an instance runs with (its /proc environment)."""
    raw = Path(f"/proc/{instance_pid(env, instance)}/environ").read_bytes()
    pairs = (v.decode().split("=", 1) for v in raw.split(b"\0") if v.startswith(b"MDV_CONSUMER_"))
    return dict(pairs)


def test_a_service_alone_gets_its_own_consumer_settings(env):
    """MDV_<NAME>_CONSUMER_* reaches service NAME alone, as MDV_CONSUMER_*,
    over the MDV_CONSUMER_* every service inherits (deploy/local/stack.sh):
    how the bench measures one consumer's batch settings (README,
    Performance). Two services restarted with the same environment, then
    restarted as they were."""
    with restarted_with(env, ("housing", "abroad"), MDV_CONSUMER_BATCH_WAIT_MS="3",
                        MDV_HOUSING_CONSUMER_BATCH_WAIT_MS="7"):
        assert consumer_environment(env, "housing") == {"MDV_CONSUMER_BATCH_WAIT_MS": "7"}
        assert consumer_environment(env, "abroad") == {"MDV_CONSUMER_BATCH_WAIT_MS": "3"}
