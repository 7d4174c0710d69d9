"""The library knows no service (DESIGN.md §5): no file of shared/ or
include/mdv/ includes a service's generated header (only the journey
contracts of proto/mdv/journey/ are the library's), uses a service's
generated names, names one of a service's events, or calls a producer's
contract. Each event's decode and check lives beside its producer, in
services/<producer>/contract.c, which its consumers compile in (the
Makefile's CONTRACTS_<consumer>).

The services and their events are read from proto/, so a new service or
event is covered without editing this file. Reads files, runs nothing."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRARY_PACKAGE = "journey"


def service_packages():
    """The proto packages of the services (mdv.<service>.v1), journey aside."""
    return sorted(p.name for p in (REPO / "proto" / "mdv").iterdir()
                  if p.is_dir() and p.name != LIBRARY_PACKAGE)


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def service_messages():
    """Every message a service's proto defines, with its service."""
    found = {}
    for package in service_packages():
        for proto in sorted((REPO / "proto" / "mdv" / package).glob("*/*.proto")):
            for name in re.findall(r"^message\s+(\w+)", proto.read_text(), re.M):
                found[name] = package
    return found


def library_files():
    return sorted(list((REPO / "shared").glob("*.[ch]")) + list((REPO / "include" / "mdv").glob("*.h")))


COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
IDENT = re.compile(r"\b[A-Za-z_]\w*\b")


def blank(match):
    """The match replaced by spaces, newlines kept, so line numbers stay."""
    return re.sub(r"[^\n]", " ", match.group(0))


def findings(path, services, messages):
    """What in path names a service: (line, what) pairs."""
    text = path.read_text()
    code = COMMENT.sub(blank, text)          # code and strings
    bare = STRING.sub(blank, code)           # code only
    service_alt = "|".join(map(re.escape, services))
    rules = [
        # A service's generated header, or a producer's contract.
        (code, re.compile(rf'#\s*include\s*[<"](?:mdv/)?({service_alt})/[^">]*[">]'),
         "includes a service's header"),
        # Where a service's events travel and come from.
        (code, re.compile(rf'"[^"\n]*(?:fr\.gouv\.mdv\.|mdv\.|/mdv/)({service_alt})\b[^"\n]*"'),
         "names a service's type, topic or source"),
    ]
    found = []

    def line_of(offset):
        return text.count("\n", 0, offset) + 1

    for haystack, rule, what in rules:
        for m in rule.finditer(haystack):
            found.append((line_of(m.start()), f"{what}: {m.group(0).strip()}"))
    # Identifiers: a service's generated names (Mdv__Bereavement__V1__...),
    # its functions (mdv_identity_...), its events (death_recorded...).
    snakes = {snake(name): name for name in messages}
    for m in IDENT.finditer(bare):
        ident = m.group(0)
        parts = [p.lower() for p in ident.split("_") if p]
        hit = next((p for p in parts if p in services), None)
        hit = hit or next((n for n in messages if n in ident.split("_")), None)
        hit = hit or next((s for s in snakes if re.search(rf"(^|_){s}(_|$)", ident.lower())), None)
        if hit:
            found.append((line_of(m.start()), f"identifier {ident} names {hit}"))
    # An event's name, in code, strings or comments: the library has no
    # business describing another service's events.
    for name in messages:
        for m in re.finditer(rf"\b({name}|{snake(name)})\b", text):
            found.append((line_of(m.start()), f"names {messages[name]}'s {name}: {m.group(0)}"))
    return sorted(set(found))


def test_the_services_and_their_events_are_read_from_the_contracts():
    services = service_packages()
    assert {"bereavement", "identity", "abroad", "gateway"} <= set(services)
    messages = service_messages()
    assert {"DeathRecorded", "AddressChanged", "PersonNameChanged", "ResidenceAbroadStarted",
            "ResidenceAbroadEnded", "DeclarationSubmitted"} <= set(messages)


def test_the_rules_find_what_they_look_for(tmp_path):
    sample = tmp_path / "sample.c"
    sample.write_text('#include "mdv/bereavement/v1/death.pb-c.h"\n'
                      '#include "identity/contract.h"\n'
                      "/* a DeathRecorded */\n"
                      "static const char *t = \"fr.gouv.mdv.abroad.residence_abroad_started.v1\";\n"
                      "int x(Mdv__Identity__V1__AddressChanged *m) { return mdv_abroad_started(m); }\n"
                      "/* the pivot identity, an address abroad */\n"
                      '#include "mdv/journey/v1/journey.pb-c.h"\n')
    lines = {line for line, _ in findings(sample, service_packages(), service_messages())}
    assert lines == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("path", library_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_a_library_file_names_no_service(path):
    found = findings(path, service_packages(), service_messages())
    assert not found, f"{path.relative_to(REPO)} names a service (DESIGN.md §5):\n" + "\n".join(
        f"  line {line}: {what}" for line, what in found)
