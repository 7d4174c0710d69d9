"""The webhook partners (DESIGN.md §11), as a partner's engineer sees them:
the CAF and the CPAM register an endpoint through the partners' API with
their own token and get each death they are entitled to as a POST signed
per Standard Webhooks, checked here with the `standardwebhooks` library, the
body exactly their projection. Failures are retried with growing delays on
a schedule kept in the database (a SIGKILL of the partners service loses
none), Retry-After is honoured, 410 disables the endpoint, the last failure
dead-letters the delivery (read on mdv.dlq.v1), a replay sends it again
under the same webhook-id, a rotated secret signs beside the new one for
the overlap only; the delivery log lists every attempt with its HTTP
status. The tests that play a partner stop its simulator and point its
endpoint at a receiver of their own; the simulator, started again after,
registers its endpoint again.

tests/e2e/run.sh shortens the schedule (MDV_WEBHOOK_*): the same values
are read here."""

from __future__ import annotations

import datetime as dt
import email.utils
import http.server
import json
import os
import re
import subprocess
import threading
import time
import uuid
from typing import Any

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from mdv_e2e import (
    REPO_ROOT,
    assert_problem,
    bereavement_declaration,
    end_offsets,
    parse_time,
    read_topic,
    record_figures,
    steps_by_code,
    stop_instance,
    unknown_person,
    wait_until,
)

TIMEOUT = 60
ATTEMPTS = int(os.environ.get("MDV_WEBHOOK_ATTEMPTS", "12"))
BACKOFF_S = int(os.environ.get("MDV_WEBHOOK_BACKOFF_MS", "30000")) / 1000
BACKOFF_MAX_S = int(os.environ.get("MDV_WEBHOOK_BACKOFF_MAX_MS", "21600000")) / 1000
OVERLAP_S = int(os.environ.get("MDV_WEBHOOK_SECRET_OVERLAP_S", "86400"))
STEP = {"caf": "caf.death_notified", "cpam": "cpam.death_notified"}
ADMINISTRATION = {"caf": "Caisse d'allocations familiales (CAF)",
                  "cpam": "Caisse primaire d'assurance maladie (CPAM)"}
CPAM_FIELDS = {"journey_id", "family_name", "given_names", "sex", "birth_date", "birth_place", "death_date"}
FIELDS = {"caf": CPAM_FIELDS - {"sex"}, "cpam": CPAM_FIELDS}
DLQ = "mdv.dlq.v1"
SLACK = 0.25  # seconds: clocks of one machine, rounding of the database's times

pytestmark = pytest.mark.skipif(BACKOFF_MAX_S > 60, reason="needs the short schedule of tests/e2e/run.sh")


# --------------------------------------------------------------------------
# A partner's endpoint and its API


