"""Bad input in the declarations of the identity and abroad journeys:
each is a 422 problem naming the field, and for the rules of the INSEE COG
(a commune that is none, a postcode of another commune, a country that is
not one, France as a country abroad) with the message the contract lists
in its x-refusals. The same body, valid, is accepted: the refusal is the
change's doing."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Callable

import pytest

from kinds import KINDS, VALID, in_days
from mdv_e2e import assert_problem

Change = Callable[[dict[str, Any]], None]


def put(path: str, value: Any) -> Change:
    """Sets the field at a dotted path ("address.lines.0" indexes a list)."""
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


def drop(path: str) -> Change:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]
    return change


def both(*changes: Change) -> Change:
    def change(body: dict[str, Any]) -> None:
        for c in changes:
            c(body)
    return change


COMMUNE_UNKNOWN = "is not a commune of the INSEE COG"
FORMER_COMMUNE = "is a former commune, merged into another: use the code of the commune it belongs to"
POSTCODE_ELSEWHERE = "is not a postcode of the commune (INSEE COG)"
COUNTRY_FRANCE = "must be a country abroad, not France"
COUNTRY_UNKNOWN = "is not a country or territory of the INSEE COG"
COUNTRY_ENDED = "is a country that no longer exists"
NOT_A_YEAR = "is not an academic year of the barème"

# Mistakes of an address in France, for every kind that has one (at key:
# "address", or a renovation's "dwelling").
def france_address_cases(key: str = "address") -> list[tuple[str, Change, str, str | None]]:
    return [
        ("commune not in the COG", put(f"{key}.commune_code", "75000"), f"{key}.commune_code", COMMUNE_UNKNOWN),
        ("commune code of a country", put(f"{key}.commune_code", "99401"), f"{key}.commune_code", COMMUNE_UNKNOWN),
        ("commune code malformed", put(f"{key}.commune_code", "7505"), f"{key}.commune_code", None),
        ("commune associée", both(put(f"{key}.commune_code", "01120"), put(f"{key}.postal_code", "01290")),
         f"{key}.commune_code", FORMER_COMMUNE),
        ("postcode of another commune", put(f"{key}.postal_code", "69001"), f"{key}.postal_code", POSTCODE_ELSEWHERE),
        ("postcode of another arrondissement",
         both(put(f"{key}.commune_code", "75111"), put(f"{key}.postal_code", "75012")),
         f"{key}.postal_code", POSTCODE_ELSEWHERE),
        ("postcode of 4 digits", put(f"{key}.postal_code", "7501"), f"{key}.postal_code", None),
        ("postcode missing", drop(f"{key}.postal_code"), f"{key}.postal_code", "is required"),
        ("no lines", put(f"{key}.lines", []), f"{key}.lines", None),
        ("four lines", put(f"{key}.lines", ["a", "b", "c", "d"]), f"{key}.lines", None),
        ("blank line", put(f"{key}.lines.0", "   "), f"{key}.lines[0]", "must not be blank"),
        ("empty line", put(f"{key}.lines.0", ""), f"{key}.lines[0]", None),
        ("line of 101 characters", put(f"{key}.lines.0", "é" * 101), f"{key}.lines[0]", None),
        ("line with a newline", put(f"{key}.lines.0", "12 rue\ndes Lilas"), f"{key}.lines[0]", None),
        ("line not a string", put(f"{key}.lines.0", 12), f"{key}.lines[0]", None),
        ("country in a French address", put(f"{key}.country_code", "99100"), f"{key}.country_code",
         "is not a known field"),
        ("unknown address field", put(f"{key}.floor", 3), f"{key}.floor", "is not a known field"),
        ("address not an object", put(key, "12 rue des Lilas"), key, None),
    ]


FRANCE_ADDRESS_CASES = france_address_cases()

ABROAD_ADDRESS_CASES = [
    ("France as the country abroad", put("address.country_code", "99100"), "address.country_code", COUNTRY_FRANCE),
    ("country not in the COG", put("address.country_code", "99999"), "address.country_code", COUNTRY_UNKNOWN),
    ("country that no longer exists", put("address.country_code", "99115"), "address.country_code", COUNTRY_ENDED),
    ("commune code as a country", put("address.country_code", "75056"), "address.country_code", None),
    ("country missing", drop("address.country_code"), "address.country_code", "is required"),
    ("city missing", drop("address.city"), "address.city", "is required"),
    ("blank city", put("address.city", " "), "address.city", "must not be blank"),
    ("postcode with punctuation", put("address.postal_code", "H2X/1Y4"), "address.postal_code", None),
    ("commune code abroad", put("address.commune_code", "75056"), "address.commune_code", "is not a known field"),
]

PERSON_CASES = [
    ("person missing", drop("person"), "person", "is required"),
    ("family name with digits", put("person.family_name", "MART1N"), "person.family_name", None),
    ("given names empty", put("person.given_names", []), "person.given_names", None),
    ("sex X", put("person.sex", "X"), "person.sex", None),
    ("birth date not a date", put("person.birth_date", "1988-02-30"), "person.birth_date", None),
    ("born in the future", put("person.birth_date", in_days(3)), "person.birth_date", "must not be in the future"),
    ("birth place malformed", put("person.birth_place", "7505"), "person.birth_place", None),
    ("unknown person field", put("person.nir", "1880575111222"), "person.nir", "is not a known field"),
    ("deceased instead of person", both(drop("person"), put("deceased", {})), "deceased", "is not a known field"),
]


def window_cases(field: str) -> list[tuple[str, Change, str, str | None]]:
    return [
        (f"{field} not a date", put(field, "2026-13-01"), field, None),
        (f"{field} missing", drop(field), field, "is required"),
        (f"{field} over a year ago", put(field, in_days(-400)), field, "must not be more than a year in the past"),
        (f"{field} over a year ahead", put(field, in_days(400)), field, "must not be more than a year ahead"),
    ]


CASES: dict[str, list[tuple[str, Change, str, str | None]]] = {
    "address_change": FRANCE_ADDRESS_CASES + PERSON_CASES + window_cases("effective_date") + [
        ("address missing", drop("address"), "address", "is required"),
        ("abroad address in an address change", put("address", {"lines": ["1 High Street"], "city": "London",
                                                                 "country_code": "99132"}),
         "address.country_code", "is not a known field"),
        ("moved before birth", both(put("person.birth_date", in_days(-20)), put("effective_date", in_days(-30))),
         "effective_date", "must not be before the birth date"),
    ],
    "name_change": PERSON_CASES + [
        ("name type unknown", put("name_type", "nickname"), "name_type", "must be one of usage, birth"),
        ("new family name empty", put("new_family_name", ""), "new_family_name", None),
        ("new family name in Cyrillic", put("new_family_name", "Дюпон"), "new_family_name", None),
        ("birth name changed to the same name",
         both(put("name_type", "birth"), put("person.family_name", "Dupont"), put("new_family_name", "DUPONT")),
         "new_family_name", "must differ from the current family name"),
        ("effective date in the future", put("effective_date", in_days(2)), "effective_date",
         "must not be in the future"),
        ("effective date not a date", put("effective_date", "hier"), "effective_date", None),
        ("address in a name change", put("address", {}), "address", "is not a known field"),
    ],
    "identity_document": PERSON_CASES + [
        ("document type unknown", put("document_type", "permis"), "document_type", "must be one of cni, passport"),
        ("reason unknown", put("reason", "lost"), "reason", "must be one of first, renewal, loss, theft"),
        ("reason missing", drop("reason"), "reason", "is required"),
        ("an address retyped", put("address", {}), "address", "is not a known field"),
    ],
    "departure_abroad": ABROAD_ADDRESS_CASES + PERSON_CASES + window_cases("departure_date") + [
        ("registration missing", drop("consular_registration"), "consular_registration", "is required"),
        ("registration as a string", put("consular_registration", "yes"), "consular_registration", None),
        ("study mobility as a number", put("study_mobility", 1), "study_mobility", None),
        ("French address for a departure", put("address", {"lines": ["12 rue des Lilas"], "postal_code": "75011",
                                                          "commune_code": "75056"}),
         "address.commune_code", "is not a known field"),
    ],
    "return_to_france": FRANCE_ADDRESS_CASES + PERSON_CASES + window_cases("return_date") + [
        ("abroad address for a return", put("address.country_code", "99401"), "address.country_code",
         "is not a known field"),
    ],
    "renovation_grant": france_address_cases("dwelling") + PERSON_CASES + [
        ("dwelling missing", drop("dwelling"), "dwelling", "is required"),
        ("an address instead of the dwelling", both(drop("dwelling"), put("address", {})), "address",
         "is not a known field"),
        ("built in the future", put("construction_year", dt.date.today().year + 1), "construction_year",
         "must not be in the future"),
        ("construction year as text", put("construction_year", "1975"), "construction_year", None),
        ("construction year absurd", put("construction_year", 975), "construction_year", None),
        ("construction year missing", drop("construction_year"), "construction_year", "is required"),
        ("main residence missing", drop("main_residence"), "main_residence", "is required"),
        ("owner occupier as text", put("owner_occupier", "oui"), "owner_occupier", None),
        ("household of nobody", put("household_size", 0), "household_size", None),
        ("household absurd", put("household_size", 250), "household_size", None),
        ("negative income", put("reference_tax_income_eur", -1), "reference_tax_income_eur", None),
        ("income in cents", put("reference_tax_income_eur", 30000.5), "reference_tax_income_eur", None),
        ("income absurd", put("reference_tax_income_eur", 10**12), "reference_tax_income_eur", None),
        ("no work item", put("items", []), "items", None),
        ("items not a list", put("items", {"code": "air_water_heat_pump"}), "items", None),
        ("eleven work items", put("items", [{"code": "air_water_heat_pump", "cost_eur": 1}] * 11), "items", None),
        ("unknown work item", put("items.0.code", "jacuzzi"), "items[0].code", "is not a work item of the barème"),
        ("work item listed twice", put("items.1", {"code": "air_water_heat_pump", "cost_eur": 9000}),
         "items[1].code", "is listed twice: one entry per work item"),
        ("surface for a heat pump", put("items.0.surface_m2", 10), "items[0].surface_m2",
         "must not be given for an item priced per unit"),
        ("no surface for an insulation", drop("items.1.surface_m2"), "items[1].surface_m2", "is required"),
        ("surface of nothing", put("items.1.surface_m2", 0), "items[1].surface_m2", None),
        ("surface absurd", put("items.1.surface_m2", 100000), "items[1].surface_m2", None),
        ("negative cost", put("items.0.cost_eur", -12000), "items[0].cost_eur", None),
        ("cost absurd", put("items.0.cost_eur", 5 * 10**9), "items[0].cost_eur", None),
        ("cost missing", drop("items.0.cost_eur"), "items[0].cost_eur", "is required"),
        ("unknown work item field", put("items.0.brand", "Atlantic"), "items[0].brand", "is not a known field"),
        ("work item not an object", put("items.0", "air_water_heat_pump"), "items[0]", None),
    ],
    "student_grant": PERSON_CASES + [
        ("academic year not in the barème", put("academic_year", "2024-2025"), "academic_year", NOT_A_YEAR),
        ("academic year malformed", put("academic_year", "2025"), "academic_year", NOT_A_YEAR),
        ("academic year missing", drop("academic_year"), "academic_year", "is required"),
        ("institution blank", put("institution", "   "), "institution", "must not be blank"),
        ("institution of 101 characters", put("institution", "é" * 101), "institution", None),
        ("institution missing", drop("institution"), "institution", "is required"),
        ("place of study not in the COG", put("study_commune_code", "75000"), "study_commune_code", COMMUNE_UNKNOWN),
        ("place of study a former commune", put("study_commune_code", "01120"), "study_commune_code",
         FORMER_COMMUNE),
        ("place of study a country", put("study_commune_code", "99401"), "study_commune_code", COMMUNE_UNKNOWN),
        ("income negative", put("parents_income_eur", -1), "parents_income_eur", None),
        ("income absurd", put("parents_income_eur", 10_000_001), "parents_income_eur", None),
        ("income with cents", put("parents_income_eur", 21000.5), "parents_income_eur", None),
        ("income as a string", put("parents_income_eur", "21000"), "parents_income_eur", None),
        ("income missing", drop("parents_income_eur"), "parents_income_eur", "is required"),
        ("children negative", put("children_at_charge", -1), "children_at_charge", None),
        ("children absurd", put("children_at_charge", 21), "children_at_charge", None),
        ("students as a string", put("children_in_higher_education", "2"), "children_in_higher_education", None),
        ("distance beyond the antipodes", put("family_home_distance_km", 20001), "family_home_distance_km", None),
        ("distance negative", put("family_home_distance_km", -5), "family_home_distance_km", None),
        ("disability as a word", put("disability", "oui"), "disability", None),
        ("housing wish missing", drop("housing_wanted"), "housing_wanted", "is required"),
        ("three parents", put("parents", [VALID["student_grant"]()["parents"][0]] * 3), "parents", None),
        ("parents not a list", put("parents", {}), "parents", None),
        ("parent's name with digits", put("parents.0.family_name", "PET1T"), "parents[0].family_name", None),
        ("parent born in the future", put("parents.0.birth_date", in_days(3)), "parents[0].birth_date",
         "must not be in the future"),
        ("unknown parent field", put("parents.0.income", 3), "parents[0].income", "is not a known field"),
        ("parent not an object", put("parents.0", "PETIT Marc"), "parents[0]", None),
        ("outre-mer declared", put("overseas", True), "overseas", "is not a known field"),
    ],
}

PARAMS = [pytest.param(kind, change, field, message, id=f"{kind}: {name}")
          for kind in KINDS for name, change, field, message in CASES[kind]]


@pytest.mark.parametrize("kind,change,field,message", PARAMS)
def test_invalid_field_is_422_naming_the_field(usager, kind, change, field, message):
    body = VALID[kind]()
    bad = copy.deepcopy(body)
    change(bad)
    problem = assert_problem(usager.declare(bad), 422)
    errors = problem.get("errors") or []
    assert errors, f"422 without errors[]: {problem}"
    named = {e["field"]: e["message"] for e in errors}
    assert field in named, f"expected an error on {field}, got {errors}"
    if message is not None:
        assert named[field] == message, f"{field}: {named[field]!r}, expected {message!r}"
    assert problem["title"] == "Déclaration incomplète ou invalide", problem


@pytest.mark.parametrize("kind", KINDS)
def test_the_valid_body_the_cases_change_is_accepted(usager, kind):
    resp = usager.declare(VALID[kind]())
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("kind", KINDS)
def test_every_problem_of_a_body_is_named_at_once(usager, kind):
    """A body with three mistakes gets three errors, not the first one."""
    body = VALID[kind]()
    body["person"]["sex"] = "X"
    body["person"]["given_names"] = ["J3an"]
    body["surprise"] = True
    problem = assert_problem(usager.declare(body), 422)
    fields = {e["field"] for e in problem["errors"]}
    assert {"person.sex", "person.given_names[0]", "surprise"} <= fields, problem


def test_unknown_kind_lists_the_kinds(usager):
    body = VALID["address_change"]()
    body["kind"] = "wedding"
    problem = assert_problem(usager.declare(body), 422)
    [error] = problem["errors"]
    assert error["field"] == "kind"
    for kind in ("bereavement",) + KINDS:
        assert kind in error["message"], error


@pytest.mark.parametrize("commune,postcode", [
    ("75056", "75116"),   # Paris, the 16e's second postcode
    ("75116", "75116"),   # the arrondissement municipal itself
    ("13055", "13008"),   # Marseille
    ("2A004", "20090"),   # Ajaccio, Corsica
    ("97411", "97490"),   # Saint-Denis de La Réunion
    ("01015", "01300"),   # a commune nouvelle whose code is also its commune déléguée's
], ids=["paris", "arrondissement", "marseille", "corsica", "reunion", "commune-nouvelle"])
def test_real_communes_and_postcodes_are_accepted(usager, commune, postcode):
    body = VALID["address_change"]()
    body["address"].update(commune_code=commune, postal_code=postcode)
    del body["address"]["city"]
    resp = usager.declare(body)
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("country,postcode", [
    ("99109", "10115"), ("99132", "SW1A 1AA"), ("99134", "28001"), ("99404", "10001"),
    ("99350", None), ("99230", None),  # Hong Kong: a territory of the COG
], ids=["germany", "united-kingdom", "spain", "united-states", "morocco-no-postcode", "hong-kong"])
def test_real_countries_are_accepted_abroad(usager, country, postcode):
    body = VALID["departure_abroad"]()
    body["address"]["country_code"] = country
    if postcode is None:
        del body["address"]["postal_code"]
    else:
        body["address"]["postal_code"] = postcode
    del body["study_mobility"]
    resp = usager.declare(body)
    assert resp.status_code == 202, resp.text
