"""Schemathesis hooks of test_schemathesis.py (loaded by `st` through
SCHEMATHESIS_HOOKS).

positive_data_acceptance is told to let a 422 through (schemathesis.toml),
because some rules no schema can hold (a death date in the future...); this
check takes over: a schema-valid request may be refused with 422 only for a
reason the contract lists in that operation's `x-refusals`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response


def refusals_of(case: Case) -> list[dict[str, Any]]:
    responses = case.operation.definition.raw.get("responses", {})
    response = responses.get("422") or {}
    return response.get("x-refusals", [])


def documented(refusals: list[dict[str, Any]], kind: str, error: dict[str, Any] | None) -> bool:
    for refusal in refusals:
        if refusal.get("type") != kind:
            continue
        if error is None:
            if "field" not in refusal:
                return True
            continue
        if "field" not in refusal or not re.fullmatch(refusal["field"], str(error.get("field"))):
            continue
        if refusal.get("message", error.get("message")) == error.get("message"):
            return True
    return False


@schemathesis.check
def refusals_are_documented(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    problem = json.loads(response.content)
    kind = problem.get("type")
    errors = problem.get("errors") or [None]
    refusals = refusals_of(case)
    undocumented = [e for e in errors if not documented(refusals, kind, e)]
    if undocumented:
        raise AssertionError(
            "a schema-valid request was refused for a reason the contract does not list in"
            f" x-refusals: type {kind}, errors {undocumented}"
        )
    return True
