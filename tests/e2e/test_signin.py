"""Signing in as with FranceConnect: the gateway as a confidential OpenID
client of the stack's provider, the session cookie, CSRF, sign-out, and
France services agents acting under a mandate."""

from __future__ import annotations

from mdv_e2e import StackEnv
from signin import Browser, query_of


def test_sign_in_as_a_seeded_person_gives_a_session_and_me(env: StackEnv) -> None:
    browser = Browser(env.gateway_url)
    login = browser.get("/auth/login", params={"return_to": "/v1/me"})
    assert login.status_code == 302
    auth = query_of(login.headers["Location"])
    assert auth["response_type"] == "code" and auth["code_challenge_method"] == "S256"
    assert len(auth["code_challenge"]) == 43 and auth["state"] and auth["nonce"]
    page = browser.follow(login)
    assert "Choisissez une personne de test" in page.text
    person = next(p for p in browser.persons(page) if "MONTELNIL" in p.label)
    callback = browser.submit(page, person.sub)
    assert callback.status_code == 303, callback.text
    assert callback.headers["Location"] == "/v1/me"
    me = browser.me()
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["sub"] == person.sub and body["role"] == "usager"
    assert body["family_name"] == "MONTELNIL" and body["given_name"].startswith("Amélie")
    assert body["gender"] == "female" and body["birthcountry"] == "99100"
    assert len(body["csrf_token"]) == 43
