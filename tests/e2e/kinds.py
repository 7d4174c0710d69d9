"""Valid declarations of the five kinds of « J'établis mon identité » and
« Je pars, je vis, je reviens de l'étranger », and of « Je deviens
étudiant », for the tests that change
them (test_bad_input_kinds.py) or post them (test_declaration_kinds.py).
Dates are relative to today, so that they stay inside the windows the
gateway allows (a year either side of today for a move)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from mdv_e2e import unknown_person

KINDS = ("address_change", "name_change", "identity_document", "departure_abroad", "return_to_france",
         "renovation_grant", "student_grant")


def in_days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


def person() -> dict[str, Any]:
    p = unknown_person()
    p["birth_date"] = "1988-05-17"
    return p


def address_in_france() -> dict[str, Any]:
    return {"lines": ["12 rue des Lilas", "Bâtiment B"], "postal_code": "75011", "commune_code": "75056",
            "city": "Paris"}


def address_abroad() -> dict[str, Any]:
    return {"lines": ["1234 rue Saint-Denis"], "city": "Montréal", "postal_code": "H2X 1Y4",
            "country_code": "99401"}


def address_change(who: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "address_change", "person": who or person(), "address": address_in_france(),
            "effective_date": in_days(14)}


def name_change(who: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "name_change", "person": who or person(), "name_type": "usage",
            "new_family_name": "DUPONT", "effective_date": in_days(-10)}


def identity_document(who: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "identity_document", "person": who or person(), "document_type": "cni",
            "reason": "renewal"}


def departure_abroad(who: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "departure_abroad", "person": who or person(), "address": address_abroad(),
            "departure_date": in_days(30), "consular_registration": True, "study_mobility": False}


def return_to_france(who: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "return_to_france", "person": who or person(), "address": address_in_france(),
            "return_date": in_days(-5)}


def renovation_grant(who: dict[str, Any] | None = None) -> dict[str, Any]:
    """A MaPrimeRénov' application that is eligible: an owner-occupier's
    main residence built long ago, one heat pump and a wall insulation."""
    return {"kind": "renovation_grant", "person": who or person(), "dwelling": address_in_france(),
            "construction_year": 1975, "main_residence": True, "owner_occupier": True,
            "household_size": 2, "reference_tax_income_eur": 30000,
            "items": [{"code": "air_water_heat_pump", "cost_eur": 12000},
                      {"code": "external_wall_insulation", "surface_m2": 60, "cost_eur": 9000}]}


def student_grant(who: dict[str, Any] | None = None) -> dict[str, Any]:
    parent = unknown_person()
    parent["birth_date"] = "1970-09-01"
    return {"kind": "student_grant", "person": who or person(), "academic_year": "2025-2026",
            "institution": "Université Lumière Lyon 2", "study_commune_code": "69123",
            "parents_income_eur": 21000, "children_at_charge": 1, "children_in_higher_education": 0,
            "family_home_distance_km": 120, "disability": False, "carer": False, "housing_wanted": True,
            "parents": [parent]}


VALID: dict[str, Callable[..., dict[str, Any]]] = {
    "address_change": address_change,
    "name_change": name_change,
    "identity_document": identity_document,
    "departure_abroad": departure_abroad,
    "return_to_france": return_to_france,
    "renovation_grant": renovation_grant,
    "student_grant": student_grant,
}
