"""The services as their images (make container-test): each container runs
as uid 10001 on a read-only root file system, is healthy by its image's own
HEALTHCHECK, and the suite works as it does with processes: with student at
three containers, one SIGKILLed and another stopped with SIGTERM during a
burst, every journey completes and every effect happens exactly once (the
checks and helpers of tests/e2e/test_scaling.py). The tools image's mdv-init
and mdv-certs are run too, and the partners' simulators as compose runs
them: the webhook ones register the URL compose gives them and are healthy
by compose's check only once registered."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

import test_known as known
import test_scaling as scaling
from containers import (
    HOST_NETWORK_OVERRIDES,
    IMAGE_UID,
    SERVICES,
    Fleet,
    compose_environment,
    compose_spec,
    tls_subpath,
    webhook_partners,
)
from mdv_e2e import (
    STEP_STUDENT,
    wait_until,
    assert_one_effect_per_journey,
    declaration_for,
    effects_by_instance,
    end_offsets,
    percentile,
    read_topic,
    record_figures,
    steps_by_code,
    summarise,
    wait_all_final,
)

SERVICE = scaling.SERVICE  # student
INSTANCES = scaling.INSTANCES
KILLED, TERMINATED = scaling.KILLED, scaling.TERMINATED
BURST = int(os.environ.get("MDV_CONTAINER_BURST", "200"))
TAIL = scaling.TAIL
WORKERS = scaling.WORKERS
FINAL_TIMEOUT = float(os.environ.get("MDV_E2E_FAULT_TIMEOUT", "240"))


def compose_tmpfs(name: str) -> list[str]:
    return [flag for path in compose_spec(name).get("tmpfs", []) for flag in ("--tmpfs", path)]


def all_instances() -> list[str]:
    return [f"{s}-{k}" for s in SERVICES for k in range(1, (INSTANCES if s == SERVICE else 1) + 1)]


# --------------------------------------------------------------------------
# Each container as compose would run it


def test_each_container_gets_the_environment_compose_gives_its_service(fleet: Fleet):
    for instance in all_instances():
        service, _, k = instance.partition("-")
        given = dict(line.split("=", 1) for line in fleet.inspect(
            fleet.name(instance), "{{range .Config.Env}}{{println .}}{{end}}").splitlines() if "=" in line)
        wanted = compose_environment(service, fleet.variables)
        for name, value in wanted.items():
            if name not in HOST_NETWORK_OVERRIDES:
                assert given.get(name) == value, f"{instance}: {name}={given.get(name)!r}, compose says {value!r}"
        assert given["MDV_INSTANCE_ID"] == instance
        assert given["MDV_HTTP_ADDR"].endswith(f":{fleet.port(service, int(k))}")


def test_each_container_runs_as_the_image_user_on_a_read_only_root(fleet: Fleet):
    for instance in all_instances():
        name = fleet.name(instance)
        assert fleet.inspect(name, "{{.Config.User}}").split(":")[0] == str(IMAGE_UID), instance
        ids = fleet.exec(name, "id", "-u")
        assert ids.returncode == 0 and ids.stdout.strip() == str(IMAGE_UID), (instance, ids.stderr)
        if compose_spec(instance.partition("-")[0]).get("read_only"):
            wrote = fleet.exec(name, "sh", "-c", "echo x > /usr/share/probe")
            assert wrote.returncode != 0 and "Read-only" in wrote.stderr, (instance, wrote.stderr)
            # /tmp is the tmpfs compose gives it.
            assert fleet.exec(name, "sh", "-c", "echo x > /tmp/probe").returncode == 0, instance


def test_each_container_is_healthy_by_its_image_healthcheck(fleet: Fleet):
    for instance in all_instances():
        assert fleet.healthcheck(fleet.name(instance)), f"{instance}: HEALTHCHECK failed"


def test_each_container_authenticates_with_its_own_certificate(fleet: Fleet):
    """The broker saw each container connect: it is ready, and its key is
    the one of its principal (the CN the ACLs name)."""
    for instance in all_instances():
        service = instance.partition("-")[0]
        principal, target = tls_subpath(service)
        out = fleet.exec(fleet.name(instance), "sh", "-c", f"cat {target}/client.crt")
        assert out.returncode == 0, out.stderr
        subject = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=out.stdout, text=True,
                                 capture_output=True, check=True).stdout
        assert subject.strip().endswith(f"CN = {principal}"), (instance, subject)
        assert requests.get(f"http://127.0.0.1:{fleet.port(service, int(instance.partition('-')[2]))}/readyz",
                            timeout=5).status_code == 200


def test_the_tools_image_init_finds_everything_in_place(fleet: Fleet, env):
    """mdv-init as compose runs it (as admin, with the image's ACL file),
    against the stack that stack.sh set up: it adds nothing and succeeds."""
    wanted = compose_environment("init")
    run_env = {**wanted, "PGHOST": env.pg_host, "PGPORT": env.pg_port, "PGUSER": "postgres",
               "MDV_KAFKA_BROKERS": env.kafka_brokers, "MDV_DB_OWNER_PASSWORD": ""}
    principal, target = tls_subpath("init")
    proc = fleet.run_tool("init", "/usr/local/bin/mdv-init", run_env, [],
                          mounts=[(fleet.tls_folder(principal), target)], flags=["--read-only", "--tmpfs", "/tmp"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mdv-init: done" in proc.stderr


def test_the_tools_image_makes_a_certificate_per_principal(fleet: Fleet, tmp_path: Path):
    out = tmp_path / "tls"
    out.mkdir()
    os.chown(out, 10001, 10001)
    spec = compose_spec("certs")
    proc = fleet.run_tool("certs", spec["entrypoint"][0], {k: str(v) for k, v in spec["environment"].items()},
                          ["/tls"], flags=["--read-only", "-v", f"{out}:/tls"] + compose_tmpfs("certs"))
    assert proc.returncode == 0, proc.stderr
    principals = [p.name for p in out.iterdir() if p.is_dir() and p.name != "broker"]
    assert set(SERVICES) | {"admin", "cnav", "dgfip"} <= set(principals)
    for principal in principals:
        check = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca.crt"),
                                str(out / principal / "client.crt")], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", str(out / principal / "client.crt")],
                                 capture_output=True, text=True, check=True).stdout
        assert subject.strip() == f"subject=CN = {principal}"
    sans = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                           str(out / "broker" / "broker.pem")], capture_output=True, text=True, check=True).stdout
    for san in spec["environment"]["MDV_CERTS_BROKER_SANS"].split(","):
        assert san.replace("IP:", "IP Address:") in sans
    again = fleet.run_tool("certs", spec["entrypoint"][0], {}, ["/tls"], flags=["-v", f"{out}:/tls"])
    assert again.returncode == 0 and "already holds" in again.stderr


# --------------------------------------------------------------------------
# What the administrations already know: the gateway's container asks
# identity's with the services' key


def test_the_gateway_reads_the_services_key_by_its_group_and_identity_accepts_its_tokens(fleet: Fleet, env, seed, db):
    """The private key compose mounts into the gateway, as the README's
    snippet leaves it: the image's group reads it, others do not, no other
    container has it; a token of that key, with compose's issuer and
    audience, opens identity's internal route in its container."""
    path = compose_environment("gateway")["MDV_SERVICE_JWT_PRIVATE_KEY_FILE"]
    gateway = fleet.name("gateway-1")
    owner, group, mode = fleet.exec(gateway, "stat", "-c", "%u %g %a", path).stdout.split()
    assert owner != str(IMAGE_UID) and group == str(IMAGE_UID), (owner, group)
    assert not int(mode, 8) & 0o007, f"{path}: mode {mode}"
    assert fleet.exec(gateway, "head", "-c", "1", path).returncode == 0, "the gateway cannot read its key"
    for instance in all_instances():
        if not instance.startswith("gateway-"):
            assert fleet.exec(fleet.name(instance), "test", "-e", path).returncode != 0, instance
    person = next((p for p in seed(20) if known.current_address(db, p)), None)
    assert person, "mdv-seed gave no person with a current address in France"
    url = f"http://127.0.0.1:{fleet.port('identity')}/internal/v1/address-lookups"
    answer = requests.post(url, json=known.pivot(person), timeout=10,
                           headers={"Authorization": f"Bearer {fleet.mint_service_token('gateway')}"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == known.current_address(db, person)


def test_a_signed_in_usager_whom_identity_knows_gets_the_address_from_the_containers(fleet: Fleet, env, seed, db):
    """Signed in at the stack's OpenID provider through the gateway's
    container, with the sign-in compose takes from its environment: GET
    /v1/me's known is the address identity's container has on record (as
    test_known checks on processes); null for a usager it does not know."""
    # The provider lists the persons of the stack's seed file, as stack.sh's.
    persons = seed(20)
    (fleet.stack_dir / "seed.jsonl").write_text("".join(json.dumps(p) + "\n" for p in persons))
    person = known.housed_demo_person(env, db)
    browser = known.signed_in(env, person["family_name"].upper())
    # Within the gateway's 1 s wait for identity, on a loaded machine: asked again.
    wait_until(lambda: known.me(browser)["known"] == {"address": known.current_address(db, person)}, 30,
               f"known.address of {person['family_name']} from identity's container")
    assert known.me(known.signed_in(env, known.UNKNOWN_USAGER))["known"] is None


# --------------------------------------------------------------------------
# The webhook partners' simulators, as compose runs them


def partner_token(fleet: Fleet, partner: str) -> str:
    [(token_file, _)] = fleet.secret_mounts(f"simulator-{partner}")
    return token_file.read_text().strip()


@pytest.mark.parametrize("partner", webhook_partners())
def test_each_webhook_simulator_registers_the_url_compose_gives_it_and_is_healthy_by_compose_s_check(
        fleet: Fleet, env, partner: str):
    name = fleet.name(f"simulator-{partner}")
    got = requests.get(f"{env.service_urls['partners']}/partners/v1/webhook", timeout=10,
                       headers={"Authorization": f"Bearer {partner_token(fleet, partner)}"})
    assert got.status_code == 200, got.text
    assert got.json()["url"] == fleet.simulator_options(partner)["--url"], got.json()
    assert got.json()["status"] == "enabled"
    check = fleet.exec(name, *fleet.simulator_healthcheck(partner))
    assert check.returncode == 0, check.stderr
    assert fleet.inspect(name, "{{.Config.User}}").split(":")[0] == str(IMAGE_UID)
    wrote = fleet.exec(name, "sh", "-c", "echo x > /usr/share/probe")
    assert wrote.returncode != 0 and "Read-only" in wrote.stderr, wrote.stderr


def test_a_webhook_simulator_whose_registration_is_refused_is_not_healthy(fleet: Fleet, env):
    """A token the partners' API refuses (expired): the simulator listens,
    its endpoint is not registered, and compose's check says so."""
    partner = webhook_partners()[0]
    expired = fleet.mint_token(partner, f"{partner}-expired.token", ttl=-3600)
    [(_, target)] = fleet.secret_mounts(f"simulator-{partner}")
    port = fleet.base + 9  # in the stack's range, used by nothing else
    who = f"simulator-{partner}-refused"
    name = fleet.start_webhook_simulator(partner, who=who, port=port, mounts=[(expired, target)])
    try:
        wait_until(lambda: "HTTP 401" in fleet.logs(name) or not fleet.running(name), 60,
                   f"{who} refused by the partners' API")
        assert fleet.running(name), fleet.logs(name)[-2000:]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["checks"]["endpoint"] == "not registered", ready.text
        assert fleet.exec(name, *fleet.simulator_healthcheck(partner, port)).returncode != 0
        # The refused one registered nothing over the running simulator's endpoint.
        got = requests.get(f"{env.service_urls['partners']}/partners/v1/webhook", timeout=10,
                           headers={"Authorization": f"Bearer {partner_token(fleet, partner)}"})
        assert got.json()["url"] == fleet.simulator_options(partner)["--url"]
    finally:
        fleet.remove(name)


# --------------------------------------------------------------------------
# A burst with student at three containers, one killed, one stopped


class ContainerStopper(scaling.Stopper):
    """test_scaling's stopper, stopping containers instead of processes: the
    SIGKILL once a quarter of the burst is applied, the SIGTERM as soon as
    one more effect is. Not at half the burst, as test_scaling does: with
    the killed container's partitions waiting for their takeover, half the
    burst is some three quarters of the survivors' share, and a survivor fast
    enough had already applied all of its own (nothing left in flight to
    move: a run here saw 0)."""

    def __init__(self, env, fleet: Fleet, n: int, since: dt.datetime):
        super().__init__(env, n, since)
        self.fleet = fleet

    def run(self) -> None:
        try:
            with psycopg.connect(self.env.dsn(SERVICE), autocommit=True) as conn:
                self.applied_at_kill = self._wait_applied(conn, self.kill_at)
                self.killed_at = scaling.utc_now()
                self.killed = self.fleet.kill(KILLED)
                self.applied_at_term = self._wait_applied(conn, self.applied_at_kill + 1)
                self.terminated_at = scaling.utc_now()
                grace = float(str(compose_spec(SERVICE)["stop_grace_period"]).rstrip("s"))
                self.terminated = self.fleet.terminate(TERMINATED, grace)
        except BaseException as exc:  # re-raised by the test
            self.error = exc


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_three_student_containers_share_a_burst_and_survive_kill_and_term(env, fleet: Fleet, usager, make_usager,
                                                                          seed, db, applied_effects):
    student = db(SERVICE)
    persons: list[dict[str, Any]] = []
    for _ in range(10):
        persons += [p for p in seed(300) if SERVICE in p["records"]]
        if len(persons) >= BURST + TAIL:
            break
    assert len(persons) >= BURST + TAIL, f"mdv-seed gave only {len(persons)} persons known in {SERVICE}"
    death_date = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    bodies = [declaration_for(p, "child", death_date=death_date) for p in persons[:BURST]]
    tail_bodies = [declaration_for(p, "child", death_date=death_date) for p in persons[BURST:BURST + TAIL]]

    scaled_at = scaling.utc_now() - dt.timedelta(minutes=30)
    settle_seconds = scaling.warm_up(env, make_usager, student)
    start_offsets = end_offsets(env.kafka_brokers, scaling.TOPIC)
    burst_started = time.monotonic()
    burst_started_utc = scaling.utc_now()
    stopper = ContainerStopper(env, fleet, BURST, burst_started_utc)
    stopper.start()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            ids = list(pool.map(usager.declare_ok, bodies))
        burst_seconds = time.monotonic() - burst_started
        stopper.join(timeout=600)
    finally:
        stopper.done.set()
    assert not stopper.is_alive(), "the stopper did not return"
    if stopper.error:
        raise stopper.error
    assert len(set(ids)) == BURST
    # The tail, once both are stopped: a SIGTERMed container finishes the
    # batch in its hands, sometimes all that was left on its partitions; the
    # tail leaves its heir work to take over (test_scaling does the same).
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        tail_ids = list(pool.map(usager.declare_ok, tail_bodies))
    every_id = ids + tail_ids
    assert len(set(every_id)) == BURST + TAIL

    finals = wait_all_final(usager, every_id, FINAL_TIMEOUT, f"{KILLED} killed, {TERMINATED} stopped")
    all_final_seconds = time.monotonic() - burst_started

    instances = [f"{SERVICE}-{k}" for k in range(1, INSTANCES + 1)]
    for instance in instances:
        fleet.dump_log(instance)
    effects = scaling.applied(student, every_id)
    split = effects_by_instance(student, every_id)
    partition_of = scaling.journey_partitions(env, instances, scaled_at)
    killed_partitions = scaling.assigned_partitions(env, KILLED, scaled_at, stopper.killed_at)
    terminated_partitions = scaling.assigned_partitions(env, TERMINATED, scaled_at, stopper.terminated_at)
    on_topic = {m.headers["mdv_journey_id"]: (m.partition, m.offset)
                for m in read_topic(env.kafka_brokers, scaling.TOPIC, start_offsets)
                if m.headers.get("ce_type") == scaling.DEATH_RECORDED and m.headers.get("mdv_journey_id") in set(ids)}
    applied_at = {j: a for j, _, a in effects}
    left_at_kill = scaling.left_at(on_topic, applied_at, killed_partitions, stopper.killed_at)
    left_at_term = scaling.left_at(on_topic, applied_at, terminated_partitions, stopper.terminated_at)
    kill_takeover, kill_heir = scaling.takeover_seconds(effects, partition_of, killed_partitions, KILLED,
                                                        stopper.killed_at)
    term_takeover, term_heir = scaling.takeover_seconds(effects, partition_of, terminated_partitions, TERMINATED,
                                                        stopper.terminated_at)
    finished_in_hand = sum(1 for _, i, a in effects if i == TERMINATED and a > stopper.terminated_at)
    server = [(scaling.parse_time(j["updated_at"]) - scaling.parse_time(j["created_at"])).total_seconds()
              for j in finals.journeys.values()]
    counted = {s: sum(applied_effects(s, every_id).values()) for s in ("identity", "student", "housing", "abroad")}
    delivered = dict(db("partners").execute(
        "SELECT partner, count(*) FROM deliveries WHERE journey_id::text = ANY(%s) AND status = 'delivered'"
        " GROUP BY partner", (every_id,)).fetchall())
    total = BURST + TAIL

    def takeover(seconds, heir) -> str:
        return f"{seconds:.2f} s (by {heir})" if seconds is not None else "n/a"

    lines = [
        f"[containers] {scaling.utc_now().isoformat(timespec='seconds')}",
        f"  every service as its image ({os.environ.get('MDV_CONTAINER_ENGINE', 'podman')}, host network),"
        f" {INSTANCES} containers of {SERVICE}; every one applying effects {settle_seconds:.2f} s after the warm-up"
        " began",
        f"  burst: {BURST} bereavement declarations over {WORKERS} connections, posted in {burst_seconds:.2f} s",
        f"  {KILLED} SIGKILL once {stopper.applied_at_kill} effects were applied: exit {stopper.killed.exit_code};"
        f" it held partitions {sorted(killed_partitions)} ({left_at_kill} declarations there not applied yet),"
        f" taken over after {takeover(kill_takeover, kill_heir)}",
        f"  {TERMINATED} SIGTERM once {stopper.applied_at_term} were: exit {stopper.terminated.exit_code}"
        f" {stopper.terminated.seconds:.2f} s after the signal; it held partitions {sorted(terminated_partitions)}"
        f" ({left_at_term} there not applied yet; it applied {finished_in_hand} of them before it exited),"
        f" taken over after {takeover(term_takeover, term_heir)}",
        f"  tail: {TAIL} declarations posted once both were stopped",
        "  split of the burst's effects: " + ", ".join(f"{i} {n}" for i, n in split.items()),
        "  effects counted per journey: " + ", ".join(f"{s} {n}/{total}" for s, n in counted.items()),
        "  webhook deliveries received by the simulators' containers: "
        + ", ".join(f"{p} {delivered.get(p, 0)}/{total}" for p in webhook_partners()),
        f"  declaration to completed journey: median {statistics.median(server):.3f} s,"
        f" p95 {percentile(server, 0.95):.3f} s, worst {max(server):.3f} s;"
        f" all {BURST} + {TAIL} final {all_final_seconds:.2f} s after the burst started",
    ]
    record_figures(env, lines)

    assert killed_partitions and terminated_partitions, (killed_partitions, terminated_partitions)
    # The SIGKILL interrupts work; the SIGTERM'd container may have had
    # nothing left on its partitions (it finishes the batch it holds): the
    # tail is what its heir takes over (as in test_scaling).
    assert left_at_kill > 0, (left_at_kill, left_at_term)
    soonest = scaling.SESSION_TIMEOUT - scaling.HEARTBEAT_INTERVAL
    assert kill_takeover is not None and kill_takeover >= soonest, (kill_takeover, kill_heir)
    assert term_takeover is not None and term_takeover >= soonest, (term_takeover, term_heir)
    for journey_id in every_id:
        journey = finals.journeys[journey_id]
        assert steps_by_code(journey)[STEP_STUDENT]["status"] == "done", summarise(journey)
        assert journey["status"] == "completed", summarise(journey)
    assert_one_effect_per_journey(applied_effects, every_id)
    assert {p: delivered.get(p, 0) for p in webhook_partners()} == {p: total for p in webhook_partners()}
    assert len([i for i, n in split.items() if n > 0]) >= 2, f"one container did everything: {split}"
    assert set(split) <= set(instances), split
    assert stopper.killed.exit_code == 137, stopper.killed
    assert stopper.terminated.exit_code == 0, stopper.terminated
    assert stopper.terminated.seconds <= scaling.SHUTDOWN_BOUND, stopper.terminated
    assert fleet.last_message(TERMINATED) == "stopped", fleet.logs(fleet.name(TERMINATED))[-2000:]