class Receiver:
    """An HTTP endpoint that records every POST (time, headers, body) and
    answers from a script: each entry (status, headers) once, then `then`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.then: tuple[int, dict[str, str]] = (200, {})
        self.stall_s = 0.0  # how long each POST waits before its answer
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append({"at": time.time(), "headers": dict(self.headers.items()),
                                              "body": body})
                    status, headers = receiver.script.pop(0) if receiver.script else receiver.then
                    stall = receiver.stall_s
                time.sleep(stall)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mdv"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_journey(self, journey_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if journey_id.encode() in r["body"]]

    def wait(self, journey_id: str, n: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        return wait_until(lambda: len(self.of_journey(journey_id)) >= n and self.of_journey(journey_id),
                          timeout, f"{n} POST(s) for journey {journey_id}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PartnerApi:
    """The partners' API as one partner calls it, with its own token."""

    def __init__(self, env, partner: str):
        self.base = env.service_urls["partners"]
        token = env.run_tool(env.tool("mdv-token"), "--partner", partner, timeout=30).strip()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=30, **kw)

    def register(self, url: str) -> requests.Response:
        return self.call("PUT", "/partners/v1/webhook", json={"url": url})

    def rotate(self) -> str:
        resp = self.call("POST", "/partners/v1/webhook/secret")
        assert resp.status_code == 201, resp.text
        return resp.json()["secret"]

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        resp = self.call("GET", f"/partners/v1/deliveries/{delivery_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()


class Played:
    """A webhook partner played by the test: its API, its receiver, the
    secret it knows."""

    def __init__(self, env, partner: str):
        self.partner = partner
        self.api = PartnerApi(env, partner)
        self.receiver = Receiver()
        resp = self.api.register(self.receiver.url)
        assert resp.status_code in (200, 201), resp.text
        # The simulator's secret is not ours to know: a rotation gives one.
        self.secret = resp.json()["secret"] if resp.status_code == 201 else self.api.rotate()

    def verify(self, request: dict[str, Any], secret: str | None = None) -> Any:
        return Webhook(secret or self.secret).verify(request["body"], request["headers"])


@pytest.fixture
def play(env):
    """play("caf"): the partner's simulator stopped, its endpoint ours; the
    simulator started again after (it registers its own endpoint again)."""
    played: list[Played] = []

    def take(partner: str) -> Played:
        env.stack("stop-simulator", partner)
        p = Played(env, partner)
        played.append(p)
        return p

    yield take
    for p in played:
        p.receiver.close()
        env.stack("start-simulator", p.partner)


def declare_death(usager) -> str:
    return usager.declare_ok(bereavement_declaration(unknown_person(), "spouse", death_place="13055"))


def step_of(usager, journey_id: str, partner: str) -> dict[str, Any]:
    return steps_by_code(usager.journey(journey_id)).get(STEP[partner]) or {}


def wait_step(usager, journey_id: str, partner: str, predicate, what: str) -> dict[str, Any]:
    return wait_until(lambda: predicate(step_of(usager, journey_id, partner))
                      and step_of(usager, journey_id, partner), TIMEOUT, what)


def delivery_row(db, journey_id: str, partner: str) -> tuple[Any, ...]:
    return db("partners").execute(
        "SELECT id::text, status, attempts, next_attempt_at FROM deliveries"
        " WHERE journey_id = %s AND step_code = %s", (journey_id, STEP[partner])).fetchone()


def attempt_times(requests_: list[dict[str, Any]]) -> list[float]:
    return [r["at"] for r in requests_]


# --------------------------------------------------------------------------
# What a partner gets


def test_a_death_reaches_caf_and_cpam_as_signed_posts_of_exactly_their_projection(env, usager, play, db):
    caf, cpam = play("caf"), play("cpam")
    deceased = unknown_person()
    body = bereavement_declaration(deceased, "spouse", death_place="13055")
    journey_id = usager.declare_ok(body)
    expected = {"journey_id": journey_id, "family_name": deceased["family_name"],
                "given_names": deceased["given_names"], "sex": deceased["sex"],
                "birth_date": deceased["birth_date"], "birth_place": deceased["birth_place"],
                "death_date": body["death_date"]}
    for played in (caf, cpam):
        (post,) = played.receiver.wait(journey_id, 1)
        payload = played.verify(post)  # raises unless a signature verifies
        assert payload["type"] == f"fr.gouv.mdv.partners.{played.partner}_death_notice.v1", payload
        assert set(payload) == {"type", "timestamp", "data"}, payload
        assert payload["data"] == {k: v for k, v in expected.items() if k in FIELDS[played.partner]}
        assert b"13055" not in post["body"] and b"spouse" not in post["body"]
        headers = {k.lower(): v for k, v in post["headers"].items()}
        assert headers["content-type"] == "application/json"
        # The 2xx is recorded just after the receiver answered it.
        (delivery_id, status, attempts, _) = wait_until(
            lambda: (row := delivery_row(db, journey_id, played.partner))[1] == "delivered" and row,
            TIMEOUT, "the delivery recorded delivered")
        assert headers["webhook-id"] == delivery_id and (status, attempts) == ("delivered", 1)
        # Another partner's secret verifies nothing.
        with pytest.raises(WebhookVerificationError):
            Webhook(cpam.secret if played is caf else caf.secret).verify(post["body"], post["headers"])

    # Its 2xx is its receipt; what it reports then closes its step.
    received = wait_step(usager, journey_id, "caf", lambda s: s.get("status") == "received",
                         "the CAF's receipt")
    assert received["detail"] == f"Reçu par : {ADMINISTRATION['caf']}" and received["received_at"]
    assert received["administration"] == ADMINISTRATION["caf"]
    assert received["label"] == "Signalement du décès à la Caisse d'allocations familiales"
    resp = caf.api.call("POST", "/partners/v1/outcomes", headers={"Idempotency-Key": f"caf-{uuid.uuid4()}"},
                        json={"journey_id": journey_id, "step_code": STEP["caf"], "status": "done",
                              "detail": "Droits de l'allocataire revus"})
    assert resp.status_code == 202, resp.text
    done = wait_step(usager, journey_id, "caf", lambda s: s.get("status") == "done", "the CAF's outcome")
    assert done["detail"] == "Droits de l'allocataire revus" and done["received_at"] == received["received_at"]
    time.sleep(2)
    assert len(caf.receiver.of_journey(journey_id)) == 1 and len(cpam.receiver.of_journey(journey_id)) == 1


def test_a_bereavement_journey_shows_caf_and_cpam_received_then_done_by_their_simulators(env, usager):
    journey_id = declare_death(usager)
    journey = usager.wait_journey(journey_id)
    created = parse_time(journey["created_at"])
    steps = steps_by_code(journey)
    details = {"caf": "Décès pris en compte par la Caisse d'allocations familiales",
               "cpam": "Décès pris en compte par l'Assurance maladie"}
    for partner in ("caf", "cpam"):
        step = steps[STEP[partner]]
        assert step["status"] == "done" and step["detail"] == details[partner], step
        assert step["administration"] == ADMINISTRATION[partner] and step["received_at"], step
    record_figures(env, ["declaration to each webhook partner's receipt (received_at - created_at): "
                         + ", ".join(f"{STEP[p]} {(parse_time(steps[STEP[p]]['received_at']) - created).total_seconds():.2f} s"
                                     for p in ("caf", "cpam"))])


# --------------------------------------------------------------------------
# Retries


def test_failures_are_retried_with_growing_delays_and_the_schedule_survives_a_sigkill(env, usager, play, db):
    caf = play("caf")
    caf.receiver.script = [(503, {}), (500, {}), (502, {})]
    journey_id = declare_death(usager)
    caf.receiver.wait(journey_id, 2)
    # Between the second and the third attempt: the partners service killed.
    (delivery_id, status, attempts, due) = delivery_row(db, journey_id, "caf")
    assert (status, attempts) == ("pending", 2)
    stopped = stop_instance(env, "partners-1", "KILL")
    assert stopped.exit_status == "137", stopped
    env.stack("start-service", "partners")
    posts = caf.receiver.wait(journey_id, 4)
    assert len({p["headers"]["webhook-id"] for p in posts}) == 1
    assert posts[0]["headers"]["webhook-id"] == delivery_id
    times = attempt_times(posts)
    # The third came when the database said, not before, after the restart.
    assert times[2] >= due.timestamp() - SLACK, (times[2], due)
    gaps = [b - a for a, b in zip(times, times[1:])]
    for n, gap in enumerate(gaps, start=1):
        low = min(BACKOFF_S * 2 ** (n - 1) / 2, BACKOFF_MAX_S)
        assert gap >= low - SLACK, (n, gaps)
    assert gaps[1] >= gaps[0] - SLACK and gaps[2] >= gaps[1] - SLACK, gaps
    for post in posts:
        caf.verify(post)

    delivery = wait_until(lambda: caf.api.delivery(delivery_id)["status"] == "delivered"
                          and caf.api.delivery(delivery_id), TIMEOUT, "the delivery delivered")
    assert [a["http_status"] for a in delivery["attempts"]] == [503, 500, 502, 200], delivery
    assert [a["n"] for a in delivery["attempts"]] == [1, 2, 3, 4]
    assert all(a["started_at"] and a["ended_at"] and not a["replay"] for a in delivery["attempts"])
    assert delivery["attempt_count"] == 4 and delivery["delivered_at"] and delivery["next_attempt_at"] is None
    wait_step(usager, journey_id, "caf", lambda s: s.get("status") == "received", "the CAF's receipt")
    time.sleep(2)
    assert len(caf.receiver.of_journey(journey_id)) == 4
    record_figures(env, ["webhook retries (503, 500, 502 then 200; partners SIGKILLed after the 2nd): "
                         f"gaps between attempts {', '.join(f'{g:.2f}' for g in gaps)} s"])


def test_a_sigterm_cuts_a_slow_attempt_short_and_the_delivery_is_made_after_the_restart(env, usager, play, db):
    caf = play("caf")
    caf.receiver.stall_s = 60.0  # past an attempt's timeout: only the stop can end it first
    journey_id = declare_death(usager)
    caf.receiver.wait(journey_id, 1)
    caf.receiver.stall_s = 0.0
    stopped = stop_instance(env, "partners-1", "TERM")
    assert stopped.exit_status == "0", stopped
    (delivery_id, status, attempts, _) = delivery_row(db, journey_id, "caf")
    assert (status, attempts) == ("pending", 1)
    env.stack("start-service", "partners")
    posts = caf.receiver.wait(journey_id, 2)
    assert len({p["headers"]["webhook-id"] for p in posts}) == 1
    delivery = wait_until(lambda: caf.api.delivery(delivery_id)["status"] == "delivered"
                          and caf.api.delivery(delivery_id), TIMEOUT, "the delivery delivered")
    first, second = delivery["attempts"]
    # The stop ended the first attempt, not its timeout nor the partner,
    # and it counts for nothing against the delivery's attempts.
    assert first["error"] == "interrupted: the partners service stopped" and first["http_status"] is None, first
    assert first["ended_at"] and second["http_status"] == 200, delivery
    (max_attempts,) = db("partners").execute("SELECT max_attempts FROM deliveries WHERE id = %s",
                                             (delivery_id,)).fetchone()
    assert max_attempts == int(os.environ.get("MDV_WEBHOOK_ATTEMPTS", "6")) + 1
    wait_step(usager, journey_id, "caf", lambda s: s.get("status") in ("received", "done"), "the CAF's receipt")
    record_figures(env, [f"webhooks: SIGTERM during a partner's 60 s answer, exit in {stopped.seconds:.2f} s;"
                         " the attempt ended 'interrupted' and the delivery was made after the restart"])


def test_retry_after_in_seconds_or_as_an_http_date_is_honoured(env, usager, play):
    caf = play("caf")
    later = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=12), usegmt=True)
    caf.receiver.script = [(429, {"Retry-After": "4"}), (503, {"Retry-After": later})]
    journey_id = declare_death(usager)
    posts = caf.receiver.wait(journey_id, 3, timeout=TIMEOUT)
    times = attempt_times(posts)
    # The backoff alone would have come back within 1 s, then 2 s.
    assert times[1] - times[0] >= 4 - SLACK, times
    assert times[2] >= email.utils.parsedate_to_datetime(later).timestamp() - 1 - SLACK, (times, later)
    delivery_id = posts[0]["headers"]["webhook-id"]
    # The receiver has the third POST before the partners service records its answer.
    delivery = wait_until(lambda: caf.api.delivery(delivery_id)["status"] == "delivered"
                          and caf.api.delivery(delivery_id), TIMEOUT, "the delivery delivered")
    assert [a["http_status"] for a in delivery["attempts"]][:3] == [429, 503, 200]
    assert delivery["attempts"][0]["retry_after"] is not None


