"""The usager rates a completed démarche, as Services Publics+ asks: a
score from 0 to 10 and an optional comment; only their own journey, only
once it is completed, once per journey; the journey then shows the rating.
The README's curl example runs as written."""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from mdv_e2e import (JOURNEY_TIMEOUT, REPO_ROOT, STEP_SURVIVOR, assert_problem, bereavement_declaration, is_final,
                     parse_time, steps_by_code, strip_accents, unknown_person, wait_until)
from signin import Browser
from test_openapi import SPEC_PATH, assert_matches
from test_signin import AGENT, demo_person, signed_in, typed_pivot

README = REPO_ROOT / "README.md"
CONCURRENT = 8


def rate(usager, journey_id: str, body, **kw):
    return usager.request("POST", f"/v1/journeys/{journey_id}/rating", json=body, **kw)


def completed_journeys(usager, n: int) -> list[str]:
    """n journeys of usager that end completed: a death nobody knows of,
    declared by a child (no réversion claim to confirm)."""
    ids = [usager.declare_ok(bereavement_declaration(unknown_person(), "child")) for _ in range(n)]
    for journey_id in ids:
        journey = usager.wait_journey(journey_id)
        assert journey["status"] == "completed", journey
        assert journey["rating"] is None, journey
    return ids


def field_errors(problem) -> dict[str, str]:
    return {e["field"]: e["message"] for e in problem.get("errors", [])}


def test_a_completed_journey_is_rated_once_and_shows_its_rating(usager):
    (journey_id,) = completed_journeys(usager, 1)
    comment = "Très bien.\nUne seule déclaration a suffi : merci !"
    resp = rate(usager, journey_id, {"score": 9, "comment": comment})
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"] == f"/v1/journeys/{journey_id}"
    rating = resp.json()
    assert (rating["score"], rating["comment"]) == (9, comment)
    parse_time(rating["rated_at"])
    assert usager.journey(journey_id)["rating"] == rating

    again = assert_problem(rate(usager, journey_id, {"score": 2}), 409)
    assert again["type"] == "urn:mdv:problem:already-rated", again
    assert "score" in field_errors(again), again
    assert usager.journey(journey_id)["rating"] == rating, "the first rating stands"


