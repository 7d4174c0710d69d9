"""Static checks of the MaPrimeRénov' barème: housing computes the aid from
services/housing/rules/maprimerenov.json, and the gateway checks the work
items of a renovation_grant against its own copy (its data folder is its
own in every deployment). The copies must not drift apart, and the
gateway's default must point at its copy.

Reads files, runs nothing."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOUSING = REPO / "services" / "housing" / "rules" / "maprimerenov.json"
GATEWAY = REPO / "services" / "gateway" / "rules" / "maprimerenov.json"


def test_the_gateway_copy_of_the_bareme_is_housings():
    assert GATEWAY.read_bytes() == HOUSING.read_bytes(), (
        "services/gateway/rules/maprimerenov.json differs from services/housing/rules/maprimerenov.json:"
        " copy housing's file over the gateway's")


def test_the_gateway_default_points_at_its_copy():
    main = (REPO / "services" / "gateway" / "main.c").read_text()
    match = re.search(r'\{\s*"MDV_RENOVATION_RULES_FILE"\s*,\s*"([^"]+)"', main)
    assert match, "services/gateway/main.c has no default for MDV_RENOVATION_RULES_FILE"
    assert (REPO / "services" / "gateway" / match.group(1)) == GATEWAY


def test_every_table_and_item_cites_its_source_and_year():
    bareme = json.loads(HOUSING.read_text())
    assert bareme["year"] == 2025 and bareme["source"]
    for table in ("ile_de_france", "categories", "eligibility", "ecretement"):
        assert bareme[table]["source"], table
    for item in bareme["items"]:
        assert item["source"] and item["label"], item["code"]