def test_410_disables_the_endpoint_its_deliveries_wait_and_registering_again_sends_them(env, usager, play):
    caf = play("caf")
    caf.receiver.script = [(410, {})]
    first = declare_death(usager)
    caf.receiver.wait(first, 1)
    endpoint = wait_until(lambda: caf.api.call("GET", "/partners/v1/webhook").json()["status"] == "disabled"
                          and caf.api.call("GET", "/partners/v1/webhook").json(), TIMEOUT, "the endpoint disabled")
    assert endpoint["disabled_at"] and endpoint["url"] == caf.receiver.url
    waiting = f"En attente : {ADMINISTRATION['caf']} a suspendu la réception des transmissions"
    wait_step(usager, first, "caf", lambda s: s.get("detail") == waiting and s.get("status") == "pending",
              "the CAF's step says it waits")
    second = declare_death(usager)
    wait_step(usager, second, "caf", lambda s: s.get("status") == "pending", "the second journey's CAF step")
    time.sleep(3)
    assert caf.receiver.of_journey(second) == [] and len(caf.receiver.of_journey(first)) == 1

    resp = caf.api.register(caf.receiver.url)
    assert resp.status_code == 200 and resp.json()["status"] == "enabled" and "secret" not in resp.json()
    for journey_id in (first, second):
        caf.verify(caf.receiver.wait(journey_id, 1 + (journey_id == first))[-1])
        wait_step(usager, journey_id, "caf", lambda s: s.get("status") == "received", "received after 410")


