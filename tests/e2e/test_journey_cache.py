"""The gateway's cache of GET /v1/journeys/{id} (README, « Journeys cache »):
an owner's GET of a journey that did not change is answered from the
process (`mdv_journey_cache_hits_total`), and every change shows: a step
reported by a service, a partner's receipt, a rating made on this
instance or on another one, a change whose notification was lost while
PostgreSQL restarted, a change made while the listening connection fell
silent without breaking. An agent, who sees a journey under a mandate, is
always answered by the database.

The oracle is a second gateway instance started with the cache disabled
(`MDV_JOURNEY_CACHE_SIZE=0`): what the database says, which the cached
instance must end up saying too, within a bounded wait."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from typing import Any, Iterator

import pytest
import requests

from mdv_e2e import (BEREAVEMENT_STEPS, FINAL_STEP_STATUSES, STEP_SURVIVOR, JOURNEY_TIMEOUT, StackEnv, Usager, bereavement_declaration,
                     is_final, metric_total, pause_instance, resume_instance,
                     stack_env_file, steps_by_code, unknown_person, wait_until)
from signin import Browser
from test_signin import AGENT, demo_person, signed_in, typed_pivot

HITS = "mdv_journey_cache_hits_total"
MISSES = "mdv_journey_cache_misses_total"
RESETS = "mdv_journey_cache_resets_total"
# How long a change may take to show on the cached instance: the
# notification's way from the commit to the listening connection, plus
# the reconnection after a PostgreSQL restart (live.c waits a second
# between attempts). A cache that kept a stale answer never catches up.
SHOWS_WITHIN = 20.0


@pytest.fixture(scope="module")
def uncached(env: StackEnv) -> Iterator[str]:
    """The URL of gateway-2, started with no cache: every GET asks the
    database. Back to one instance afterwards."""
    if os.environ.get("MDV_JOURNEY_CACHE_SIZE") == "0":
        pytest.skip("this run's gateway has no cache (MDV_JOURNEY_CACHE_SIZE=0)")
    scaled = dataclasses.replace(env, process_env={**env.process_env, "MDV_JOURNEY_CACHE_SIZE": "0"})
    scaled.stack("scale", "gateway", "2", timeout=240)
    try:
        urls = stack_env_file(env)["MDV_GATEWAY_URLS"].split()
        assert len(urls) == 2 and urls[0] == env.gateway_url, urls
        yield urls[1]
    finally:
        env.stack("scale", "gateway", "1", timeout=240)


def on(url: str, usager: Usager) -> Usager:
    """The same usager (same token) talking to another instance."""
    return Usager(url, usager.sub, usager.token)


def answer(usager: Usager, journey_id: str) -> tuple[int, str, Any]:
    resp = usager.get_journey(journey_id)
    return resp.status_code, resp.headers.get("ETag", ""), resp.json() if resp.status_code == 200 else None


PARTNERS = {"cnav", "dgfip", "caf", "cpam"}


def at_rest(journey: dict[str, Any], waiting: str = "") -> bool:
    """Every step final but the one `waiting` for the usager, and every
    partner's receipt in: nothing more is on its way to the journey (a
    death's partners: tests/e2e/test_partners_recipients.py)."""
    got = {r["partner"]: r for r in journey["recipients"]}
    steps = journey["steps"]
    return (len(steps) >= len(BEREAVEMENT_STEPS)
            and all(s["status"] in FINAL_STEP_STATUSES or s["code"] == waiting for s in steps)
            and got.keys() == PARTNERS and all(r["acknowledged_at"] for r in got.values()))


def agrees(cached: Usager, truth: Usager, journey_id: str) -> tuple[int, str, Any]:
    """Waits until the cached instance answers what the database says (read
    afresh each time, so a journey still changing is no failure; one the
    cache holds stale never agrees)."""
    def same():
        want = answer(truth, journey_id)
        return answer(cached, journey_id) == want and want

    return wait_until(same, SHOWS_WITHIN, f"the cached instance showing journey {journey_id} as the database has it")


def hits(env: StackEnv) -> float:
    return metric_total(env.gateway_url, HITS)


