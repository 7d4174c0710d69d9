"""What makes the gateway's GETs cheap, and the guarantees kept while it
does: journeys answered 304 while the client holds their version (ETag /
If-None-Match), and verified tokens served from a cache until they expire,
each to its own usager only."""

from __future__ import annotations

import time
import uuid

import pytest

from mdv_e2e import (STEP_SURVIVOR, Usager, assert_problem, bereavement_declaration, metric_total,
                     unknown_person)

CACHE_HITS = "mdv_auth_token_cache_hits_total"


def survivor(journey) -> dict:
    (step,) = [s for s in journey["steps"] if s["code"] == STEP_SURVIVOR]
    return step


def conditional_get(usager: Usager, path: str, etag: str):
    return usager.request("GET", path, headers={"If-None-Match": etag})


def settled(usager: Usager, journey_id: str, until="final", quiet: float = 1.5,
            timeout: float = 60) -> tuple[dict, str]:
    """The journey once `until` holds and unchanged for `quiet` seconds
    (nothing else on its way to it), with its ETag."""
    usager.wait_journey(journey_id, until=until)
    deadline = time.monotonic() + timeout
    last = usager.get_journey(journey_id)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = usager.get_journey(journey_id)
        if now.headers["ETag"] == last.headers["ETag"]:
            assert now.json() == last.json()
            return now.json(), now.headers["ETag"]
        last = now
    raise AssertionError(f"journey {journey_id} never settled")


@pytest.fixture
def spouse_journey(usager) -> str:
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    journey = usager.wait_journey(journey_id)
    assert survivor(journey)["status"] == "action_required"
    return journey_id


def test_journey_is_304_until_a_step_changes_then_200_with_a_new_etag(usager, spouse_journey):
    path = f"/v1/journeys/{spouse_journey}"
    journey, etag = settled(usager, spouse_journey)
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2, etag
    first = usager.get_journey(spouse_journey)
    assert first.headers["Cache-Control"] == "private, no-cache"

    for held in (etag, "W/" + etag, f'"other", {etag}', "*"):
        resp = conditional_get(usager, path, held)
        assert resp.status_code == 304, (held, resp.status_code, resp.text[:300])
        assert resp.content == b""
        assert resp.headers["ETag"] == etag
        assert resp.headers["Cache-Control"] == "private, no-cache"
    stale = conditional_get(usager, path, '"not-a-version-of-it"')
    assert stale.status_code == 200 and stale.json() == journey and stale.headers["ETag"] == etag

    # The usager confirms the réversion claim: its step changes.
    resp = usager.request("POST", f"{path}/confirmations", json={"step": STEP_SURVIVOR})
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 60
    while True:
        resp = conditional_get(usager, path, etag)
        if resp.status_code == 200:
            break
        assert resp.status_code == 304, resp.text[:300]
        assert time.monotonic() < deadline, "the confirmation never changed the journey"
        time.sleep(0.1)
    assert resp.headers["ETag"] != etag
    assert resp.json() != journey
    # Settled once the CNAV's decision, on a step of its own, is in too.
    moved, new_etag = settled(usager, spouse_journey,
                              until=lambda j: survivor(j)["status"] == "done" and j["status"] == "completed")
    assert new_etag != etag
    assert survivor(moved)["status"] == "done"
    assert conditional_get(usager, path, new_etag).status_code == 304
    again = conditional_get(usager, path, etag)
    assert again.status_code == 200
    assert again.json() == moved and again.headers["ETag"] == new_etag


def test_another_usager_holding_the_etag_gets_404_never_304(usager, make_usager, spouse_journey):
    path = f"/v1/journeys/{spouse_journey}"
    etag = usager.get_journey(spouse_journey).headers["ETag"]
    other = make_usager()
    for held in (etag, "*"):
        resp = conditional_get(other, path, held)
        assert_problem(resp, 404)
        assert "ETag" not in resp.headers
    assert_problem(conditional_get(usager, f"/v1/journeys/{uuid.uuid4()}", "*"), 404)


def test_journey_list_is_304_until_a_journey_is_added_or_changes(usager):
    first_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    settled(usager, first_id)
    page = usager.list_journeys()
    etag = page.headers["ETag"]
    assert page.headers["Cache-Control"] == "private, no-cache"
    resp = conditional_get(usager, "/v1/journeys", etag)
    assert resp.status_code == 304 and resp.content == b"" and resp.headers["ETag"] == etag

    second_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    resp = conditional_get(usager, "/v1/journeys", etag)
    assert resp.status_code == 200, resp.text[:300]
    assert [j["id"] for j in resp.json()["items"]][:2] == [second_id, first_id]
    assert resp.headers["ETag"] != etag
    # A page of one is another representation now that there are two.
    one = usager.request("GET", "/v1/journeys", params={"limit": 1},
                         headers={"If-None-Match": resp.headers["ETag"]})
    assert one.status_code == 200 and one.headers["ETag"] != resp.headers["ETag"]
    assert [j["id"] for j in one.json()["items"]] == [second_id]


def test_a_cached_token_is_refused_once_past_its_exp(env):
    ttl = 3
    out = env.run_tool(env.tool("mdv-token"), "--sub", f"usager-{uuid.uuid4()}", "--ttl", str(ttl),
                       timeout=30)
    minted = time.time()
    usager = Usager(env.gateway_url, "short-lived", out.split()[-1])
    first = usager.list_journeys()
    assert first.status_code == 200, first.text[:300]
    hits = metric_total(env.gateway_url, CACHE_HITS)
    assert usager.list_journeys().status_code == 200
    assert metric_total(env.gateway_url, CACHE_HITS) > hits, "the second request was not the cache's"
    time.sleep(max(0.0, minted + ttl + 1.1 - time.time()))
    resp = usager.list_journeys()
    problem = assert_problem(resp, 401)
    assert "expired" in problem["detail"], problem


def test_usagers_tokens_never_share_a_cached_entry(make_usager):
    usagers = [make_usager() for _ in range(3)]
    own = {u.sub: u.declare_ok(bereavement_declaration(unknown_person(), "child")) for u in usagers}
    for _ in range(5):
        for u in usagers:
            page = u.list_journeys()
            assert page.status_code == 200
            assert [j["id"] for j in page.json()["items"]] == [own[u.sub]]
            for other in usagers:
                resp = u.get_journey(own[other.sub])
                if other is u:
                    assert resp.status_code == 200 and resp.json()["id"] == own[u.sub]
                else:
                    assert_problem(resp, 404)