def test_the_last_failure_dead_letters_the_delivery_and_a_replay_delivers_it(env, usager, play):
    caf = play("caf")
    caf.receiver.then = (500, {})
    dlq_start = end_offsets(env.kafka_brokers, DLQ)
    journey_id = declare_death(usager)
    posts = caf.receiver.wait(journey_id, ATTEMPTS, timeout=TIMEOUT + ATTEMPTS * BACKOFF_MAX_S)
    delivery_id = posts[0]["headers"]["webhook-id"]
    dead = wait_until(lambda: caf.api.delivery(delivery_id)["status"] == "dead" and caf.api.delivery(delivery_id),
                      TIMEOUT, "the delivery dead")
    assert [a["http_status"] for a in dead["attempts"]] == [500] * ATTEMPTS and dead["dead_at"]
    assert f"{ATTEMPTS} attempts" in dead["last_error"] and "HTTP 500" in dead["last_error"], dead
    undelivered = f"La transmission à {ADMINISTRATION['caf']} n'a pas abouti ; elle sera reprise"
    wait_step(usager, journey_id, "caf", lambda s: s.get("detail") == undelivered, "the step says it failed")

    def letter():
        for m in read_topic(env.kafka_brokers, DLQ, dlq_start):
            if m.headers.get("mdv_dlq_webhook_id") == delivery_id:
                return m
        return None

    m = wait_until(letter, TIMEOUT, "the dead letter")
    assert m.headers["mdv_dlq_service"] == "partners" and m.headers["mdv_dlq_partner"] == "caf", m.headers
    assert f"{ATTEMPTS} attempts" in m.headers["mdv_dlq_error"] and "HTTP 500" in m.headers["mdv_dlq_error"]
    assert m.headers["mdv_journey_id"] == journey_id and m.value == posts[0]["body"]
    time.sleep(2)
    assert len(caf.receiver.of_journey(journey_id)) == ATTEMPTS

    # The endpoint is fixed; the partner replays: once more, same id, same body.
    caf.receiver.then = (200, {})
    resp = caf.api.call("POST", f"/partners/v1/deliveries/{delivery_id}/replay")
    assert resp.status_code == 202 and resp.json() == {"id": delivery_id, "status": "pending"}, resp.text
    replayed = caf.receiver.wait(journey_id, ATTEMPTS + 1)[-1]
    assert replayed["headers"]["webhook-id"] == delivery_id and replayed["body"] == posts[0]["body"]
    caf.verify(replayed)
    delivery = wait_until(lambda: caf.api.delivery(delivery_id)["status"] == "delivered"
                          and caf.api.delivery(delivery_id), TIMEOUT, "delivered by the replay")
    assert delivery["attempts"][-1]["replay"] is True and delivery["attempts"][-1]["http_status"] == 200
    wait_step(usager, journey_id, "caf", lambda s: s.get("status") == "received", "received after the replay")
    # A delivered delivery can be replayed too, and stays delivered.
    assert caf.api.call("POST", f"/partners/v1/deliveries/{delivery_id}/replay").status_code == 202
    caf.receiver.wait(journey_id, ATTEMPTS + 2)
    wait_until(lambda: caf.api.delivery(delivery_id)["status"] == "delivered"
               and len(caf.api.delivery(delivery_id)["attempts"]) == ATTEMPTS + 2, TIMEOUT, "second replay")


