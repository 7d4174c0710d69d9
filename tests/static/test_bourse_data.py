"""Static checks of the barème the gateway reads the academic years from:
there is one copy, the student service's rules/bourse.json, and every way
of running the gateway points it at that file.

Reads files, runs nothing."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GATEWAY_MAIN = REPO / "services" / "gateway" / "main.c"
BOURSE = "services/student/rules/bourse.json"


def gateway_default(name):
    match = re.search(rf'\{{\s*"{name}"\s*,\s*"([^"]+)"', GATEWAY_MAIN.read_text())
    assert match, f"services/gateway/main.c has no default for {name}"
    return match.group(1)


def test_there_is_one_copy_of_the_bourse_rules():
    copies = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "services").glob("*/rules/bourse*.json"))
    assert copies == [BOURSE]


def test_the_image_copies_the_students_file_where_the_gateway_default_points():
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    default = gateway_default("MDV_BOURSE_RULES_FILE")
    assert f"cp {BOURSE} /out/gateway/share/{default}" in dockerfile


def test_the_local_stack_passes_the_students_file():
    stack = (REPO / "deploy" / "local" / "stack.sh").read_text()
    assert f"MDV_BOURSE_RULES_FILE=$repo/{BOURSE}" in stack


def test_every_year_names_itself_and_has_each_table():
    years = json.loads((REPO / BOURSE).read_text())["academic_years"]
    assert years
    for year in years:
        assert re.fullmatch(r"\d{4}-\d{4}", year["academic_year"])
        for table in ("ceilings", "amounts", "overseas_supplement"):
            assert year[table]["source"], f"{year['academic_year']}: {table} has no source"
        for name, rule in year["points_de_charge"].items():
            assert rule["source"], f"{year['academic_year']}: points_de_charge.{name} has no source"


def test_the_seeds_copy_of_the_ceilings_and_bands_is_the_bareme():
    """mdv-seed draws each person's resources for an échelon from its own
    copy of the first rows of the ceilings and of the distance bands
    (deploy/tools/seed_records.c, a tool with no rules folder): it must be
    the latest academic year's of the barème, row for row."""
    seed = (REPO / "deploy" / "tools" / "seed_records.c").read_text()
    latest = max(json.loads((REPO / BOURSE).read_text())["academic_years"], key=lambda y: y["academic_year"])
    table = re.search(r"static const int ceilings\[(\d+)\]\[8\] = \{(.*?)\n\};", seed, re.S)
    assert table, "seed_records.c: no ceilings table"
    rows = [[int(n) for n in re.findall(r"\d+", row)] for row in re.findall(r"\{([^{}]*)\}", table.group(2))]
    assert len(rows) == int(table.group(1)) and rows == latest["ceilings"]["by_points"][:len(rows)]
    bands = re.search(r"\} distance_bands\[\] = \{(.*?)\};", seed, re.S)
    assert bands, "seed_records.c: no distance_bands"
    pairs = [[int(a), int(b)] for a, b in re.findall(r"\{(\d+), (\d+)\}", bands.group(1))]
    assert pairs == [[b["from_km"], b["points"]] for b in latest["points_de_charge"]["distance_bands"]["bands"]]
