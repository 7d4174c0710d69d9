"""make bench: the suite measured against its limits (DESIGN.md §12).

Runs against a stack that tests/bench/run.sh brought up (durable
PostgreSQL, its own ports; the stack's env file sourced): seeds persons,
loads the gateway open-loop with every kind of declaration at fixed
arrival rates until completions fall behind arrivals (the saturation
rate), measures latency at fixed fractions of it and the cost of one
declaration, then the limits on the same machine (pgbench replaying one
declaration's SQL, nginx serving the bytes of a real journey), and writes
build/bench/<time>.json and a summary.

Completion is read in the gateway's database (every step of a planned
journey final, the latest step updated_at), not through the API: one read
query per half second during a drain, counted and taken out of the
gateway's commit figure, instead of a GET per journey that would load the
gateway being measured.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import psycopg
import requests
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import kinds  # noqa: E402  (the e2e suite's declaration bodies)
from mdv_e2e import (  # noqa: E402
    address_abroad,
    declaration_for,
    does_every_step,
    knows,
    new_address_in_france,
    pivot_identity,
    random_letters,
)

FINAL = ("done", "not_applicable", "action_required", "failed")
# Steps that wait on someone outside the suite, and the statuses in which
# they do (README, Journeys): the title's production, pending until the
# usager confirms the rendez-vous, then in progress until a partner reports
# the title; the CROUS's room offers. A journey whose other steps are final
# and these in such a status is settled for the bench.
AWAITING_OUTSIDE = {
    "identity.document_produced": ("pending", "in_progress"),
    "student.housing_requested": ("in_progress",),
}


def setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


RATES = [float(r) for r in setting("BENCH_RATES", "10 20 30 45 65 90 130 190 280 400 560").split()]
STEP_SECONDS = float(setting("BENCH_STEP_SECONDS", "10"))
LATENCY_SECONDS = float(setting("BENCH_LATENCY_SECONDS", "10"))
# The latency steps' rates, when given, in place of 25/50/75 % of the
# saturation rate: runs that compare settings then measure their costs at
# the same rates, whatever saturation each run found.
LATENCY_RATES = [float(r) for r in setting("BENCH_LATENCY_RATES", "").split()]
DRAIN_SECONDS = float(setting("BENCH_DRAIN_SECONDS", "30"))
WORKERS = int(setting("BENCH_WORKERS", "64"))
# Enough for a ramp to 190/s and its latency steps with a person to spare
# for every declaration: a person declared for again (a death already
# recorded, an address already known) costs the suite less, so reusing
# them understates the costs per declaration.
PERSONS = int(setting("BENCH_PERSONS", "24000"))
HTTP_SECONDS = int(float(setting("BENCH_HTTP_SECONDS", "8")))
HTTP_CONNECTIONS = int(setting("BENCH_HTTP_CONNECTIONS", "32"))
PGBENCH_SECONDS = int(float(setting("BENCH_PGBENCH_SECONDS", "10")))
PGBENCH_CLIENTS = int(setting("BENCH_PGBENCH_CLIENTS", "8"))
IDLE_SECONDS = float(setting("BENCH_IDLE_SECONDS", "5"))
# 1: perf samples the whole machine during the 50 % step (perf is Debian's
# linux-perf; recording every CPU needs root or perf_event_paranoid <= 0).
PROFILE = setting("BENCH_PROFILE", "0") == "1"
PROFILE_HZ = int(setting("BENCH_PROFILE_HZ", "499"))
OUT_DIR = Path(setting("BENCH_OUT_DIR", str(REPO / "build" / "bench")))
STACK = Path(os.environ["MDV_STACK_DIR"])
BASE = int(os.environ["MDV_PORT_BASE"])
# Beside the stack's block (PostgreSQL base+0..2, services from base+10).
NGINX_PORT = BASE + 9


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def in_days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


# --------------------------------------------------------------------------
# The stack, as its env file describes it (the services come from there)


def services() -> dict[str, list[str]]:
    """service -> the URLs of its instances (MDV_<NAME>_URLS of the env file)."""
    found = {}
    for name, value in os.environ.items():
        m = re.fullmatch(r"MDV_([A-Z]+)_URLS", name)
        if m and value.strip():
            found[m.group(1).lower()] = value.split()
    return dict(sorted(found.items()))


def dsn(db: str) -> str:
    return (f"host={os.environ['MDV_PG_HOST']} port={os.environ['MDV_PG_PORT']}"
            f" user={os.environ['MDV_PG_USER']} dbname={db}")


def run_tool(*argv: str, timeout: float = 300) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout).stdout


def as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL's admin connection goes through the stack's socket as its
    superuser, which is the `postgres` user when we are root (stack.sh)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parts[-3])
    return str(found[-1]) if found else shutil.which(name) or name


# --------------------------------------------------------------------------
# Declarations of every kind, each for a seeded person it gives work to


def bereavement(p):
    return declaration_for(p, "child", death_date=in_days(-2))


def address_change(p):
    return {"kind": "address_change", "person": pivot_identity(p), "address": new_address_in_france(p),
            "effective_date": in_days(1)}


def name_change(p):
    return {"kind": "name_change", "person": pivot_identity(p), "name_type": "usage",
            "new_family_name": random_letters(9).capitalize(), "effective_date": in_days(-1)}


def identity_document(p):
    return kinds.identity_document(pivot_identity(p))


def departure_abroad(p):
    return {"kind": "departure_abroad", "person": pivot_identity(p), "address": address_abroad("99401"),
            "departure_date": in_days(-5), "consular_registration": True, "study_mobility": False}


def return_to_france(p):
    return {"kind": "return_to_france", "person": pivot_identity(p), "address": new_address_in_france(p),
            "return_date": in_days(-3)}


def renovation_grant(p):
    a, household = p["address"], p["fiscal_household"]
    body = kinds.renovation_grant(pivot_identity(p))
    body["dwelling"] = {"lines": list(a["lines"]), "postal_code": a["postal_code"],
                        "commune_code": a["commune_code"], "city": a["city"]}
    body["household_size"] = household["persons"]
    body["reference_tax_income_eur"] = household["reference_tax_income_eur"]
    return body


def student_grant(p):
    return kinds.student_grant(pivot_identity(p))


# kind -> (body, the persons it suits): the e2e suite's "every step has
# something to do" where it has one.
MIX: dict[str, tuple[Callable, Callable]] = {
    "bereavement": (bereavement, lambda p: knows(p, "identity", "student", "housing", "abroad")),
    "address_change": (address_change, does_every_step("address_change")),
    "name_change": (name_change, does_every_step("name_change")),
    "identity_document": (identity_document, does_every_step("identity_document")),
    "departure_abroad": (departure_abroad, does_every_step("departure_abroad")),
    "return_to_france": (return_to_france, does_every_step("return_to_france")),
    "renovation_grant": (renovation_grant, does_every_step("renovation_grant")),
    "student_grant": (student_grant, lambda p: knows(p, "identity") and not knows(p, "student")),
}


class Persons:
    """Seeded persons shared out between the kinds, each to the kind it
    suits that has the fewest so far (so that kinds whose persons overlap
    get as many each); a kind that runs out starts again from its first
    (counted: `reused`)."""

    def __init__(self, persons: list[dict[str, Any]]):
        self.pools: dict[str, list[dict[str, Any]]] = {k: [] for k in MIX}
        for p in persons:
            suited = [k for k in MIX if MIX[k][1](p)]
            if suited:
                self.pools[min(suited, key=lambda k: len(self.pools[k]))].append(p)
        for kind, pool in self.pools.items():
            if not pool:
                raise SystemExit(f"bench: no seeded person suits {kind} (BENCH_PERSONS={len(persons)})")
        self.next = {k: 0 for k in MIX}
        self.reused = 0

    def body(self, kind: str) -> dict[str, Any]:
        pool, i = self.pools[kind], self.next[kind]
        self.next[kind] = i + 1
        if i >= len(pool):
            self.reused += 1
        return MIX[kind][0](pool[i % len(pool)])


def analyze_after_seeding() -> None:
    """Statistics for the tables the seeding just filled, as an operator
    takes after a bulk load. Without them the planner keeps the estimates
    of near-empty tables until autovacuum's first analyze, a minute or more
    into the ramp: identity's death statement then read all 27 000 documents
    (a sequential scan, 10 to 23 ms a death) instead of one person's."""
    for db in services():
        pg_conn(f"mdv_{db}").execute("ANALYZE")


