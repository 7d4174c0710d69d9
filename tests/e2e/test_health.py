"""Every process serves liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import re

import pytest
import requests

from mdv_e2e import SERVICES

PROCESSES = ("gateway",) + SERVICES

# One sample line of the Prometheus text format 0.0.4.
SAMPLE = re.compile(
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*"
    r"(\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\]|\\.)*\",?)*\})?"
    r" [-+]?([0-9.eE+-]+|NaN|Inf)( -?[0-9]+)?$"
)


@pytest.mark.parametrize("process", PROCESSES)
def test_healthz_and_readyz_are_200(env, process):
    url = env.all_urls[process]
    for path in ("/healthz", "/readyz"):
        resp = requests.get(url + path, timeout=10)
        assert resp.status_code == 200, f"{process}{path}: {resp.status_code} {resp.text[:200]}"


@pytest.mark.parametrize("process", PROCESSES)
def test_metrics_are_prometheus_text_with_mdv_metrics(env, process):
    resp = requests.get(env.all_urls[process] + "/metrics", timeout=10)
    assert resp.status_code == 200, resp.text[:200]
    assert resp.headers.get("Content-Type", "").startswith("text/plain"), resp.headers
    text = resp.text
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert SAMPLE.match(line), f"{process}: not a Prometheus sample line: {line!r}"
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert any(n.startswith("mdv_") for n in names), f"{process}: no mdv_ metric in {sorted(names)}"
    assert re.search(r"^# TYPE mdv_messages_consumed_total counter$", text, re.M), (
        f"{process}: no counter mdv_messages_consumed_total"
    )


def test_health_endpoints_need_no_token(env):
    resp = requests.get(env.gateway_url + "/healthz", timeout=10)
    assert resp.status_code == 200
