"""What the partners service commits when it has nothing to do, and what
a NOTIFY in its database costs it (README, Performance).

Counted in PostgreSQL's statistics (pg_stat_database.xact_commit of
mdv_partners, read from the postgres database so that the reading counts
in neither), over windows longer than the statistics' own lag (a session
publishes its counters within about 10 s). Each test waits for a quiet
window, since earlier tests may leave work in flight (webhook retries,
receipts awaited); extra work only adds commits, so a window that stays
under the bound is the service's own cost."""

from __future__ import annotations

import time

import psycopg
import pytest

from mdv_e2e import record_figures, wait_until

WINDOW = 12.0  # seconds: past the statistics' lag, two of the relay's fallback polls


def admin_dsn(env) -> str:
    # The local cluster trusts its loopback; postgres is its superuser.
    return f"host={env.pg_host} port={env.pg_port} user=postgres dbname=postgres"


def partners_commits(env) -> int:
    with psycopg.connect(admin_dsn(env), autocommit=True) as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = 'mdv_partners'").fetchone()[0]


def nothing_awaits_receipt(env) -> bool:
    with psycopg.connect(env.dsn("partners"), autocommit=True) as conn:
        return conn.execute("SELECT count(*) = 0 FROM notices"
                            " WHERE received_at IS NULL AND sent_offset IS NOT NULL").fetchone()[0]


def quiet_window(env, seen: list[int], most: int, during=None) -> bool:
    """One window's commits into seen (those of `during`, which returns how
    many it made itself, taken off); whether they stayed at most `most`."""
    before = partners_commits(env)
    started = time.monotonic()
    own = during() if during else 0
    time.sleep(max(0.0, WINDOW - (time.monotonic() - started)))
    seen.append(partners_commits(env) - before - own)
    return seen[-1] <= most


@pytest.mark.timeout(240)
def test_an_idle_partners_service_commits_only_its_relays_fallback_poll(env):
    """With no notice awaiting a receipt, the receipts thread reads nothing
    (it used to read the awaited notices of each Kafka partner every
    second: two commits a second) until the consumer reads a notice back,
    with a read every 10 s in case another replica read it; the webhook
    workers' claims find nothing and roll back. What is left: the relay's
    fallback poll every 5 s and that read."""
    wait_until(lambda: nothing_awaits_receipt(env), 120, "no notice awaiting a receipt")
    most = 6  # two relay polls, one or two receipts reads, the statistics' own lag
    seen: list[int] = []
    try:
        wait_until(lambda: quiet_window(env, seen, most), 150,
                   f"a {WINDOW:g} s window with at most {most} partners commits", interval=0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; commits per window seen: {seen}") from None
    record_figures(env, [f"[partners] idle commits in {WINDOW:g} s: {seen[-1]}"])

@pytest.mark.timeout(240)
def test_a_notify_in_the_partners_database_is_read_by_one_session(env):
    """Every listening session of a database runs a transaction to read
    each NOTIFY there, whatever its channel: the partners service listens
    on one session (the webhooks' listening thread, which wakes the
    workers and the outbox relay), not two (the relay's own and one
    webhook worker's) nor five (each of its four workers listened).
    Notifications on a channel nobody listens to, one transaction each,
    0.2 s apart so that the listener is idle for each: each costs the
    service about one commit (two, then five, before): two listening
    sessions would cost 2k for the reads alone."""
    k = 20

    def notify() -> int:
        with psycopg.connect(env.dsn("partners"), autocommit=True) as conn:
            for _ in range(k):
                conn.execute("SELECT pg_notify('mdv_test_probe', '')")
                time.sleep(0.2)
        return k

    most = 2 * k - 2  # under two sessions' reads alone: one session's, plus the polls
    seen: list[int] = []
    try:
        wait_until(lambda: quiet_window(env, seen, most, notify), 200,
                   f"{k} notifications costing the partners service at most {most} commits", interval=0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; commits per window seen: {seen}") from None
    record_figures(env, [f"[partners] commits for {k} notifications: {seen[-1]}"])
