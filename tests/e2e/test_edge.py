"""The gateway's HTTP edge under clients that misbehave: one client holding
thousands of connections, clients trickling a request, paths with a NUL
byte or a bad escape, oversized heads, and what all of it makes the
gateway write in its log.

The loopback interface answers from any 127.x.y.z address, so the greedy
clients connect from 127.0.0.2 (and 127.0.0.10 onwards) and the usager who
must still be served from 127.0.0.1. The limits are the README's ("HTTP
limits").
"""

from __future__ import annotations

import http.client
import json
import resource
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mdv_e2e import PROBLEM_JSON, StackEnv, Usager, percentile, record_figures

HELD = 2000
PER_ADDRESS = 128  # connections one client address may hold (README)
REQUEST_DEADLINE_S = 20  # a request's line, headers and body must arrive within it (README)
TRICKLE_EVERY_S = 2.0
OTHER_REQUESTS = 20
# The other usager must be answered while the greedy connections are held;
# generous, because the machine running the suite may be loaded.
ANSWERED_WITHIN_S = 2.0


def gateway_addr(env: StackEnv) -> tuple[str, int]:
    url = urlsplit(env.gateway_url)
    return url.hostname or "127.0.0.1", url.port or 80


def gateway_rss_kib(env: StackEnv) -> int | None:
    """The gateway's resident memory, from /proc (None when unknown)."""
    if not env.stack_dir:
        return None
    try:
        pid = int((env.stack_dir / "pids" / "gateway.pid").read_text().strip())
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def enough_descriptors(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= needed, f"this test needs {needed} open files, the hard limit is {hard}"


def open_partial(env: StackEnv, source: str) -> socket.socket:
    """A connection that sends the start of a request and no more."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(gateway_addr(env))
    try:
        sock.sendall(b"GET /v1/journeys HTTP/1.1\r\nHost: gateway\r\n")
    except OSError:
        pass  # refused at once: counted as closed below
    return sock


def closed_by_server(socks: list[socket.socket]) -> int:
    """How many of socks the server has closed (readable at end of file)."""
    poller = select.poll()
    for sock in socks:
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    ready = {fd for fd, _ in poller.poll(0)}
    closed = 0
    for sock in socks:
        if sock.fileno() not in ready:
            continue
        try:
            sock.setblocking(False)
            closed += sock.recv(1024) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def hold(env: StackEnv, sources: list[str], count: int) -> list[socket.socket]:
    socks: list[socket.socket] = []
    try:
        for i in range(count):
            socks.append(open_partial(env, sources[i % len(sources)]))
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def other_usager_latencies(usager: Usager) -> list[float]:
    """Times OTHER_REQUESTS journey lists from 127.0.0.1, each on a new
    connection; an answer later than ANSWERED_WITHIN_S counts as that."""
    latencies = []
    for _ in range(OTHER_REQUESTS):
        start = time.monotonic()
        try:
            resp = usager.request("GET", "/v1/journeys", headers={"Connection": "close"},
                                  timeout=ANSWERED_WITHIN_S)
            assert resp.status_code == 200, f"{resp.status_code} {resp.text[:300]}"
        except OSError:  # requests' timeouts and resets are OSErrors
            pass
        latencies.append(time.monotonic() - start)
    return latencies


def latency_figure(latencies: list[float]) -> str:
    return (f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
            f" over {len(latencies)} requests")


def test_one_client_holding_2000_connections_leaves_the_gateway_reachable(env, usager):
    enough_descriptors(HELD + 200)
    rss_before = gateway_rss_kib(env)
    start = time.monotonic()
    socks = hold(env, ["127.0.0.2"], HELD)
    try:
        opened_in = time.monotonic() - start
        time.sleep(1)
        latencies = other_usager_latencies(usager)
        kept = HELD - closed_by_server(socks)
        rss_held = gateway_rss_kib(env)
    finally:
        for sock in socks:
            sock.close()
    record_figures(env, [
        f"edge: one client (127.0.0.2) opened {HELD} connections in {opened_in:.1f} s;"
        f" the gateway kept {kept} (limit {PER_ADDRESS} per address), gateway RSS {rss_before} -> {rss_held} KiB",
        f"edge: meanwhile another client (127.0.0.1): {latency_figure(latencies)}",
    ])
    assert max(latencies) < ANSWERED_WITHIN_S, f"the other client waited: {latency_figure(latencies)}"
    assert 0 < kept <= PER_ADDRESS, f"one address kept {kept} connections"


def test_2000_connections_from_many_addresses_are_all_held_and_others_served(env, usager):
    # Past libmicrohttpd's default (FD_SETSIZE - 4) and a soft limit of 1 024.
    sources = [f"127.0.0.{10 + i}" for i in range(40)]
    assert HELD / len(sources) <= PER_ADDRESS
    enough_descriptors(HELD + 200)
    rss_before = gateway_rss_kib(env)
    socks = hold(env, sources, HELD)
    try:
        time.sleep(1)
        latencies = other_usager_latencies(usager)
        kept = HELD - closed_by_server(socks)
        rss_held = gateway_rss_kib(env)
    finally:
        for sock in socks:
            sock.close()
    record_figures(env, [
        f"edge: {HELD} connections from {len(sources)} addresses: the gateway kept {kept},"
        f" gateway RSS {rss_before} -> {rss_held} KiB",
        f"edge: meanwhile another client (127.0.0.1): {latency_figure(latencies)}",
    ])
    assert kept == HELD, f"the gateway closed {HELD - kept} of {HELD} connections"
    assert max(latencies) < ANSWERED_WITHIN_S, f"the other client waited: {latency_figure(latencies)}"


def trickle(env: StackEnv, first: bytes, part: bytes, limit_s: float, out: dict[str, float | None],
            name: str) -> None:
    """Sends first, then part every TRICKLE_EVERY_S; records in out[name]
    the seconds until the server closed, or None after limit_s."""
    sock = socket.create_connection(gateway_addr(env), timeout=10, source_address=("127.0.0.2", 0))
    start = time.monotonic()
    out[name] = None
    try:
        sock.sendall(first)
        while time.monotonic() - start < limit_s:
            if closed_by_server([sock]):
                out[name] = time.monotonic() - start
                return
            try:
                sock.sendall(part)
            except OSError:
                out[name] = time.monotonic() - start
                return
            waiting = select.poll()
            waiting.register(sock, select.POLLIN | select.POLLHUP)
            waiting.poll(TRICKLE_EVERY_S * 1000)
    finally:
        sock.close()


def test_a_request_trickled_line_by_line_is_cut_at_the_deadline(env, token):
    bearer = f"Bearer {token('usager-edge-trickle')}".encode()
    head = b"GET /v1/journeys HTTP/1.1\r\nHost: gateway\r\nAuthorization: " + bearer + b"\r\n"
    body_head = (b"POST /v1/declarations HTTP/1.1\r\nHost: gateway\r\nAuthorization: " + bearer
                 + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    clients = {
        "header lines": (head, b"X-Trickle: y\r\n"),
        "header lines (2)": (head, b"X-Trickle: y\r\n"),
        "body bytes": (body_head, b"{"),
    }
    limit = REQUEST_DEADLINE_S + 10
    cut: dict[str, float | None] = {}
    threads = [threading.Thread(target=trickle, args=(env, first, part, limit, cut, name))
               for name, (first, part) in clients.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(limit + 15)
    record_figures(env, [
        "edge: requests trickled every %.0f s were closed after %s (deadline %d s)" % (
            TRICKLE_EVERY_S,
            ", ".join(f"{name} {t:.1f} s" if t is not None else f"{name} never" for name, t in cut.items()),
            REQUEST_DEADLINE_S),
    ])
    for name, seconds in cut.items():
        assert seconds is not None, f"{name}: still open after {limit} s"
        # Each trickle keeps the connection active, so only the deadline can
        # have closed it: not before it, and soon after.
        assert REQUEST_DEADLINE_S - 1 <= seconds <= REQUEST_DEADLINE_S + 5, f"{name}: closed after {seconds:.1f} s"


def raw_exchange(env: StackEnv, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends the bytes as they are and parses the answer (http.client)."""
    sock = socket.create_connection(gateway_addr(env), timeout=30)
    try:
        try:
            sock.sendall(data)
        except OSError:
            pass  # answered and closed before reading it all: the answer is still there
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        sock.close()


def get_raw(env: StackEnv, target: bytes, bearer: str, extra: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    return raw_exchange(env, b"GET " + target + b" HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
                        + f"Authorization: Bearer {bearer}\r\n".encode() + extra + b"\r\n")


def assert_raw_problem(answer: tuple[int, dict[str, str], bytes], status: int) -> dict[str, Any]:
    got, headers, body = answer
    assert got == status, f"expected {status}, got {got}: {body[:300]!r}"
    assert headers.get("content-type", "").split(";")[0] == PROBLEM_JSON, headers
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"], problem
    return problem


@pytest.mark.parametrize("target", [
    b"/v1/journeys%00/x",   # answered the journey list before
    b"/v1/journeys\x00/x",  # a raw NUL byte
    b"/v1/journeys%0",
    b"/v1/journeys%zz",
    b"/v1/journeys/00000000-0000-4000-8000-000000000000%2Fconfirmations",
], ids=["%00", "raw NUL", "truncated escape", "not hex", "encoded slash"])
def test_a_path_with_a_nul_or_a_bad_escape_reaches_no_route(env, usager, target):
    problem = assert_raw_problem(get_raw(env, target, usager.token), 404)
    assert "names no resource" in problem["detail"], problem


def test_a_raw_nul_byte_in_the_query_is_400(env, usager):
    # It would cut the query short without a trace.
    problem = assert_raw_problem(get_raw(env, b"/v1/journeys?limit=5\x00&cursor=x", usager.token), 400)
    assert problem["type"] == "urn:mdv:problem:bad-request-target", problem


def test_oversized_target_and_head_get_problem_json(env, usager):
    # A 100 KB target: 414 as a problem, not libmicrohttpd's HTML.
    assert_raw_problem(get_raw(env, b"/v1/journeys/" + b"a" * 100_000, usager.token), 414)
    # A 120 KB head: 431 as a problem.
    assert_raw_problem(get_raw(env, b"/v1/journeys", usager.token, b"X-Padding: " + b"p" * 120_000 + b"\r\n"), 431)


def test_a_100_kb_bearer_token_reaches_authentication(env):
    status, headers, body = get_raw(env, b"/v1/journeys", "e" * 100 * 1024)
    assert_raw_problem((status, headers, body), 401)
    assert headers.get("www-authenticate", "").startswith("Bearer"), headers


def test_a_1_mb_head_is_still_refused(env, usager):
    # Past the connection's memory libmicrohttpd answers by itself (README).
    status, _, _ = get_raw(env, b"/v1/journeys", usager.token, b"X-Padding: " + b"p" * 1024 * 1024 + b"\r\n")
    assert status == 431
    assert usager.list_journeys().status_code == 200


def test_the_gateway_log_stays_json_lines_when_clients_drop_requests(env):
    log = env.stack_dir / "logs" / "gateway.log" if env.stack_dir else None
    if not log or not log.exists():
        pytest.fail("the gateway's log is not in the stack folder (MDV_STACK_DIR)")
    offset = log.stat().st_size
    dropped = 200
    for _ in range(dropped):  # each makes libmicrohttpd say something
        sock = socket.create_connection(gateway_addr(env), timeout=10, source_address=("127.0.0.3", 0))
        sock.sendall(b"GET /v1/journeys HTTP/1.1\r\nHost: gateway\r\n")
        sock.close()
    # The budget's window is 10 s: wait for the line counting what it left out.
    deadline = time.monotonic() + 15
    lines: list[str] = []
    while time.monotonic() < deadline:
        with log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
        if any("were not logged" in line for line in lines):
            break
        time.sleep(0.5)
    not_json = []
    library = 0
    for line in lines:
        try:
            entry = json.loads(line)
            assert isinstance(entry, dict) and entry.get("message") is not None
        except (ValueError, AssertionError):
            not_json.append(line)
            continue
        library += entry["message"].startswith("libmicrohttpd: ")
    record_figures(env, [f"edge: {dropped} dropped requests added {len(lines)} gateway log lines"
                         f" ({library} from libmicrohttpd, {len(not_json)} not JSON)"])
    assert not not_json, f"{len(not_json)} lines that are not JSON, e.g. {not_json[:3]}"
    assert library <= 2 * 20, f"{library} libmicrohttpd lines for {dropped} dropped requests"
    assert any("were not logged" in line for line in lines), "no line counts the messages left out"