def test_an_unchanged_journey_is_answered_from_the_cache_as_the_database_has_it(env, usager, uncached):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    truth = on(uncached, usager)
    truth.wait_journey(journey_id, until=at_rest)
    status, etag, body = agrees(usager, truth, journey_id)
    before = hits(env)
    for _ in range(5):
        assert answer(usager, journey_id) == (status, etag, body)
    assert hits(env) - before >= 5, "five GETs of an unchanged journey, not one from the cache"
    # If-None-Match is answered from the cache too.
    before = hits(env)
    for held in (etag, "W/" + etag, f'"other", {etag}', "*"):
        resp = usager.request("GET", f"/v1/journeys/{journey_id}", headers={"If-None-Match": held})
        assert resp.status_code == 304 and resp.content == b"", (held, resp.status_code)
        assert resp.headers["ETag"] == etag and resp.headers["Cache-Control"] == "private, no-cache"
    assert hits(env) - before >= 4
    stale = usager.request("GET", f"/v1/journeys/{journey_id}", headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200 and stale.json() == body
    # The uncached instance keeps nothing.
    assert metric_total(uncached, HITS) == 0


def test_a_step_a_service_reports_shows_on_the_cached_answer(env, usager, uncached):
    """The usager confirms the réversion claim: bereavement reports the
    step again, the projection writes it, the cache forgets the journey."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    truth = on(uncached, usager)
    truth.wait_journey(journey_id, until=lambda j: at_rest(j, waiting=STEP_SURVIVOR)
                       and steps_by_code(j)[STEP_SURVIVOR]["status"] == "action_required")
    _, etag, body = agrees(usager, truth, journey_id)
    assert steps_by_code(body)[STEP_SURVIVOR]["status"] == "action_required", body
    assert answer(usager, journey_id)[1] == etag  # held by the cache now
    resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations", json={"step": STEP_SURVIVOR})
    assert resp.status_code == 202, resp.text
    truth.wait_journey(journey_id, until=lambda j: steps_by_code(j)[STEP_SURVIVOR]["status"] == "done")
    _, new_etag, new_body = agrees(usager, truth, journey_id)
    assert new_etag != etag and steps_by_code(new_body)[STEP_SURVIVOR]["status"] == "done"


def test_a_partner_s_receipt_shows_on_the_cached_answer(env, usager, uncached):
    env.stack("stop-simulator", "cnav")
    try:
        journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
        truth = on(uncached, usager)

        def others_acknowledged():
            got = {r["partner"]: r for r in truth.journey(journey_id)["recipients"]}
            return (got.keys() == {"cnav", "dgfip", "caf", "cpam"}
                    and all(got[p]["acknowledged_at"] for p in ("dgfip", "caf", "cpam")))

        wait_until(others_acknowledged, JOURNEY_TIMEOUT, "every recipient but the CNAV acknowledged")
        _, etag, body = agrees(usager, truth, journey_id)
        (cnav,) = [r for r in body["recipients"] if r["partner"] == "cnav"]
        assert cnav["acknowledged_at"] is None, cnav
        assert answer(usager, journey_id)[1] == etag
    finally:
        env.stack("start-simulator", "cnav")
    wait_until(lambda: [r for r in truth.journey(journey_id)["recipients"]
                        if r["partner"] == "cnav" and r["acknowledged_at"]], JOURNEY_TIMEOUT, "the CNAV's receipt")
    _, new_etag, new_body = agrees(usager, truth, journey_id)
    (cnav,) = [r for r in new_body["recipients"] if r["partner"] == "cnav"]
    assert cnav["acknowledged_at"] and new_etag != etag


def completed(usager: Usager, truth: Usager) -> str:
    """A journey of usager that ends completed (a death nobody knows of,
    declared by a child), held by the cache."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    truth.wait_journey(journey_id, until=at_rest)
    status, etag, body = agrees(usager, truth, journey_id)
    assert body["status"] == "completed" and body["rating"] is None, body
    assert answer(usager, journey_id)[1] == etag
    return journey_id


def test_a_rating_on_this_instance_shows_on_its_next_get(env, usager, uncached):
    """Read your writes: the rating's own instance forgets the journey
    before it answers 201, with no wait for the notification."""
    journey_id = completed(usager, on(uncached, usager))
    before = answer(usager, journey_id)
    resp = usager.request("POST", f"/v1/journeys/{journey_id}/rating", json={"score": 7})
    assert resp.status_code == 201, resp.text
    after = answer(usager, journey_id)
    assert after[2]["rating"] == resp.json() and after[1] != before[1]
    assert after == answer(on(uncached, usager), journey_id)


def test_a_rating_on_another_instance_shows_on_the_cached_one(env, usager, uncached):
    """Asked in capitals too (the database takes them; the notification
    names the journey in lowercase)."""
    truth = on(uncached, usager)
    journey_id = completed(usager, truth)
    upper = journey_id.upper()
    held = agrees(usager, truth, upper)
    before = hits(env)
    assert answer(usager, upper) == held and hits(env) > before, "the id in capitals not answered from the cache"
    resp = truth.request("POST", f"/v1/journeys/{journey_id}/rating", json={"score": 4, "comment": "Long."})
    assert resp.status_code == 201, resp.text
    for asked in (journey_id, upper):
        _, _, body = agrees(usager, truth, asked)
        assert body["rating"] == resp.json(), asked


def test_a_change_whose_notification_was_lost_in_a_database_restart_shows(env, usager, uncached):
    """gateway-1 is paused (SIGSTOP) holding the journey, PostgreSQL
    restarts, the journey is rated through gateway-2: the notification
    went to a listening session that no longer exists. Resumed, gateway-1
    finds its listening connection broken, empties its cache and listens
    again; it must not answer the journey as it held it."""
    truth = on(uncached, usager)
    journey_id = completed(usager, truth)
    held = answer(usager, journey_id)
    resets = metric_total(env.gateway_url, RESETS)
    pause_instance(env, "gateway")
    try:
        env.stack("restart-pg", timeout=180)
        wait_until(lambda: requests.get(uncached + "/readyz", timeout=5).status_code == 200, 120,
                   "gateway-2 ready again")
        wait_until(lambda: truth.get_journey(journey_id).status_code == 200, 60, "gateway-2 reading journeys")
        resp = truth.request("POST", f"/v1/journeys/{journey_id}/rating", json={"score": 10})
        assert resp.status_code == 201, resp.text
    finally:
        resume_instance(env, "gateway")
    _, _, body = agrees(usager, truth, journey_id)
    assert body["rating"] == resp.json() and answer(usager, journey_id) != held
    # Emptied when it found the connection lost, then again once it listens anew.
    wait_until(lambda: metric_total(env.gateway_url, RESETS) - resets >= 2, SHOWS_WITHIN,
               "gateway-1 listening again")


def listening_backends(db) -> list[int]:
    """The PostgreSQL backends of the gateways' listening connections
    (live.c names them), each gateway instance's."""
    rows = db("gateway").execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'mdv-gateway-listen'").fetchall()
    return [pid for (pid,) in rows]


def test_a_change_made_while_the_listening_connection_is_silent_shows(env, usager, uncached, db):
    """The listening connection does not break, it falls silent: its
    backend is stopped (SIGSTOP), as a server host gone or a firewall's
    dropped state would leave it. The journey is rated through gateway-2;
    its notification never reaches gateway-1, whose connection still looks
    open. gateway-1 must find the silence, stop serving from its cache and
    listen anew, rather than answer the journey as it held it."""
    truth = on(uncached, usager)
    journey_id = completed(usager, truth)
    held = answer(usager, journey_id)
    resets = metric_total(env.gateway_url, RESETS)
    pids = wait_until(lambda: len(listening_backends(db)) == 2 and listening_backends(db), 30,
                      "both gateways' listening connections")
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        resp = truth.request("POST", f"/v1/journeys/{journey_id}/rating", json={"score": 3})
        assert resp.status_code == 201, resp.text
        _, _, body = agrees(usager, truth, journey_id)
        assert body["rating"] == resp.json() and answer(usager, journey_id) != held
        assert metric_total(env.gateway_url, RESETS) > resets
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    wait_until(lambda: len(set(listening_backends(db)) - set(pids)) == 2, SHOWS_WITHIN,
               "both gateways listening on new connections")


def test_an_agent_under_a_mandate_is_always_answered_by_the_database(env, uncached):
    """The cache serves a journey's owner only: an agent sees it under a
    mandate, which the database alone can say still holds."""
    agent = signed_in(env, AGENT)
    person = demo_person(env, 9)
    mandate = agent.api("POST", "/v1/mandates", json={"kind": "bereavement", "usager": typed_pivot(person)})
    assert mandate.status_code == 201, mandate.text
    declared = agent.api("POST", "/v1/declarations",
                         json={**bereavement_declaration(unknown_person(), "child"),
                               "mandate_id": mandate.json()["id"]})
    assert declared.status_code == 202, declared.text
    path = f"/v1/journeys/{declared.json()['journey_id']}"
    wait_until(lambda: is_final(agent.api("GET", path).json()), JOURNEY_TIMEOUT, "the journey final")
    before_hits, before_misses = hits(env), metric_total(env.gateway_url, MISSES)
    for _ in range(5):
        resp = agent.api("GET", path)
        assert resp.status_code == 200, resp.text
    assert hits(env) == before_hits, "an agent's GET answered from the cache"
    assert metric_total(env.gateway_url, MISSES) - before_misses >= 5
    # Someone else is told nothing, cache or not.
    stranger = Browser(env.gateway_url)
    assert stranger.get(path).status_code == 401


def test_gateway_1_holds_a_cache_and_gateway_2_none(env, uncached):
    assert metric_total(env.gateway_url, RESETS) >= 1  # it listened at least once
    assert metric_total(uncached, RESETS) == 0 and metric_total(uncached, HITS) == 0
