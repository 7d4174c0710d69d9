"""The optional recipients a declaration may name (the gateway's
rules/recipients.tsv) are exactly the optional entitlements of the partners
(services/partners/rules/entitlements.tsv): a partner a usager could choose
and that would receive nothing, or an optional entitlement no usager could
ever choose, fails. The gateway's contract lists the same partners for each
kind."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RECIPIENTS = REPO / "services" / "gateway" / "rules" / "recipients.tsv"
ENTITLEMENTS = REPO / "services" / "partners" / "rules" / "entitlements.tsv"
PARTNERS = REPO / "services" / "partners" / "rules" / "partners.tsv"
OPENAPI = REPO / "services" / "gateway" / "openapi.yaml"


def rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]


def choosable() -> set[tuple[str, str, str]]:
    """(kind, partner, event) of the gateway's file."""
    found = set()
    for row in rows(RECIPIENTS):
        assert len(row) == 3 and all(row), row
        found.add(tuple(row))
    return found


def test_the_gateway_offers_exactly_the_optional_entitlements():
    optional = {(r[0], r[1]) for r in rows(ENTITLEMENTS) if r[4] == "optional"}
    offered = {(partner, event) for _, partner, event in choosable()}
    assert optional, "no optional entitlement: nothing for a usager to choose"
    assert offered == optional


def test_every_recipient_offered_is_a_partner():
    partners = {r[0] for r in rows(PARTNERS)}
    assert {partner for _, partner, _ in choosable()} <= partners


def test_the_contract_lists_the_recipients_of_each_kind():
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    by_kind = {}
    for name in (ref["$ref"].rsplit("/", 1)[-1] for ref in schemas["Declaration"]["oneOf"]):
        props = schemas[name]["properties"]
        (kind,) = props["kind"]["enum"]
        chosen = schemas[props["recipients"]["$ref"].rsplit("/", 1)[-1]]
        by_kind[kind] = set(chosen.get("items", {}).get("enum", []))
        if not by_kind[kind]:
            assert chosen["maxItems"] == 0, name
    expected = {kind: set() for kind in by_kind}
    for kind, partner, _ in choosable():
        expected[kind].add(partner)
    assert by_kind == expected
