"""The README's example session, run as written against the stack (its
`make up` line left out: the stack is up): the bereavement journey, one
journey of each identity and abroad kind, a renovation_grant and a
student_grant, with the
demo persons every stack seeds (mdv-seed --count 20 --seed 1). Its output says each journey's steps;
the test checks them, and counts the move's effects in each service's
database, once."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mdv_e2e import REPO_ROOT

README = REPO_ROOT / "README.md"
JOURNEY_LINE = re.compile(r"^journey ([0-9a-f-]{36}) ([a-z_]+) ([a-z_]+)$")
STEP_LINE = re.compile(r"^  ([a-z_]+\.[a-z_]+) ([a-z_]+): (.*)$")


def session_script() -> str:
    """The shell blocks of « An example session », without `make up`."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## An example session\n", 1)[1].split("\n### The same death declared twice", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) >= 2, "the session's blocks are gone"
    lines = [line for line in "".join(blocks).splitlines() if line.strip() != "make up"]
    return "\n".join(lines) + "\n"


def journeys_printed(output: str) -> dict[str, dict[str, Any]]:
    """kind -> the last state `steps` printed of a journey of that kind:
    {"id", "status", "steps": {code: (status, detail)}}."""
    out: dict[str, dict[str, Any]] = {}
    current = None
    for line in output.splitlines():
        if m := JOURNEY_LINE.match(line):
            current = out[m.group(2)] = {"id": m.group(1), "status": m.group(3), "steps": {}}
        elif (m := STEP_LINE.match(line)) and current is not None:
            current["steps"][m.group(1)] = (m.group(2), m.group(3))
    return out


@pytest.fixture
def session_dir(env, tmp_path: Path) -> Path:
    """A folder where the README's relative paths name this stack: .run is
    its folder (env, seed.jsonl), build/bin its binaries."""
    if env.stack_dir is None:
        pytest.skip("MDV_STACK_DIR unknown: the session needs the stack's env file and seed.jsonl")
    (tmp_path / ".run").symlink_to(env.stack_dir.resolve())
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "bin").symlink_to(env.bin_dir.resolve())
    return tmp_path


@pytest.mark.timeout(600)
def test_the_readme_example_session_runs_as_written(env, db, session_dir):
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", session_script()], cwd=session_dir,
                          capture_output=True, text=True, timeout=540, env=env.process_env)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "HTTP/1.1 202 Accepted" in proc.stdout
    printed = journeys_printed(proc.stdout)
    assert set(printed) == {"address_change", "name_change", "identity_document", "departure_abroad",
                            "return_to_france", "renovation_grant", "student_grant"}, proc.stdout

    # The move of the person known everywhere: every administration acts.
    move = printed["address_change"]
    assert list(move["steps"]) == ["identity.address_recorded", "student.address_updated",
                                   "housing.residence_reviewed", "abroad.registration_reviewed",
                                   "bereavement.claim_address_updated"], move
    assert all(status in ("done", "action_required") for status, _ in move["steps"].values()), move
    for code in move["steps"]:
        service = code.split(".")[0]
        (n,) = db(service).execute("SELECT count(*) FROM applied_effects WHERE journey_id = %s AND effect = %s",
                                   (move["id"], code)).fetchone()
        assert n == 1, f"{code}: {n} applied_effects rows"

    name = printed["name_change"]
    assert name["status"] == "completed" and len(name["steps"]) == 5, name
    assert all(status == "done" for status, _ in name["steps"].values()), name

    document = printed["identity_document"]["steps"]
    assert document["identity.predemande_recorded"][0] == "done", document
    assert document["identity.predemande_recorded"][1].endswith(
        ("votre ancien passeport est invalidé (déclaré volé)", "aucun passeport valide enregistré à invalider"))
    assert document["identity.appointment"][0] == "done", document
    assert document["identity.document_produced"][0] == "in_progress", document

    departure = printed["departure_abroad"]
    assert departure["status"] == "completed", departure
    assert all(status == "done" for status, _ in departure["steps"].values()), departure

    back = printed["return_to_france"]["steps"]
    assert len(back) == 6, back
    assert back["student.address_updated"][0] == "done", back
    assert back["student.address_updated"][1].startswith("Dossier étudiant de votre enfant mis à jour : "), back
    assert back["housing.residence_reviewed"][0] == "action_required", back

    renovation = printed["renovation_grant"]
    assert renovation["status"] == "completed", renovation
    assert renovation["steps"]["identity.residence_verified"] == (
        "done", "Adresse vérifiée : aucun justificatif à fournir"), renovation
    assert re.fullmatch(r"Dossier n° MPR-\d{4}-[0-9A-F]{8} enregistré",
                        renovation["steps"]["housing.file_registered"][1]), renovation
    assert renovation["steps"]["housing.grant_estimated"][1].startswith("Catégorie "), renovation

    grant = printed["student_grant"]
    assert grant["steps"]["identity.identity_verified"][0] == "done", grant
    assert grant["steps"]["identity.identity_verified"][1].startswith(
        "Identité vérifiée : aucune pièce à fournir"), grant
    assert grant["steps"]["student.grant_assessed"] == (
        "done", "Échelon 2 : 3 071 € par an, versés en 10 mensualités"), grant
    assert grant["steps"]["student.housing_requested"] == (
        "in_progress", "Demande de logement transmise au CROUS"), grant
