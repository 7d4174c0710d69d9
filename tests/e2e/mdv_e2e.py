"""Shared helpers of the end-to-end suite: the stack environment, the
usager's HTTP client, declarations, journeys, problem responses, tools.

Fixtures live in conftest.py; everything here is plain Python so that the
tests can also import it directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import random
import shlex
import signal
import subprocess
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import requests
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO_ROOT / "deploy" / "local" / "stack.sh"

SERVICES = ("identity", "student", "bereavement", "housing", "abroad", "partners")
CONSUMER_SERVICES = ("identity", "student", "housing", "abroad")

# Step codes of the bereavement journey, in plan order (DESIGN.md §3).
STEP_DEATH_RECORDED = "bereavement.death_recorded"
STEP_IDENTITY = "identity.documents_cancelled"
STEP_ABROAD = "abroad.registration_closed"
STEP_STUDENT = "student.files_updated"
STEP_HOUSING = "housing.files_suspended"
STEP_SURVIVOR = "bereavement.survivor_pension"
# The partners entitled to a death add their steps as soon as they are
# notified (services/partners/rules/entitlements.tsv); the stack's
# simulators acknowledge and report them.
STEP_CNAV = "cnav.death_notified"
STEP_DGFIP = "dgfip.death_notified"
# The webhook partners entitled to a death: a 2xx is their receipt.
STEP_CAF = "caf.death_notified"
STEP_CPAM = "cpam.death_notified"

BEREAVEMENT_STEPS = {
    STEP_DEATH_RECORDED: "État civil",
    STEP_IDENTITY: "ANTS",
    STEP_ABROAD: "Consulat",
    STEP_STUDENT: "CROUS",
    STEP_HOUSING: "Anah",
    STEP_SURVIVOR: "Caisses de retraite",
    STEP_CNAV: "Caisse nationale d'assurance vieillesse (CNAV)",
    STEP_DGFIP: "Direction générale des Finances publiques (DGFiP)",
    STEP_CAF: "Caisse d'allocations familiales (CAF)",
    STEP_CPAM: "Caisse primaire d'assurance maladie (CPAM)",
}
# The step each consumer service reports on.
SERVICE_STEP = {
    "identity": STEP_IDENTITY,
    "abroad": STEP_ABROAD,
    "student": STEP_STUDENT,
    "housing": STEP_HOUSING,
}

FINAL_STEP_STATUSES = frozenset({"done", "not_applicable", "action_required", "failed"})
NO_RECORD_DETAIL = "Aucun dossier à ce nom"

PROBLEM_JSON = "application/problem+json"

POLL_INTERVAL = 0.1
# Measured figures, printed in the terminal summary (see conftest.py).
FIGURES: list[str] = []
# Default time a single journey may take to become final.
JOURNEY_TIMEOUT = float(os.environ.get("MDV_E2E_JOURNEY_TIMEOUT", "60"))


# --------------------------------------------------------------------------
# Stack environment


@dataclass(frozen=True)
class StackEnv:
    """What the tests need to know about the running stack (its env file)."""

    gateway_url: str
    service_urls: dict[str, str]
    kafka_brokers: str
    pg_host: str
    pg_port: str
    pg_user: str
    bin_dir: Path
    stack_dir: Path | None
    process_env: dict[str, str] = field(repr=False)

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> "StackEnv":
        environ = dict(os.environ if environ is None else environ)
        required = ["MDV_GATEWAY_URL", "MDV_KAFKA_BROKERS", "MDV_PG_HOST", "MDV_PG_PORT", "MDV_PG_USER"]
        required += [f"MDV_{s.upper()}_URL" for s in SERVICES]
        missing = [name for name in required if not environ.get(name)]
        if missing:
            raise RuntimeError(
                "stack environment incomplete, missing: " + ", ".join(missing)
                + " (run tests/e2e/run.sh, or source the stack's env file first)"
            )
        bin_dir = Path(environ.get("MDV_BIN_DIR") or REPO_ROOT / "build" / "bin")
        stack_dir = environ.get("MDV_STACK_DIR")
        return cls(
            gateway_url=environ["MDV_GATEWAY_URL"].rstrip("/"),
            service_urls={s: environ[f"MDV_{s.upper()}_URL"].rstrip("/") for s in SERVICES},
            kafka_brokers=environ["MDV_KAFKA_BROKERS"],
            pg_host=environ["MDV_PG_HOST"],
            pg_port=environ["MDV_PG_PORT"],
            pg_user=environ["MDV_PG_USER"],
            bin_dir=bin_dir,
            stack_dir=Path(stack_dir) if stack_dir else None,
            process_env=environ,
        )

    @property
    def all_urls(self) -> dict[str, str]:
        """Every process that serves /healthz, /readyz and /metrics."""
        return {"gateway": self.gateway_url, **self.service_urls}

    def dsn(self, service: str) -> str:
        return f"host={self.pg_host} port={self.pg_port} user={self.pg_user} dbname=mdv_{service}"

    def tool(self, name: str) -> str:
        path = self.bin_dir / name
        if not path.exists():
            raise RuntimeError(f"{path} not found: build it first (make), or set MDV_BIN_DIR")
        return str(path)

    def run_tool(self, *argv: str, timeout: float = 120) -> str:
        """Runs a program with the stack's environment; returns its stdout."""
        proc = subprocess.run(
            list(argv), env=self.process_env, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        return proc.stdout

    def stack(self, *args: str, timeout: float = 120) -> str:
        """Runs deploy/local/stack.sh with the stack's environment."""
        return self.run_tool("bash", str(STACK_SCRIPT), *args, timeout=timeout)


# --------------------------------------------------------------------------
# Tools: tokens and seeded persons


def mint_token(env: StackEnv, sub: str) -> str:
    out = env.run_tool(env.tool("mdv-token"), "--sub", sub, timeout=30)
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("mdv-token printed nothing")
    token = lines[-1]
    if token.count(".") != 2:
        raise RuntimeError(f"mdv-token did not print a JWT: {out!r}")
    return token


def mint_partner_token(env: StackEnv, partner: str, *extra: str) -> str:
    """A token for the partners' API (mdv-token --partner): its own key,
    issuer and audience; extra flags (--ttl -60, --audience mdv) as given."""
    out = env.run_tool(env.tool("mdv-token"), "--partner", partner, *extra, timeout=30)
    token = out.strip().splitlines()[-1]
    if token.count(".") != 2:
        raise RuntimeError(f"mdv-token did not print a JWT: {out!r}")
    return token


class Partner:
    """A partner using the partners' HTTP API with its own token."""

    def __init__(self, env: StackEnv, partner: str, token: str | None = None):
        self.url = env.service_urls["partners"]
        self.partner = partner
        self.token = token if token is not None else mint_partner_token(env, partner)

    def post(self, path: str, body: Any, *, key: str | None = None,
             headers: dict[str, str] | None = None, auth: bool = True, **kw: Any) -> requests.Response:
        hdrs = dict(headers or {})
        if auth:
            hdrs.setdefault("Authorization", f"Bearer {self.token}")
        if key is not None:
            hdrs["Idempotency-Key"] = key
        if not isinstance(body, (str, bytes)):
            kw["json"] = body
        else:
            kw["data"] = body
        return requests.post(self.url + path, headers=hdrs, timeout=30, **kw)

    def report(self, outcome: dict[str, Any], key: str | None = None, **kw: Any) -> requests.Response:
        """POST /partners/v1/outcomes."""
        return self.post("/partners/v1/outcomes", outcome, key=key, **kw)


def seed_persons(env: StackEnv, count: int, seed: int) -> list[dict[str, Any]]:
    """Writes `count` synthetic persons with mdv-seed; returns their JSON lines."""
    out = env.run_tool(env.tool("mdv-seed"), "--count", str(count), "--seed", str(seed), timeout=300)
    persons = []
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        person = json.loads(line)
        for key in ("family_name", "given_names", "sex", "birth_date", "birth_place", "records"):
            if key not in person:
                raise RuntimeError(f"mdv-seed line without {key!r}: {line}")
        persons.append(person)
    if len(persons) != count:
        raise RuntimeError(f"mdv-seed --count {count} printed {len(persons)} persons")
    return persons


# --------------------------------------------------------------------------
# Declarations


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def random_letters(n: int = 10) -> str:
    """Random upper-case letters: names that no seeded person carries."""
    digits = uuid.uuid4().int
    letters = []
    for _ in range(n):
        digits, r = divmod(digits, 26)
        letters.append(chr(ord("A") + r))
    return "".join(letters)


def days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


def bereavement_declaration(
    deceased: dict[str, Any],
    relationship: str = "spouse",
    death_date: str | None = None,
    death_place: str = "75056",
) -> dict[str, Any]:
    return {
        "kind": "bereavement",
        "deceased": {
            "family_name": deceased["family_name"],
            "given_names": list(deceased["given_names"]),
            "sex": deceased["sex"],
            "birth_date": deceased["birth_date"],
            "birth_place": deceased["birth_place"],
        },
        "death_date": death_date or days_ago(3),
        "death_place": death_place,
        "declarant_relationship": relationship,
    }


def declaration_for(person: dict[str, Any], relationship: str = "spouse", **kw: Any) -> dict[str, Any]:
    """A declaration naming a seeded person the way a relative would type it:
    the family name upper-cased and the given names lower-cased, both without
    accents (the services match on the normalised pivot identity)."""
    typed = dict(person)
    typed["family_name"] = strip_accents(person["family_name"]).upper()
    typed["given_names"] = [strip_accents(g).lower() for g in person["given_names"]]
    return bereavement_declaration(typed, relationship, **kw)


def unknown_person() -> dict[str, Any]:
    """A person no service has ever heard of."""
    return {
        "family_name": "INCONNU-" + random_letters(10),
        "given_names": ["Personne", random_letters(6).capitalize()],
        "sex": "F",
        "birth_date": "1950-06-15",
        "birth_place": "69123",
    }


# --------------------------------------------------------------------------
# Seeded persons: what each service holds of them (mdv-seed's JSON line:
# "address", "usage_name", "registration", "student_file", "mpr_file",
# "survivor_claim", each present only when that service holds it)


def pivot_identity(person: dict[str, Any]) -> dict[str, Any]:
    """The person's pivot identity exactly as the records hold it (the body's
    `person` of the identity and abroad declarations)."""
    return {
        "family_name": person["family_name"],
        "given_names": list(person["given_names"]),
        "sex": person["sex"],
        "birth_date": person["birth_date"],
        "birth_place": person["birth_place"],
    }


def typed_identity(person: dict[str, Any]) -> dict[str, Any]:
    """The pivot identity as a usager may type it: family name upper-cased,
    given names lower-cased, both without accents."""
    typed = pivot_identity(person)
    typed["family_name"] = strip_accents(person["family_name"]).upper()
    typed["given_names"] = [strip_accents(g).lower() for g in person["given_names"]]
    return typed


def knows(person: dict[str, Any], *services: str) -> bool:
    """True when each of those services (identity, student, housing, abroad)
    holds a record of the person."""
    return set(services) <= set(person["records"])


def registration_status(person: dict[str, Any]) -> str | None:
    """"open", "closed", or None when abroad holds no inscription."""
    registration = person.get("registration")
    return registration["status"] if registration else None


def has_open_registration(person: dict[str, Any]) -> bool:
    return registration_status(person) == "open"


def has_open_claim(person: dict[str, Any]) -> bool:
    """A surviving spouse's réversion claim, offered or confirmed (only
    persons known to identity have one)."""
    claim = person.get("survivor_claim")
    return claim is not None and claim["status"] in ("offered", "confirmed")


# For each new kind, the seeded persons for whom every planned step has
# something to do (DESIGN.md §3, "The other journeys: plans").
def does_every_step(kind: str) -> Callable[[dict[str, Any]], bool]:
    def address_change(p: dict[str, Any]) -> bool:
        return knows(p, "identity", "student", "housing") and has_open_registration(p) and has_open_claim(p)

    def name_change(p: dict[str, Any]) -> bool:
        return knows(p, "identity", "student", "housing", "abroad") and has_open_claim(p)

    def identity_document(p: dict[str, Any]) -> bool:
        return knows(p, "identity")

    def departure_abroad(p: dict[str, Any]) -> bool:
        return knows(p, "identity", "student", "housing") and not has_open_registration(p)

    def return_to_france(p: dict[str, Any]) -> bool:
        return knows(p, "identity", "student", "housing") and has_open_registration(p)

    def renovation_grant(p: dict[str, Any]) -> bool:
        # identity verifies the dwelling against a main address in France
        return knows(p, "identity") and bool(p.get("address", {}).get("commune_code"))

    predicates = {f.__name__: f for f in (address_change, name_change, identity_document,
                                          departure_abroad, return_to_france, renovation_grant)}
    predicate = predicates[kind]
    predicate.__doc__ = f"does every step of {kind}"
    return predicate


# Addresses in France that the COG accepts (the postcode belongs to the
# commune), in communes far apart, for the bodies of address_change and
# return_to_france.
FRENCH_ADDRESSES = [
    {"postal_code": "75011", "commune_code": "75056", "city": "Paris"},
    {"postal_code": "13006", "commune_code": "13055", "city": "Marseille"},
    {"postal_code": "59000", "commune_code": "59350", "city": "Lille"},
    {"postal_code": "33000", "commune_code": "33063", "city": "Bordeaux"},
    {"postal_code": "67000", "commune_code": "67482", "city": "Strasbourg"},
    {"postal_code": "97400", "commune_code": "97411", "city": "Saint-Denis"},
]

# Addresses abroad: a country of the COG, a city and its postcode.
ADDRESSES_ABROAD = {
    "99401": {"lines": ["1234 rue Saint-Denis"], "city": "Montréal", "postal_code": "H2X 1Y4",
              "country_code": "99401"},
    "99132": {"lines": ["12 Cromwell Road"], "city": "London", "postal_code": "SW7 2EU",
              "country_code": "99132"},
    "99109": {"lines": ["Leopoldstraße 12"], "city": "München", "postal_code": "80331",
              "country_code": "99109"},
}


def new_address_in_france(person: dict[str, Any] | None = None, lines: list[str] | None = None) -> dict[str, Any]:
    """An address in France in another commune than the person's current
    address (and than their student file's family home)."""
    avoid = set()
    if person:
        for held in (person.get("address"), (person.get("student_file") or {}).get("family_home")):
            if held:
                avoid.add(held["commune_code"])
    choice = next(a for a in FRENCH_ADDRESSES if a["commune_code"] not in avoid)
    return {"lines": lines or [f"{random.randint(1, 150)} rue des Acacias"], **choice}


def address_abroad(country_code: str = "99401") -> dict[str, Any]:
    return json.loads(json.dumps(ADDRESSES_ABROAD[country_code]))


# --------------------------------------------------------------------------
# Journeys


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def steps_by_code(journey: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["code"]: step for step in journey.get("steps", [])}


def is_final(journey: dict[str, Any], expected_steps: int | None = len(BEREAVEMENT_STEPS)) -> bool:
    """Every step is final (and the plan is there: an empty list is not)."""
    steps = journey.get("steps") or []
    if not steps or (expected_steps is not None and len(steps) < expected_steps):
        return False
    return all(step.get("status") in FINAL_STEP_STATUSES for step in steps)


def summarise(journey: dict[str, Any]) -> str:
    steps = ", ".join(f"{s.get('code')}={s.get('status')}" for s in journey.get("steps", []))
    return f"journey {journey.get('id')} status={journey.get('status')} [{steps}]"


# --------------------------------------------------------------------------
# HTTP


def assert_problem(resp: requests.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with the given status."""
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url}: expected {status}, got {resp.status_code}: {resp.text[:500]}"
    )
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == PROBLEM_JSON, (
        f"expected Content-Type {PROBLEM_JSON}, got {ctype!r}"
    )
    body = resp.json()
    assert isinstance(body, dict), body
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"problem without {key!r}: {body}"
    assert isinstance(body["type"], str) and body["type"], body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert body["status"] == status, f"problem status {body['status']!r} != HTTP status {status}"
    return body


class Usager:
    """A usager using the gateway with a bearer token.

    Safe to share between threads: every thread gets its own HTTP session.
    """

    def __init__(self, gateway_url: str, sub: str, token: str):
        self.gateway_url = gateway_url
        self.sub = sub
        self.token = token
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(self, method: str, path: str, *, auth: bool = True, headers: dict[str, str] | None = None,
                **kw: Any) -> requests.Response:
        hdrs = dict(headers or {})
        if auth:
            hdrs.setdefault("Authorization", f"Bearer {self.token}")
        kw.setdefault("timeout", 30)
        return self._session.request(method, self.gateway_url + path, headers=hdrs, **kw)

    def declare(self, body: Any, idempotency_key: str | None = None,
                headers: dict[str, str] | None = None) -> requests.Response:
        hdrs = dict(headers or {})
        if idempotency_key is not None:
            hdrs["Idempotency-Key"] = idempotency_key
        return self.request("POST", "/v1/declarations", json=body, headers=hdrs)

    def declare_ok(self, body: Any, idempotency_key: str | None = None) -> str:
        """Posts a declaration that must be accepted; returns the journey id."""
        resp = self.declare(body, idempotency_key)
        assert resp.status_code == 202, f"declaration refused: {resp.status_code} {resp.text[:500]}"
        payload = resp.json()
        journey_id = payload["journey_id"]
        assert payload["status"] == "in_progress", payload
        assert payload["links"]["self"] == f"/v1/journeys/{journey_id}", payload
        location = resp.headers.get("Location", "")
        assert location.endswith(f"/v1/journeys/{journey_id}"), f"Location header {location!r}"
        return journey_id

    def get_journey(self, journey_id: str) -> requests.Response:
        return self.request("GET", f"/v1/journeys/{journey_id}")

    def journey(self, journey_id: str) -> dict[str, Any]:
        resp = self.get_journey(journey_id)
        assert resp.status_code == 200, f"GET journey {journey_id}: {resp.status_code} {resp.text[:500]}"
        return resp.json()

    def list_journeys(self, limit: int | None = None, cursor: str | None = None) -> requests.Response:
        params: dict[str, Any] = {}
        if limit is not None:
            params["limit"] = limit
        if cursor is not None:
            params["cursor"] = cursor
        return self.request("GET", "/v1/journeys", params=params)

    def all_journeys(self, limit: int = 1, max_pages: int = 100) -> list[dict[str, Any]]:
        """Follows next_cursor until the last page."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(max_pages):
            resp = self.list_journeys(limit=limit, cursor=cursor)
            assert resp.status_code == 200, f"list journeys: {resp.status_code} {resp.text[:500]}"
            page = resp.json()
            assert len(page["items"]) <= limit, f"page larger than limit={limit}: {page}"
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if cursor is None:
                return items
        raise AssertionError(f"more than {max_pages} pages of journeys")

    def wait_journey(self, journey_id: str,
                     until: str | Callable[[dict[str, Any]], bool] = "final",
                     timeout: float = JOURNEY_TIMEOUT,
                     expected_steps: int | None = len(BEREAVEMENT_STEPS)) -> dict[str, Any]:
        """Polls the journey until `until` holds ("final": every step final)."""
        if until == "final":
            predicate = lambda j: is_final(j, expected_steps)  # noqa: E731
        elif callable(until):
            predicate = until
        else:
            raise ValueError(f"unknown wait condition {until!r}")
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while True:
            resp = self.get_journey(journey_id)
            if resp.status_code == 200:
                last = resp.json()
                if predicate(last):
                    return last
            if time.monotonic() >= deadline:
                seen = summarise(last) if last else f"last answer {resp.status_code} {resp.text[:300]}"
                raise AssertionError(f"journey {journey_id} not final after {timeout:.0f} s: {seen}")
            time.sleep(POLL_INTERVAL)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = POLL_INTERVAL) -> Any:
    """Calls predicate until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# The identity service's database (tables listed in the contract)


def identity_person_id(conn: Any, person: dict[str, Any]) -> str:
    """The person_id identity gave a seeded person."""
    rows = conn.execute(
        "SELECT person_id::text FROM persons"
        " WHERE upper(family_name) = upper(%s) AND birth_date::text = %s"
        " AND birth_place = %s AND sex = %s",
        (person["family_name"], person["birth_date"], person["birth_place"], person["sex"]),
    ).fetchall()
    assert len(rows) == 1, f"expected one identity person for {person}, found {len(rows)}"
    return rows[0][0]


def identity_documents(conn: Any, person_id: str) -> list[tuple[str, str, Any]]:
    """(kind, status, cancelled_at) of every identity document of a person."""
    return conn.execute(
        "SELECT kind, status, cancelled_at FROM identity_documents WHERE person_id::text = %s"
        " ORDER BY document_id",
        (person_id,),
    ).fetchall()


def identity_deceased_on(conn: Any, person_id: str) -> str | None:
    row = conn.execute(
        "SELECT deceased_on::text FROM persons WHERE person_id::text = %s", (person_id,)
    ).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------
# Shape of a bereavement journey


def assert_bereavement_plan(journey: dict[str, Any], journey_id: str) -> dict[str, dict[str, Any]]:
    """The journey carries the six steps of the plan, each well formed;
    returns the steps by code."""
    assert journey["id"] == journey_id
    assert journey["kind"] == "bereavement"
    assert parse_time(journey["created_at"]) <= parse_time(journey["updated_at"])
    codes = [step["code"] for step in journey["steps"]]
    assert sorted(codes) == sorted(BEREAVEMENT_STEPS), f"steps {codes}"
    steps = steps_by_code(journey)
    for code, administration in BEREAVEMENT_STEPS.items():
        step = steps[code]
        assert step["administration"] == administration, step
        assert isinstance(step["label"], str) and step["label"].strip(), f"{code}: empty label"
        assert step["status"] in FINAL_STEP_STATUSES, step
        assert isinstance(step["detail"], str) and step["detail"].strip(), f"{code}: empty detail"
        assert step["due_at"], f"{code}: no due_at"
        parse_time(step["due_at"])
        updated = parse_time(step["updated_at"])
        # A final step has been received by its administration.
        assert step["received_at"], f"{code}: final but received_at is null"
        assert parse_time(step["received_at"]) <= updated, step
    return steps


# --------------------------------------------------------------------------
# Instances of a scaled service (deploy/local/stack.sh scale, stop-service)


@dataclass(frozen=True)
class Stopped:
    """What `stack.sh stop-service NAME-K SIG` saw."""

    instance: str  # NAME-K
    signal: str
    exit_status: str  # "0", "137" (SIGKILL), "unknown", "not-running"
    seconds: float  # from the signal to the exit, measured by stack.sh
    wall_seconds: float  # the whole stop-service command, measured here
    last_message: str | None  # the "message" of the instance's last JSON log line


def instance_log(env: StackEnv, instance: str) -> Path:
    """The log of an instance: instance 1 keeps the service's plain name."""
    assert env.stack_dir is not None, "MDV_STACK_DIR is not set"
    service, _, k = instance.partition("-")
    name = service if k in ("", "1") else instance
    return env.stack_dir / "logs" / f"{name}.log"


def log_records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a service log (other lines skipped)."""
    records = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
    return records


def last_log_message(env: StackEnv, instance: str) -> str | None:
    records = log_records(instance_log(env, instance))
    return records[-1].get("message") if records else None


def stop_instance(env: StackEnv, instance: str, signal: str = "TERM", timeout: float = 120) -> Stopped:
    """stack.sh stop-service NAME-K SIG; reads the exit status it prints and
    the instance's last log line (before anything restarts it)."""
    started = time.monotonic()
    out = env.stack("stop-service", instance, signal, timeout=timeout)
    wall = time.monotonic() - started
    fields = dict(word.split("=", 1) for line in out.splitlines() for word in line.split()[1:] if "=" in word)
    return Stopped(instance, signal, fields.get("exit", "?"), float(fields.get("seconds", "nan")), wall,
                   last_log_message(env, instance))


def stack_env_file(env: StackEnv) -> dict[str, str]:
    """The stack's env file as it is now (`scale` rewrites it)."""
    values = {}
    for line in env.stack("env", timeout=30).splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            values[name] = " ".join(shlex.split(value))
    return values


def effects_by_instance(conn: Any, journey_ids: list[str]) -> dict[str, int]:
    """{instance_id: effects applied} among these journeys (applied_effects)."""
    rows = conn.execute(
        "SELECT coalesce(instance_id, '?'), count(*) FROM applied_effects WHERE journey_id::text = ANY(%s)"
        " GROUP BY 1 ORDER BY 1",
        (list(journey_ids),),
    ).fetchall()
    return {instance: n for instance, n in rows}


# --------------------------------------------------------------------------
# Bursts: waiting for many journeys, and the figures file


def list_journeys_if_available(usager: "Usager", n: int) -> list[dict[str, Any]] | None:
    """Every journey of the usager, or None while the gateway is unavailable
    (503 or connection refused)."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(n // 100 + 2):
        try:
            resp = usager.list_journeys(limit=100, cursor=cursor)
        except requests.ConnectionError:
            return None
        if resp.status_code == 503:
            return None
        assert resp.status_code == 200, f"list journeys: {resp.status_code} {resp.text[:300]}"
        page = resp.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if cursor is None:
            return items
    raise AssertionError("journey list pagination does not end")


@dataclass
class Finals:
    journeys: dict[str, dict[str, Any]]  # journey id -> its final state
    seen_at: dict[str, float]  # journey id -> time.monotonic() it was first seen final
    unavailable_rounds: int  # polling rounds the gateway was down or answered 503


def wait_all_final(usager: "Usager", ids: list[str], timeout: float, what: str) -> Finals:
    """Polls the usager's journey list (pages of 100) until every journey of
    ids is final; fails after timeout naming a few that are not."""
    finals = Finals({}, {}, 0)
    latest: dict[str, dict[str, Any]] = {}
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        journeys = list_journeys_if_available(usager, len(ids))
        if journeys is None:
            finals.unavailable_rounds += 1
            journeys = []
        for journey in journeys:
            latest[journey["id"]] = journey
            if journey["id"] in wanted and journey["id"] not in finals.journeys and is_final(journey):
                finals.journeys[journey["id"]] = journey
                finals.seen_at[journey["id"]] = time.monotonic()
        pending = [j for j in ids if j not in finals.journeys]
        if not pending:
            return finals
        if time.monotonic() > deadline:
            examples = "\n".join(summarise(latest.get(j, {"id": j})) for j in pending[:5])
            raise AssertionError(f"{what}: {len(pending)} of {len(ids)} journeys not final after {timeout:.0f} s"
                                 f" ({finals.unavailable_rounds} rounds found the gateway unavailable), e.g.\n"
                                 f"{examples}")
        time.sleep(POLL_INTERVAL)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def record_figures(env: StackEnv, lines: list[str]) -> None:
    """Adds lines to the session's figures (terminal summary) and rewrites
    the figures file (MDV_E2E_FIGURES, else e2e-figures.txt beside the stack
    folder) with every figure of the session."""
    FIGURES.extend(lines)
    if os.environ.get("MDV_E2E_FIGURES"):
        path = Path(os.environ["MDV_E2E_FIGURES"])
    else:
        path = (env.stack_dir.parent if env.stack_dir else REPO_ROOT / "build") / "e2e-figures.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("mdv end-to-end figures (tests/e2e)\n" + "\n".join(FIGURES) + "\n", encoding="utf-8")
    print("\n" + "\n".join(lines))


def assert_one_effect_per_journey(applied_effects: Callable[[str, list[str]], dict[str, int]],
                                  ids: list[str]) -> None:
    """Every consumer service applied every journey's effect exactly once
    (one row per journey in its applied_effects)."""
    for service in CONSUMER_SERVICES:
        counts = applied_effects(service, ids)
        missing = [j for j in ids if j not in counts]
        doubled = {j: c for j, c in counts.items() if c != 1}
        assert not missing and not doubled, (
            f"{service}: {len(missing)} journeys without effect, {len(doubled)} with several: {doubled}"
        )


# --------------------------------------------------------------------------
# Faults: a paused instance, its metrics, its consumer group's progress

# librdkafka's own log lines go through logging, so pytest captures them.
KAFKA_LOG = logging.getLogger("librdkafka")


def all_ready(env: StackEnv) -> bool:
    """Whether every service instance answers 200 on /readyz."""
    for url in env.all_urls.values():
        try:
            if requests.get(url + "/readyz", timeout=5).status_code != 200:
                return False
        except requests.RequestException:
            return False
    return True


def instance_pid(env: StackEnv, instance: str) -> int:
    """The pid of a running instance (stack.sh's pid file)."""
    assert env.stack_dir is not None, "MDV_STACK_DIR is not set"
    service, _, k = instance.partition("-")
    name = service if k in ("", "1") else instance
    return int((env.stack_dir / "pids" / f"{name}.pid").read_text().strip())


def pause_instance(env: StackEnv, instance: str) -> None:
    """SIGSTOP: the instance stops where it is, its offsets frozen with it."""
    os.kill(instance_pid(env, instance), signal.SIGSTOP)


def resume_instance(env: StackEnv, instance: str) -> None:
    os.kill(instance_pid(env, instance), signal.SIGCONT)


@contextlib.contextmanager
def restarted_with(env: StackEnv, services: tuple[str, ...], **extra_env: str) -> Iterator[None]:
    """Each service restarted with extra_env over the stack's environment
    for the block, then restarted as it was (even when the block fails)."""
    given = dataclasses.replace(env, process_env={**env.process_env, **extra_env})
    try:
        for service in services:
            given.stack("stop-service", service)
            given.stack("start-service", service, timeout=240)
        yield
    finally:
        for service in services:
            env.stack("stop-service", service)
            env.stack("start-service", service, timeout=240)


def metric_total(url: str, name: str) -> float:
    """The sum of every sample called `name` on a process's /metrics (0 when
    the process has not reported it yet)."""
    resp = requests.get(url + "/metrics", timeout=10)
    assert resp.status_code == 200, f"{url}/metrics: {resp.status_code} {resp.text[:200]}"
    return sum(sample.value for family in text_string_to_metric_families(resp.text)
               for sample in family.samples if sample.name == name)


def duplicates_skipped(url: str) -> int:
    """Redelivered messages the inbox skipped since the process started."""
    return int(metric_total(url, "mdv_messages_duplicate_total"))


def kafka_config(brokers: str, settings: dict[str, Any] | None = None, principal: str = "admin") -> dict[str, Any]:
    """A confluent-kafka configuration for the stack's broker, which refuses
    anonymous clients: TLS with the client certificate of `principal` (the
    stack makes one per service, per partner on Kafka, and `admin` for its
    own tools and these tests; deploy/local/kafka/acls.tsv says what each
    may do)."""
    tls = Path(os.environ.get("MDV_TLS_DIR") or "")
    if not os.environ.get("MDV_TLS_DIR"):
        raise RuntimeError("MDV_TLS_DIR not set: source the stack's env file (tests/e2e/run.sh does)")
    return {
        "bootstrap.servers": brokers,
        "security.protocol": "ssl",
        "ssl.ca.location": str(tls / "ca.crt"),
        "ssl.certificate.location": str(tls / f"{principal}.crt"),
        "ssl.key.location": str(tls / f"{principal}.key"),
        **(settings or {}),
    }


def _kafka_consumer(brokers: str) -> Consumer:
    """A reader that never joins a group nor commits."""
    return Consumer(kafka_config(brokers, {"group.id": f"e2e-read-{uuid.uuid4()}",
                                           "enable.auto.commit": False, "logger": KAFKA_LOG}))


def _high_watermarks(consumer: Consumer, topic: str, partitions: list[int], timeout: float = 60) -> dict[int, int]:
    """partition -> offset the next message will get; retried while the
    broker cannot answer yet (just restarted: no leader elected)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        except KafkaException as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"end offsets of {topic} unreadable: {exc}") from exc
            time.sleep(0.5)


def end_offsets(brokers: str, topic: str) -> dict[int, int]:
    """partition -> offset the next message will get."""
    consumer = _kafka_consumer(brokers)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        assert partitions, f"{topic} has no partitions"
        return _high_watermarks(consumer, topic, sorted(partitions))
    finally:
        consumer.close()


@dataclass(frozen=True)
class TopicMessage:
    partition: int
    offset: int
    headers: dict[str, str]
    value: bytes = b""


def read_topic(brokers: str, topic: str, start: dict[int, int], timeout: float = 60) -> list[TopicMessage]:
    """Every message of the topic from `start` (partition -> offset) to its
    end as it is when called."""
    consumer = _kafka_consumer(brokers)
    try:
        end = _high_watermarks(consumer, topic, sorted(start))
        todo = {p for p in start if end[p] > start[p]}
        consumer.assign([TopicPartition(topic, p, start[p]) for p in todo])
        messages: list[TopicMessage] = []
        deadline = time.monotonic() + timeout
        while todo:
            assert time.monotonic() < deadline, f"{topic}: partitions {sorted(todo)} not read to {end}"
            msg = consumer.poll(0.5)
            if msg is None or msg.error() or msg.partition() not in todo:
                continue
            if msg.offset() < end[msg.partition()]:
                headers = {k: (v or b"").decode("utf-8", "replace") for k, v in (msg.headers() or [])}
                messages.append(TopicMessage(msg.partition(), msg.offset(), headers, msg.value() or b""))
            if msg.offset() + 1 >= end[msg.partition()]:
                todo.discard(msg.partition())
        return messages
    finally:
        consumer.close()


def group_committed_offsets(brokers: str, group: str, topic: str, partitions: list[int],
                            timeout: float = 60) -> dict[int, int | None]:
    """partition -> the group's committed offset (None: nothing committed
    there). Retried while the broker cannot answer yet (just restarted)."""
    admin = AdminClient(kafka_config(brokers, {"logger": KAFKA_LOG}))
    request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])]
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = admin.list_consumer_group_offsets(request, request_timeout=10)[group].result()
            if all(tp.error is None for tp in result.topic_partitions):
                return {tp.partition: tp.offset if tp.offset >= 0 else None for tp in result.topic_partitions}
            problem: Any = [tp.error for tp in result.topic_partitions if tp.error is not None]
        except KafkaException as exc:
            problem = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"committed offsets of {group} on {topic} unreadable: {problem}")
        time.sleep(0.5)
