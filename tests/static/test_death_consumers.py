"""Every service that applies deaths through the shared consumer
(shared/journey.c) creates the tables that consumer writes: applied_effects
(one row per death applied) and deaths_applied (the key that recognises the
same death declared twice). A service without them would dead-letter every
DeathRecorded."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLES = ("applied_effects", "deaths_applied")


def death_consumers():
    return sorted(p.parent.name for p in (REPO / "services").glob("*/main.c")
                  if "mdv_journey_run_death_consumer" in p.read_text())


def test_there_are_death_consumers():
    assert len(death_consumers()) >= 4


@pytest.mark.parametrize("service", death_consumers())
def test_death_consumer_creates_the_tables_the_shared_consumer_writes(service):
    sql = "\n".join(p.read_text() for p in sorted((REPO / "services" / service / "migrations").glob("*.sql")))
    for table in TABLES:
        assert re.search(rf"CREATE TABLE {table}\b", sql), f"{service} creates no {table} table"
