"""The steps a reacting service may add to a journey whose plan lacks them
(services/<service>/rules/steps_added.json, shared/reaction.c) are the
service's own, loaded by the service that adds them, and each is the same
step as in its owner's plan (administration, French label, délai), so that
a step reads the same on every journey that shows it."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def added_files():
    return sorted((REPO / "services").glob("*/rules/steps_added.json"))


def planned_steps():
    """code -> the step as the owners' plans.json give it."""
    steps = {}
    for path in (REPO / "services").glob("*/rules/plans.json"):
        for plan in json.loads(path.read_text(encoding="utf-8"))["plans"]:
            for step in plan["steps"]:
                steps.setdefault(step["code"], step)
    return steps


def test_student_housing_and_bereavement_may_add_steps():
    assert {p.parents[1].name for p in added_files()} >= {"student", "housing", "bereavement"}


@pytest.mark.parametrize("path", added_files(), ids=lambda p: p.parents[1].name)
def test_each_added_step_is_the_service_s_own_and_the_plan_s(path):
    service = path.parents[1].name
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data["year"], int) and data["source"]
    (plan,) = data["plans"]
    assert plan["kind"] == "added"
    planned = planned_steps()
    for step in plan["steps"]:
        assert step["owner"] == service and step["code"].startswith(f"{service}."), step
        assert step["source"], step
        same = planned.get(step["code"])
        assert same is not None, f"{step['code']} is in no owner's plan"
        for key in ("administration", "label", "due_days"):
            assert step[key] == same[key], f"{step['code']}: {key} {step[key]!r} != the plan's {same[key]!r}"
    main = "\n".join(p.read_text() for p in (REPO / "services" / service).glob("*.c"))
    assert "mdv_reaction_added_load" in main, f"{service} does not load {path.name}"
