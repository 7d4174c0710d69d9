"""Every service that applies steps with mdv_journey_apply_step
(shared/journey.c) creates the applied_effects table it writes (one row per
journey and step: the exactly-once evidence); the occurrences table (the key
that recognises the same death declared twice) comes from the library. A
service without applied_effects would dead-letter every event it handles."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLES = ("applied_effects",)


def death_consumers():
    # Any file of the service: its handlers may live beside main.c.
    return sorted({p.parent.name for p in (REPO / "services").glob("*/*.c")
                   if "mdv_journey_apply_step" in p.read_text()})


def test_there_are_death_consumers():
    assert len(death_consumers()) >= 4


@pytest.mark.parametrize("service", death_consumers())
def test_death_consumer_creates_the_tables_the_shared_consumer_writes(service):
    sql = "\n".join(p.read_text() for p in sorted((REPO / "services" / service / "migrations").glob("*.sql")))
    for table in TABLES:
        assert re.search(rf"CREATE TABLE {table}\b", sql), f"{service} creates no {table} table"
