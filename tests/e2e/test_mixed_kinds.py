"""Every kind of declaration together: on a warm stack, how long each kind
takes from the declaration to its last final step; and a burst of mixed
kinds during which mdv-student, which has a step in all of them, is killed
with SIGKILL and started again: every journey becomes final and student
applies each journey's effect exactly once."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest

from mdv_e2e import (
    address_abroad,
    declaration_for,
    knows,
    new_address_in_france,
    parse_time,
    percentile,
    pivot_identity,
    random_letters,
    record_figures,
    stop_instance,
    summarise,
)

FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "180"))


def in_days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


# kind -> (body for a person, the number of planned steps, student's step)
KINDS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], int, str]] = {
    "bereavement": (lambda p: declaration_for(p, "child", death_date=in_days(-2)), 6, "student.files_updated"),
    "address_change": (lambda p: {"kind": "address_change", "person": pivot_identity(p),
                                  "address": new_address_in_france(p), "effective_date": in_days(1)},
                       5, "student.address_updated"),
    "name_change": (lambda p: {"kind": "name_change", "person": pivot_identity(p), "name_type": "usage",
                               "new_family_name": random_letters(9).capitalize(), "effective_date": in_days(-1)},
                    5, "student.name_updated"),
    "departure_abroad": (lambda p: {"kind": "departure_abroad", "person": pivot_identity(p),
                                    "address": address_abroad("99401"), "departure_date": in_days(-5),
                                    "consular_registration": True, "study_mobility": False},
                         4, "student.mobility_reviewed"),
    "return_to_france": (lambda p: {"kind": "return_to_france", "person": pivot_identity(p),
                                    "address": new_address_in_france(p), "return_date": in_days(-3)},
                         4, "student.mobility_reviewed"),
}


def persons_for_every_kind(find_persons, per_kind: int) -> list[tuple[str, dict[str, Any]]]:
    """Distinct persons known to identity and student, per_kind of each kind."""
    n = per_kind * len(KINDS)
    persons = find_persons(lambda p: knows(p, "identity", "student"), n=n, batch=max(100, n))
    return [(kind, persons[i * per_kind + j]) for i, kind in enumerate(KINDS) for j in range(per_kind)]


def wait_final(usager, journey_id: str, kind: str, timeout: float) -> dict[str, Any]:
    return usager.wait_journey(journey_id, timeout=timeout, expected_steps=KINDS[kind][1])


def journey_seconds(journey: dict[str, Any]) -> float:
    return (parse_time(journey["updated_at"]) - parse_time(journey["created_at"])).total_seconds()


def test_each_kind_on_a_warm_stack_how_long_to_the_last_final_step(env, usager, find_persons):
    """One declaration of each kind after a warm-up one: every step of its
    plan becomes final; the figure is journey updated_at - created_at."""
    chosen = persons_for_every_kind(find_persons, 2)
    seconds: dict[str, float] = {}
    for index, (kind, person) in enumerate(chosen):
        body, steps, _ = KINDS[kind]
        journey = wait_final(usager, usager.declare_ok(body(person)), kind, 60)
        # A return may get a step added after its plan's (an address that
        # reaches a survivor claim or a file the return did not touch).
        assert len(journey["steps"]) >= steps, summarise(journey)
        if index % 2:  # the second of each kind: the stack is warm for it
            seconds[kind] = journey_seconds(journey)
    record_figures(env, ["[kinds_warm] declaration to last final step, one declaration on a warm stack: "
                                    + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in seconds.items())])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_mixed_burst_survives_a_sigkill_of_student_with_each_effect_once(env, usager, find_persons, db):
    per_kind = 20
    chosen = persons_for_every_kind(find_persons, per_kind)
    student = db("student")
    posted: list[tuple[str, str]] = []  # (journey id, kind)
    lock = threading.Lock()
    quarter = threading.Event()

    def post(item: tuple[str, dict[str, Any]]) -> None:
        kind, person = item
        journey_id = usager.declare_ok(KINDS[kind][0](person), idempotency_key=f"mixed-{uuid.uuid4()}")
        with lock:
            posted.append((journey_id, kind))
            if len(posted) >= len(chosen) // 4:
                quarter.set()

    # Interleave the kinds, as real traffic would.
    order = [chosen[j * per_kind + i] for i in range(per_kind) for j in range(len(KINDS))]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(post, item) for item in order]
        assert quarter.wait(120), "the burst did not start"
        with lock:
            accepted = [j for j, _ in posted]
        applied = {r[0] for r in student.execute(
            "SELECT DISTINCT journey_id::text FROM applied_effects WHERE journey_id::text = ANY(%s)",
            (accepted,)).fetchall()}
        stopped = stop_instance(env, "student", "KILL")
        env.stack("start-service", "student", timeout=120)
        for f in futures:
            f.result()
    assert stopped.exit_status == "137", stopped

    finals = {j: wait_final(usager, j, kind, FINAL_TIMEOUT) for j, kind in posted}
    rows = student.execute(
        "SELECT journey_id::text, effect, count(*) FROM applied_effects WHERE journey_id::text = ANY(%s)"
        " GROUP BY journey_id, effect", ([j for j, _ in posted],)).fetchall()
    counts = {(j, e): n for j, e, n in rows}
    by_kind: dict[str, list[float]] = {}
    for journey_id, kind in posted:
        by_kind.setdefault(kind, []).append(journey_seconds(finals[journey_id]))
    record_figures(env, [
        f"[mixed_burst] {len(posted)} declarations of {len(KINDS)} kinds over 8 connections; mdv-student SIGKILLed"
        f" after {len(accepted)} accepted ({len(accepted) - len(applied)} of them not yet applied by student);"
        f" all final {time.monotonic() - started:.1f} s after the burst started",
        "  declaration to last final step, median / p95: " + ", ".join(
            f"{k} {statistics.median(v):.2f} / {percentile(v, 0.95):.2f} s" for k, v in by_kind.items()),
    ])

    # The kill hit work in flight.
    assert len(applied) < len(accepted), "student had applied everything accepted before the kill"
    for journey_id, kind in posted:
        journey = finals[journey_id]
        assert len(journey["steps"]) >= KINDS[kind][1], summarise(journey)
        assert counts.get((journey_id, KINDS[kind][2])) == 1, (
            f"{kind} {journey_id}: {counts.get((journey_id, KINDS[kind][2]))} student effects")
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
