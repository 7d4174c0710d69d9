"""Signing in as with FranceConnect: the gateway as a confidential OpenID
client of the stack's provider (tests/e2e/signin.py drives it as a browser
would, submitting the provider's login form), the session cookie, CSRF,
sign-out at both ends, and France services agents acting under a mandate."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from conftest import Databases
from mdv_e2e import (REPO_ROOT, StackEnv, assert_problem, bereavement_declaration, mint_token, strip_accents,
                     unknown_person)
from signin import SESSION_COOKIE, Browser, query_of

UNKNOWN_USAGER = "INCONNU-TESTEUR"
OTHER_UNKNOWN_USAGER = "NULLEPART"
SEEDED_USAGER = "MONTELNIL"
AGENT = "AGENTE"
OTHER_AGENT = "GUICHET"
# The provider's key set is fetched again for an unknown kid at most this
# often (services/gateway/jwks.c, REFRESH_MIN_S).
JWKS_REFRESH_MIN_S = 5


def signed_in(env: StackEnv, who: str) -> Browser:
    browser = Browser(env.gateway_url)
    callback = browser.sign_in(who)
    assert callback.status_code == 303, f"sign-in as {who}: {callback.status_code} {callback.text[:300]}"
    return browser


def test_sign_in_as_a_seeded_person_gives_a_session_and_me(env: StackEnv) -> None:
    browser = Browser(env.gateway_url)
    login = browser.get("/auth/login", params={"return_to": "/v1/me"})
    assert login.status_code == 302
    auth = query_of(login.headers["Location"])
    assert auth["response_type"] == "code" and auth["code_challenge_method"] == "S256"
    assert len(auth["code_challenge"]) == 43 and auth["state"] and auth["nonce"]
    assert auth["client_id"] == env.process_env["MDV_OIDC_CLIENT_ID"]
    assert set(auth["scope"].split()) >= {"openid", "given_name", "family_name", "birthdate", "gender",
                                          "birthplace", "birthcountry"}
    page = browser.follow(login)
    assert page.url.startswith(env.process_env["MDV_OIDC_URL"])
    assert "Choisissez une personne de test" in page.text
    person = next(p for p in browser.persons(page) if SEEDED_USAGER in p.label)
    callback = browser.submit(page, person.sub)
    assert callback.status_code == 303, callback.text
    assert callback.headers["Location"] == "/v1/me"
    me = browser.me()
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["sub"] == person.sub and body["role"] == "usager"
    assert body["family_name"] == "MONTELNIL" and body["given_name"].startswith("Amélie")
    assert body["birthdate"] == "1977-07-21" and body["birthplace"] == "2B033"
    assert body["gender"] == "female" and body["birthcountry"] == "99100"
    assert len(body["csrf_token"]) == 43
    assert "known" in body


def test_the_pivot_identity_is_read_from_the_userinfo_endpoint_not_the_id_token(env: StackEnv, db: Databases) -> None:
    """As FranceConnect gives it: the ID token holds the sub and what the
    protocol needs, the pivot identity and the agent's role are the userinfo
    endpoint's, read with the access token."""
    for who, role in ((SEEDED_USAGER, "usager"), (AGENT, "agent")):
        browser = signed_in(env, who)
        me = browser.me().json()
        assert me["role"] == role and me["family_name"] and me["birthdate"] and me["gender"], me
        hash_ = hashlib.sha256(browser.cookie().encode()).hexdigest()
        (id_token,) = db("gateway").execute("SELECT id_token FROM sessions WHERE session_hash = %s",
                                            (hash_,)).fetchone()
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["sub"] == me["sub"]
        assert not {"given_name", "family_name", "birthdate", "gender", "mdv_role"} & set(claims), claims


def test_me_without_a_session_is_401(env: StackEnv) -> None:
    resp = requests.get(env.gateway_url + "/v1/me", timeout=30)
    assert_problem(resp, 401)
    resp = requests.get(env.gateway_url + "/v1/me", cookies={SESSION_COOKIE: "x" * 43}, timeout=30)
    assert_problem(resp, 401)


