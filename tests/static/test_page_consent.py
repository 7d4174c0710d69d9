"""The page's consent checkboxes (services/gateway/web/static/consent.js)
against the rules they speak for: each kind offers exactly the partners of
the gateway's rules/recipients.tsv, in the contract's order, each saying the
fields its entitlement sends (services/partners/rules/entitlements.tsv,
without the journey's id), every field with a French label; and a form asks
for recipients exactly when its kind has some to offer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONSENT = (REPO / "services" / "gateway" / "web" / "static" / "consent.js").read_text(encoding="utf-8")
FORMS = (REPO / "services" / "gateway" / "web" / "static" / "forms.js").read_text(encoding="utf-8")
RECIPIENTS = REPO / "services" / "gateway" / "rules" / "recipients.tsv"
ENTITLEMENTS = REPO / "services" / "partners" / "rules" / "entitlements.tsv"
SCHEMAS = yaml.safe_load((REPO / "services" / "gateway" / "openapi.yaml").read_text(encoding="utf-8"))["components"]["schemas"]


def rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]


def offered() -> dict[str, list[dict]]:
    """{kind: [{partner, administration, why, fields}]} read from consent.js."""
    block = re.search(r"export const RECIPIENTS = \{\n(.*?)\n\};", CONSENT, re.S).group(1)
    found: dict[str, list[dict]] = {}
    kind = None
    for line in block.splitlines():
        if m := re.match(r"  (\w+): \[$", line):
            kind = m.group(1)
            found[kind] = []
        elif line.startswith("    { partner: "):
            entry = dict(re.findall(r'(\w+): "([^"]*)"', line))
            entry["fields"] = json.loads(re.search(r"fields: (\[[^\]]*\])", line).group(1))
            found[kind].append(entry)
    return found


def labels() -> dict[str, str]:
    block = re.search(r"export const FIELD_LABELS = \{\n(.*?)\n\};", CONSENT, re.S).group(1)
    return dict(re.findall(r'^  (\w+): "([^"]+)",$', block, re.M))


def test_each_kind_offers_exactly_the_partners_of_the_gateways_rules():
    rules: dict[str, list[str]] = {}
    for kind, partner, _event in rows(RECIPIENTS):
        rules.setdefault(kind, []).append(partner)
    page = {kind: [r["partner"] for r in entries] for kind, entries in offered().items()}
    assert page == rules


def test_the_choices_are_in_the_contracts_order():
    for kind, entries in offered().items():
        schema = SCHEMAS[SCHEMAS["Declaration"]["discriminator"]["mapping"][kind].rsplit("/", 1)[1]]
        ref = schema["properties"]["recipients"]["$ref"].rsplit("/", 1)[1]
        assert [r["partner"] for r in entries] == SCHEMAS[ref]["items"]["enum"], kind


def test_each_choice_says_what_its_partner_would_receive():
    sent = {(r[0], r[1]): r[3].split(",") for r in rows(ENTITLEMENTS)}
    events = {(kind, partner): event for kind, partner, event in rows(RECIPIENTS)}
    known = labels()
    for kind, entries in offered().items():
        for r in entries:
            fields = [f for f in sent[(r["partner"], events[(kind, r["partner"])])] if f != "journey_id"]
            assert r["fields"] == fields, f"{kind}/{r['partner']}: the page says {r['fields']}, the partner gets {fields}"
            assert r["administration"] and r["why"], r
            assert set(r["fields"]) <= set(known), set(r["fields"]) - set(known)


def test_a_form_asks_for_recipients_exactly_when_its_kind_has_some():
    asking = set()
    for block in re.split(r"\n  \{\n    kind: ", FORMS)[1:]:
        kind = re.match(r'"([a-z_]+)"', block).group(1)
        if re.search(r'\{ name: "recipients", type: "recipients"', block):
            asking.add(kind)
    assert asking == set(offered())