# --------------------------------------------------------------------------
# Rotation


def test_a_rotated_secret_signs_beside_the_new_one_for_the_overlap_only(env, usager, play):
    caf = play("caf")
    old = caf.secret
    resp = caf.api.call("POST", "/partners/v1/webhook/secret")
    assert resp.status_code == 201, resp.text
    new = resp.json()["secret"]
    expires = parse_time(resp.json()["previous_secret_expires_at"])
    assert new.startswith("whsec_") and new != old
    assert abs((expires - dt.datetime.now(dt.timezone.utc)).total_seconds() - OVERLAP_S) < 3
    assert "secret" not in caf.api.call("GET", "/partners/v1/webhook").json()

    during = declare_death(usager)
    (post,) = caf.receiver.wait(during, 1)
    assert len(post["headers"]["webhook-signature"].split(" ")) == 2, post["headers"]
    caf.verify(post, old)
    caf.verify(post, new)

    wait_until(lambda: dt.datetime.now(dt.timezone.utc) > expires + dt.timedelta(seconds=1), OVERLAP_S + 5,
               "the overlap's end")
    after = declare_death(usager)
    (post,) = caf.receiver.wait(after, 1)
    assert len(post["headers"]["webhook-signature"].split(" ")) == 1, post["headers"]
    caf.verify(post, new)
    with pytest.raises(WebhookVerificationError):
        caf.verify(post, old)


