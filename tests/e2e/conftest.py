"""Fixtures of the end-to-end suite.

The suite runs against a live local stack whose env file has been sourced
(tests/e2e/run.sh does it): MDV_GATEWAY_URL, MDV_<SERVICE>_URL,
MDV_KAFKA_BROKERS, MDV_PG_HOST/PORT/USER, MDV_JWT_*, MDV_BIN_DIR,
MDV_STACK_DIR.
"""

from __future__ import annotations

import os
import random
import uuid
import zlib
from typing import Any, Callable, Iterator

import psycopg
import pytest

from mdv_e2e import (
    CONSUMER_SERVICES,
    FIGURES,
    StackEnv,
    Usager,
    mint_token,
    seed_persons,
)

# Seeds of this session: a run's own range (MDV_E2E_SEED_BASE makes it
# reproducible), so that a second run against the same stack seeds new
# persons; seed 1 is the stack's own demo data.
SEED_BASE = int(os.environ.get("MDV_E2E_SEED_BASE") or random.SystemRandom().randrange(1 << 30))
_used_seeds: set[int] = {1}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow (fault) tests run last, so that a broken stack cannot hide the
    results of the fast ones."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


def pytest_report_header(config: pytest.Config) -> str:
    return f"mdv-seed seeds from MDV_E2E_SEED_BASE={SEED_BASE}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("mdv figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


# --------------------------------------------------------------------------
# Stack


@pytest.fixture(scope="session")
def env() -> StackEnv:
    try:
        return StackEnv.from_environ()
    except RuntimeError as exc:
        pytest.exit(str(exc), returncode=2)


@pytest.fixture(scope="session")
def _tokens(env: StackEnv) -> dict[str, str]:
    return {}


@pytest.fixture
def token(env: StackEnv, _tokens: dict[str, str]) -> Callable[[str], str]:
    """token(sub) -> a JWT minted by mdv-token for that usager."""

    def mint(sub: str) -> str:
        if sub not in _tokens:
            _tokens[sub] = mint_token(env, sub)
        return _tokens[sub]

    return mint


@pytest.fixture
def make_usager(env: StackEnv, token: Callable[[str], str]) -> Callable[..., Usager]:
    """make_usager() -> a new usager (fresh sub) with a valid token."""

    def make(sub: str | None = None) -> Usager:
        sub = sub or f"usager-{uuid.uuid4()}"
        return Usager(env.gateway_url, sub, token(sub))

    return make


@pytest.fixture
def usager(make_usager: Callable[..., Usager]) -> Usager:
    """A usager of its own for each test, so journey lists never mix."""
    return make_usager()


# --------------------------------------------------------------------------
# Seeded persons


@pytest.fixture
def next_seed(request: pytest.FixtureRequest) -> Callable[[], int]:
    """next_seed() -> a seed never used before in this session (for a test
    that runs mdv-seed itself, e.g. twice with the same seed)."""
    offset = zlib.crc32(request.node.nodeid.encode()) % 1_000_000 * 16

    def take() -> int:
        s = 1000 + (SEED_BASE + offset) % ((1 << 31) - 2000)
        while s in _used_seeds:
            s += 1
        _used_seeds.add(s)
        return s

    return take


@pytest.fixture
def seed(env: StackEnv, request: pytest.FixtureRequest,
         next_seed: Callable[[], int]) -> Callable[[int], list[dict[str, Any]]]:
    """seed(count) -> `count` new persons written by mdv-seed.

    Each call uses a seed of its own, never used before in this session, so
    that the persons of two tests never collide.
    """

    def run(count: int) -> list[dict[str, Any]]:
        s = next_seed()
        request.node.user_properties.append(("mdv-seed", f"--count {count} --seed {s}"))
        return seed_persons(env, count, s)

    return run


@pytest.fixture
def find_persons(seed: Callable[[int], list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
    """find_persons(predicate, n=1) -> n newly seeded persons matching predicate,
    seeding batches until enough are found."""

    def find(predicate: Callable[[dict[str, Any]], bool], n: int = 1, batch: int = 20,
             max_batches: int = 20) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for _ in range(max_batches):
            found += [p for p in seed(batch) if predicate(p)]
            if len(found) >= n:
                return found[:n]
        pytest.fail(f"mdv-seed gave only {len(found)} of {n} persons matching {predicate.__doc__ or predicate}"
                    f" in {max_batches} batches of {batch}")

    return find


# --------------------------------------------------------------------------
# Databases


class Databases:
    """db(service) -> an autocommit connection to mdv_<service> (read only use).

    db.reconnect() drops the connections, e.g. after PostgreSQL restarted.
    """

    def __init__(self, env: StackEnv):
        self.env = env
        self.conns: dict[str, psycopg.Connection] = {}

    def __call__(self, service: str) -> psycopg.Connection:
        conn = self.conns.get(service)
        if conn is None or conn.closed:
            conn = self.conns[service] = psycopg.connect(self.env.dsn(service), autocommit=True, connect_timeout=10)
        return conn

    def reconnect(self) -> None:
        self.close()

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()


@pytest.fixture
def db(env: StackEnv) -> Iterator[Databases]:
    databases = Databases(env)
    yield databases
    databases.close()


@pytest.fixture
def applied_effects(db: Databases) -> Callable[[str, list[str]], dict[str, int]]:
    """applied_effects(service, journey_ids) -> {journey_id: number of rows}."""

    def count(service: str, journey_ids: list[str]) -> dict[str, int]:
        assert service in CONSUMER_SERVICES
        rows = db(service).execute(
            "SELECT journey_id::text, count(*) FROM applied_effects"
            " WHERE journey_id::text = ANY(%s) GROUP BY journey_id",
            (list(journey_ids),),
        ).fetchall()
        return {jid: n for jid, n in rows}

    return count
