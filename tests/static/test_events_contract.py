"""The events the services publish and route agree (DESIGN.md §4, §5): every
type a service emits (mdv_msg_emit) is documented in the README's topics
table, and every domain type a consumer's main.c routes is one its producer
emits (a route with a misspelt type would store offsets with nothing
applied). The journey events (journey_planned, steps_added, step_reported)
come from the library for any service; a partner's outcome comes from
outside. Reads files, runs nothing."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"
JOURNEY_EVENTS = {"journey_planned", "steps_added", "step_reported"}
EXTERNAL = {"partner"}  # fr.gouv.mdv.partner.*: what partners send, not a service of the tree
EMIT = re.compile(r'mdv_msg_emit\(\s*\w+\s*,\s*"([a-z_]+)"')
# An outbox event written with its type spelt out (the gateway's).
META = re.compile(r'\.meta\s*=\s*\{\s*"([a-z]+)",\s*"fr\.gouv\.mdv\.([a-z]+)\.([a-z_]+)\.v1"')
ROUTE = re.compile(r'"fr\.gouv\.mdv\.([a-z]+)\.([a-z_]+)\.v1"')


def emitted() -> set[tuple[str, str]]:
    found = set()
    for path in SERVICES.glob("*/*.c"):
        text = path.read_text(encoding="utf-8")
        for event in EMIT.findall(text):
            found.add((path.parent.name, event))
        for source, service, event in META.findall(text):
            if source == service == path.parent.name:
                found.add((service, event))
    return found


def routed() -> set[tuple[str, str, str]]:
    """(consumer, producer, event) of every literal route."""
    return {(path.parent.name, producer, event)
            for path in SERVICES.glob("*/main.c")
            for producer, event in ROUTE.findall(path.read_text(encoding="utf-8"))}


def test_the_files_are_read():
    assert ("bereavement", "death_recorded") in emitted()
    assert ("partners", "recipient_notified") in emitted()
    assert ("gateway", "declaration_submitted") in emitted()
    assert ("gateway", "partners", "recipient_notified") in routed()


def test_every_emitted_event_is_in_the_readme_topics_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Topics and events\n", 1)[1].split("\n## ", 1)[0]
    missing = sorted(f"{s}.{e}" for s, e in emitted() - {(s, e) for s, e in emitted() if e in JOURNEY_EVENTS}
                     if f"…{s}.{e}.v1" not in table and f"fr.gouv.mdv.{s}.{e}.v1" not in table)
    assert not missing, f"emitted but not in the README's « Topics and events »: {missing}"


def test_every_routed_type_is_emitted_by_its_producer():
    services = {p.name for p in SERVICES.iterdir() if p.is_dir()}
    made = emitted()
    wrong = sorted(f"{consumer}: fr.gouv.mdv.{producer}.{event}.v1"
                   for consumer, producer, event in routed()
                   if producer not in EXTERNAL and event not in JOURNEY_EVENTS
                   and (producer not in services or (producer, event) not in made))
    assert not wrong, f"routes no producer emits: {wrong}"
