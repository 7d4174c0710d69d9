"""The public indicators (GET /v1/indicators), as Services Publics+
publishes them, computed right on journeys made here.

The délais are days long: the test plays the owner of a step of its own
(a code and an administration no other test uses, added to journeys it
declared) on the partners service's events topic, with that service's
certificate, and reports the step received and then final at times it
chooses, as the events allow. The expected figures are computed here from
the journeys' own timestamps (GET /v1/journeys/{id}), never written down.
The ratings per kind: student_grant journeys, which only this test rates.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import statistics
import subprocess
import uuid
from pathlib import Path
from typing import Any

import requests
import yaml
from confluent_kafka import Producer

from mdv_e2e import (REPO_ROOT, assert_problem, bereavement_declaration, kafka_config, parse_time, random_letters,
                     steps_by_code, unknown_person, wait_until)
from test_openapi import SPEC_PATH, assert_matches
from test_student_grant_journeys import dossier, income_at, with_title

TOPIC = "mdv.partners.events.v1"
MIN_COUNT = 5
TIMEOUT = 60
KAFKA_LOG = logging.getLogger("librdkafka")
DAY = 86400


def journey_events(env) -> Path:
    # build/bin -> build/tests/journey_events (build/asan/bin -> build/asan/tests/...)
    path = env.bin_dir.parent / "tests" / "journey_events"
    assert path.is_file(), f"{path} not found: build with make e2e"
    return path


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StepOwner:
    """Publishes a step's events as its owner would: CloudEvents headers,
    key = journey id, on the partners service's topic with its
    certificate."""

    def __init__(self, env):
        self.env = env
        self.producer = Producer(kafka_config(env.kafka_brokers, {"enable.idempotence": True, "acks": "all",
                                                                  "logger": KAFKA_LOG}, principal="partners"))

    def publish(self, event: str, journey_id: str, fields: dict[str, Any]) -> None:
        value = subprocess.run([str(journey_events(self.env)), event], input=json.dumps(fields).encode(),
                               capture_output=True, check=True, timeout=10).stdout
        headers = [("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
                   ("ce_source", b"/mdv/partners"), ("ce_type", f"fr.gouv.mdv.partners.{event}.v1".encode()),
                   ("ce_time", rfc3339(dt.datetime.now(dt.timezone.utc)).encode()), ("ce_subject", journey_id.encode()),
                   ("content-type", b"application/protobuf"), ("mdv_journey_id", journey_id.encode())]
        delivered: list[Any] = []
        self.producer.produce(TOPIC, key=journey_id.encode(), value=value, headers=headers,
                              on_delivery=lambda err, msg: delivered.append(err))
        assert self.producer.flush(30) == 0 and delivered == [None], delivered

    def step(self, journey_id: str, code: str, administration: str, received: dt.datetime,
             final: dt.datetime, due: dt.datetime, status: str = "done", detail: str = "Traité") -> None:
        """The step added, received, then final."""
        self.publish("steps_added", journey_id, {
            "journey_id": journey_id, "added_at": rfc3339(received),
            "steps": [{"code": code, "owner": "partners", "administration": administration,
                       "label": "Étape d'essai des indicateurs", "due_at": rfc3339(due)}]})
        common = {"journey_id": journey_id, "code": code, "administration": administration,
                  "label": "Étape d'essai des indicateurs", "due_at": rfc3339(due)}
        self.publish("step_reported", journey_id, {**common, "sequence": 1, "status": "received",
                                                   "detail": "Reçu", "reported_at": rfc3339(received)})
        self.publish("step_reported", journey_id, {**common, "sequence": 2, "status": status,
                                                   "detail": detail, "reported_at": rfc3339(final)})


def indicators(env) -> dict[str, Any]:
    resp = requests.get(env.gateway_url + "/v1/indicators", timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json()


def fresh_indicators(env, since: dt.datetime) -> dict[str, Any]:
    """Indicators computed after `since` (they are kept a few seconds)."""
    return wait_until(lambda: (lambda i: i if parse_time(i["computed_at"]) > since else None)(indicators(env)),
                      TIMEOUT, f"indicators computed after {since}", interval=0.5)


def row_of(figures: dict[str, Any], administration: str, code: str) -> dict[str, Any] | None:
    rows = [r for r in figures["steps"] if (r["administration"], r["code"]) == (administration, code)]
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def projected(usager, journey_id: str, code: str, status: str) -> dict[str, Any]:
    """The step as the journey shows it once the projection has its final
    report; returns it."""
    journey = usager.wait_journey(journey_id, until=lambda j: steps_by_code(j).get(code, {}).get("status") == status,
                                  timeout=TIMEOUT)
    return steps_by_code(journey)[code]


def seconds(a: str, b: str) -> float:
    return (parse_time(b) - parse_time(a)).total_seconds()


def test_step_indicators_are_computed_from_the_journeys_and_withheld_below_the_minimum(env, usager):
    owner = StepOwner(env)
    code = f"essai.delai_{uuid.uuid4().hex[:12]}"
    administration = f"Administration d'essai {random_letters(8)}"
    t0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=60)
    # (délai constaté, délai annoncé) in days: three within, two past it,
    # one failed (a decision: it counts), one not applicable (it does not).
    plans = [(2, 5, "done"), (3, 5, "done"), (9, 5, "done"), (4.5, 5, "failed"), (12, 10, "done"),
             (0.25, 5, "not_applicable")]
    journeys = [usager.declare_ok(bereavement_declaration(unknown_person(), "child")) for _ in plans]
    shown = []
    for i, ((taken, announced, status), journey_id) in enumerate(zip(plans, journeys)):
        received = t0 + dt.timedelta(days=i)
        owner.step(journey_id, code, administration, received, received + dt.timedelta(days=taken),
                   received + dt.timedelta(days=announced), status)
        step = projected(usager, journey_id, code, status)
        assert step["received_at"] and step["due_at"], step
        shown.append(step)
        if i == 3:
            # Four steps final: nothing published for this step yet.
            figures = fresh_indicators(env, dt.datetime.now(dt.timezone.utc))
            assert figures["minimum_count"] == MIN_COUNT
            assert row_of(figures, administration, code) is None, figures

    counted = [s for s in shown if s["status"] in ("done", "failed")]
    assert len(counted) == MIN_COUNT
    delays = [seconds(s["received_at"], s["updated_at"]) for s in counted]
    announced = [seconds(s["received_at"], s["due_at"]) for s in counted]
    within = [s for s in counted if parse_time(s["updated_at"]) <= parse_time(s["due_at"])]
    assert 0 < len(within) < len(counted), "a step within its délai and one past it"

    row = row_of(fresh_indicators(env, dt.datetime.now(dt.timezone.utc)), administration, code)
    assert row is not None, "five final steps are published"
    assert row["label"] == "Étape d'essai des indicateurs"
    assert row["final_steps"] == len(counted) and row["announced_steps"] == len(counted), row
    assert abs(row["median_delay_seconds"] - statistics.median(delays)) <= 1, (row, delays)
    assert abs(row["median_announced_seconds"] - statistics.median(announced)) <= 1, (row, announced)
    assert abs(row["within_announced_share"] - len(within) / len(counted)) < 1e-9, row


def test_ratings_per_kind_are_averaged_and_withheld_below_the_minimum(env, usager, find_persons):
    """On a fresh stack no student_grant journey is rated before this test
    (no other test rates one): four ratings are withheld, the fifth
    publishes the average. On a stack that already has them, the new
    average is the old one moved by these five."""
    persons = find_persons(with_title, n=MIN_COUNT)
    journeys = [usager.declare_ok(dossier(p, income_at("2", 3), housing=False)) for p in persons]
    for journey_id in journeys:
        journey = usager.wait_journey(journey_id, until=lambda j: j["status"] == "completed", timeout=TIMEOUT)
        assert journey["kind"] == "student_grant"
    scores = [10, 7, 3, 8, 9]
    before = {r["kind"]: r for r in fresh_indicators(env, dt.datetime.now(dt.timezone.utc))["ratings"]}
    old = before.get("student_grant", {"ratings": 0, "average_score": 0})
    for i, (journey_id, score) in enumerate(zip(journeys, scores)):
        resp = usager.request("POST", f"/v1/journeys/{journey_id}/rating", json={"score": score})
        assert resp.status_code == 201, resp.text
        if i == MIN_COUNT - 2 and not old["ratings"]:
            figures = fresh_indicators(env, parse_time(resp.json()["rated_at"]))
            assert "student_grant" not in {r["kind"] for r in figures["ratings"]}, figures
    last = parse_time(usager.journey(journeys[-1])["rating"]["rated_at"])
    row = {r["kind"]: r for r in fresh_indicators(env, last)["ratings"]}["student_grant"]
    count = old["ratings"] + len(scores)
    assert row["ratings"] == count, (row, old)
    expected = (old["average_score"] * old["ratings"] + sum(scores)) / count
    # the old average was rounded to two decimals, the new one is too
    assert abs(row["average_score"] - expected) <= 0.01, (row, old, expected)


def test_the_indicators_need_no_authentication_match_the_contract_and_take_no_other_method(env):
    resp = requests.get(env.gateway_url + "/v1/indicators", timeout=30)
    assert resp.status_code == 200, resp.text
    assert_matches(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")), "get", "/v1/indicators", resp)
    resp = requests.post(env.gateway_url + "/v1/indicators", json={}, timeout=30)
    assert_problem(resp, 405)
    assert resp.headers["Allow"] == "GET"


def test_the_indicators_are_kept_a_few_seconds_not_computed_per_request(env):
    """MDV_INDICATORS_MAX_AGE_S (5 s on the test stack, run.sh): requests
    just after a computation get its answer."""
    first = fresh_indicators(env, dt.datetime.now(dt.timezone.utc))
    for _ in range(5):
        assert indicators(env)["computed_at"] == first["computed_at"]


def test_the_readme_example_runs_as_written(env):
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Public indicators\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    (command,) = [c.strip() for c in re.findall(r"^curl .*?(?=^\S|\Z)", block, re.S | re.M)]
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          env=env.process_env)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["minimum_count"] == MIN_COUNT and isinstance(answer["steps"], list), answer