# --------------------------------------------------------------------------
# The API itself


def test_the_delivery_log_pages_with_a_cursor_and_shows_only_the_partners_own(env, usager, play):
    caf = play("caf")
    # One at a time: the three journeys land on different partitions, so
    # declared together their deliveries could be created in any order.
    ids = []
    for _ in range(3):
        ids.append(declare_death(usager))
        caf.receiver.wait(ids[-1], 1)
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(3):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        resp = caf.api.call("GET", "/partners/v1/deliveries", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) == 1, page
        seen += page["items"]
        cursor = page["next_cursor"]
        # The log holds at least these three: only the last page may end it.
        assert cursor or len(seen) == 3, page
    # Newest first: the three journeys, the last declared first.
    assert [d["journey_id"] for d in seen] == ids[::-1]
    assert all(d["step_code"] == STEP["caf"] and d["status"] == "delivered" for d in seen)
    assert all(d["attempts"][0]["http_status"] == 200 for d in seen)
    delivered = caf.api.call("GET", "/partners/v1/deliveries", params={"status": "delivered", "limit": 100})
    assert all(d["status"] == "delivered" for d in delivered.json()["items"])

    # Another partner sees none of them, and cannot replay them.
    cpam = PartnerApi(env, "cpam")
    for path in (f"/partners/v1/deliveries/{seen[0]['id']}", f"/partners/v1/deliveries/{seen[0]['id']}/replay"):
        resp = cpam.call("GET" if path.endswith(seen[0]["id"]) else "POST", path)
        assert assert_problem(resp, 404)["errors"][0]["field"] == "id"
    assert seen[0]["id"] not in {d["id"] for d in cpam.call("GET", "/partners/v1/deliveries",
                                                              params={"limit": 100}).json()["items"]}
    # A Kafka partner has no webhook; no token is 401; bad queries name their field.
    assert_problem(PartnerApi(env, "cnav").call("GET", "/partners/v1/webhook"), 404)
    assert_problem(requests.get(caf.api.base + "/partners/v1/deliveries", timeout=30), 401)
    for params, field in (({"limit": 0}, "limit"), ({"cursor": "x'1"}, "cursor"), ({"status": "lost"}, "status")):
        assert assert_problem(caf.api.call("GET", "/partners/v1/deliveries", params=params), 422)["errors"][0][
            "field"] == field


@pytest.mark.parametrize("url, message", [
    ("ftp://caf.example/hooks", "must be an http or https URL"),
    ("not a url", "must be an absolute URL"),
    ("https://user:pw@caf.example/hooks", "must not carry credentials"),
    ("https://caf.example/hooks#x", "must not carry a fragment"),
    ("https://caf.example/" + "a" * 2100, "must have at most 2048 characters"),
])
def test_an_endpoint_that_is_no_http_url_is_refused_naming_the_field(env, url, message):
    caf = PartnerApi(env, "caf")
    problem = assert_problem(caf.register(url), 422)
    assert problem["errors"] == [{"field": "url", "message": message}], problem
    assert assert_problem(caf.call("PUT", "/partners/v1/webhook", json={"url": 3}), 422)["errors"][0]["field"] == "url"
    assert assert_problem(caf.call("PUT", "/partners/v1/webhook", json={"url": "https://caf.example/h", "x": 1}),
                          422)["errors"][0]["field"] == "x"
    # The endpoint the simulator registered is still there.
    assert caf.call("GET", "/partners/v1/webhook").json()["url"].endswith("/webhook")


# --------------------------------------------------------------------------
# The README's webhook examples, run as written


def readme_section() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("### Webhook partners: the CAF and the CPAM\n", 1)[1].split("\n**Left for later:**", 1)[0]


