"""make bench (tests/bench) against the files it relies on: a durable stack
of its own, never part of make test, its tools installed by install-deps.sh,
and a pgbench replay whose header says what the script does."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "tests" / "bench"


def test_the_bench_stack_is_durable_and_its_own():
    run = (BENCH / "run.sh").read_text()
    assert re.search(r"^export MDV_PG_FSYNC=on$", run, re.M)
    assert "build/bench-stack" in run
    assert not re.search(r"MDV_PORT_BASE=\"\$\{MDV_BENCH_PORT_BASE:-(17400|27400)\}\"", run)


def test_make_test_never_runs_the_bench():
    out = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "tests/bench" not in out.stdout


def test_install_deps_installs_the_bench_tools():
    script = (REPO / "deploy" / "local" / "install-deps.sh").read_text()
    packages = script[script.index("packages=("):script.index(")", script.index("packages=("))].split()
    for package in ("nginx-light", "wrk", "postgresql-contrib", "linux-perf"):
        assert package in packages, package


def test_the_pgbench_replay_runs_the_transactions_its_header_counts():
    script = (BENCH / "pgbench" / "declaration.sql").read_text()
    header = re.search(r"(\d+) transactions \((\d+) in\s+--\s+BEGIN \.\.\. COMMIT, (\d+) relay deletes", script)
    assert header, "the header no longer says how many transactions the script runs"
    total, in_blocks, deletes = map(int, header.groups())
    assert script.count("\nBEGIN;\n") == script.count("\nCOMMIT;\n") == in_blocks
    assert len(re.findall(r"^WITH sent AS \(DELETE FROM outbox ", script, re.M)) == deletes
    assert total == in_blocks + deletes
    # Every table it writes is one schema.sql creates.
    schema = (BENCH / "pgbench" / "schema.sql").read_text()
    created = set(re.findall(r"^CREATE TABLE (\w+)", schema, re.M))
    written = set(re.findall(r"(?:INSERT INTO|^UPDATE|DELETE FROM) (\w+)", script, re.M))
    assert written <= created, written - created


def test_the_pgbench_replay_talks_to_postgresql_as_the_services_do():
    """Prepared statements over the stack's Unix socket (shared/pg_statements.c,
    the stack's MDV_PG_DSN): a replay in the simple protocol over TCP paid
    parsing, planning and loopback costs the suite no longer pays, and was
    no longer a limit."""
    source = (BENCH / "bench.py").read_text()
    call = source[source.index('argv = [pg_bin("pgbench")'):]
    call = call[:call.index('"bench_pgbench"]')]
    assert '"-M", "prepared"' in call
    assert '"-h", str(STACK / "sock")' in call


def load_bench(monkeypatch):
    """tests/bench/bench.py as a module, without a stack: it reads the
    stack's env at import."""
    import importlib.util
    import sys
    monkeypatch.setenv("MDV_STACK_DIR", "/nonexistent")
    monkeypatch.setenv("MDV_PORT_BASE", "17600")
    monkeypatch.syspath_prepend(str(REPO / "tests" / "e2e"))
    spec = importlib.util.spec_from_file_location("bench_under_test", BENCH / "bench.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_under_test", module)
    spec.loader.exec_module(module)
    return module


def snapshot(commits: dict[str, int], cpu: float, own: int = 0) -> dict:
    return {"cpu": {"postgresql": cpu, "generator": 0.0},
            "db": {name: {"commits": n, "rows": n} for name, n in commits.items()},
            "kafka": {"gateway": {"produced": 0.0, "consumed": 0.0}}, "own_gateway_queries": own}


def test_the_summary_gives_each_latency_steps_costs_by_database(monkeypatch):
    bench = load_bench(monkeypatch)
    s0 = snapshot({"mdv_gateway": 0, "mdv_partners": 0}, 0.0)
    s1 = snapshot({"mdv_gateway": 40, "mdv_partners": 20}, 1.0, own=4)  # 10 declarations
    s2 = snapshot({"mdv_gateway": 100, "mdv_partners": 40}, 1.8, own=8)  # 20 more
    steps = [{"fraction": 0.25, "rate": 5.0, "costs": bench.costs(s0, s1, 10)},
             {"fraction": 0.5, "rate": 10.0, "costs": bench.costs(s1, s2, 20)}]
    assert steps[0]["costs"]["by_database"]["mdv_gateway"]["commits"] == 3.6  # our 4 queries off
    assert steps[1]["costs"]["commits"] == 3.8
    lines = [bench.step_costs(f) for f in steps]
    assert lines[0] == "  at 25% (5.0/s): 5.6 commits (gateway 3.6, partners 2.0), 100.0 ms CPU"
    assert lines[1] == "  at 50% (10.0/s): 3.8 commits (gateway 2.8, partners 1.0), 40.0 ms CPU"


PERF_BY_PROGRAM = """\
# Samples: 2K of event 'cpu-clock:pppH'
#
# Overhead  Command
# ........  ...............
#
    23.14%  postgres
    19.30%  swapper
     6.58%  C1 CompilerThre
"""

