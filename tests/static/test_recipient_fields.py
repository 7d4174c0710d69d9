"""The usager reads the fields each partner received under French labels
(GET /v1/journeys/{id}, `recipients[].fields[].label`): the labels are the
gateway's, in its table recipient_field_labels (its migrations). Every
field an entitlement lists (services/partners/rules/entitlements.tsv) has
one, once; a label is French text, not the field's name."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENTITLEMENTS = REPO / "services" / "partners" / "rules" / "entitlements.tsv"
MIGRATIONS = REPO / "services" / "gateway" / "migrations"
ROW = re.compile(r"\(\s*'([a-z_]+)'\s*,\s*'((?:[^']|'')+)'\s*\)")


def labels() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(MIGRATIONS.glob("*.sql")):
        for statement in path.read_text(encoding="utf-8").split(";"):
            if re.search(r"INSERT INTO recipient_field_labels\b", statement):
                for name, label in ROW.findall(statement):
                    found.setdefault(name, []).append(label.replace("''", "'"))
    return found


def entitled_fields() -> set[str]:
    fields = set()
    for line in ENTITLEMENTS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            fields.update(line.split("\t")[3].split(","))
    return fields


def test_the_rules_are_read():
    assert {"family_name", "death_date", "address_lines"} <= entitled_fields()
    assert labels()["family_name"] == ["Nom de naissance"]


def test_every_entitled_field_has_one_french_label():
    known = labels()
    missing = sorted(entitled_fields() - set(known))
    assert not missing, f"fields with no label in recipient_field_labels: {missing}"
    twice = sorted(name for name, found in known.items() if len(found) > 1)
    assert not twice, f"labelled twice: {twice}"
    for name, (label,) in known.items():
        assert label != name and label[0].isupper() and "_" not in label, (name, label)
