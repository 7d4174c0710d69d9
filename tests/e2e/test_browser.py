"""The usager's page in a real browser: Debian's Chromium, headless, driven
by puppeteer-core (tests/browser/run.mjs, one scenario a test). Sign-in
goes through the stack's real OpenID provider; every page state a scenario
reaches is audited by axe-core (WCAG 2.0-2.2 A and AA rules and best
practices: any violation fails) and photographed at desktop and phone
widths into build/browser/."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mdv_e2e import (REPO_ROOT, STEP_SURVIVOR, StackEnv, bereavement_declaration, random_letters, record_figures,
                     unknown_person)
from signin import Browser
from test_partners_recipients import DEATH, LABELS, entitlements

RUNNER = REPO_ROOT / "tests" / "browser" / "run.mjs"
PERSON = "INCONNU-TESTEUR"  # deploy/local/oidc/persons.json: known to no administration


def run_scenario(env: StackEnv, scenario: str, data: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    modules = env.bin_dir.parent / "browser-npm" / "node_modules"
    assert (modules / "puppeteer-core").is_dir(), f"{modules}: make e2e installs the browser tests' drivers"
    shots = env.bin_dir.parent / "browser"
    proc = subprocess.run(
        ["node", str(RUNNER), scenario], input=json.dumps({"gateway_url": env.gateway_url, "person": PERSON, **data}),
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "MDV_BROWSER_MODULES": str(modules), "MDV_SCREENSHOTS": str(shots)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert "error" not in report, f"{report['error']}\nat {report.get('error_url')}\n{report.get('error_html', '')[:1500]}"
    for audit in report["audits"]:
        assert audit["violations"] == [], f"axe-core on {audit['state']} ({audit['url']}): {audit['violations']}"
    for shot in report["screenshots"]:
        assert (shots / shot["file"]).is_file() and (shots / shot["phone"]).is_file()
        assert shot["phone_overflow_px"] <= 0, f"{shot['state']}: wider than a phone by {shot['phone_overflow_px']} px"
    assert report["csp"] == [], f"the Content-Security-Policy blocked: {report['csp']}"
    # The browser logs every answer in error (a 401 before sign-in, a 422 the
    # page shows): those are the API's to test; anything else fails.
    errors = [m for m in report["console"] if not m.startswith("Failed to load resource: the server responded")]
    assert errors == [], f"console errors: {errors}"
    return report


def day(offset: int) -> str:
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


def deceased(prefix: str = "deceased") -> dict[str, Any]:
    """A person no administration knows, new at each run (a death declared
    again is « déjà enregistré »)."""
    return {f"f-{prefix}-family_name": random_letters().upper(), f"f-{prefix}-given_names": "Jeanne Marie",
            f"f-{prefix}-sex": True, f"f-{prefix}-birth_date": "1948-03-02", f"f-{prefix}-birth_place": "75056"}


# Each kind's form as a usager fills it (input ids: f- and the field's path).
FORMS = {
    "bereavement": {**deceased(), "f-death_date": day(-3), "f-death_place": "75056",
                    "f-declarant_relationship": "child"},
    "address_change": {"f-address-lines-0": "12 rue des Lilas", "f-address-postal_code": "75011",
                       "f-address-commune_code": "75056", "f-address-city": "Paris", "f-effective_date": day(-2)},
    "name_change": {"f-name_type": True, "f-new_family_name": "DUPONT", "f-effective_date": day(-10)},
    "identity_document": {"f-document_type": True, "f-reason": "renewal"},
    "departure_abroad": {"f-address-lines-0": "1234 rue Saint-Denis", "f-address-city": "Montréal",
                         "f-address-postal_code": "H2X 1Y4", "f-address-country_code": "99401",
                         "f-departure_date": day(20), "f-consular_registration": True},
    "return_to_france": {"f-address-lines-0": "3 place Bellecour", "f-address-postal_code": "69002",
                         "f-address-commune_code": "69123", "f-return_date": day(-5)},
    "renovation_grant": {"f-dwelling-lines-0": "8 rue de la Monnaie", "f-dwelling-postal_code": "35000",
                         "f-dwelling-commune_code": "35238", "f-dwelling-city": "Rennes", "f-construction_year": "1978",
                         "f-main_residence": True, "f-owner_occupier": True, "f-household_size": "2",
                         "f-reference_tax_income_eur": "30000", "f-items-0-code": "air_water_heat_pump",
                         "f-items-0-cost_eur": "12000"},
    "student_grant": {"f-academic_year": "2025-2026", "f-institution": "Université Claude Bernard Lyon 1",
                      "f-study_commune_code": "69266", "f-parents_income_eur": "24000", "f-children_at_charge": "1",
                      "f-children_in_higher_education": "0", "f-family_home_distance_km": "120",
                      "f-housing_wanted": True},
}


def test_signed_out_the_page_offers_franceconnect(env):
    report = run_scenario(env, "signed_out", {})
    assert report["steps"]["lang"] == "fr"
    assert report["steps"]["login_href"].startswith("/auth/login?return_to=")


def test_a_usager_signs_in_and_declares_every_kind_followed_live(env):
    forms = {**FORMS, "bereavement": {**FORMS["bereavement"], **deceased()}}
    report = run_scenario(env, "declare", {"forms": forms}, timeout=1200)
    steps = report["steps"]
    assert steps["greeting"] == "Bonjour Lucien INCONNU-TESTEUR"
    journeys = steps["journeys"]
    assert set(journeys) == set(FORMS)
    for kind, j in journeys.items():
        # A double click posted once, or twice with one Idempotency-Key: one journey.
        new = [x["id"] for x in steps["listed"] if x["kind"] == kind and x["id"] not in steps["before"]]
        assert new == [j["id"]], (kind, new)
        assert all(s["status"] != "pending" for s in j["final"]), (kind, j["final"])
        # The page read the journey once, then followed it on one stream: no polling.
        assert j["journey_gets"] == 1 and j["streams"] >= 1, (kind, j)
    # Followed live: a journey still moving when its page first showed it
    # reached its final state on that page from its one stream (one GET,
    # above). Every journey may already be final when its page opens (a
    # quick stack, a slow browser): test_a_usager_confirms_a_step_and_sees_
    # it_change_live always changes a step under the page's eyes.
    changed = [k for k, j in journeys.items() if j["first"] != j["final"]]
    record_figures(env, [f"browser: {len(changed)} of {len(journeys)} journeys changed on their page after it opened"])


def test_errors_are_shown_field_by_field_in_french(env):
    values = {"f-deceased-family_name": "Martin2", "f-death_place": "75056"}
    report = run_scenario(env, "errors", {"values": values})
    steps = report["steps"]
    assert steps["focused"] == "erreurs", "the error summary takes the focus"
    assert "f-deceased-family_name" in steps["invalid"] and "f-death_date" in steps["invalid"]
    assert "f-death_place" not in steps["invalid"]
    by_box = {m["box"]: m["text"] for m in steps["messages"]}
    assert by_box["f-death_date-messages"] == "Ce champ est obligatoire."
    assert by_box["f-deceased-family_name-messages"] == "Écrivez le nom en lettres, comme à l'état civil."
    assert any(item.startswith("Date du décès : ") for item in steps["summary"]), steps["summary"]


def test_a_usager_confirms_a_step_and_sees_it_change_live(env):
    values = {**FORMS["bereavement"], **deceased(), "f-declarant_relationship": "spouse"}
    report = run_scenario(env, "confirm", {"values": values, "step": STEP_SURVIVOR})
    steps = report["steps"]
    assert steps["status"] in ("in_progress", "done"), steps
    assert steps["announced"].startswith("Démarche mise à jour à")
    assert steps["journey_gets"] == 1, "the change came on the stream, not by reading the journey again"
    record_figures(env, [f"browser: « Confirmer » clicked to the step changed on the page: {steps['seen_after_ms']} ms"])


def test_a_usager_rates_a_completed_demarche_from_its_page(env):
    comment = "Tout a été transmis sans que j'aie à le redire."
    report = run_scenario(env, "rate", {"values": {**FORMS["bereavement"], **deceased()}, "score": 9,
                                        "comment": comment})
    steps = report["steps"]
    # The rating page, then the journey's own page, say what was recorded.
    assert steps["after_post"] == "Vous avez donné la note de 9 sur 10.", steps
    assert steps["comment_shown"] == comment, steps
    assert steps["on_page"] == "Vous avez donné la note de 9 sur 10.", steps


def test_the_journey_page_lists_every_recipient_as_it_acknowledges(env):
    entitled = entitlements(DEATH)
    report = run_scenario(env, "recipients", {"values": {**FORMS["bereavement"], **deceased()},
                                              "partners": sorted(entitled)})
    steps = report["steps"]
    assert steps["heading"] == "Destinataires"
    assert steps["journey_gets"] == 1, "the receipts came on the stream, not by reading the journey again"
    shown = {r["partner"]: r for r in steps["recipients"]}
    assert set(shown) == set(entitled), steps["recipients"]
    for partner, item in shown.items():
        assert item["administration"] == entitled[partner]["administration"], item
        assert item["fields"] == [LABELS[f] for f in entitled[partner]["fields"]], item
        assert item["texts"][0].startswith("Transmis le ") and ". Accusé de réception le " in item["texts"][0], item
        assert item["texts"][1:] == ["Informations transmises :",
                                     "Transmis en application de la loi : " + entitled[partner]["legal_basis"]], item


def test_keyboard_only_a_usager_tabs_through_a_form_and_declares(env):
    """The pré-demande's form with Tab, Space on a choice, the arrows in a
    list and Enter on « Déclarer ». (A date field's parts follow the
    browser's own locale, which the page does not choose: the forms with
    dates are filled in the other tests.)"""
    keys = {"f-document_type": ["Space"], "f-reason": ["ArrowDown", "ArrowDown"]}
    report = run_scenario(env, "keyboard", {"kind": "identity_document", "keys": keys,
                                            "keys_of_body": {"document_type": 1, "reason": 1}})
    visited = [v["id"] for v in report["steps"]["visited"]]
    assert visited.index("f-document_type") < visited.index("f-reason"), visited
    assert all(v["outline"] for v in report["steps"]["visited"] if v["id"].startswith("f-")), "focus not visible"
    assert report["steps"]["body"] == {"document_type": "cni", "reason": "renewal"}, report["steps"]["body"]


def test_a_post_of_the_session_without_its_csrf_token_is_refused(env):
    body = {"kind": "bereavement", "deceased": {"family_name": "INCONNU-CSRF", "given_names": ["Paul"], "sex": "M",
            "birth_date": "1950-01-01", "birth_place": "75056"}, "death_date": day(-1), "death_place": "75056",
            "declarant_relationship": "child"}
    answers = run_scenario(env, "csrf", {"body": body})["steps"]["answers"]
    assert answers["without"] == 403 and answers["wrong"] == 403, answers
    assert answers["without_type"] == "application/problem+json"
    assert answers["right"] == 202, answers


def test_sign_out_ends_the_session_at_the_gateway_and_the_provider(env):
    steps = run_scenario(env, "signout", {})["steps"]
    assert steps["after"].rstrip("/") == env.gateway_url
    assert steps["me"] == 401
    assert steps["connect_button"]


AGENT = "AGENTE"  # deploy/local/oidc/persons.json: an agent of France services de Quimperlé
MANDATED = "NULLEPART"  # a usager born abroad (99134), known to no administration


def test_an_agent_declares_under_a_mandate_and_the_usager_finds_journey_and_mandate(env):
    """The agent's whole flow on the page: sign in as an agent, record a
    mandate for the usager at the desk (refused field by field first),
    declare their address change under it with their identity taken from
    the mandate, see only the journeys under their mandates, sign out; the
    usager signs in and finds the journey and the mandate, on the page and
    on the server-rendered one."""
    usager = Browser(env.gateway_url)
    assert usager.sign_in(MANDATED).status_code == 303
    own = usager.api("POST", "/v1/declarations", json=bereavement_declaration(unknown_person()))
    assert own.status_code == 202, own.text
    other_journey = own.json()["journey_id"]  # theirs, not under the agent's mandate
    typed = {"f-usager-family_name": "Nullepart", "f-usager-given_name": "Noemie", "f-usager-gender": True,
             "f-usager-birthdate": "2001-11-02", "f-usager-birthcountry": "99134", "f-kind": "address_change"}
    report = run_scenario(env, "mandate", {
        "agent": AGENT, "person": MANDATED, "other_journey": other_journey,
        "mandate_refused": {**typed, "f-usager-family_name": "", "f-usager-birthplace": "75056"},
        "mandate": {**typed, "f-usager-birthplace": ""},
        "values": FORMS["address_change"],
    })
    steps = report["steps"]
    assert steps["agent_greeting"] == "Bonjour Claire AGENTE"
    assert "France services de Quimperlé" in steps["agent_lead"]
    assert set(steps["mandate_invalid"]) == {"f-usager-family_name", "f-usager-birthplace"}, steps["mandate_invalid"]
    mandate_id, journey_id = steps["mandate_id"], steps["journey_id"]
    assert steps["agent_mandates"].count(mandate_id) == 1, "a double click recorded one mandate"
    assert "Noemie Nullepart" in steps["under_mandate"], steps["under_mandate"]
    # The usager's identity is the mandate's: shown, not asked, and sent.
    assert steps["identity_fields"] == []
    assert steps["posted"]["mandate_id"] == mandate_id
    assert steps["posted"]["person"] == {"family_name": "Nullepart", "given_names": ["Noemie"], "sex": "F",
                                         "birth_date": "2001-11-02", "birth_place": "99134"}
    for text, kind in ((steps["agent_sees_mandate"], "Déclarer un changement d'adresse"),
                       (steps["usager_sees_mandate"], "Déclarer un changement d'adresse"),
                       (steps["page_mandate"], "J'établis mon identité : changer d'adresse")):
        assert "Noemie Nullepart" in text and "France services de Quimperlé" in text, text
        assert kind in text and "Mandat donné le" in text, text
    assert "pour vous" in steps["usager_sees_mandate"] and "pour vous" in steps["page_mandate"]
    # The agent sees the journeys under their mandates only.
    assert journey_id in steps["agent_listed"] and journey_id in steps["agent_api_listed"]
    assert other_journey not in steps["agent_listed"] and other_journey not in steps["agent_api_listed"]
    assert steps["agent_other_journey"] == "Page introuvable"
    assert steps["agent_me_after"] == 401
    # The usager finds it among theirs, on the page and without JavaScript.
    assert "pour vous par France services" in steps["usager_item"], steps["usager_item"]
    assert journey_id in steps["page_listed"] and other_journey in steps["page_listed"]


# The usager MANDATED as an agent types them from their papers.
NULLEPART = {"family_name": "Nullepart", "given_name": "Noemie", "gender": "female", "birthdate": "2001-11-02",
             "birthcountry": "99134", "birthplace": ""}


def test_an_agent_and_the_usager_end_mandates_on_the_page_and_each_reads_who_ended_it(env):
    """Ending a mandate on the page: the agent on their home (asked again
    and kept, refused once by the gateway, then ended) and on a journey's
    page; the usager on their home (a mandate with no journey yet) and on
    a journey's page. Each ended mandate then says « terminé », when, and
    by whom (« par vous », « par l'agent »), and offers no button."""
    usager = Browser(env.gateway_url)
    assert usager.sign_in(MANDATED).status_code == 303  # so that the mandates name them at once
    agent = Browser(env.gateway_url)
    assert agent.sign_in(AGENT).status_code == 303

    def mandate(declare: bool) -> dict[str, str]:
        recorded = agent.api("POST", "/v1/mandates", json={"kind": "bereavement", "usager": NULLEPART})
        assert recorded.status_code == 201, recorded.text
        m = {"mandate_id": recorded.json()["id"]}
        if declare:
            declared = agent.api("POST", "/v1/declarations",
                                 json={**bereavement_declaration(unknown_person()), "mandate_id": m["mandate_id"]})
            assert declared.status_code == 202, declared.text
            m["journey_id"] = declared.json()["journey_id"]
        return m

    mandates = {"agent_home": mandate(True), "agent_journey": mandate(True), "usager_home": mandate(False),
                "usager_journey": mandate(True)}
    steps = run_scenario(env, "mandate_end", {"agent": AGENT, "person": MANDATED, **mandates})["steps"]
    a, b, d = (mandates[k]["mandate_id"] for k in ("agent_home", "agent_journey", "usager_home"))
    agent_says = "Fin du rendez-vous : vous ne pourrez plus déclarer sous ce mandat ni voir ses démarches"
    # The agent's home: a real button, saying what ending means.
    assert steps["offered"]["text"] == "Mettre fin au mandat" and steps["offered"]["type"] == "button", steps
    assert steps["offered"]["described"].startswith(agent_says), steps["offered"]
    # Asked again before anything is sent, the focus on « Oui » described by the question.
    question = steps["question"]
    assert question.startswith("Mettre fin maintenant au mandat de Noemie Nullepart pour « ") and "définitif" in question
    assert steps["focus_on_question"]["text"] == "Oui, mettre fin au mandat", steps["focus_on_question"]
    assert steps["focus_on_question"]["described"] == question
    assert steps["focus_after_no"]["text"] == "Mettre fin au mandat" and steps["ended_after_no"] is None, steps
    # Refused: said beside the buttons, the focus back on « Oui », nothing ended.
    assert steps["refusal"]["role"] == "alert", steps["refusal"]
    assert "Service momentanément indisponible" in steps["refusal"]["text"]
    assert "toujours en cours" in steps["refusal"]["text"], steps["refusal"]
    assert steps["focus_after_refusal"]["text"] == "Oui, mettre fin au mandat" and steps["ended_after_refusal"] is None
    # Ended: announced where the focus lands; among the day's ended ones, with when and by whom.
    ended = steps["home_ended"]
    assert ended["notice"]["role"] == "status" and ended["focus"]["id"] == "mandat-termine", ended
    assert ended["notice"]["text"].startswith("Le mandat de Noemie Nullepart est terminé le "), ended["notice"]
    assert ", par vous" in ended["notice"]["text"], ended["notice"]
    assert a not in ended["in_force"] and b in ended["in_force"], ended
    assert "null" not in ended["text"], ended["text"]
    over = {o["id"]: o["text"] for o in ended["over"]}
    assert a in over and ": terminé le " in over[a] and over[a].endswith(", par vous."), over
    assert mandates["agent_home"]["journey_id"] not in ended["journeys"], "the agent no longer sees its journey"
    # On the journey's page: the steps leave, the mandate says so.
    page = steps["journey_ended"]
    assert "Fin du mandat" in page["facts"] and "terminé le " in page["facts"] and "par vous" in page["facts"], page
    assert "Valable jusqu'au" not in page["facts"] and page["state"] == "termine", page
    assert page["notice"]["role"] == "status" and page["notice"]["text"].startswith("Mandat terminé le "), page
    assert page["focus"]["id"] == "mandat-termine" and page["buttons"] == 0 and page["steps"] == 0, page
    assert "reste celle de l'usager" in page["view"], page["view"]
    assert steps["declare_after"]["h1"] == "Mandat terminé", steps["declare_after"]
    assert "terminé le " in steps["declare_after"]["text"] and "par vous" in steps["declare_after"]["text"]
    assert steps["journey_after"] == "Page introuvable"
    # The usager's home: their mandate in force, ended there.
    assert steps["usager_home_item"].startswith("Mandat donné le "), steps["usager_home_item"]
    assert "France services de Quimperlé" in steps["usager_home_item"], steps["usager_home_item"]
    assert steps["usager_home_offered"]["text"] == "Mettre fin au mandat"
    assert steps["usager_home_offered"]["described"].startswith("L'agent ne pourra plus déclarer pour vous")
    assert steps["usager_question"].startswith("Mettre fin maintenant au mandat donné à France services de Quimperlé")
    home = steps["usager_home_ended"]
    assert home["notice"]["role"] == "status" and home["focus"]["id"] == "mandat-termine", home
    assert home["notice"]["text"].startswith("Le mandat donné à France services de Quimperlé est terminé le "), home
    assert home["notice"]["text"].endswith(", par vous.") and d not in home["in_force"], home
    assert "null" not in home["text"], home["text"]
    # The one the agent ended, as the usager reads it.
    seen = steps["usager_sees_agent_end"]
    assert "terminé le " in seen["facts"] and "par l'agent" in seen["facts"] and seen["buttons"] == 0, seen
    # Ended by the usager on the journey's page: their journey stays on it.
    theirs = steps["usager_journey_ended"]
    assert "terminé le " in theirs["facts"] and "par vous" in theirs["facts"] and theirs["buttons"] == 0, theirs
    assert theirs["notice"]["role"] == "status" and theirs["focus"]["id"] == "mandat-termine", theirs
    assert theirs["steps"] > 0, "the journey stays the usager's"
    # What the gateway recorded: who ended each.
    by = {k: usager.api("GET", f"/v1/mandates/{m['mandate_id']}").json()["ended_by"] for k, m in mandates.items()}
    assert by == {"agent_home": "agent", "agent_journey": "agent", "usager_home": "usager",
                  "usager_journey": "usager"}, by


def seeded_in_france(env) -> dict[str, Any]:
    """A person of the stack's own seed (which the provider lists) whom
    identity knows, living in France; from the end of the file (the sign-in
    tests take theirs from its start)."""
    for line in reversed((env.stack_dir / "seed.jsonl").read_text().splitlines()):
        p = json.loads(line)
        services = {r if isinstance(r, str) else r.get("service") for r in p["records"]}
        if "identity" in services and (p.get("address") or {}).get("country_code") == "99100":
            return p
    pytest.fail("no seeded person known to identity in France")


def test_a_usager_chooses_optional_recipients_with_checkboxes_none_checked(env, db):
    """An address change's optional recipients (the CNAV, the DGFiP, the CAF) offered
    as checkboxes saying what each would receive, none checked; declared
    without a choice (recipients [], no partner step) and with the DGFiP
    ticked (its step on the journey, the CNAV's not)."""
    person = seeded_in_france(env)
    report = run_scenario(env, "consent", {
        "person": [person["family_name"].upper(), person["birth_date"]],
        "values": FORMS["address_change"], "chosen": ["dgfip"], "recorded": "identity.address_recorded",
    })
    steps = report["steps"]
    offered = {o["value"]: o for o in steps["offered"]}
    assert list(offered) == ["cnav", "dgfip", "caf"]
    assert not any(o["checked"] for o in offered.values()), "nothing is chosen for the usager"
    assert offered["cnav"]["label"].startswith("L'Assurance retraite (CNAV)")
    assert "Recevra : nom de naissance, prénoms, sexe," in offered["cnav"]["label"]
    assert offered["dgfip"]["label"].startswith("Les Finances publiques (DGFiP)")
    assert "sexe" not in offered["dgfip"]["label"] and "date d'emménagement." in offered["dgfip"]["label"]
    assert offered["caf"]["label"].startswith("La Caisse d'allocations familiales (CAF)")
    assert "sexe" not in offered["caf"]["label"] and "date d'emménagement." in offered["caf"]["label"]
    assert steps["legend"].startswith("Prévenir aussi")
    without, chosen = steps["journeys"]
    assert without["posted"] == [] and chosen["posted"] == ["dgfip"]
    assert "dgfip.address_notified" in chosen["steps"] and "cnav.address_notified" not in chosen["steps"]
    assert not {"dgfip.address_notified", "cnav.address_notified", "caf.address_notified"} & set(without["steps"]), without
    consents = {j["id"]: [r[0] for r in db("gateway").execute(
        "SELECT partner FROM consents WHERE journey_id = %s ORDER BY partner", (j["id"],))] for j in (without, chosen)}
    assert consents == {without["id"]: [], chosen["id"]: ["dgfip"]}