def test_concurrent_ratings_record_one(usager):
    (journey_id,) = completed_journeys(usager, 1)
    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(lambda score: rate(usager, journey_id, {"score": score}),
                                range(CONCURRENT)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (CONCURRENT - 1), statuses
    (winner,) = [a.json() for a in answers if a.status_code == 201]
    assert usager.journey(journey_id)["rating"] == winner


def test_a_journey_not_completed_cannot_be_rated(usager):
    """Before its plan, and waiting for the usager (a spouse's réversion
    claim): 409 naming score, and nothing recorded."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    early = rate(usager, journey_id, {"score": 5})
    journey = usager.wait_journey(journey_id)
    assert steps_by_code(journey)[STEP_SURVIVOR]["status"] == "action_required"
    late = rate(usager, journey_id, {"score": 5})
    for resp in (early, late):
        problem = assert_problem(resp, 409)
        assert problem["type"] == "urn:mdv:problem:journey-not-completed", problem
        assert "score" in field_errors(problem), problem
    assert usager.journey(journey_id)["rating"] is None


def test_only_the_owner_rates_and_an_unknown_journey_is_404(usager, make_usager):
    (journey_id,) = completed_journeys(usager, 1)
    someone_else = make_usager()
    assert_problem(rate(someone_else, journey_id, {"score": 0}), 404)
    assert_problem(rate(usager, "00000000-0000-4000-8000-000000000000", {"score": 0}), 404)
    assert_problem(rate(usager, "not-a-journey", {"score": 0}), 404)
    assert_problem(rate(usager, journey_id, {"score": 0}, auth=False), 401)
    assert usager.journey(journey_id)["rating"] is None
    assert rate(usager, journey_id, {"score": 0}).status_code == 201


@pytest.mark.parametrize("body,field", [
    ({}, "score"),
    ({"score": 11}, "score"),
    ({"score": -1}, "score"),
    ({"score": 7.5}, "score"),
    ({"score": "8"}, "score"),
    ({"score": True}, "score"),
    ({"score": None}, "score"),
    ({"score": 8, "comment": "x" * 1001}, "comment"),
    ({"score": 8, "comment": "é" * 1001}, "comment"),
    ({"score": 8, "comment": "bip\x07"}, "comment"),
    ({"score": 8, "comment": 12}, "comment"),
    ({"score": 8, "stars": 4}, "stars"),
], ids=["missing", "above", "below", "fraction", "string", "boolean", "null", "long", "long-accented",
        "control", "number", "unknown-field"])
def test_invalid_ratings_are_422_naming_the_field(usager, body, field):
    """Checked before the journey is looked at: an unknown journey does."""
    problem = assert_problem(rate(usager, "00000000-0000-4000-8000-000000000000", body), 422)
    assert field in field_errors(problem), problem


def test_the_comment_bounds(usager):
    """1 000 characters (accented ones count one), line breaks and tabs are
    a comment; white space only is none."""
    long_id, blank_id = completed_journeys(usager, 2)
    longest = ("é\t" * 250 + "à\r\n" * 167)[:1000]
    assert len(longest) == 1000
    resp = rate(usager, long_id, {"score": 10, "comment": longest})
    assert resp.status_code == 201, resp.text
    assert usager.journey(long_id)["rating"]["comment"] == longest
    resp = rate(usager, blank_id, {"score": 3, "comment": " \n\t "})
    assert resp.status_code == 201, resp.text
    assert usager.journey(blank_id)["rating"]["comment"] is None


def readme_rating_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Rating a démarche\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        commands += [c.strip() for c in re.findall(r"^curl .*?(?=^\S|\Z)", block, re.S | re.M)]
    assert commands, "no curl example in the README's « Rating a démarche »"
    return commands


def test_the_readme_example_runs_as_written(env, usager):
    (journey_id,) = completed_journeys(usager, 1)
    (command,) = readme_rating_commands()
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          env={**env.process_env, "TOKEN": usager.token, "ID": journey_id})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].strip() == "HTTP/1.1 201 Created", proc.stdout
    rating = usager.journey(journey_id)["rating"]
    assert rating["score"] == 8 and rating["comment"].startswith("Démarche simple"), rating


def test_the_contract_example_is_accepted_and_the_answers_match_the_contract(usager):
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    example = spec["components"]["schemas"]["RatingRequest"]["example"]
    (journey_id,) = completed_journeys(usager, 1)
    path = "/v1/journeys/{}/rating"
    resp = rate(usager, journey_id, example)
    assert resp.status_code == 201, resp.text
    assert_matches(spec, "post", path, resp)
    assert_matches(spec, "post", path, rate(usager, journey_id, example))
    assert_matches(spec, "post", path, rate(usager, journey_id, {"score": 12}))
    journey = usager.get_journey(journey_id)
    assert_matches(spec, "get", "/v1/journeys/{}", journey)
    assert journey.json()["rating"]["score"] == example["score"]


def test_a_journey_declared_under_a_mandate_is_rated_by_its_usager_not_by_the_agent(env, db):
    """An agent declared it at the desk; the usager it is for judges the
    démarche: the agent, who sees the journey, is refused (403, not 404),
    on the API and on the page without JavaScript; the usager, signing in
    for the first time afterwards (the journey still owned by the mandate),
    rates it once."""
    person = demo_person(env, 5)
    agent = signed_in(env, AGENT)
    mandate = agent.api("POST", "/v1/mandates", json={"kind": "bereavement", "usager": typed_pivot(person)}).json()
    declared = agent.api("POST", "/v1/declarations",
                         json={**bereavement_declaration(unknown_person(), "child"), "mandate_id": mandate["id"]})
    assert declared.status_code == 202, declared.text
    journey_id = declared.json()["journey_id"]
    (owner,) = db("gateway").execute("SELECT usager_id FROM journeys WHERE journey_id = %s", (journey_id,)).fetchone()
    if owner != f"mandate:{mandate['id']}":
        pytest.skip("this demo person signed in before on this stack (a stack reused across runs)")
    # Every step final, the partners' own included (they join the journey
    # after the plan: "completed" before them would not last).
    def settled():
        journey = agent.api("GET", f"/v1/journeys/{journey_id}").json()
        return journey if is_final(journey) else None

    journey = wait_until(settled, JOURNEY_TIMEOUT, "every step of the journey final")
    assert journey["status"] == "completed", journey

    refused = assert_problem(agent.api("POST", f"/v1/journeys/{journey_id}/rating", json={"score": 3}), 403)
    assert refused["type"] == "urn:mdv:problem:agent-cannot-rate", refused
    page = agent.get(f"/parcours/{journey_id}").text
    assert f'action="/parcours/{journey_id}/avis"' not in page and "L'usager pourra donner son avis" in page
    form = agent.http.post(f"{env.gateway_url}/parcours/{journey_id}/avis", timeout=30, allow_redirects=False,
                           data={"csrf_token": agent.csrf(), "score": "3"})
    assert form.status_code == 403, form.text[:300]

    usager = Browser(env.gateway_url)
    login = usager.open_login()
    label = strip_accents(person["family_name"]).upper()
    assert usager.submit(login, next(p.sub for p in usager.persons(login)
                                     if label in strip_accents(p.label) and person["birth_date"] in p.label)).status_code == 303
    sub = usager.me().json()["sub"]
    rated = usager.api("POST", f"/v1/journeys/{journey_id}/rating", json={"score": 8, "comment": "Fait au guichet."})
    assert rated.status_code == 201, rated.text
    assert usager.api("GET", f"/v1/journeys/{journey_id}").json()["rating"]["score"] == 8
    assert agent.api("GET", f"/v1/journeys/{journey_id}").json()["rating"]["score"] == 8, "the agent sees it"
    assert db("gateway").execute("SELECT usager_id FROM journey_ratings WHERE journey_id = %s",
                                 (journey_id,)).fetchone() == (sub,)
    again = assert_problem(usager.api("POST", f"/v1/journeys/{journey_id}/rating", json={"score": 1}), 409)
    assert again["type"] == "urn:mdv:problem:already-rated"
