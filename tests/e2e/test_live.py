"""Runs the C tests of tests/live/ (modules of shared/ against the real
servers of the test stack), each with a scratch database of its own."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql


def live_binaries(env) -> list[Path]:
    # build/bin -> build/tests/live (build/asan/bin -> build/asan/tests/live)
    folder = env.bin_dir.parent / "tests" / "live"
    found = sorted(p for p in folder.glob("test_*") if p.is_file())
    assert found, f"no live test binary in {folder}: build with make e2e"
    return found


@pytest.fixture
def scratch_dsn(env):
    """A database of its own, owned by the services' role, dropped after."""
    name = f"mdv_live_{uuid.uuid4().hex[:12]}"
    admin = f"host={env.pg_host} port={env.pg_port} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name),
                                                                   sql.Identifier(env.pg_user)))
    try:
        yield f"host={env.pg_host} port={env.pg_port} user={env.pg_user} dbname={name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_live_c_tests_pass(env, scratch_dsn):
    for binary in live_binaries(env):
        run = subprocess.run([str(binary)], env={**env.process_env, "MDV_LIVE_PG_DSN": scratch_dsn},
                             capture_output=True, text=True, timeout=120)
        report = "\n".join(line for line in (run.stdout + run.stderr).splitlines()
                           if not line.startswith('{"time"'))
        assert run.returncode == 0, f"{binary.name} failed:\n{report}"
        assert "[  PASSED  ]" in run.stdout + run.stderr, report