def test_session_cookie_attributes_and_the_database_keeps_only_its_hash(env: StackEnv, db: Databases) -> None:
    browser = Browser(env.gateway_url)
    callback = browser.sign_in(UNKNOWN_USAGER)
    assert callback.status_code == 303
    cookies = [c for c in callback.raw.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE + "=")]
    assert len(cookies) == 1, callback.raw.headers.getlist("Set-Cookie")
    value, *attributes = [part.strip() for part in cookies[0].split(";")]
    value = value.split("=", 1)[1]
    assert len(value) == 43
    names = {a.split("=")[0].lower(): (a.split("=", 1)[1] if "=" in a else True) for a in attributes}
    assert names.get("httponly") is True
    assert names.get("samesite") == "Lax"
    assert names.get("path") == "/"
    assert int(names["max-age"]) > 0
    # The stack's gateway is plain HTTP: a Secure cookie would never come back.
    assert "secure" not in names
    hashed = hashlib.sha256(value.encode()).hexdigest()
    rows = db("gateway").execute(
        "SELECT session_hash, sessions::text LIKE %s FROM sessions WHERE session_hash = %s",
        (f"%{value}%", hashed)).fetchall()
    assert rows == [(hashed, False)]


def test_a_signed_in_usager_owns_the_journeys_of_their_bearer_token(env: StackEnv) -> None:
    browser = signed_in(env, OTHER_UNKNOWN_USAGER)
    sub = browser.me().json()["sub"]
    resp = browser.api("POST", "/v1/declarations", json=bereavement_declaration(unknown_person()))
    assert resp.status_code == 202, resp.text
    journey_id = resp.json()["journey_id"]
    token = mint_token(env, sub)
    by_token = requests.get(f"{env.gateway_url}/v1/journeys/{journey_id}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert by_token.status_code == 200, by_token.text
    listed = browser.api("GET", "/v1/journeys?limit=100").json()["items"]
    assert journey_id in [j["id"] for j in listed]
    declared = requests.post(f"{env.gateway_url}/v1/declarations", json=bereavement_declaration(unknown_person()),
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert declared.status_code == 202, declared.text
    assert browser.api("GET", f"/v1/journeys/{declared.json()['journey_id']}").status_code == 200


def test_unsafe_requests_by_session_need_the_csrf_token(env: StackEnv, token) -> None:
    browser = signed_in(env, UNKNOWN_USAGER)
    body = bereavement_declaration(unknown_person())
    missing = browser.api("POST", "/v1/declarations", csrf=False, json=body)
    problem = assert_problem(missing, 403)
    assert problem["type"] == "urn:mdv:problem:csrf"
    # Its last character changed (to "A", or "B" for a token ending in "A",
    # which 1 token in 64 does: it was the right token then).
    csrf = browser.csrf()
    wrong = browser.api("POST", "/v1/declarations", csrf=False, json=body,
                        headers={"X-CSRF-Token": csrf[:-1] + ("B" if csrf.endswith("A") else "A")})
    assert_problem(wrong, 403)
    other = signed_in(env, OTHER_UNKNOWN_USAGER)
    foreign = browser.api("POST", "/v1/declarations", csrf=False, json=body,
                          headers={"X-CSRF-Token": other.csrf()})
    assert_problem(foreign, 403)
    accepted = browser.api("POST", "/v1/declarations", json=body)
    assert accepted.status_code == 202, accepted.text
    # A program with a bearer token needs none.
    by_token = requests.post(f"{env.gateway_url}/v1/declarations", json=body,
                             headers={"Authorization": f"Bearer {token('csrf-free-program')}"}, timeout=30)
    assert by_token.status_code == 202, by_token.text


@pytest.mark.parametrize("return_to", [
    "https://attacker.example/", "//attacker.example/x", "/\\attacker.example", "attacker.example",
    "/x\r\nSet-Cookie: a=b", "javascript:alert(1)", "/" + "a" * 600, "/caf\u00e9", "",
])
def test_login_refuses_a_return_to_that_is_not_a_local_path(env: StackEnv, return_to: str) -> None:
    resp = requests.get(env.gateway_url + "/auth/login", params={"return_to": return_to},
                        allow_redirects=False, timeout=30)
    problem = assert_problem(resp, 400)
    assert problem["errors"][0]["field"] == "return_to"
    assert "Location" not in resp.headers


def test_login_returns_to_a_local_path_with_its_query(env: StackEnv) -> None:
    browser = Browser(env.gateway_url)
    callback = browser.sign_in(UNKNOWN_USAGER, return_to="/v1/journeys?limit=5")
    assert callback.status_code == 303
    assert callback.headers["Location"] == "/v1/journeys?limit=5"


def test_a_callback_is_taken_once_and_only_by_the_browser_that_started_it(env: StackEnv) -> None:
    browser = Browser(env.gateway_url)
    callback = browser.sign_in(UNKNOWN_USAGER)
    assert callback.status_code == 303
    # The callback cleared its mdv_login cookie; even with it back (the
    # same browser replaying its history), the state was taken.
    assert "mdv_login" not in browser.http.cookies
    replay = browser.get(callback.url)
    assert "not started by this browser" in assert_problem(replay, 403)["detail"]
    browser.http.cookies.set("mdv_login", query_of(callback.url)["state"], path="/auth")
    replay = browser.get(callback.url)
    problem = assert_problem(replay, 403)
    assert "already used" in problem["detail"]
    # A callback URL handed to another browser (a login CSRF) is refused
    # before its state is even looked at.
    victim = Browser(env.gateway_url)
    attacker = Browser(env.gateway_url)
    page = attacker.open_login()
    url = attacker.callback_url(page, attacker.person(page, UNKNOWN_USAGER).sub)
    stolen = victim.get(url)
    problem = assert_problem(stolen, 403)
    assert "not started by this browser" in problem["detail"]
    assert victim.cookie() is None
    # The state is still the attacker's to use.
    assert attacker.get(url).status_code == 303


@pytest.mark.parametrize(("fault", "reason"), [
    ("wrong_nonce", "nonce does not match"),
    ("expired", "token expired"),
    ("wrong_audience", "wrong audience"),
    ("wrong_issuer", "wrong issuer"),
    ("foreign_key", "signature invalid"),
])
def test_an_id_token_that_fails_a_check_opens_no_session(env: StackEnv, fault: str, reason: str) -> None:
    browser = Browser(env.gateway_url)
    callback = browser.sign_in(UNKNOWN_USAGER, fault=fault)
    problem = assert_problem(callback, 401)
    assert reason in problem["detail"], problem
    assert SESSION_COOKIE not in callback.headers.get("Set-Cookie", "")
    assert browser.cookie() is None
    assert_problem(browser.me(), 401)
    # The same person right after, without the fault, signs in.
    assert signed_in(env, UNKNOWN_USAGER).me().status_code == 200


def test_a_new_provider_key_is_fetched_when_a_token_names_it(env: StackEnv) -> None:
    assert signed_in(env, UNKNOWN_USAGER).me().status_code == 200
    before = requests.get(env.process_env["MDV_OIDC_URL"] + "/jwks", timeout=30).json()["keys"]
    env.stack("restart-oidc")
    after = requests.get(env.process_env["MDV_OIDC_URL"] + "/jwks", timeout=30).json()["keys"]
    assert {k["kid"] for k in before}.isdisjoint({k["kid"] for k in after})
    time.sleep(JWKS_REFRESH_MIN_S)
    assert signed_in(env, UNKNOWN_USAGER).me().status_code == 200


def test_sign_out_ends_the_session_at_the_gateway_and_at_the_provider(env: StackEnv) -> None:
    browser = signed_in(env, UNKNOWN_USAGER)
    # The provider's session lets a second sign-in through without its page.
    again = browser.follow(browser.get("/auth/login"))
    assert browser.last_callback is not None and browser.last_callback.status_code == 303, again.url
    old_cookie = browser.cookie()
    csrf = browser.csrf()
    refused = browser.api("POST", "/auth/logout", csrf=False)
    assert_problem(refused, 403)
    # A form posted without JavaScript carries the token as a field.
    out = browser.api("POST", "/auth/logout", csrf=False, data={"csrf_token": csrf})
    assert out.status_code == 303, out.text
    end = out.headers["Location"]
    assert end.startswith(env.process_env["MDV_OIDC_URL"] + "/session/end")
    params = query_of(end)
    assert params["id_token_hint"].count(".") == 2
    assert params["post_logout_redirect_uri"] == env.gateway_url + "/"
    assert any(c.startswith(SESSION_COOKIE + "=;") and "Max-Age=0" in c
               for c in out.raw.headers.getlist("Set-Cookie"))
    stale = requests.get(env.gateway_url + "/v1/me", cookies={SESSION_COOKIE: old_cookie}, timeout=30)
    assert_problem(stale, 401)
    stale_post = requests.post(env.gateway_url + "/v1/declarations", json=bereavement_declaration(unknown_person()),
                               cookies={SESSION_COOKIE: old_cookie}, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert_problem(stale_post, 401)
    # The provider asks to confirm, then sends the browser back to the gateway.
    confirm = browser.http.get(end, allow_redirects=False, timeout=30)
    assert confirm.status_code == 200 and "Se déconnecter" in confirm.text
    action = confirm.text.split('action="', 1)[1].split('"', 1)[0]
    xsrf = confirm.text.split('name="xsrf" value="', 1)[1].split('"', 1)[0]
    done = browser.http.post(env.process_env["MDV_OIDC_URL"] + urlsplit(action).path,
                             data={"xsrf": xsrf, "logout": "yes"}, allow_redirects=False, timeout=30)
    assert done.status_code in (302, 303), done.text[:300]
    assert done.headers["Location"] == env.gateway_url + "/"
    # Signed out at the provider too: signing in shows its page again.
    page = browser.open_login()
    assert "Choisissez une personne de test" in page.text


def test_a_session_never_sees_another_usagers_journey(env: StackEnv) -> None:
    owner = signed_in(env, UNKNOWN_USAGER)
    other = signed_in(env, OTHER_UNKNOWN_USAGER)
    resp = owner.api("POST", "/v1/declarations", json=bereavement_declaration(unknown_person()))
    assert resp.status_code == 202
    journey_id = resp.json()["journey_id"]
    assert owner.api("GET", f"/v1/journeys/{journey_id}").status_code == 200
    assert_problem(other.api("GET", f"/v1/journeys/{journey_id}"), 404)
    assert journey_id not in [j["id"] for j in other.api("GET", "/v1/journeys?limit=100").json()["items"]]
    confirm = other.api("POST", f"/v1/journeys/{journey_id}/confirmations",
                        json={"step": "bereavement.survivor_pension"})
    assert_problem(confirm, 404)


def test_sign_out_without_a_session_leads_where_sign_out_does(env: StackEnv, token) -> None:
    resp = requests.post(env.gateway_url + "/auth/logout", headers={"Authorization": f"Bearer {token('no-session')}"},
                         allow_redirects=False, timeout=30)
    assert resp.status_code == 303
    assert resp.headers["Location"] == env.gateway_url + "/"


# --------------------------------------------------------------------------
# France services agents and mandates


def demo_person(env: StackEnv, index: int) -> dict:
    """The index-th person of the stack's own seed (.run/seed.jsonl), which
    the provider lists."""
    lines = (env.stack_dir / "seed.jsonl").read_text().splitlines()
    return json.loads(lines[index])


def signed_in_as_person(env: StackEnv, person: dict) -> Browser:
    """A browser signed in, through the provider's list, as a person of the
    stack's own seed (demo_person)."""
    browser = Browser(env.gateway_url)
    page = browser.open_login()
    label = strip_accents(person["family_name"]).upper()
    callback = browser.submit(page, next(p.sub for p in browser.persons(page)
                                         if label in strip_accents(p.label) and person["birth_date"] in p.label))
    assert callback.status_code == 303, f"sign-in as {label}: {callback.status_code} {callback.text[:300]}"
    return browser


def typed_pivot(person: dict) -> dict:
    """The person's pivot identity as an agent types it from their papers:
    no accents, any case (the match folds both)."""
    return {
        "given_name": " ".join(strip_accents(g).lower() for g in person["given_names"]),
        "family_name": strip_accents(person["family_name"]).lower().capitalize(),
        "birthdate": person["birth_date"],
        "gender": "female" if person["sex"] == "F" else "male",
        "birthplace": person["birth_place"],
        "birthcountry": "99100",
    }


def test_an_agent_signs_in_as_an_agent(env: StackEnv) -> None:
    agent = signed_in(env, AGENT)
    me = agent.me().json()
    assert me["role"] == "agent" and me["site"] == "France services de Quimperlé"
    assert me["mandates"] == []  or all(m["agent"] == me["sub"] for m in me["mandates"])


def test_only_an_agent_records_a_mandate(env: StackEnv, token) -> None:
    usager = signed_in(env, UNKNOWN_USAGER)
    body = {"kind": "bereavement", "usager": typed_pivot(demo_person(env, 3))}
    assert_problem(usager.api("POST", "/v1/mandates", json=body), 403)
    by_token = requests.post(env.gateway_url + "/v1/mandates", json=body,
                             headers={"Authorization": f"Bearer {token('not-an-agent')}"}, timeout=30)
    assert_problem(by_token, 403)
    # A usager never declares under a mandate.
    declaration = dict(bereavement_declaration(unknown_person()), mandate_id=str(uuid.uuid4()))
    assert_problem(usager.api("POST", "/v1/declarations", json=declaration), 403)


@pytest.mark.parametrize(("change", "field"), [
    ({"gender": "F"}, "usager.gender"),
    ({"birthplace": "99999"}, "usager.birthplace"),
    ({"birthdate": "2999-01-01"}, "usager.birthdate"),
    ({"family_name": "R2D2"}, "usager.family_name"),
    ({"birthcountry": "99134"}, "usager.birthplace"),
])
def test_a_mandate_names_a_valid_pivot_identity(env: StackEnv, change: dict, field: str) -> None:
    agent = signed_in(env, AGENT)
    body = {"kind": "bereavement", "usager": {**typed_pivot(demo_person(env, 3)), **change}}
    problem = assert_problem(agent.api("POST", "/v1/mandates", json=body), 422)
    assert field in [e["field"] for e in problem["errors"]], problem


def test_an_agent_declares_under_a_mandate_for_a_usager_who_signs_in_later(env: StackEnv, db: Databases) -> None:
    person = demo_person(env, 7)
    agent = signed_in(env, AGENT)
    other_agent = signed_in(env, OTHER_AGENT)
    agent_sub = agent.me().json()["sub"]
    body = {"kind": "bereavement", "usager": typed_pivot(person)}
    recorded = agent.api("POST", "/v1/mandates", json=body)
    assert recorded.status_code == 201, recorded.text
    mandate = recorded.json()
    assert recorded.headers["Location"] == f"/v1/mandates/{mandate['id']}"
    assert mandate["agent"] == agent_sub and mandate["site"] == "France services de Quimperlé"
    assert mandate["kind"] == "bereavement" and mandate["usager"] == body["usager"]
    assert mandate["journeys"] == [] and mandate["created_at"] < mandate["expires_at"]
    named = db("gateway").execute("SELECT usager_sub FROM mandates WHERE mandate_id = %s", (mandate["id"],)).fetchone()
    if named != (None,):
        pytest.skip("this demo person signed in before on this stack (a stack reused across runs)")

    declaration = bereavement_declaration(unknown_person())
    without = agent.api("POST", "/v1/declarations", json=declaration)
    assert "mandate_id" in [e["field"] for e in assert_problem(without, 422)["errors"]]
    for_a_move = agent.api("POST", "/v1/mandates", json={**body, "kind": "address_change"}).json()
    other_kind = agent.api("POST", "/v1/declarations", json={**declaration, "mandate_id": for_a_move["id"]})
    assert assert_problem(other_kind, 422)["type"] == "urn:mdv:problem:mandate-kind"
    assert_problem(other_agent.api("POST", "/v1/declarations", json={**declaration, "mandate_id": mandate["id"]}), 404)
    declared = agent.api("POST", "/v1/declarations", json={**declaration, "mandate_id": mandate["id"]})
    assert declared.status_code == 202, declared.text
    journey_id = declared.json()["journey_id"]

    # The agent sees it, and only the journeys under their mandates; another agent does not.
    assert agent.api("GET", f"/v1/journeys/{journey_id}").status_code == 200
    agent_list = agent.api("GET", "/v1/journeys?limit=100").json()["items"]
    assert journey_id in [j["id"] for j in agent_list]
    under = {j for m in agent.api("GET", "/v1/mandates").json()["items"] for j in m["journeys"]}
    assert {j["id"] for j in agent_list} <= under
    assert_problem(other_agent.api("GET", f"/v1/journeys/{journey_id}"), 404)
    assert_problem(other_agent.api("GET", f"/v1/mandates/{mandate['id']}"), 404)

    # The usager signs in for the first time: the journey and the mandate are theirs.
    usager = signed_in_as_person(env, person)
    me = usager.me().json()
    ours = {for_a_move["id"], mandate["id"]}
    assert [m["id"] for m in me["mandates"] if m["id"] in ours] == [for_a_move["id"], mandate["id"]]
    listed = [m for m in usager.api("GET", "/v1/mandates").json()["items"] if m["id"] in ours]
    assert [m["journeys"] for m in listed] == [[], [journey_id]]
    assert usager.api("GET", f"/v1/mandates/{mandate['id']}").status_code == 200
    assert usager.api("GET", f"/v1/journeys/{journey_id}").status_code == 200
    assert journey_id in [j["id"] for j in usager.api("GET", "/v1/journeys").json()["items"]]
    # Without JavaScript too: listed on /parcours (the journey is still owned by
    # the mandate), with the mandate on its page; and on the agent's.
    assert f'href="/parcours/{journey_id}"' in usager.get("/parcours").text
    page = usager.get(f"/parcours/{journey_id}")
    assert page.status_code == 200 and 'id="mandat"' in page.text, page.text[:500]
    assert "Déclarée pour vous par France services" in page.text and "France services de Quimperlé" in page.text
    assert f'href="/parcours/{journey_id}"' in agent.get("/parcours").text
    assert "Déclarée sous mandat" in agent.get(f"/parcours/{journey_id}").text
    by_token = requests.get(f"{env.gateway_url}/v1/journeys/{journey_id}",
                            headers={"Authorization": f"Bearer {mint_token(env, me['sub'])}"}, timeout=30)
    assert by_token.status_code == 200
    # Nobody else does.
    stranger = signed_in(env, OTHER_UNKNOWN_USAGER)
    assert_problem(stranger.api("GET", f"/v1/journeys/{journey_id}"), 404)
    assert_problem(stranger.api("GET", f"/v1/mandates/{mandate['id']}"), 404)
    owner = db("gateway").execute("SELECT usager_sub FROM mandates WHERE mandate_id = %s", (mandate["id"],)).fetchone()
    assert owner == (me["sub"],)


def test_a_mandate_for_a_usager_who_signed_in_before_names_them_at_once(env: StackEnv, db: Databases) -> None:
    person = demo_person(env, 11)
    usager = signed_in_as_person(env, person)
    sub = usager.me().json()["sub"]
    agent = signed_in(env, OTHER_AGENT)
    mandate = agent.api("POST", "/v1/mandates", json={"kind": "bereavement", "usager": typed_pivot(person)}).json()
    declared = agent.api("POST", "/v1/declarations",
                         json={**bereavement_declaration(unknown_person()), "mandate_id": mandate["id"]})
    assert declared.status_code == 202, declared.text
    journey_id = declared.json()["journey_id"]
    row = db("gateway").execute("SELECT usager_id, mandate_id::text FROM journeys WHERE journey_id = %s",
                                (journey_id,)).fetchone()
    assert row == (sub, mandate["id"])
    assert usager.api("GET", f"/v1/journeys/{journey_id}").status_code == 200


def test_an_agent_no_longer_sees_a_journey_once_its_mandate_expired(env: StackEnv, db: Databases) -> None:
    person = demo_person(env, 12)
    agent = signed_in(env, AGENT)
    mandate = agent.api("POST", "/v1/mandates", json={"kind": "bereavement", "usager": typed_pivot(person)}).json()
    declared = agent.api("POST", "/v1/declarations",
                         json={**bereavement_declaration(unknown_person()), "mandate_id": mandate["id"]})
    assert declared.status_code == 202, declared.text
    journey_id = declared.json()["journey_id"]
    assert agent.api("GET", f"/v1/journeys/{journey_id}").status_code == 200
    # The day is over: the clock of the mandate, moved as time would.
    db("gateway").execute("UPDATE mandates SET expires_at = now() - interval '1 second' WHERE mandate_id = %s",
                          (mandate["id"],))
    assert_problem(agent.api("GET", f"/v1/journeys/{journey_id}"), 404)
    assert journey_id not in {j["id"] for j in agent.api("GET", "/v1/journeys?limit=100").json()["items"]}
    # The usager it names still sees their journey once they sign in.
    usager = signed_in_as_person(env, person)
    assert usager.api("GET", f"/v1/journeys/{journey_id}").status_code == 200


def mandated_declaration(agent: Browser, person: dict) -> tuple[dict, str]:
    """A mandate the agent records for person, and the journey declared
    under it."""
    recorded = agent.api("POST", "/v1/mandates", json={"kind": "bereavement", "usager": typed_pivot(person)})
    assert recorded.status_code == 201, recorded.text
    mandate = recorded.json()
    declared = agent.api("POST", "/v1/declarations",
                         json={**bereavement_declaration(unknown_person()), "mandate_id": mandate["id"]})
    assert declared.status_code == 202, declared.text
    return mandate, declared.json()["journey_id"]


def test_a_usager_ends_a_mandate_and_the_agent_no_longer_acts_under_it(env: StackEnv) -> None:
    """The usager leaves the desk and ends the mandate at once rather than
    at the end of the day: the agent no longer sees its journey nor
    declares under it; the journey stays the usager's."""
    person = demo_person(env, 13)
    usager = signed_in_as_person(env, person)  # so that the mandate names them at once
    agent = signed_in(env, AGENT)
    mandate, journey_id = mandated_declaration(agent, person)
    assert mandate["ended_at"] is None and mandate["ended_by"] is None
    page = usager.get(f"/parcours/{journey_id}").text
    assert f'action="/parcours/{journey_id}/fin-du-mandat"' in page and "Mettre fin au mandat" in page
    end = f"/v1/mandates/{mandate['id']}/end"
    # Neither a stranger nor a forged form ends it.
    assert_problem(signed_in(env, SEEDED_USAGER).api("POST", end), 404)
    assert_problem(signed_in(env, OTHER_AGENT).api("POST", end), 404)
    assert_problem(usager.api("POST", f"/v1/mandates/{uuid.uuid4()}/end"), 404)
    assert_problem(usager.api("POST", "/v1/mandates/not-an-id/end"), 404)
    assert_problem(usager.api("POST", end, csrf=False), 403)
    assert agent.api("GET", f"/v1/journeys/{journey_id}").status_code == 200, "ended by a refused request"

    resp = usager.api("POST", end)
    assert resp.status_code == 200, resp.text
    ended = resp.json()
    assert ended["ended_by"] == "usager" and ended["ended_at"] == ended["expires_at"], ended
    assert ended["expires_at"] < mandate["expires_at"] and ended["journeys"] == [journey_id]
    again = usager.api("POST", end)  # a second click
    assert again.status_code == 200 and again.json() == ended, again.text
    assert agent.api("GET", f"/v1/mandates/{mandate['id']}").json() == ended

    assert_problem(agent.api("GET", f"/v1/journeys/{journey_id}"), 404)
    refused = assert_problem(agent.api("POST", "/v1/declarations", json={
        **bereavement_declaration(unknown_person()), "mandate_id": mandate["id"]}), 409)
    assert refused["type"] == "urn:mdv:problem:mandate-ended" and refused["title"] == "Mandat terminé", refused
    assert usager.api("GET", f"/v1/journeys/{journey_id}").status_code == 200
    page = usager.get(f"/parcours/{journey_id}").text
    assert "Fin du mandat" in page and "par vous" in page and "fin-du-mandat" not in page


def test_an_agent_ends_their_mandate_from_the_journey_page(env: StackEnv) -> None:
    """The appointment is over: the agent ends the mandate on the journey's
    page, without JavaScript, and is sent to their list; the usager, signed
    in later, sees who ended it."""
    person = demo_person(env, 14)
    agent = signed_in(env, AGENT)
    mandate, journey_id = mandated_declaration(agent, person)
    page = agent.get(f"/parcours/{journey_id}").text
    assert f'action="/parcours/{journey_id}/fin-du-mandat"' in page, page[:2000]
    form = f"{env.gateway_url}/parcours/{journey_id}/fin-du-mandat"
    forged = agent.http.post(form, data={"csrf_token": "x" + agent.csrf()}, timeout=30, allow_redirects=False)
    assert forged.status_code == 403, forged.text[:300]
    assert agent.api("GET", f"/v1/mandates/{mandate['id']}").json()["ended_at"] is None
    resp = agent.http.post(form, data={"csrf_token": agent.csrf()}, timeout=30, allow_redirects=False)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/parcours"), (resp.status_code,
                                                                                        resp.headers)
    ended = agent.api("GET", f"/v1/mandates/{mandate['id']}").json()
    assert ended["ended_by"] == "agent" and ended["ended_at"], ended
    assert agent.get(f"/parcours/{journey_id}").status_code == 404
    again = agent.http.post(form, data={"csrf_token": agent.csrf()}, timeout=30, allow_redirects=False)
    assert again.status_code == 303, "a second click is harmless"
    assert agent.api("GET", f"/v1/mandates/{mandate['id']}").json() == ended
    usager = signed_in_as_person(env, person)
    page = html.unescape(usager.get(f"/parcours/{journey_id}").text)
    assert "Fin du mandat" in page and "par l'agent" in page and "fin-du-mandat" not in page
    assert usager.api("GET", f"/v1/mandates/{mandate['id']}").json() == ended


def test_the_contracts_mandate_example_is_recorded_as_written(env: StackEnv) -> None:
    spec = yaml.safe_load((REPO_ROOT / "services" / "gateway" / "openapi.yaml").read_text())
    example = spec["paths"]["/v1/mandates"]["post"]["requestBody"]["content"]["application/json"]["example"]
    resp = signed_in(env, AGENT).api("POST", "/v1/mandates", json=example)
    assert resp.status_code == 201, resp.text
    assert resp.json()["usager"] == example["usager"]


def readme_curl_block() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("**With curl.**", 1)[1]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def expected_outputs(block: str) -> list[str]:
    """The comment lines right under a command (or under another such
    line): what the command prints, « … » standing for anything."""
    out, previous = [], ""
    for line in block.splitlines():
        if line.startswith("# ") and previous and (not previous.startswith("#") or previous in out_lines(out)):
            out.append(line[2:])
            previous = line
            continue
        previous = line
    return out


def out_lines(out: list[str]) -> set[str]:
    return {"# " + o for o in out}


def test_the_readmes_sign_in_examples_run_as_written(env: StackEnv) -> None:
    browser = signed_in(env, SEEDED_USAGER)
    block = readme_curl_block()
    proc = subprocess.run(["bash", "-c", block], capture_output=True, text=True, timeout=120,
                          env={**env.process_env, "COOKIE": browser.cookie(), "CSRF": browser.csrf()})
    assert proc.returncode == 0, proc.stderr
    got = proc.stdout.splitlines()
    expected = expected_outputs(block)
    assert len(got) == len(expected), (got, expected)
    for line, pattern in zip(got, expected):
        pattern = pattern.replace("http://127.0.0.1:17403", env.process_env["MDV_OIDC_URL"])
        regex = ".*".join(re.escape(part) for part in pattern.split("…"))
        assert re.fullmatch(regex, line), (line, pattern)
