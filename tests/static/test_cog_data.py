"""Static checks of the COG data the gateway loads: the communes package is
pinned (version and integrity), the build makes the file the gateway's
default points at, every way of running the gateway has it, and a fresh
machine installs what makes it (Node.js and npm).

Reads files, runs nothing."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COG = REPO / "deploy" / "tools" / "cog"
GATEWAY_MAIN = REPO / "services" / "gateway" / "main.c"
PACKAGE = "@etalab/decoupage-administratif"


def gateway_default(name):
    match = re.search(rf'\{{\s*"{name}"\s*,\s*"([^"]+)"', GATEWAY_MAIN.read_text())
    assert match, f"services/gateway/main.c has no default for {name}"
    return match.group(1)


def test_the_communes_package_is_pinned_with_its_integrity():
    wanted = json.loads((COG / "package.json").read_text())["dependencies"][PACKAGE]
    assert re.fullmatch(r"\d+\.\d+\.\d+", wanted), f"{PACKAGE} {wanted!r} is not an exact version"
    locked = json.loads((COG / "package-lock.json").read_text())["packages"][f"node_modules/{PACKAGE}"]
    assert locked["version"] == wanted
    assert locked["integrity"].startswith("sha512-")


def test_the_build_fetches_with_npm_ci_without_scripts_and_makes_the_communes_file():
    makefile = (REPO / "Makefile").read_text()
    assert "npm ci --ignore-scripts" in makefile
    assert re.search(r"^COMMUNES\s*:=\s*\$\(BUILD\)/data/communes\.tsv$", makefile, re.M)
    assert re.search(r"^all:.*\$\(COMMUNES\)", makefile, re.M), "make all does not make the communes file"


def test_the_image_holds_the_files_where_the_gateway_defaults_point():
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    communes = gateway_default("MDV_COG_COMMUNES_FILE")
    countries = gateway_default("MDV_COG_COUNTRIES_FILE")
    # The gateway's data folder is /out/gateway/share/ in the build stage.
    assert f"cp build/data/communes.tsv /out/gateway/share/{communes}" in dockerfile
    assert countries.startswith("rules/") and (REPO / "services" / "gateway" / countries).is_file()
    build_stage = dockerfile.split("AS build", 1)[1].split("\nFROM ", 1)[0]
    assert re.search(r"\bnodejs\b", build_stage) and re.search(r"\bnpm\b", build_stage)


def test_the_local_stack_passes_the_communes_file_of_its_build():
    stack = (REPO / "deploy" / "local" / "stack.sh").read_text()
    assert 'MDV_COG_COMMUNES_FILE=$(dirname "$BIN")/data/communes.tsv' in stack


def test_a_fresh_machine_installs_node_and_npm():
    install = (REPO / "deploy" / "local" / "install-deps.sh").read_text()
    assert "has_node || missing+=(nodejs npm)" in install


def test_the_countries_file_says_its_source_and_has_every_current_state():
    text = (REPO / "services" / "gateway" / "rules" / "countries.tsv").read_text()
    header = "".join(line for line in text.splitlines() if line.startswith("#"))
    assert "INSEE" in header and "Pays et territoires étrangers" in header
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    assert all(len(r) == 4 and re.fullmatch(r"99\d{3}", r[0]) for r in rows)
    current_states = [r for r in rows if not r[2] and not r[3]]
    # About 195 states and a few more entries of the COG (Palestine, Kosovo,
    # Taïwan, Sahara occidental...), France among them.
    assert len(current_states) >= 195, len(current_states)
    assert len({r[0] for r in rows}) == len(rows), "a code twice"


def test_every_copy_of_the_countries_file_is_the_same():
    """identity names countries in its details from its own copy of the
    gateway's COG list: the two must not drift apart."""
    copies = sorted((REPO / "services").glob("*/rules/countries.tsv"))
    assert len(copies) >= 2, copies
    reference = copies[0].read_bytes()
    differing = [str(p.relative_to(REPO)) for p in copies[1:] if p.read_bytes() != reference]
    assert not differing, f"{differing} differ from {copies[0].relative_to(REPO)}"