PERF_POSTGRES = """\
# Overhead  Shared Object         Symbol
#
     8.22%  [kernel.kallsyms]     [k] clear_page_erms
     0.78%  postgres              [.] pglz_compress
"""


def test_the_profile_reads_perfs_report_into_its_summary_lines(monkeypatch):
    bench = load_bench(monkeypatch)
    programs = bench.perf_rows(PERF_BY_PROGRAM)
    assert programs == [{"percent": 23.14, "entry": "postgres"}, {"percent": 19.3, "entry": "swapper"},
                        {"percent": 6.58, "entry": "C1 CompilerThre"}]
    functions = bench.perf_rows(PERF_POSTGRES)
    lines = bench.profile_lines({"hz": 499, "by_program": programs, "postgresql_functions": functions})
    assert lines[0].endswith(": postgres 23.1%, swapper 19.3%, C1 CompilerThre 6.6%")
    assert lines[1].endswith(": clear_page_erms (kernel) 8.2%, pglz_compress (postgres) 0.8%")
    assert bench.profile_lines({"error": "perf is not installed (Debian: linux-perf)"}) == [
        "profile: perf is not installed (Debian: linux-perf)"]
    assert bench.profile_lines(None) == []


def test_the_stack_counts_as_quiet_only_once_its_lag_has_been_refreshed(monkeypatch):
    """A lag of 0 read within one statistics interval of the last message may
    predate it: the stack is quiet only after a window longer than that
    interval with no backlog and no message moving."""
    bench = load_bench(monkeypatch)
    kafka = (REPO / "shared" / "kafka.c").read_text()
    interval_ms = int(re.search(r'"statistics\.interval\.ms", "(\d+)"', kafka).group(1))
    assert bench.QUIET_SECONDS > interval_ms / 1000
    clock = [0.0]
    monkeypatch.setattr(bench.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(bench.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    # Lag 0 throughout, but messages still move during the first 4 readings.
    readings = iter([(0, 10), (0, 20), (0, 30), (0, 40)] + [(0, 40)] * 20)
    monkeypatch.setattr(bench, "activity", lambda: next(readings))
    waited = bench.wait_quiet()
    assert waited == 3 + bench.QUIET_SECONDS


def test_the_bench_reads_each_service_instances_consumer_settings(monkeypatch, tmp_path):
    """A run says which batch settings it measured: each service
    instance's MDV_CONSUMER_* as its process has them (the broker and the
    simulators apart)."""
    (tmp_path / "pids").mkdir()
    monkeypatch.setenv("MDV_GATEWAY_URLS", "http://127.0.0.1:1")
    monkeypatch.setenv("MDV_STUDENT_URLS", "http://127.0.0.1:2 http://127.0.0.1:3")
    bench = load_bench(monkeypatch)
    monkeypatch.setattr(bench, "STACK", tmp_path)
    procs = {}
    for name, extra in (("gateway", {"MDV_CONSUMER_BATCH_WAIT_MS": "25"}), ("student", {}),
                        ("student-2", {"MDV_CONSUMER_BATCH_SIZE": "1"}),
                        ("simulator-cnav", {"MDV_CONSUMER_BATCH_WAIT_MS": "9"})):
        procs[name] = subprocess.Popen(["sleep", "60"], env={"PATH": "/usr/bin:/bin", **extra})
        (tmp_path / "pids" / f"{name}.pid").write_text(f"{procs[name].pid}\n")
    try:
        assert bench.consumer_settings() == {"gateway": {"MDV_CONSUMER_BATCH_WAIT_MS": "25"}, "student": {},
                                             "student-2": {"MDV_CONSUMER_BATCH_SIZE": "1"}}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


def test_make_bench_passes_the_ramp_bench_py_documents(monkeypatch):
    """make bench sets BENCH_RATES itself: a default changed in bench.py
    alone never reached a run (the ramp stopped at 130/s while the suite
    still kept up, and the saturation printed was a lower bound)."""
    bench = load_bench(monkeypatch)
    makefile = (REPO / "Makefile").read_text()
    rates = re.search(r"^BENCH_RATES\s*\?=\s*(.+)$", makefile, re.M).group(1).split()
    source = (BENCH / "bench.py").read_text()
    default = re.search(r'setting\("BENCH_RATES", "([^"]+)"\)', source).group(1).split()
    assert rates == default
    assert max(bench.RATES) >= 500  # the target is on the ramp


def test_the_summary_says_when_the_measured_steps_reused_persons(monkeypatch):
    """A person declared for again costs the suite less (a death already
    recorded): the bench says when the latency steps, whose costs it
    reports, had to reuse some, and make bench seeds as many as bench.py."""
    bench = load_bench(monkeypatch)
    assert bench.persons_line({"total": 12, "in_latency_steps": 0}).startswith(
        "persons: a fresh one for every declaration of the latency steps")
    line = bench.persons_line({"total": 2990, "in_latency_steps": 1814})
    assert line.startswith("persons: 1814 declarations of the latency steps reused a person")
    makefile = (REPO / "Makefile").read_text()
    assert int(re.search(r"^BENCH_PERSONS\s*\?=\s*(\d+)", makefile, re.M).group(1)) == bench.PERSONS