def seed(count: int) -> list[dict[str, Any]]:
    out = run_tool(str(Path(os.environ["MDV_BIN_DIR"]) / "mdv-seed"), "--count", str(count),
                   "--seed", str(int(time.time()) % 100000 + 1000))
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def token(sub: str) -> str:
    return run_tool(str(Path(os.environ["MDV_BIN_DIR"]) / "mdv-token"), "--sub", sub).split()[-1]


# --------------------------------------------------------------------------
# The open-loop generator


class Generator:
    """Sends declarations on a fixed schedule whatever the answers: a
    clock thread hands each one to a pool of workers at its time; a
    worker late to take it makes the send late, which is measured
    (lateness) and counted in the latency, which starts at the schedule."""

    def __init__(self, url: str, tokens: list[str], persons: Persons):
        self.url = url + "/v1/declarations"
        self.tokens = tokens
        self.persons = persons
        self.jobs: queue.Queue = queue.Queue()
        self.local = threading.local()
        self.threads = [threading.Thread(target=self.work, daemon=True) for _ in range(WORKERS)]
        for t in self.threads:
            t.start()

    def work(self) -> None:
        session = requests.Session()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            record, body, tok = job
            record["sent"] = time.time()
            try:
                resp = session.post(self.url, json=body, timeout=60,
                                    headers={"Authorization": f"Bearer {tok}",
                                             "Idempotency-Key": str(uuid.uuid4())})
                record["status"] = resp.status_code
                if resp.status_code == 202:
                    record["journey_id"] = resp.json()["journey_id"]
            except requests.RequestException as exc:
                record["status"] = type(exc).__name__
            record["answered"] = time.time()
            record["done"].set()

    def run(self, rate: float, seconds: float) -> list[dict[str, Any]]:
        """Declarations at `rate` per second for `seconds`, the kinds in turn;
        returns one record per declaration once every answer is in."""
        n = max(1, int(rate * seconds))
        kinds_in_turn = list(MIX)
        records = []
        start = time.time() + 0.2
        for i in range(n):
            kind = kinds_in_turn[i % len(kinds_in_turn)]
            body = self.persons.body(kind)
            record = {"kind": kind, "scheduled": start + i / rate, "done": threading.Event()}
            delay = record["scheduled"] - time.time()
            if delay > 0:
                time.sleep(delay)
            self.jobs.put((record, body, self.tokens[i % len(self.tokens)]))
            records.append(record)
        for r in records:
            r["done"].wait(120)
            del r["done"]
        return records


# --------------------------------------------------------------------------
# Completion, read in the gateway's database


