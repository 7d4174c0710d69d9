"""The page's forms (services/gateway/web/static/forms.js) against the
gateway's contract (services/gateway/openapi.yaml): every kind of the
contract has a form, every field a form asks is a property of that kind's
schema, every required property is asked (or is the usager's own identity,
taken from the identity provider), and each field's widget fits the
property's schema (the choices of a list are the enum's, in its order)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FORMS = (REPO / "services" / "gateway" / "web" / "static" / "forms.js").read_text(encoding="utf-8")
SPEC = yaml.safe_load((REPO / "services" / "gateway" / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS = SPEC["components"]["schemas"]


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


def ref_name(node) -> str | None:
    return node["$ref"].rsplit("/", 1)[1] if isinstance(node, dict) and "$ref" in node else None


def js_options(text: str) -> list[str]:
    return re.findall(r'\["([^"]+)",\s*"', text)


def form_fields() -> dict[str, list[dict[str, str]]]:
    """{kind: [{name, type, options…}]} read from forms.js."""
    forms = {}
    for block in re.split(r"\n  \{\n    kind: ", FORMS)[1:]:
        kind = re.match(r'"([a-z_]+)"', block).group(1)
        fields = []
        for line in re.findall(r"^      \{ name: .*$", block, re.M):
            field = dict(re.findall(r'(\w+): "([^"]*)"', line))
            if "options: [" in line:
                field["options"] = js_options(line.split("options:", 1)[1])
            elif "options: " in line:
                const = re.search(r"options: ([A-Z_]+)", line).group(1)
                field["options"] = js_options(re.search(rf"export const {const} = \[(.*?)\n\];", FORMS, re.S).group(1))
            fields.append(field)
        forms[kind] = fields
    return forms


FORMS_BY_KIND = form_fields()
APP = (REPO / "services" / "gateway" / "web" / "static" / "app.js").read_text(encoding="utf-8")
# Optional properties a form may leave out, each with the schema that
# allows it and why: the page offers every other one.
NOT_ASKED_WHEN = {
    # A kind with no optional recipient (the list, when sent, is empty): nothing to choose.
    "recipients": "NoRecipients",
}
# Properties the page sends that no form asks: where each comes from.
SENT_BESIDE_THE_FORM = {
    # An agent declaring under a mandate (agent.js): the mandate's id, added to the form's body.
    "mandate_id": "body.mandate_id = mandate.id",
}
CONTRACT_KINDS = {kind: ref.rsplit("/", 1)[1] for kind, ref in SCHEMAS["Declaration"]["discriminator"]["mapping"].items()}

# What each widget of the page sends, as a check on the property's schema.
WIDGET_FITS = {
    # The usager's identity: a pivot identity, or one with more beside it
    # (test_a_self_field_sends_the_known_address_where_its_schema_takes_one).
    "self": lambda p: set(SCHEMAS["PivotIdentity"]["properties"]) <= set(resolve(p).get("properties", {}))
    and resolve(p).get("required") == SCHEMAS["PivotIdentity"]["required"],
    "person": lambda p: ref_name(p) == "PivotIdentity",
    "address_fr": lambda p: ref_name(p) == "AddressInFrance",
    "address_abroad": lambda p: ref_name(p) == "AddressAbroad",
    "date": lambda p: ref_name(p) == "Date",
    "cog": lambda p: ref_name(p) in ("CogCode", "CommuneCode"),
    "name": lambda p: ref_name(p) == "Name",
    "text": lambda p: resolve(p).get("type") == "string",
    "integer": lambda p: resolve(p).get("type") == "integer",
    "bool": lambda p: resolve(p).get("type") == "boolean",
    "checkbox": lambda p: resolve(p).get("type") == "boolean" and "default" in resolve(p),
    "select": lambda p: "enum" in resolve(p),
    "radio": lambda p: "enum" in resolve(p),
    "academic_year": lambda p: resolve(p).get("pattern") == r"^\d{4}-\d{4}$",
    "work_items": lambda p: ref_name(resolve(p).get("items")) == "RenovationWorkItem",
    "parents": lambda p: ref_name(resolve(p).get("items")) == "PivotIdentity",
    "recipients": lambda p: resolve(p).get("type") == "array" and "enum" in resolve(p).get("items", {}),
}


def test_every_kind_of_the_contract_has_a_form_and_no_other():
    assert set(FORMS_BY_KIND) == set(CONTRACT_KINDS)
    assert list(FORMS_BY_KIND) == list(CONTRACT_KINDS), "the page lists the kinds in the contract's order"


@pytest.mark.parametrize("kind", sorted(CONTRACT_KINDS))
def test_a_form_asks_exactly_the_properties_of_its_schema(kind):
    schema = SCHEMAS[CONTRACT_KINDS[kind]]
    asked = [f["name"] for f in FORMS_BY_KIND[kind]]
    assert len(asked) == len(set(asked)), asked
    assert set(asked) <= set(schema["properties"]), set(asked) - set(schema["properties"])
    missing = set(schema["required"]) - {"kind"} - set(asked)
    assert not missing, f"{kind}: the form does not ask {sorted(missing)}"
    allowed = {p for p, ref in NOT_ASKED_WHEN.items() if ref_name(schema["properties"].get(p)) == ref}
    left = set(schema["properties"]) - {"kind"} - set(asked) - allowed - set(SENT_BESIDE_THE_FORM)
    assert left == set(), f"an optional property the form never sends: {sorted(left)}"


@pytest.mark.parametrize("kind", sorted(CONTRACT_KINDS))
def test_each_widget_fits_its_property(kind):
    schema = SCHEMAS[CONTRACT_KINDS[kind]]
    for field in FORMS_BY_KIND[kind]:
        prop = schema["properties"][field["name"]]
        assert field["type"] in WIDGET_FITS, field
        assert WIDGET_FITS[field["type"]](prop), f"{kind}.{field['name']}: a {field['type']} for {prop}"
        if field["type"] in ("select", "radio"):
            assert field["options"] == resolve(prop)["enum"], f"{kind}.{field['name']}"


def test_the_usagers_own_identity_is_never_asked_but_taken_from_the_provider():
    own = {k for k, fields in FORMS_BY_KIND.items() if any(f["type"] == "self" for f in fields)}
    # Everyone declares for themself; the relative who declares a death
    # gives their own identity beside the deceased's (a spouse's names the
    # pension de réversion claim).
    assert own == set(CONTRACT_KINDS)


FORM_JS = (REPO / "services" / "gateway" / "web" / "static" / "form.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", sorted(CONTRACT_KINDS))
def test_a_self_field_sends_the_known_address_where_its_schema_takes_one(kind):
    """Beside the usager's identity, a declaration may take where they live
    (a death's declarant.address): the form sends there the address the
    administrations already know (GET /v1/me's known.address, an address
    in France), and nothing else beside the identity."""
    schema = SCHEMAS[CONTRACT_KINDS[kind]]
    for field in (f for f in FORMS_BY_KIND[kind] if f["type"] == "self"):
        own = resolve(schema["properties"][field["name"]])["properties"]
        beside = set(own) - set(SCHEMAS["PivotIdentity"]["properties"])
        assert beside == ({field["prefill"]} if "prefill" in field else set()), f"{kind}.{field['name']}: {beside}"
        if "prefill" in field:
            assert field["prefill"] == "address" and ref_name(own["address"]) == "AddressInFrance", field
            assert field.get("hint"), f"{kind}.{field['name']}: the page says what the address is for"
    # form.js puts the prefill beside the identity, under its own name.
    assert "[f.prefill]: known" in FORM_JS


@pytest.mark.parametrize("prop", sorted(SENT_BESIDE_THE_FORM))
def test_what_the_page_sends_beside_the_forms_is_sent(prop):
    assert SENT_BESIDE_THE_FORM[prop] in APP, f"app.js no longer sends {prop}"
