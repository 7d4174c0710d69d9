"""The local stack's PostgreSQL is durable unless told otherwise.

`make up` starts the stack a user keeps their data in, so its PostgreSQL
must run with fsync, synchronous_commit and full_page_writes on; only the
end-to-end tests' throw-away stack turns fsync off, through MDV_PG_FSYNC.
These tests ask deploy/local/stack.sh for the settings it writes (its
`pg-settings` command starts nothing) and read the files that decide them.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK_SH = REPO / "deploy" / "local" / "stack.sh"
E2E_RUN = REPO / "tests" / "e2e" / "run.sh"
MAKEFILE = REPO / "Makefile"

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def stack_settings(tmp_path, **extra):
    """{name: value} of what `stack.sh pg-settings` prints, in an environment
    without any MDV_ variable of the caller's (a sourced stack env would
    otherwise leak in)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MDV_")}
    environ.update(MDV_STACK_DIR=str(tmp_path / "stack"), **extra)
    proc = subprocess.run(["bash", str(STACK_SH), "pg-settings"], env=environ,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    settings = {}
    for line in proc.stdout.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    return settings


def test_the_default_stack_is_durable(tmp_path):
    settings = stack_settings(tmp_path)
    assert {k: settings.get(k) for k in DURABLE} == DURABLE


def test_make_up_does_not_turn_durability_off():
    recipe = re.search(r"^up:.*?(?=^\S)", MAKEFILE.read_text(), re.M | re.S).group(0)
    assert "MDV_PG_FSYNC" not in recipe


def test_fsync_off_only_when_asked(tmp_path):
    settings = stack_settings(tmp_path, MDV_PG_FSYNC="off")
    assert settings["fsync"] == "off"
    assert settings["synchronous_commit"] == "on"


def test_an_unknown_value_is_refused(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MDV_")}
    environ.update(MDV_STACK_DIR=str(tmp_path / "stack"), MDV_PG_FSYNC="no")
    proc = subprocess.run(["bash", str(STACK_SH), "pg-settings"], env=environ,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "MDV_PG_FSYNC" in proc.stderr


def test_no_other_line_of_stack_sh_sets_durability():
    """Only pg_durability_settings writes these settings: a line elsewhere
    (in the postgresql.conf written at initdb, say) could undo them."""
    text = STACK_SH.read_text()
    body = re.search(r"^pg_durability_settings\(\) \{\n(.*?)^\}", text, re.M | re.S)
    assert body, "stack.sh has no pg_durability_settings function"
    outside = text.replace(body.group(1), "")
    pattern = re.compile(r"^\s*(?:echo\s+\"?)?(fsync|synchronous_commit|full_page_writes)\s*=", re.M)
    assert not pattern.findall(outside)


@pytest.mark.parametrize("path", [E2E_RUN], ids=["tests/e2e/run.sh"])
def test_the_throw_away_test_stack_asks_for_fsync_off(path):
    assert re.search(r"^export MDV_PG_FSYNC=off$", path.read_text(), re.M)


def test_compose_loads_pg_stat_statements_as_the_local_stack_does(tmp_path):
    """The local stack's workload settings (stack.sh pg-settings) are the
    compose PostgreSQL's too."""
    import yaml

    settings = stack_settings(tmp_path)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = compose["services"]["postgres"]["command"]
    given = dict(arg.split("=", 1) for arg in command[2::2])
    assert given["shared_preload_libraries"] == settings["shared_preload_libraries"].strip("'")
    assert given["pg_stat_statements.track"] == settings["pg_stat_statements.track"]
