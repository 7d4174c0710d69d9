"""GET /v1/journeys/{id}/events: a journey followed live as server-sent
events. An event each time the projection writes the journey (its data the
journey as GET /v1/journeys/{id} gives it, its id the journey's
updated_at), the retry delay first, heartbeats when nothing changes,
Last-Event-ID honoured, another usager's journey 404, a bound per usager."""

from __future__ import annotations

import datetime as dt
import json
import queue
import re
import statistics
import subprocess
import threading
import time
from typing import Any

import pytest
import requests

from mdv_e2e import (REPO_ROOT, STEP_SURVIVOR, assert_problem, bereavement_declaration, is_final, parse_time,
                     record_figures, unknown_person)

EVENTS_TIMEOUT = 60.0
HEARTBEAT_S = 15
PER_USAGER = 8


class EventStream:
    """Reads one text/event-stream in a thread: each event (or comment) with
    the wall-clock time it arrived."""

    def __init__(self, usager, journey_id: str, headers: dict[str, str] | None = None):
        hdrs = {"Authorization": f"Bearer {usager.token}", "Accept": "text/event-stream", **(headers or {})}
        self.resp = requests.get(f"{usager.gateway_url}/v1/journeys/{journey_id}/events", headers=hdrs,
                                 stream=True, timeout=(10, 60))
        self.items: queue.Queue[dict[str, Any]] = queue.Queue()
        if self.resp.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for raw in self.resp.iter_lines(chunk_size=1, decode_unicode=False):
                line = raw.decode("utf-8")
                if line == "":
                    if fields:
                        fields["at"] = time.time()  # type: ignore[assignment]
                        self.items.put(fields)
                    fields = {}
                elif line.startswith(":"):
                    self.items.put({"comment": line[1:].strip(), "at": time.time()})
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value[1:] if value.startswith(" ") else value
        except (requests.RequestException, AttributeError, ValueError):
            pass
        self.items.put({"closed": True, "at": time.time()})

    def next(self, timeout: float = EVENTS_TIMEOUT) -> dict[str, Any]:
        return self.items.get(timeout=timeout)

    def next_journey(self, timeout: float = EVENTS_TIMEOUT) -> tuple[dict[str, Any], dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            item = self.next(max(0.1, deadline - time.monotonic()))
            assert "closed" not in item, "the stream ended"
            if item.get("event") == "journey":
                return item, json.loads(item["data"])

    def close(self) -> None:
        self.resp.close()


def journey_events_until(stream: EventStream, predicate) -> list[tuple[dict, dict]]:
    seen = []
    while True:
        item, journey = stream.next_journey()
        seen.append((item, journey))
        if predicate(journey):
            return seen


def survivor(journey: dict[str, Any]) -> dict[str, Any] | None:
    return next((s for s in journey["steps"] if s["code"] == STEP_SURVIVOR), None)


def epoch(stamp: str) -> float:
    return parse_time(stamp).replace(tzinfo=parse_time(stamp).tzinfo or dt.timezone.utc).timestamp()


def test_a_journey_followed_live_gets_an_event_for_each_change(env, usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "spouse"))
    stream = EventStream(usager, journey_id)
    try:
        assert stream.resp.status_code == 200, stream.resp.text
        assert stream.resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert stream.resp.headers["Cache-Control"] == "no-store"
        first = stream.next()
        assert first.get("retry") == "3000", first
        events = journey_events_until(
            stream, lambda j: is_final(j) and survivor(j)["status"] == "action_required")
        ids = [item["id"] for item, _ in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
        for item, journey in events:
            assert journey["id"] == journey_id and item["id"] == journey["updated_at"]
        assert events[-1][1] == usager.journey(journey_id), "the last event is the journey as it is"
        write_to_event = [item["at"] - epoch(journey["updated_at"]) for item, journey in events[1:]]

        # The usager acts: the step changes and the page learns it at once.
        confirmed_at = time.time()
        resp = usager.request("POST", f"/v1/journeys/{journey_id}/confirmations", json={"step": STEP_SURVIVOR})
        assert resp.status_code == 202, resp.text
        item, journey = journey_events_until(stream, lambda j: survivor(j)["status"] == "done")[-1]
        confirmation_to_event = item["at"] - confirmed_at
        write_to_event.append(item["at"] - epoch(journey["updated_at"]))
    finally:
        stream.close()
    record_figures(env, [
        f"live journey: projection's write to the event read by the client: median "
        f"{statistics.median(write_to_event) * 1000:.0f} ms, max {max(write_to_event) * 1000:.0f} ms "
        f"over {len(write_to_event)} events",
        f"live journey: a confirmation posted to its step's change read on the stream: "
        f"{confirmation_to_event * 1000:.0f} ms (through the bereavement service and Kafka)",
    ])
    assert max(write_to_event) < 5, write_to_event


def test_last_event_id_resumes_without_repeating_and_heartbeats_keep_it_open(usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    final = usager.wait_journey(journey_id)
    stream = EventStream(usager, journey_id, {"Last-Event-ID": final["updated_at"]})
    try:
        assert stream.next().get("retry") == "3000"
        started = time.monotonic()
        item = stream.next(timeout=HEARTBEAT_S + 10)
        assert item.get("comment") == "heartbeat", f"the journey was sent again: {item}"
        assert time.monotonic() - started >= HEARTBEAT_S - 2
    finally:
        stream.close()
    older = EventStream(usager, journey_id, {"Last-Event-ID": "2000-01-01T00:00:00.000000Z"})
    try:
        older.next()
        _, journey = older.next_journey(timeout=10)
        assert journey == usager.journey(journey_id)
    finally:
        older.close()


def test_another_usagers_journey_or_none_is_404_and_no_token_401(usager, make_usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    other = make_usager()
    for who, jid in ((other, journey_id), (usager, "6f1d1d2e-5a4b-4c3d-9e8f-7a6b5c4d3e2f"), (usager, "x")):
        resp = who.request("GET", f"/v1/journeys/{jid}/events", headers={"Accept": "text/event-stream"},
                           stream=True)
        assert_problem(resp, 404)
    resp = usager.request("GET", f"/v1/journeys/{journey_id}/events", auth=False)
    assert_problem(resp, 401)


def test_a_client_that_does_not_ask_for_a_stream_gets_406_not_a_body_without_end(usager):
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    for accept in (None, "*/*", "application/json"):
        headers = {"Accept": accept} if accept else {}
        resp = usager.request("GET", f"/v1/journeys/{journey_id}/events", headers=headers, timeout=10)
        assert_problem(resp, 406)


def test_a_usager_follows_at_most_eight_journeys_at_once_the_newest_winning(usager):
    """A ninth stream of one usager ends their oldest (a tab closed, or a
    browser gone, is only noticed at its next write: the page opened now
    must not be refused for it); the other seven go on."""
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    streams = [EventStream(usager, journey_id) for _ in range(PER_USAGER)]
    try:
        assert [s.resp.status_code for s in streams] == [200] * PER_USAGER
        for s in streams:
            s.next_journey()  # each one opened with the journey
        extra = EventStream(usager, journey_id)
        streams.append(extra)
        assert extra.resp.status_code == 200, extra.resp.text
        extra.next_journey()
        deadline = time.monotonic() + 10
        while True:
            item = streams[0].next(max(0.1, deadline - time.monotonic()))
            if "closed" in item:
                break
        for s in streams[1:]:
            assert s.items.empty() or all("closed" not in i for i in list(s.items.queue)), "another stream ended"
    finally:
        for s in streams:
            s.resp.close()


def readme_page_commands() -> list[str]:
    """The curl commands of the README's « The usager's page »."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The usager's page", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        commands += [c.strip() for c in re.findall(r"^curl .*?(?=^\S|\Z)", block, re.S | re.M)]
    return commands


def test_the_readme_stream_example_runs_as_written(env, usager):
    (command,) = [c for c in readme_page_commands() if "/events" in c]
    journey_id = usager.declare_ok(bereavement_declaration(unknown_person(), "child"))
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30,
                          env={**env.process_env, "TOKEN": usager.token, "ID": journey_id})
    assert proc.returncode == 28, f"curl should stop at -m: {proc.returncode} {proc.stderr}"
    lines = proc.stdout.splitlines()
    assert lines[0] == "retry: 3000" and lines[1] == "", lines[:3]
    assert lines[2].startswith("id: ") and lines[3] == "event: journey", lines[:4]
    assert json.loads(lines[4].removeprefix("data: "))["id"] == journey_id
