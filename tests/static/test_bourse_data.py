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