class Gateway:
    def __init__(self):
        self.conn = psycopg.connect(dsn("mdv_gateway"), autocommit=True)
        self.queries = 0  # our own transactions on mdv_gateway

    def finals(self, ids: list[str]) -> dict[str, float]:
        """journey id -> epoch seconds its last step was updated, for the
        journeys of ids that are planned with every step final (or
        but those awaiting a party outside the suite)."""
        self.queries += 1
        rows = self.conn.execute(
            "SELECT j.journey_id::text, extract(epoch FROM max(s.updated_at))::float8"
            " FROM journeys j JOIN journey_steps s USING (journey_id)"
            " WHERE j.journey_id = ANY(%s::uuid[]) AND j.planned"
            " GROUP BY j.journey_id HAVING bool_and(s.status = ANY(%s) OR s.code || ' ' || s.status = ANY(%s))",
            (ids, list(FINAL), [f"{c} {st}" for c, sts in AWAITING_OUTSIDE.items() for st in sts])).fetchall()
        return dict(rows)

    def wait(self, ids: list[str], timeout: float, stall: float = 15) -> dict[str, float]:
        """Polls until every journey of ids is final, timeout passes, or
        none became final for `stall` seconds (a journey that never will)."""
        deadline = time.monotonic() + timeout
        progress, count = time.monotonic(), -1
        while True:
            done = self.finals(ids)
            now = time.monotonic()
            if len(done) != count:
                progress, count = now, len(done)
            if len(done) == len(ids) or now > deadline or now - progress > stall:
                return done
            time.sleep(0.5)


def percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)

    def q(f: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(round(f * (len(ordered) - 1))))], 4)

    return {"p50": q(0.50), "p95": q(0.95), "p99": q(0.99), "max": q(1.0)}