def test_the_readme_webhook_examples_run_as_written(env, usager, tmp_path):
    section = readme_section()
    (snippet,) = re.findall(r"```python\n(.*?)```", section, re.S)
    script = "".join(re.findall(r"```sh\n(.*?)```", section, re.S))
    assert script.count("curl ") == 4, script
    if env.stack_dir is None:
        pytest.skip("MDV_STACK_DIR unknown: the examples source the stack's env file")
    (tmp_path / ".run").symlink_to(env.stack_dir.resolve())
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "bin").symlink_to(env.bin_dir.resolve())

    # A delivery of the CAF's to replay, through its simulator.
    journey_id = declare_death(usager)
    wait_step(usager, journey_id, "caf", lambda s: s.get("received_at"), "the CAF's receipt")
    caf = PartnerApi(env, "caf")
    (delivery,) = [d for d in caf.call("GET", "/partners/v1/deliveries", params={"limit": 100}).json()["items"]
                   if d["journey_id"] == journey_id]
    # Each command's answer on its own line, with its HTTP status.
    script = script.replace("curl -s ", "curl -s -w '\\n%{http_code}\\n' ")
    try:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, env={**env.process_env, "DELIVERY_ID": delivery["id"]})
        assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        lines = proc.stdout.splitlines()
        answers = [(json.loads(lines[i]), int(lines[i + 1])) for i in range(0, len(lines), 2)]
        (endpoint, s1), (listed, s2), (replayed, s3), (rotated, s4) = answers
        assert s1 == 200 and endpoint["url"] == "https://caf.example/webhooks/mdv", endpoint
        assert s2 == 200 and len(listed["items"]) <= 2 and "next_cursor" in listed, listed
        assert s3 == 202 and replayed == {"id": delivery["id"], "status": "pending"}, replayed
        assert s4 == 201 and rotated["secret"].startswith("whsec_"), rotated
    finally:
        env.stack("stop-simulator", "caf")
        env.stack("start-simulator", "caf")

    # The Python snippet, on a POST the CAF's simulator was sent: its
    # secret is gone with the rotation, so a receiver of ours takes one.
    receiver = Receiver()
    try:
        env.stack("stop-simulator", "caf")
        secret = caf.register(receiver.url) and caf.rotate()
        journey_id = declare_death(usager)
        (post,) = receiver.wait(journey_id, 1)
        scope = {"secret": secret, "body": post["body"], "headers": post["headers"]}
        exec(snippet, scope)  # noqa: S102 (the README's own lines)
        assert scope["payload"]["data"]["journey_id"] == journey_id
    finally:
        receiver.close()
        env.stack("start-simulator", "caf")


# --------------------------------------------------------------------------
# The contract (services/partners/openapi.yaml)


def validate(spec: dict[str, Any], schema: str, value: Any) -> None:
    OAS30Validator({**spec["components"]["schemas"][schema], "components": spec["components"]},
                   format_checker=oas30_format_checker).validate(value)


def test_the_webhook_routes_answer_as_their_contract_says(env, usager, play):
    spec = yaml.safe_load((REPO_ROOT / "services" / "partners" / "openapi.yaml").read_text(encoding="utf-8"))
    put = spec["paths"]["/partners/v1/webhook"]["put"]["requestBody"]["content"]["application/json"]
    caf = play("caf")
    for name, example in put["examples"].items():
        validate(spec, "EndpointRequest", example["value"])
        resp = caf.api.register(example["value"]["url"])
        assert resp.status_code == 200, (name, resp.text)
        validate(spec, "Endpoint", resp.json())
    assert caf.api.register(caf.receiver.url).status_code == 200
    validate(spec, "Endpoint", caf.api.call("GET", "/partners/v1/webhook").json())
    rotated = caf.api.call("POST", "/partners/v1/webhook/secret")
    assert rotated.status_code == 201
    validate(spec, "Rotated", rotated.json())
    caf.secret = rotated.json()["secret"]
    journey_id = declare_death(usager)
    (post,) = caf.receiver.wait(journey_id, 1)
    page = caf.api.call("GET", "/partners/v1/deliveries", params={"limit": 5}).json()
    validate(spec, "DeliveryPage", page)
    validate(spec, "Delivery", caf.api.delivery(post["headers"]["webhook-id"]))
    replay = caf.api.call("POST", f"/partners/v1/deliveries/{post['headers']['webhook-id']}/replay")
    assert replay.status_code == 202
    OAS30Validator(spec["paths"]["/partners/v1/deliveries/{id}/replay"]["post"]["responses"]["202"]["content"]
                   ["application/json"]["schema"]).validate(replay.json())
