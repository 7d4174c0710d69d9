"""Fixtures of the container tests: the end-to-end suite's own (tests/e2e's
conftest: usagers, tokens, seeded persons, databases, effects counted), and
the fleet of containers, started once for the session: every service as
its image (student three times), then every partner's simulator as compose
runs it (the webhook ones with a token the tools image mints as the README
says, ready once their endpoints are registered)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests

E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))

from containers import (  # noqa: E402
    SERVICES,
    Fleet,
    compose,
    compose_environment,
    compose_spec,
    partner_channels,
    webhook_partners,
)
from mdv_e2e import StackEnv, wait_until  # noqa: E402

# The gateway in its container checks the issuer and audience compose gives
# it; the tests' tokens (mdv-token) must carry those.
for _name in ("MDV_JWT_ISSUER", "MDV_JWT_AUDIENCE"):
    os.environ[_name] = compose_environment("gateway")[_name]

_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
env = _e2e.env
# What the e2e modules this suite reuses import from their conftest (test_known).
Databases = _e2e.Databases
_tokens = _e2e._tokens
token = _e2e.token
make_usager = _e2e.make_usager
usager = _e2e.usager
next_seed = _e2e.next_seed
seed = _e2e.seed
db = _e2e.db
applied_effects = _e2e.applied_effects
pytest_terminal_summary = _e2e.pytest_terminal_summary
pytest_collection_modifyitems = _e2e.pytest_collection_modifyitems

SCALED = {"student": 3}
READY_TIMEOUT = 180


def ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="session")
def fleet(env: StackEnv) -> Iterator[Fleet]:
    assert env.stack_dir is not None
    fleet = Fleet(env.stack_dir, int(os.environ["MDV_PORT_BASE"]), env.kafka_brokers, env.pg_host, env.pg_port)
    try:
        fleet.prepare_keys()
        for service in SERVICES:
            for k in range(1, SCALED.get(service, 1) + 1):
                fleet.start_service(service, k)
        for service in SERVICES:
            for k in range(1, SCALED.get(service, 1) + 1):
                url = f"http://127.0.0.1:{fleet.port(service, k)}"
                wait_until(lambda: ready(url) or not fleet.running(fleet.name(f"{service}-{k}")),
                           READY_TIMEOUT, f"{service}-{k} ready")
                assert fleet.running(fleet.name(f"{service}-{k}")), fleet.logs(fleet.name(f"{service}-{k}"))[-3000:]
        for partner in webhook_partners():
            for secret in compose_spec(f"simulator-{partner}")["secrets"]:
                fleet.mint_token(partner, Path(compose()["secrets"][secret["source"]]["file"]).name)
        for partner in sorted(partner_channels()):
            fleet.start_simulator(partner)
        for partner in webhook_partners():
            # Ready once its endpoint is registered through the partners' API.
            url = f"http://127.0.0.1:{fleet.simulator_port(partner)}"
            name = fleet.name(f"simulator-{partner}")
            wait_until(lambda: ready(url) or not fleet.running(name), READY_TIMEOUT, f"simulator-{partner} ready")
            assert fleet.running(name), fleet.logs(name)[-3000:]
        yield fleet
    finally:
        fleet.remove_all()