def phase(gen: Generator, gw: Gateway, rate: float, seconds: float) -> dict[str, Any]:
    """One fixed-rate step: arrivals, completions, throughput, latency."""
    records = gen.run(rate, seconds)
    ids = [r["journey_id"] for r in records if "journey_id" in r]
    finals = gw.wait(ids, DRAIN_SECONDS)
    first = min(r["scheduled"] for r in records)
    latencies = [finals[r["journey_id"]] - r["scheduled"] for r in records if r.get("journey_id") in finals]
    last = max(finals.values(), default=first)
    ends = sorted(finals.values())
    needed = int(0.95 * len(records) + 0.999999)
    t95 = ends[needed - 1] if 0 < needed <= len(ends) else None
    lateness = [r["sent"] - r["scheduled"] for r in records if "sent" in r]
    answer = [r["answered"] - r["sent"] for r in records if "answered" in r]
    # Backlog growing during the step: the last fifth waits much longer than the first.
    fifth = max(1, len(records) // 5)
    early = [finals[r["journey_id"]] - r["scheduled"] for r in records[:fifth] if r.get("journey_id") in finals]
    late = [finals[r["journey_id"]] - r["scheduled"] for r in records[-fifth:] if r.get("journey_id") in finals]
    result = {
        "ids": ids, "rate": rate, "seconds": seconds, "declarations": len(records), "accepted": len(ids),
        "refused": {str(s): sum(1 for r in records if r.get("status") == s)
                    for s in {r.get("status") for r in records} if s != 202},
        "completed": len(finals),
        # Up to the instant 95 % of the step's journeys were final: one
        # straggler does not stretch the rate (the last one's is beside it).
        "completions_per_second": round(0.95 * len(records) / max(t95 - first, 1e-9), 2)
        if t95 is not None else round(len(finals) / max(last - first, 1e-9), 2),
        "completions_per_second_to_the_last": round(len(finals) / max(last - first, 1e-9), 2),
        "latency_seconds": percentiles(latencies),
        "latency_first_fifth_p50": percentiles(early)["p50"],
        "latency_last_fifth_p50": percentiles(late)["p50"],
        "post_seconds": percentiles(answer),
        "generator_lateness_seconds": percentiles(lateness),
        "by_kind_p50": {k: percentiles([finals[r["journey_id"]] - r["scheduled"] for r in records
                                        if r["kind"] == k and r.get("journey_id") in finals])["p50"]
                        for k in MIX},
    }
    grows = (result["latency_last_fifth_p50"] or 0) > 2 * (result["latency_first_fifth_p50"] or 0) + 0.5
    result["saturated"] = (len(finals) < len(records) or result["completions_per_second"] < 0.85 * rate
                           or grows)
    log(f"{rate:g}/s for {seconds:g} s: {len(finals)}/{len(records)} final,"
        f" {result['completions_per_second']:g} completed/s, p50 {result['latency_seconds']['p50']} s,"
        f" p99 {result['latency_seconds']['p99']} s{' (saturated)' if result['saturated'] else ''}")
    return result


# --------------------------------------------------------------------------
# Costs: commits and rows per database, messages per service, CPU per process


def proc_seconds(pid: int, children: bool = False) -> float:
    """utime + stime (and the reaped children's) of /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def children_of(parent: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    pids.append(int(d.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    return pids


def jit_seconds(pid: int) -> float:
    """utime + stime of the JVM's compiler threads (C1, C2) of process pid."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if "CompilerThre" in (task / "comm").read_text():
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def stack_processes() -> dict[str, int]:
    """{name: pid} of the stack's processes that have a pid file: each
    service instance, simulator, the broker."""
    out = {}
    for pidfile in sorted((STACK / "pids").glob("*.pid")):
        try:
            out[pidfile.stem] = int(pidfile.read_text().strip())
        except ValueError:
            continue
    return out


def postmaster_pid() -> int:
    return int((STACK / "pg" / "postmaster.pid").read_text().split()[0])


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds so far of each service instance, the broker, the whole
    PostgreSQL cluster (the postmaster, its live children, and the ones it
    reaped) and this generator."""
    out = {}
    for name, pid in stack_processes().items():
        out[name] = proc_seconds(pid, children=True)
        if name == "kafka":
            # The JVM's compiler threads: a broker just started spends a
            # good part of its CPU compiling itself, which a long-running
            # broker no longer does; shown apart from the broker's work.
            out["kafka-jit"] = jit_seconds(pid)
            out["kafka"] -= out["kafka-jit"]
    postmaster = postmaster_pid()
    out["postgresql"] = proc_seconds(postmaster, children=True) + sum(
        proc_seconds(c) for c in children_of(postmaster))
    t = os.times()
    out["generator"] = t.user + t.system
    return out


def consumer_settings() -> dict[str, dict[str, str]]:
    """Each service instance's MDV_CONSUMER_* as it runs (its environment:
    unset ones take the service's defaults), so that a run says which
    batch settings it measured."""
    out, names = {}, services()
    for name, pid in stack_processes().items():
        if name.split("-")[0] not in names:
            continue  # the broker, the simulators
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        pairs = (v.decode(errors="replace").split("=", 1) for v in environ if v.startswith(b"MDV_CONSUMER_"))
        out[name] = dict(sorted(pairs))
    return out


def db_snapshot(gw: Gateway) -> dict[str, dict[str, int]]:
    gw.queries += 1
    rows = gw.conn.execute(
        "SELECT datname, xact_commit, tup_inserted + tup_updated + tup_deleted"
        " FROM pg_stat_database WHERE datname LIKE 'mdv\\_%'").fetchall()
    return {name: {"commits": c, "rows": r} for name, c, r in rows}


def metrics_snapshot() -> dict[str, dict[str, float]]:
    out = {}
    for service, urls in services().items():
        total = {"produced": 0.0, "consumed": 0.0}
        for url in urls:
            text = requests.get(url + "/metrics", timeout=10).text
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.name == "mdv_messages_produced_total":
                        total["produced"] += s.value
                    elif s.name == "mdv_messages_consumed_total":
                        total["consumed"] += s.value
        out[service] = total
    return out


# How long the stack must look quiet. The consumers' lag comes from
# librdkafka's statistics, refreshed every 5 s (statistics.interval.ms in
# shared/kafka.c), so a shorter window could read a lag of 0 that predates
# the last messages: the idle line then caught the warm-up's last events.
QUIET_SECONDS = 6.0


def activity() -> tuple[float, float]:
    """Messages still to consume (mdv_consumer_lag) and rows still in an
    outbox (mdv_outbox_backlog), over every service instance; and the sum of
    their messages produced and consumed so far, which moves at once."""
    backlog = moved = 0.0
    for urls in services().values():
        for url in urls:
            text = requests.get(url + "/metrics", timeout=10).text
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.name in ("mdv_consumer_lag", "mdv_outbox_backlog"):
                        backlog += max(s.value, 0)
                    elif s.name in ("mdv_messages_produced_total", "mdv_messages_consumed_total"):
                        moved += s.value
    return backlog, moved


def wait_quiet(timeout: float = 90) -> float:
    """Waits until nothing is left to consume or relay, and no message was
    produced or consumed, for QUIET_SECONDS (readings a second apart), so
    that work a settled journey still causes (events that change no step)
    lands inside the snapshot that counts it. Returns the seconds waited."""
    started = time.monotonic()
    quiet_since, last_moved = None, None
    while time.monotonic() - started < timeout:
        now = time.monotonic()
        backlog, moved = activity()
        if backlog or moved != last_moved:
            quiet_since = None if backlog else now
        elif quiet_since is None:
            quiet_since = now
        last_moved = moved
        if quiet_since is not None and now - quiet_since >= QUIET_SECONDS:
            return round(time.monotonic() - started, 1)
        time.sleep(1)
    log(f"the stack was still busy after {timeout:g} s")
    return round(time.monotonic() - started, 1)


def snapshot(gw: Gateway) -> dict[str, Any]:
    # PostgreSQL publishes a backend's counters at most once a second.
    time.sleep(1.5)
    return {"cpu": cpu_snapshot(), "db": db_snapshot(gw), "kafka": metrics_snapshot(),
            "pg": pg_snapshot(), "own_gateway_queries": gw.queries}


# --------------------------------------------------------------------------
# Where PostgreSQL's time goes: its statements, WAL and tables


# Kept open from one snapshot to the next: a backend started for each
# one would put its start-up in the CPU being measured.
PG_CONNS: dict[str, psycopg.Connection] = {}


def pg_conn(db: str) -> psycopg.Connection:
    """db's connection; for "postgres", the cluster's superuser over the
    stack's socket (trust, as stack.sh made it): pg_stat_statements shows
    every database's statements only to it."""
    if db not in PG_CONNS:
        PG_CONNS[db] = psycopg.connect(
            f"host={STACK / 'sock'} port={os.environ['MDV_PG_PORT']} user=postgres dbname=postgres"
            if db == "postgres" else dsn(db), autocommit=True)
        if db == "postgres":
            PG_CONNS[db].execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return PG_CONNS[db]


def pg_snapshot() -> dict[str, Any]:
    """Cumulative counters of pg_stat_wal, pg_stat_statements (by database
    and statement) and each service database's pg_stat_user_tables."""
    conn = pg_conn("postgres")
    wal = conn.execute("SELECT wal_records, wal_fpi, wal_bytes::bigint, wal_write, wal_sync"
                       " FROM pg_stat_wal").fetchone()
    statements = conn.execute(
        "SELECT d.datname || ' ' || s.queryid, d.datname, s.query, s.calls, s.total_exec_time,"
        " s.rows, s.wal_bytes::bigint, s.plans, s.total_plan_time"
        " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
        " WHERE d.datname LIKE 'mdv\\_%'").fetchall()
    dbs = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mdv\\_%'")]
    tables = {}
    for db in dbs:
        for row in pg_conn(db).execute(
                "SELECT relname, seq_scan, coalesce(idx_scan, 0), n_tup_ins, n_tup_upd, n_tup_hot_upd,"
                " n_tup_del, n_dead_tup FROM pg_stat_user_tables"):
            tables[f"{db} {row[0]}"] = list(row[1:])
    return {"wal": dict(zip(("records", "fpi", "bytes", "writes", "syncs"), wal)),
            "statements": {k: {"db": db, "query": q, "calls": c, "exec_ms": t, "rows": r, "wal_bytes": w,
                               "plans": pn, "plan_ms": pt}
                           for k, db, q, c, t, r, w, pn, pt in statements},
            "tables": tables}


TABLE_FIELDS = ("seq_scans", "idx_scans", "inserted", "updated", "hot_updated", "deleted")


def pg_costs(before: dict[str, Any], after: dict[str, Any], n: int, top: int = 15) -> dict[str, Any]:
    """Per declaration between two pg_snapshots: WAL, the statements that
    took the most execution time, and the tables written (with how many of
    their updates were HOT) or scanned sequentially."""
    wal = {k: round((after["wal"][k] - before["wal"][k]) / n, 1) for k in after["wal"]}
    statements = []
    for key, a in after["statements"].items():
        b = before["statements"].get(key, {"calls": 0, "exec_ms": 0.0, "rows": 0, "wal_bytes": 0,
                                           "plans": 0, "plan_ms": 0.0})
        calls = a["calls"] - b["calls"]
        if calls > 0:
            statements.append({"db": a["db"].removeprefix("mdv_"), "query": " ".join(a["query"].split())[:240],
                               "calls": round(calls / n, 2), "exec_ms": round((a["exec_ms"] - b["exec_ms"]) / n, 3),
                               "rows": round((a["rows"] - b["rows"]) / n, 2),
                               "plans": round((a["plans"] - b["plans"]) / n, 2),
                               "plan_ms": round((a["plan_ms"] - b["plan_ms"]) / n, 3),
                               "wal_bytes": round((a["wal_bytes"] - b["wal_bytes"]) / n)})
    statements.sort(key=lambda s: -s["exec_ms"])
    tables = {}
    for key, a in after["tables"].items():
        b = before["tables"].get(key, [0] * len(a))
        d = dict(zip(TABLE_FIELDS, (round((x - y) / n, 2) for x, y in zip(a, b))))
        d["dead"] = a[-1]
        if d["inserted"] or d["updated"] or d["deleted"] or d["seq_scans"]:
            tables[key.removeprefix("mdv_")] = d
    return {"wal_per_declaration": wal,
            "statements_exec_ms": round(sum(s["exec_ms"] for s in statements), 2),
            "statements_calls": round(sum(s["calls"] for s in statements), 1),
            "statements_plans": round(sum(s["plans"] for s in statements), 1),
            "statements_plan_ms": round(sum(s["plan_ms"] for s in statements), 2),
            "top_statements": statements[:top], "tables": dict(sorted(tables.items()))}


def costs(before: dict[str, Any], after: dict[str, Any], n: int) -> dict[str, Any]:
    """Per declaration, between two snapshots around n declarations. Our own
    queries on mdv_gateway (completion polls, these snapshots) come off
    its commits."""
    own = after["own_gateway_queries"] - before["own_gateway_queries"]
    db = {}
    for name, a in after["db"].items():
        b = before["db"].get(name, {"commits": 0, "rows": 0})
        commits = a["commits"] - b["commits"] - (own if name == "mdv_gateway" else 0)
        db[name] = {"commits": round(commits / n, 2), "rows": round((a["rows"] - b["rows"]) / n, 2)}
    kafka = {s: {k: round((after["kafka"][s][k] - before["kafka"].get(s, {}).get(k, 0)) / n, 2) for k in v}
             for s, v in after["kafka"].items()}
    cpu = {p: round((after["cpu"][p] - before["cpu"].get(p, 0)) / n * 1000, 3) for p in after["cpu"]}
    return {
        "declarations": n,
        "commits": round(sum(d["commits"] for d in db.values()), 2),
        "rows_written": round(sum(d["rows"] for d in db.values()), 2),
        "kafka_produced": round(sum(k["produced"] for k in kafka.values()), 2),
        "kafka_consumed": round(sum(k["consumed"] for k in kafka.values()), 2),
        "cpu_ms": round(sum(v for p, v in cpu.items() if p != "generator"), 2),
        "by_database": db, "by_service_kafka": kafka, "cpu_ms_by_process": cpu,
        "own_gateway_queries_taken_off": own,
    }


# --------------------------------------------------------------------------
# Limits on the same machine


def pgbench_limit() -> dict[str, Any]:
    """pgbench replaying one declaration's SQL (tests/bench/pgbench) on the
    stack's cluster, in a scratch database: scripts per second = the
    declarations per second the database alone would allow."""
    here = REPO / "tests" / "bench" / "pgbench"
    port = os.environ["MDV_PG_PORT"]
    admin = [pg_bin("psql"), "-h", str(STACK / "sock"), "-p", port, "-U", "postgres", "-d", "postgres",
             "-qAtX", "-v", "ON_ERROR_STOP=1"]
    exists = subprocess.run(as_postgres(admin + ["-c", "SELECT 1 FROM pg_database WHERE datname = 'bench_pgbench'"]),
                            check=True, capture_output=True, text=True, cwd=STACK).stdout.strip()
    if not exists:
        subprocess.run(as_postgres(admin + ["-c", "CREATE DATABASE bench_pgbench OWNER mdv"]), check=True,
                       capture_output=True, cwd=STACK)
    subprocess.run([pg_bin("psql"), dsn("bench_pgbench"), "-qX", "-v", "ON_ERROR_STOP=1", "-f",
                    str(here / "schema.sql")], check=True, capture_output=True)
    # As the services talk to it: prepared statements, over the socket.
    argv = [pg_bin("pgbench"), "-h", str(STACK / "sock"), "-p", port, "-U", os.environ["MDV_PG_USER"],
            "-n", "-M", "prepared", "-f", str(here / "declaration.sql"), "-c", str(PGBENCH_CLIENTS), "-j", "2",
            "-T", str(PGBENCH_SECONDS), "bench_pgbench"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    script = (here / "declaration.sql").read_text()
    transactions = script.count("\nCOMMIT;") + len(re.findall(r"^WITH sent AS \(DELETE ", script, re.M))
    log(f"pgbench: {tps:.1f} declarations/s ({transactions} transactions each): {' '.join(argv)}")
    return {"declarations_per_second": round(tps, 2), "transactions_per_declaration": transactions,
            "transactions_per_second": round(tps * transactions, 1), "clients": PGBENCH_CLIENTS,
            "seconds": PGBENCH_SECONDS, "command": " ".join(argv)}


def wrk(url: str, headers: list[str]) -> dict[str, Any]:
    argv = ["wrk", "-t2", f"-c{HTTP_CONNECTIONS}", f"-d{HTTP_SECONDS}s"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run(argv + [url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"requests_per_second": round(rate, 1), "non_2xx": int(bad.group(1)) if bad else 0,
            "command": " ".join(a if not a.startswith("Authorization") else "Authorization: Bearer …"
                                for a in argv + [url])}


def port_open(port: int) -> bool:
    import socket
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_limit(gateway_url: str, tok: str, journey_id: str) -> dict[str, Any]:
    """GET /v1/journeys/{id} on the gateway, then nginx serving the same
    bytes at the same path, both under wrk with the same settings."""
    path = f"/v1/journeys/{journey_id}"
    body = requests.get(gateway_url + path, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
    body.raise_for_status()
    root = STACK / "bench-nginx"
    (root / "www" / "v1" / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "www" / path.lstrip("/")).write_bytes(body.content)
    conf = root / "nginx.conf"
    temp = "".join(f"{k}_temp_path {root}/{k};\n" for k in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes 2;\npid {root}/nginx.pid;\nerror_log {root}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\naccess_log off;\ndefault_type application/json;\n{temp}"
        f"server {{ listen 127.0.0.1:{NGINX_PORT}; root {root}/www; }}\n}}\n")
    gateway = wrk(gateway_url + path, [f"Authorization: Bearer {tok}"])
    nginx = subprocess.Popen(["nginx", "-p", str(root), "-c", str(conf)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not port_open(NGINX_PORT):
            if nginx.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: nginx did not start (see {root}/error.log)")
            time.sleep(0.1)
        served = requests.get(f"http://127.0.0.1:{NGINX_PORT}{path}", timeout=10).content
        assert served == body.content, "nginx does not serve the journey's bytes"
        static = wrk(f"http://127.0.0.1:{NGINX_PORT}{path}", [])
    finally:
        nginx.terminate()
        nginx.wait(30)
    log(f"GET journey: gateway {gateway['requests_per_second']:g}/s, nginx {static['requests_per_second']:g}/s")
    return {"bytes": len(body.content), "connections": HTTP_CONNECTIONS, "seconds": HTTP_SECONDS,
            "gateway": gateway, "nginx": static,
            "ratio": round(gateway["requests_per_second"] / static["requests_per_second"], 4)}


# --------------------------------------------------------------------------
# The run


def stack_pids() -> list[int]:
    """The stack's processes: each service instance, simulator and the
    broker (their pid files), PostgreSQL's postmaster and its backends."""
    postmaster = postmaster_pid()
    return list(stack_processes().values()) + [postmaster] + children_of(postmaster)


class Profile:
    """perf record of the stack's processes for one step, reported as the
    share of the samples of each program and, within PostgreSQL, of each
    function (self time, no call graphs: the top entries of where the time
    goes). Other work on the machine is left out."""

    def __init__(self) -> None:
        self.data = STACK / "perf.data"
        self.proc: subprocess.Popen | None = None
        self.error: str | None = None

    def start(self) -> None:
        if not shutil.which("perf"):
            self.error = "perf is not installed (Debian: linux-perf)"
            return
        self.proc = subprocess.Popen(
            ["perf", "record", "-F", str(PROFILE_HZ), "-p", ",".join(map(str, stack_pids())),
             "-o", str(self.data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def stop(self) -> dict[str, Any]:
        if self.proc is None:
            return {"error": self.error}
        self.proc.send_signal(2)  # perf writes its file on SIGINT
        _, err = self.proc.communicate(timeout=120)
        if self.proc.returncode not in (0, -2, 130) or not self.data.exists():
            return {"error": f"perf record failed: {err.strip()[-300:]}"}
        return {"hz": PROFILE_HZ,
                "by_program": self.report("--sort", "comm"),
                "postgresql_functions": self.report("--comms", "postgres", "--percentage", "relative",
                                                     "--sort", "dso,sym")}

    def report(self, *sort: str, top: int = 12) -> list[dict[str, Any]]:
        out = run_tool("perf", "report", "-i", str(self.data), "--stdio", "--no-children",
                       "--percent-limit", "0.5", *sort)
        return perf_rows(out)[:top]


def perf_rows(report: str) -> list[dict[str, Any]]:
    """The rows of `perf report --stdio`: "  23.14%  python3" and the like."""
    rows = []
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(.*\S)", line)
        if m:
            rows.append({"percent": float(m.group(1)), "entry": " ".join(m.group(2).split())})
    return rows


def function_name(entry: str) -> str:
    """"[kernel.kallsyms] [k] clear_page_erms" -> "clear_page_erms (kernel)"."""
    dso, _, sym = entry.partition(" [")
    sym = sym.split("] ", 1)[-1]
    return f"{sym} ({'kernel' if 'kernel' in dso else dso})"


def profile_lines(prof: dict[str, Any] | None) -> list[str]:
    if prof is None:
        return []
    if prof.get("error"):
        return [f"profile: {prof['error']}"]
    return [
        "profile at 50% (perf, the stack's processes, share of their samples): " + ", ".join(
            f"{e['entry']} {e['percent']:.1f}%" for e in prof["by_program"][:8]),
        "  PostgreSQL's top functions (share of its samples): " + ", ".join(
            f"{function_name(e['entry'])} {e['percent']:.1f}%" for e in prof["postgresql_functions"][:10]),
    ]


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def step_costs(f: dict[str, Any]) -> str:
    """One latency step's costs per declaration, the commits by database."""
    c = f["costs"]
    dbs = sorted(c["by_database"].items(), key=lambda kv: -kv[1]["commits"])
    return (f"  at {f['fraction']:.0%} ({f['rate']:.1f}/s): {c['commits']:.1f} commits ("
            + ", ".join(f"{name.removeprefix('mdv_')} {d['commits']:.1f}" for name, d in dbs)
            + f"), {c['cpu_ms']:.1f} ms CPU")


def persons_line(reused: dict[str, int]) -> str:
    if not reused["in_latency_steps"]:
        return (f"persons: a fresh one for every declaration of the latency steps"
                f" ({reused['total']} reused in the ramp)")
    return (f"persons: {reused['in_latency_steps']} declarations of the latency steps reused a person"
            f" ({reused['total']} in all): their costs are understated; raise BENCH_PERSONS")


def summary(r: dict[str, Any]) -> list[str]:
    sat, pg, http, c, p = r["saturation"], r["pgbench"], r["http"], r["costs"], r["postgresql_costs"]
    lines = [
        f"mdv bench {r['started']} ({r['machine']['cpus']} CPUs, load before {r['machine']['loadavg_before']},"
        f" PostgreSQL {r['postgresql']['settings']})",
        f"saturation: {sat['declarations_per_second']:.1f} declarations/s end to end"
        f"{'' if sat['reached'] else ' (not reached: at least)'};"
        f" pgbench limit {pg['declarations_per_second']:.1f}/s: ratio {sat['ratio_to_pgbench']:.2f}",
        persons_line(r["persons_reused"]),
        "consumer settings: " + (", ".join(
            f"{name} " + " ".join(f"{k.removeprefix('MDV_CONSUMER_')}={v}" for k, v in vars.items())
            for name, vars in r["consumer_settings"].items() if vars) or "the services' defaults"),
    ]
    for f in r["latency"]:
        lat = f["latency_seconds"]
        lines.append(f"latency at {f['fraction']:.0%} ({f['rate']:.1f}/s): p50 {fmt(lat['p50'])} s,"
                     f" p95 {fmt(lat['p95'])} s, p99 {fmt(lat['p99'])} s;"
                     f" p99/p50 {fmt(lat['p99'] / lat['p50'] if lat['p50'] else None)};"
                     f" {f['completed']}/{f['declarations']} final")
    lines += [
        f"per declaration: {c['commits']:.1f} commits (pgbench replay {pg['transactions_per_declaration']}:"
        f" ratio {c['commits'] / pg['transactions_per_declaration']:.2f}), {c['rows_written']:.1f} rows written,"
        f" Kafka {c['kafka_produced']:.1f} produced / {c['kafka_consumed']:.1f} consumed,"
        f" {c['cpu_ms']:.1f} ms CPU",
        f"PostgreSQL per declaration: {p['wal_per_declaration']['bytes'] / 1024:.1f} KiB of WAL"
        f" ({p['wal_per_declaration']['records']:.0f} records, {p['wal_per_declaration']['fpi']:.1f} full-page"
        f" images, {p['wal_per_declaration']['syncs']:.1f} flushes), {p['statements_calls']:.0f} statements"
        f" executing {p['statements_exec_ms']:.1f} ms, {p['statements_plans']:.0f} of them planned in"
        f" {p['statements_plan_ms']:.1f} ms; the top: " + "; ".join(
            f"{s['db']} {s['exec_ms']:.2f} ms/{s['calls']:g} calls {s['query'][:60]}" for s in p["top_statements"][:3]),
        *(step_costs(f) for f in r["latency"]),
        f"idle, per second: {r['idle_per_second']['commits']:.1f} commits,"
        f" {r['idle_per_second']['cpu_ms']:.0f} ms CPU (included above at the share of each declaration)",
        "  CPU ms per declaration: " + ", ".join(
            f"{p} {v:.1f} ({v / c['cpu_ms']:.0%})" for p, v in
            sorted(c["cpu_ms_by_process"].items(), key=lambda kv: -kv[1]) if p != "generator" and c["cpu_ms"]),
        f"GET /v1/journeys/{{id}} ({http['bytes']} bytes): gateway {http['gateway']['requests_per_second']:.0f}/s,"
        f" nginx {http['nginx']['requests_per_second']:.0f}/s: ratio {http['ratio']:.3f}",
        f"generator: {r['generator']['cpu_seconds']:.1f} CPU s over {r['generator']['load_seconds']:.0f} s of load"
        f" ({r['generator']['core_fraction']:.0%} of a core), {r['generator']['cpu_ms_per_declaration']:.2f} ms"
        f" per declaration; sends late by p99 {fmt(r['generator']['lateness_p99_seconds'])} s",
        *profile_lines(r.get("profile")),
    ]
    return lines


def main() -> int:
    started = dt.datetime.now(dt.timezone.utc)
    gateway_url = os.environ["MDV_GATEWAY_URL"]
    log(f"services: {' '.join(services())}")
    persons = Persons(seed(PERSONS))
    log(f"seeded {PERSONS} persons: " + ", ".join(f"{k} {len(v)}" for k, v in persons.pools.items()))
    analyze_after_seeding()
    tokens = [token(f"bench-{i}") for i in range(4)]
    gen = Generator(gateway_url, tokens, persons)
    gw = Gateway()
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    cpu0, wall0 = os.times(), time.monotonic()
    load_seconds = 0.0

    def timed(rate, seconds):
        nonlocal load_seconds
        t = time.monotonic()
        res = phase(gen, gw, rate, seconds)
        load_seconds += time.monotonic() - t
        ids = res.pop("ids")
        if res["completed"] < res["accepted"]:
            # The next step starts from an empty backlog.
            log("waiting for the backlog to drain")
            gw.wait(ids, 240)
        return res

    log("warm-up")
    timed(len(MIX) / 2, 2)
    # What the stack spends doing nothing (relays' and consumers' polls),
    # per second: the per-declaration figures below include their share.
    wait_quiet()
    quiet = snapshot(gw)
    time.sleep(IDLE_SECONDS)
    idle = costs(quiet, snapshot(gw), IDLE_SECONDS)
    ramp = []
    for rate in RATES:
        res = timed(rate, STEP_SECONDS)
        ramp.append(res)
        if res["saturated"]:
            break
    reached = ramp[-1]["saturated"]
    sat = max(r["completions_per_second"] for r in ramp)
    wait_quiet()
    before = snapshot(gw)
    latency = []
    reused_before_latency = persons.reused
    step_start = before
    profile = None
    rates = LATENCY_RATES or [round(sat * f, 2) for f in (0.25, 0.50, 0.75)]
    for i, rate in enumerate(rates):
        prof = Profile() if PROFILE and i == 1 else None  # the middle step (50 %)
        if prof:
            prof.start()
        res = timed(rate, LATENCY_SECONDS)
        if prof:
            profile = prof.stop()
        res["fraction"] = round(rate / sat, 3)
        # Each step's own costs, from a quiet stack to a quiet stack: how
        # commits and CPU per declaration fall as batches grow with the rate.
        settle = wait_quiet()
        step_end = snapshot(gw)
        res["costs"] = costs(step_start, step_end, res["declarations"])
        res["costs"]["quiet_after_seconds"] = settle
        step_start = step_end
        latency.append(res)
    after = step_start
    n = sum(r["declarations"] for r in latency)
    cost = costs(before, after, n)
    cost["quiet_after_seconds"] = sum(r["costs"]["quiet_after_seconds"] for r in latency)
    pg_cost = pg_costs(before["pg"], after["pg"], n)
    gen_cpu = (os.times().user - cpu0.user) + (os.times().system - cpu0.system)
    sent = sum(r["declarations"] for r in ramp + latency)
    lateness = [r["generator_lateness_seconds"]["p99"] for r in ramp + latency]
    pg = pgbench_limit()
    one = gw.conn.execute("SELECT journey_id::text, usager_id FROM journeys WHERE kind = 'bereavement'"
                          " AND planned ORDER BY created_at DESC LIMIT 1").fetchone()
    http = http_limit(gateway_url, tokens[int(one[1].rsplit("-", 1)[1])], one[0])
    settings = dict(gw.conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                                    (["fsync", "synchronous_commit", "full_page_writes"],)).fetchall())
    result = {
        "started": started.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": " ".join(loadavg)},
        "postgresql": {"settings": " ".join(f"{k}={v}" for k, v in sorted(settings.items()))},
        "services": list(services()), "consumer_settings": consumer_settings(),
        "mix": list(MIX), "persons": {k: len(v) for k, v in persons.pools.items()},
        "persons_reused": {"total": persons.reused,
                           "in_latency_steps": persons.reused - reused_before_latency},
        "parameters": {"rates": RATES, "step_seconds": STEP_SECONDS, "latency_seconds": LATENCY_SECONDS,
                       "latency_rates": LATENCY_RATES,
                       "drain_seconds": DRAIN_SECONDS, "workers": WORKERS},
        "ramp": ramp,
        "saturation": {"declarations_per_second": sat, "reached": reached,
                       "ratio_to_pgbench": round(sat / pg["declarations_per_second"], 3)},
        "latency": latency, "costs": cost, "postgresql_costs": pg_cost, "idle_per_second": idle, "pgbench": pg, "http": http,
        "generator": {"cpu_seconds": round(gen_cpu, 2), "load_seconds": round(load_seconds, 1),
                      "core_fraction": round(gen_cpu / max(load_seconds, 1e-9), 3),
                      "cpu_ms_per_declaration": round(gen_cpu / max(sent, 1) * 1000, 3),
                      "declarations_sent": sent,
                      "lateness_p99_seconds": max((x for x in lateness if x is not None), default=None)},
        "wall_seconds": round(time.monotonic() - wall0, 1),
    }
    if profile is not None:
        result["profile"] = profile
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / (started.strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = summary(result)
    (out.with_suffix(".txt")).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"written: {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
