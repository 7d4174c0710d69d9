"""The gateway against its own OpenAPI contract, by schemathesis: generated
requests (valid and invalid) to every operation of the live test gateway,
with every check schemathesis has. It fails on any 5xx, any answer the
contract does not describe, any invalid request accepted, and any valid
request refused for a reason the contract does not list (x-refusals, see
schemathesis_hooks.py).

The run is reproducible (a fixed seed, one worker, no example database)
and bounded: the examples per operation and phase are set in
schemathesis.toml, and the whole run has a time limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mdv_e2e import REPO_ROOT, record_figures

SPEC_PATH = REPO_ROOT / "services" / "gateway" / "openapi.yaml"
HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
SEED = 20261201
# Cases the run must at least generate over all operations and phases.
MIN_CASES = 1000
# Seconds the whole run may take: a bound on a run that would hang, not a
# speed check (the run's time is a figure). It grows with the contract's
# operations and with the machine's load: past 240 s on a machine loaded by
# other builds.
TIME_LIMIT = 480


def run_schemathesis(gateway_url: str, token: str, workdir: Path) -> tuple[subprocess.CompletedProcess, dict]:
    report = workdir / "schemathesis.json"
    st = Path(sys.executable).with_name("st")
    argv = [
        str(st), "--config-file", str(CONFIG), "--no-color",
        "run", str(SPEC_PATH),
        "--url", gateway_url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--seed", str(SEED),
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--report", "json", "--report-json-path", str(report),
    ]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="schemathesis_hooks",
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    # In a folder of its own: schemathesis writes its working files into
    # the current directory.
    proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIME_LIMIT)
    assert report.exists(), f"schemathesis wrote no report (exit {proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc, json.loads(report.read_text())


# The run's own bound is TIME_LIMIT; pytest's default (300 s) must not cut
# it short first.
@pytest.mark.timeout(TIME_LIMIT + 60)
def test_generated_requests_match_the_contract(env, usager, tmp_path):
    proc, report = run_schemathesis(usager.gateway_url, usager.token, tmp_path)
    output = proc.stdout[-12000:] + proc.stderr[-3000:]
    assert report["failures"] == [] and report["errors"] == [], output
    assert proc.returncode == 0, output
    assert report["operations"]["tested"] == report["operations"]["total"], report["operations"]
    cases = report["test_cases"]
    assert cases["with_failures"] == 0 and cases["errored"] == 0, cases
    assert cases["generated"] >= MIN_CASES, (
        f"schemathesis ran only {cases['generated']} cases (at least {MIN_CASES} expected): {cases}\n{output}"
    )
    fuzzing = tomllib.loads(CONFIG.read_text())["phases"]["fuzzing"]["generation"]["max-examples"]
    record_figures(env, [f"schemathesis: {cases['generated']} cases in {report['running_time']:.1f} s"
                         f" (seed {SEED}, fuzzing {fuzzing} examples per operation)"])
