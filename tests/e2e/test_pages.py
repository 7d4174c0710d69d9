"""The server-rendered pages, for reading without JavaScript: /indicateurs
(public), /parcours and /parcours/{id} (a signed-in usager's journeys) and
the rating form as a plain HTML form with the session's CSRF token. Every
value is escaped, every page is in French (lang="fr"), someone else's
journey is 404."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
import uuid

import requests

from mdv_e2e import bereavement_declaration, random_letters, steps_by_code, unknown_person
from signin import Browser
from test_indicators import MIN_COUNT, StepOwner, fresh_indicators, projected

HOSTILE = '<script>alert("mdv")</script>'
FORM_RE = re.compile(r'<form method="post" action="(/parcours/[0-9a-f-]+/avis)">(.*?)</form>', re.S)
CSRF_RE = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


def assert_page(resp: requests.Response, status: int) -> str:
    assert resp.status_code == status, f"{resp.url}: {resp.status_code} {resp.text[:300]}"
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8", resp.headers
    text = resp.text
    assert text.startswith("<!doctype html>\n<html lang=\"fr\""), text[:100]
    assert "<main role=\"main\" id=\"contenu\"" in text and "<h1>" in text
    assert "/static/dsfr/dsfr.min.css" in text
    assert "Content-Security-Policy" in resp.headers
    return text


def assert_no_hostile_markup(text: str) -> None:
    assert "<script" not in text, "a value became markup"
    assert "onerror=" not in text.replace("onerror=&quot;", "")


def signed_in(env, who: str = "MONTELNIL") -> Browser:
    browser = Browser(env.gateway_url)
    browser.sign_in(who)
    assert browser.cookie()
    return browser


def completed_journey(browser: Browser) -> str:
    """A journey declared through the session, completed."""
    resp = browser.api("POST", "/v1/declarations", json=bereavement_declaration(unknown_person(), "child"))
    assert resp.status_code == 202, resp.text
    journey_id = resp.json()["journey_id"]
    for _ in range(600):
        journey = browser.get(f"/v1/journeys/{journey_id}").json()
        if journey["status"] == "completed" and len(journey["steps"]) >= 8:
            return journey_id
        time.sleep(0.1)
    raise AssertionError(f"journey {journey_id} not completed: {journey}")


def rating_form(page: str) -> tuple[str, dict[str, str]]:
    match = FORM_RE.search(page)
    assert match, "no rating form on the page"
    fields = {"csrf_token": html.unescape(CSRF_RE.search(match.group(2)).group(1))}
    assert '<select class="fr-select" id="note" name="score" required>' in match.group(2)
    assert '<label class="fr-label" for="note">' in match.group(2)
    assert '<label class="fr-label" for="commentaire">' in match.group(2)
    return match.group(1), fields


def test_the_journey_page_shows_every_step_and_takes_the_rating_form(env):
    browser = signed_in(env)
    journey_id = completed_journey(browser)
    journey = browser.get(f"/v1/journeys/{journey_id}").json()

    page = assert_page(browser.get(f"/parcours/{journey_id}"), 200)
    for step in journey["steps"]:
        for value in filter(None, (step["administration"], step["label"], step["detail"])):
            assert html.escape(value, quote=True).replace("&#x27;", "&#39;") in page, value
    assert page.count("<tr>") == len(journey["steps"]) + 1
    assert "Terminée" in page and "Délai constaté" in page and "Délai annoncé" in page

    action, fields = rating_form(page)
    assert action == f"/parcours/{journey_id}/avis"
    without = browser.http.post(env.gateway_url + action, data={"score": "7"}, allow_redirects=False, timeout=30)
    assert_page(without, 403)
    comment = f"Bien, mais {HOSTILE}\nDeuxième ligne"
    sent = browser.http.post(env.gateway_url + action, data={**fields, "score": "7", "comment": comment},
                             allow_redirects=False, timeout=30)
    assert sent.status_code == 303, sent.text
    assert sent.headers["Location"] == f"/parcours/{journey_id}#avis"
    assert browser.get(f"/v1/journeys/{journey_id}").json()["rating"]["comment"] == comment

    after = assert_page(browser.get(f"/parcours/{journey_id}"), 200)
    assert_no_hostile_markup(after)
    assert "Bien, mais &lt;script&gt;alert(&quot;mdv&quot;)&lt;/script&gt;<br>Deuxième ligne" in after
    assert "la note de 7 sur 10" in after and not FORM_RE.search(after)
    again = browser.http.post(env.gateway_url + action, data={**fields, "score": "2"}, allow_redirects=False,
                              timeout=30)
    assert "Avis déjà donné" in assert_page(again, 409)

    # The header's sign-out is a plain form too, with the same token.
    logout = re.search(r'<form method="post" action="/auth/logout">(.*?)</form>', after, re.S)
    assert logout, "no sign-out form in the header"
    token = html.unescape(CSRF_RE.search(logout.group(1)).group(1))
    out = browser.http.post(env.gateway_url + "/auth/logout", data={"csrf_token": token}, allow_redirects=False,
                            timeout=30)
    assert out.status_code == 303, out.text
    assert_page(browser.get(f"/parcours/{journey_id}"), 401)


def test_the_rating_form_checks_its_fields(env):
    browser = signed_in(env)
    journey_id = completed_journey(browser)
    action, fields = rating_form(assert_page(browser.get(f"/parcours/{journey_id}"), 200))
    for data in ({}, {"score": "11"}, {"score": "-1"}, {"score": "huit"}, {"score": "5", "comment": "x" * 1001}):
        resp = browser.http.post(env.gateway_url + action, data={**fields, **data}, allow_redirects=False, timeout=30)
        assert "Avis incomplet" in assert_page(resp, 422), data
    assert browser.get(f"/v1/journeys/{journey_id}").json()["rating"] is None


def test_a_hostile_detail_is_escaped_and_the_list_links_each_journey(env, usager):
    """A step's administration and detail as its owner reported them, with
    markup in them; read with a bearer token (the pages take one too)."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    code = f"essai.page_{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    owner = StepOwner(env)
    owner.step(journey_id, code, f"Mairie {HOSTILE}", now - dt.timedelta(days=3), now - dt.timedelta(days=1),
               now + dt.timedelta(days=5), status="done", detail=f"Pièce reçue {HOSTILE}")
    projected(usager, journey_id, code, "done")
    headers = {"Authorization": f"Bearer {usager.token}"}

    page = assert_page(requests.get(f"{env.gateway_url}/parcours/{journey_id}", headers=headers, timeout=30), 200)
    assert_no_hostile_markup(page)
    assert "Mairie &lt;script&gt;alert(&quot;mdv&quot;)&lt;/script&gt;" in page
    assert "Pièce reçue &lt;script&gt;alert(&quot;mdv&quot;)&lt;/script&gt;" in page
    assert "2,0 jours" in page, "the délai constaté of the step, received to done"
    assert "Vous pourrez donner votre avis une fois la démarche terminée." in page
    assert 'action="/auth/logout"' not in page, "a bearer token has no session to end"

    listing = assert_page(requests.get(f"{env.gateway_url}/parcours", headers=headers, timeout=30), 200)
    assert f'<a class="fr-link" href="/parcours/{journey_id}">Je perds un proche' in listing


def test_someone_elses_journey_is_404_and_no_session_asks_to_sign_in(env, usager, make_usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    other = {"Authorization": f"Bearer {make_usager().token}"}
    for path in (f"/parcours/{journey_id}", f"/parcours/{uuid.uuid4()}", "/parcours/pas-un-numero"):
        text = assert_page(requests.get(env.gateway_url + path, headers=other, timeout=30), 404)
        assert "Démarche introuvable" in text
    browser = signed_in(env)
    assert_page(browser.get(f"/parcours/{journey_id}"), 404)
    resp = browser.http.post(f"{env.gateway_url}/parcours/{journey_id}/avis",
                             data={"csrf_token": browser.csrf(), "score": "3"}, allow_redirects=False, timeout=30)
    assert_page(resp, 404)
    assert usager.journey(journey_id)["rating"] is None
    for path in ("/parcours", f"/parcours/{journey_id}"):
        text = assert_page(requests.get(env.gateway_url + path, timeout=30), 401)
        assert 'href="/auth/login"' in text


def test_the_indicators_page_shows_the_figures_escaped(env, usager):
    """Five steps of an administration whose name holds markup: its row is
    published, escaped."""
    owner = StepOwner(env)
    code = f"essai.page_{uuid.uuid4().hex[:8]}"
    administration = f"Essai {random_letters(6)} {HOSTILE}"
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for i in range(MIN_COUNT):
        journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
        received = now - dt.timedelta(days=10 + i)
        owner.step(journey_id, code, administration, received, received + dt.timedelta(days=3),
                   received + dt.timedelta(days=5))
        projected(usager, journey_id, code, "done")
    fresh_indicators(env, dt.datetime.now(dt.timezone.utc))
    page = assert_page(requests.get(env.gateway_url + "/indicateurs", timeout=30), 200)
    assert_no_hostile_markup(page)
    row = re.search(r"<tr><td>" + re.escape(html.escape(administration, quote=True).replace("&#x27;", "&#39;"))
                    + r"</td>(.*?)</tr>", page, re.S)
    assert row, "the administration's row"
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells == ["Étape d'essai des indicateurs".replace("'", "&#39;"), str(MIN_COUNT), "3,0 jours",
                     "5,0 jours", "100 %"], cells
    assert "<caption>" in page and '<th scope="col">Délai constaté (médiane)</th>' in page


def esc(value: str) -> str:
    return html.escape(value, quote=True).replace("&#x27;", "&#39;")


def test_the_journey_page_lists_every_recipient_with_what_it_received_and_its_receipt(env):
    browser = signed_in(env)
    env.stack("stop-simulator", "cnav")
    try:
        resp = browser.api("POST", "/v1/declarations", json=bereavement_declaration(unknown_person(), "child"))
        assert resp.status_code == 202, resp.text
        journey_id = resp.json()["journey_id"]
        deadline = time.monotonic() + 60
        while True:
            recipients = {r["partner"]: r for r in browser.get(f"/v1/journeys/{journey_id}").json()["recipients"]}
            if set(recipients) == {"cnav", "dgfip", "caf", "cpam"} and all(
                    recipients[p]["acknowledged_at"] for p in ("dgfip", "caf", "cpam")):
                break
            assert time.monotonic() < deadline, f"recipients of {journey_id}: {recipients}"
            time.sleep(0.2)
        page = assert_page(browser.get(f"/parcours/{journey_id}"), 200)
    finally:
        env.stack("start-simulator", "cnav")
    assert '<h2 id="destinataires">Destinataires</h2>' in page
    section = page.split('<h2 id="destinataires">', 1)[1].split("<h2", 1)[0]
    items = re.findall(r'<li class="fr-mb-3w">(.*?)</ul><p class="fr-text--sm">(.*?)</p></li>', section, re.S)
    assert len(items) == 4, section
    for partner, recipient in recipients.items():
        (item, why), = [(i, w) for i, w in items if f">{esc(recipient['administration'])}</h3>" in i]
        for field in recipient["fields"]:
            assert f"<li>{esc(field['label'])}</li>" in item, (partner, field)
        assert why == "Transmis en application de la loi : " + esc(recipient["legal_basis"]), why
        assert re.search(r"Transmis le \d{1,2}(er)? \w+ \d{4} à \d{1,2} h \d{2} \(UTC\)\.", item), item
        if partner == "cnav":
            assert "En attente d'accusé de réception." in item, item
        else:
            assert re.search(r"Accusé de réception le \d{1,2}(er)? \w+ \d{4} à \d{1,2} h \d{2} \(UTC\)\.",
                             item), item
