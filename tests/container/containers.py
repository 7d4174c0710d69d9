"""The services as containers of their images, on the host's network, with
the environment docker-compose.yml gives each (read from the file, not
repeated here), against the local stack's PostgreSQL and Kafka.

Compose's ${VAR:-default} take the values an operator gives (Fleet.variables:
the sign-in at the stack's OpenID provider, as the README says), else their
defaults. On the host's network a compose name (`postgres`, `kafka`,
`identity`) means nothing and every replica shares one port space and one
host name, so exactly five things differ from the compose file, and only
these (HOST_NETWORK_OVERRIDES): the broker and database addresses,
identity's URL (the gateway's), the HTTP port (the stack's port of that
instance), and MDV_INSTANCE_ID (compose leaves it to <service>-<hostname>,
which the host's network would make the same for every replica). A webhook
partner's simulator has three such settings among its arguments
(SIMULATOR_HOST_NETWORK_OPTIONS): the address it listens on (the port
stack.sh gives it), the URL it registers and the partners service's URL.
The files compose mounts are mounted at the same paths: the principal's
certificate (the stack's, made by stack.sh) at /etc/mdv/tls, each secret
at /run/secrets as the stack's file of the same name (the public keys, the
services' private key with the group and mode the README's snippet gives
it, a webhook simulator's token).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mdv_e2e import log_records

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if p.is_dir())
SERVICE_ORDER = ("gateway", "identity", "student", "bereavement", "housing", "abroad", "partners")
IMAGE_UID = 10001
HOST_NETWORK_OVERRIDES = {"MDV_KAFKA_BROKERS", "MDV_PG_DSN", "MDV_IDENTITY_URL", "MDV_HTTP_ADDR", "MDV_INSTANCE_ID"}
SIMULATOR_HOST_NETWORK_OPTIONS = {"--listen", "--url", "--api"}
PARTNERS_TSV = REPO / "services" / "partners" / "rules" / "partners.tsv"
STACK_SH = REPO / "deploy" / "local" / "stack.sh"
# A webhook simulator's token, as the README's loop mints it.
TOKEN_TTL_S = 31536000
README = REPO / "README.md"


def engine() -> list[str]:
    """The engine command with its global flags (deploy/container/engine.sh)."""
    name = os.environ.get("MDV_CONTAINER_ENGINE", "podman")
    if name == "podman" and shutil.which("runc"):
        return ["podman", "--runtime", "runc"]
    return [name]


def run_flags() -> list[str]:
    if os.environ.get("MDV_CONTAINER_ENGINE", "podman") == "podman":
        return ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
    return []


def engine_run(*args: str, timeout: float = 120, check: bool = True,
               stdin: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(engine() + list(args), capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}... exited {proc.returncode}: {proc.stderr.strip()[-600:]}")
    return proc


# --------------------------------------------------------------------------
# The compose file


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: Any, variables: dict[str, str] | None = None) -> str:
    """Compose's ${VAR:-default}: VAR's value in variables (the environment
    compose would run in) when set and not empty, else its default; $$ as $."""
    given = variables or {}
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}", lambda m: given.get(m.group(1)) or m.group(2),
                  str(value))
    return text.replace("$$", "$")


def compose_environment(name: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    return {k: interpolate(v, variables) for k, v in (compose()["services"][name].get("environment") or {}).items()}


def compose_spec(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def partner_channels() -> dict[str, str]:
    """{partner: kafka|webhook} of services/partners/rules/partners.tsv."""
    rows = [line.split("\t") for line in PARTNERS_TSV.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    return {row[0]: row[2] for row in rows}


def webhook_partners() -> list[str]:
    return sorted(p for p, channel in partner_channels().items() if channel == "webhook")


def stack_simulator_offsets() -> dict[str, int]:
    """{partner: port offset} stack.sh gives the webhook simulators."""
    m = re.search(r"^declare -A SIM_PORT_OFFSET=\(([^)]*)\)", STACK_SH.read_text(), re.M)
    assert m, "stack.sh has no SIM_PORT_OFFSET"
    return {k: int(v) for k, v in re.findall(r"\[(\w+)\]=(\d+)", m.group(1))}


def command_options(name: str) -> dict[str, str]:
    args = [interpolate(a) for a in compose_spec(name)["command"]]
    return {a: args[i + 1] for i, a in enumerate(args) if a.startswith("--")}


def readme_key_permissions() -> dict[str, tuple[int | None, int | None]]:
    """{file: (gid, mode)} that the README's key snippet gives a file by its
    name (what the gateway reads itself: the image's group, 0640)."""
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", README.read_text(), re.S) if "openssl ecparam" in b]
    assert len(blocks) == 1, f"{len(blocks)} README blocks make keys"
    found: dict[str, tuple[int | None, int | None]] = {}
    for command, index in (("chgrp", 0), ("chmod", 1)):
        for arg, files in re.findall(rf"\b{command} (\d+) ([^&;\n]+)", blocks[0]):
            for file in (f for f in files.split() if "$" not in f):
                pair = list(found.get(file, (None, None)))
                pair[index] = int(arg) if command == "chgrp" else int(arg, 8)
                found[file] = (pair[0], pair[1])
    return found


def tls_subpath(name: str) -> tuple[str, str]:
    """(principal, mount point) of the kafka-tls folder compose mounts."""
    [mount] = [v for v in compose_spec(name).get("volumes", [])
               if isinstance(v, dict) and v.get("source") == "kafka-tls"]
    return mount["volume"]["subpath"], mount["target"]


# --------------------------------------------------------------------------
# Containers


@dataclass
class Stop:
    name: str
    signal: str
    exit_code: int
    seconds: float  # from the signal to the container's exit (the engine's FinishedAt)


class Fleet:
    """The containers of one test stack, labelled with its folder."""

    def __init__(self, stack_dir: Path, port_base: int, kafka: str, pg_host: str, pg_port: str):
        self.stack_dir, self.base = stack_dir, port_base
        self.kafka, self.pg_host, self.pg_port = kafka, pg_host, pg_port
        self.tag = os.environ.get("MDV_IMAGE_TAG", "dev")
        self.label = f"mdv.test-stack={stack_dir}"
        self.names: list[str] = []
        # The environment compose runs in, for its ${VAR:-default}: sign-in
        # at the stack's OpenID provider, as the README sets it.
        self.variables = {
            "MDV_OIDC_ISSUER": os.environ["MDV_OIDC_URL"],
            "MDV_OIDC_CLIENT_ID": os.environ["MDV_OIDC_CLIENT_ID"],
            "MDV_OIDC_REDIRECT_URI": f"http://127.0.0.1:{self.port('gateway')}/auth/callback",
            "MDV_OIDC_POST_LOGOUT_URI": f"http://127.0.0.1:{self.port('gateway')}/",
        }

    def port(self, service: str, k: int = 1) -> int:
        return self.base + 10 + SERVICE_ORDER.index(service) + 10 * (k - 1)

    def name(self, who: str) -> str:
        return f"mdv-ct{self.base}-{who}"

    def tls_folder(self, principal: str) -> Path:
        """The stack's certificate of a principal, laid out as the compose
        volume's folder and owned by the images' user."""
        folder = self.stack_dir / "container-tls" / principal
        if not folder.exists():
            folder.mkdir(parents=True)
            src = self.stack_dir / "tls"
            for source, target in (("ca.crt", "ca.crt"), (f"{principal}.crt", "client.crt"),
                                   (f"{principal}.key", "client.key")):
                shutil.copyfile(src / source, folder / target)
                os.chmod(folder / target, 0o600)
                os.chown(folder / target, IMAGE_UID, IMAGE_UID)
            os.chmod(folder, 0o700)
            os.chown(folder, IMAGE_UID, IMAGE_UID)
        return folder

    def environment(self, compose_name: str, service: str | None = None, k: int = 1) -> dict[str, str]:
        """What compose gives the container, with the host network's overrides."""
        env = compose_environment(compose_name, self.variables)
        env["MDV_KAFKA_BROKERS"] = self.kafka
        if service:
            env["MDV_PG_DSN"] = re.sub(r"host=\S+ port=\S+", f"host={self.pg_host} port={self.pg_port}",
                                       env["MDV_PG_DSN"])
            env["MDV_HTTP_ADDR"] = f"127.0.0.1:{self.port(service, k)}"
            if "MDV_IDENTITY_URL" in env:
                env["MDV_IDENTITY_URL"] = re.sub(r"//[^/]+", f"//127.0.0.1:{self.port('identity')}",
                                                 env["MDV_IDENTITY_URL"], count=1)
            env["MDV_INSTANCE_ID"] = f"{service}-{k}"
        return env

    def security_flags(self, compose_name: str) -> list[str]:
        """read_only, tmpfs, cap_drop, security_opt of the compose service."""
        spec = compose_spec(compose_name)
        flags = ["--read-only"] if spec.get("read_only") else []
        for path in spec.get("tmpfs", []):
            flags += ["--tmpfs", path]
        for cap in spec.get("cap_drop", []):
            flags += ["--cap-drop", cap]
        for opt in spec.get("security_opt", []):
            flags += ["--security-opt", opt.replace(":true", "")]
        return flags

    def secret_mounts(self, compose_name: str) -> list[tuple[Path, str]]:
        """Each secret compose mounts, from the stack's keys folder: the file
        of the same name as compose's (jwt-public.pem, caf.token...)."""
        mounts = []
        for secret in compose_spec(compose_name).get("secrets", []):
            source = secret["source"] if isinstance(secret, dict) else secret
            target = secret.get("target", source) if isinstance(secret, dict) else secret
            file = Path(compose()["secrets"][source]["file"]).name
            mounts.append((self.stack_dir / "keys" / file, f"/run/secrets/{target}"))
        return mounts

    def prepare_keys(self) -> None:
        """The stack's keys as the README's snippet leaves compose's (the
        services' private key readable by the image's group): a file secret
        is mounted with its host owner and mode."""
        for file, (gid, mode) in readme_key_permissions().items():
            path = self.stack_dir / "keys" / file
            if gid is not None:
                os.chown(path, -1, gid)
            if mode is not None:
                os.chmod(path, mode)

    def _run(self, who: str, image: str, env: dict[str, str], mounts: list[tuple[Path, str]],
             flags: list[str], args: list[str], detach: bool = True,
             stdin: str | None = None) -> subprocess.CompletedProcess:
        name = self.name(who)
        argv = ["run", "--name", name, "--label", self.label, "--network", "host", *run_flags(), *flags]
        if detach:
            argv.append("-d")
        else:
            argv.append("--rm")
        if stdin is not None:
            argv.append("-i")
        for key, value in env.items():
            argv += ["-e", f"{key}={value}"]
        for source, target in mounts:
            argv += ["-v", f"{source}:{target}:ro"]
        proc = engine_run(*argv, image, *args, timeout=300, check=detach, stdin=stdin)
        if detach:
            self.names.append(name)
        return proc

    def start_service(self, service: str, k: int = 1) -> str:
        principal, target = tls_subpath(service)
        assert principal == service
        mounts = [(self.tls_folder(principal), target)] + self.secret_mounts(service)
        self._run(f"{service}-{k}", f"mdv/{service}:{self.tag}", self.environment(service, service, k), mounts,
                  self.security_flags(service), [])
        return self.name(f"{service}-{k}")

    def start_simulator(self, partner: str) -> str:
        compose_name = f"simulator-{partner}"
        if partner in webhook_partners():
            return self.start_webhook_simulator(partner)
        spec = compose_spec(compose_name)
        principal, target = tls_subpath(compose_name)
        self._run(compose_name, f"mdv/tools:{self.tag}", self.environment(compose_name),
                  [(self.tls_folder(principal), target)], self.security_flags(compose_name)
                  + ["--entrypoint", spec["entrypoint"][0]], [interpolate(a) for a in spec["command"]])
        return self.name(compose_name)

    # ------------------------------------------------------------ webhook partners

    def simulator_port(self, partner: str) -> int:
        """The port stack.sh gives the partner's simulator."""
        return self.base + stack_simulator_offsets()[partner]

    def simulator_options(self, partner: str, port: int | None = None) -> dict[str, str]:
        """compose's options, with the host network's three changed."""
        options = command_options(f"simulator-{partner}")
        port = port or self.simulator_port(partner)
        options["--listen"] = f"127.0.0.1:{port}"
        options["--url"] = re.sub(r"//[^/]+", f"//127.0.0.1:{port}", options["--url"], count=1)
        options["--api"] = f"http://127.0.0.1:{self.port('partners')}"
        return options

    def simulator_healthcheck(self, partner: str, port: int | None = None) -> list[str]:
        """compose's health check of the simulator, on its host port."""
        compose_name = f"simulator-{partner}"
        test = compose_spec(compose_name)["healthcheck"]["test"]
        assert test[0] == "CMD", test
        listen = command_options(compose_name)["--listen"].rpartition(":")[2]
        port = port or self.simulator_port(partner)
        return [re.sub(rf"127\.0\.0\.1:{listen}/", f"127.0.0.1:{port}/", a) for a in test[1:]]

    def mint_token(self, partner: str, file: str, ttl: int = TOKEN_TTL_S) -> Path:
        """A partner's token as the README's loop makes it: compose's token
        tool, the partners' private key on its standard input; the file
        readable by the images' user, as the README's chmod leaves it."""
        spec = compose_spec("token")
        key = (self.stack_dir / "keys" / "partner-jwt-private.pem").read_text()
        proc = self._run(f"token-{partner}", f"mdv/tools:{self.tag}", compose_environment("token"), [],
                         ["--entrypoint", spec["entrypoint"][0]], ["--partner", partner, "--ttl", str(ttl)],
                         detach=False, stdin=key)
        assert proc.returncode == 0 and proc.stdout.count(".") == 2, proc.stderr[-1000:]
        path = self.stack_dir / "keys" / file
        path.write_text(proc.stdout)
        os.chmod(path, 0o644)
        return path

    def mint_service_token(self, service: str) -> str:
        """A service's token as compose's token tool mints it (README), the
        services' private key on its standard input."""
        spec = compose_spec("token")
        key = (self.stack_dir / "keys" / "service-jwt-private.pem").read_text()
        proc = self._run(f"token-{service}", f"mdv/tools:{self.tag}", compose_environment("token"), [],
                         ["--entrypoint", spec["entrypoint"][0]], ["--service", service], detach=False, stdin=key)
        assert proc.returncode == 0 and proc.stdout.count(".") == 2, proc.stderr[-1000:]
        return proc.stdout.strip()

    def start_webhook_simulator(self, partner: str, who: str | None = None, port: int | None = None,
                                mounts: list[tuple[Path, str]] | None = None) -> str:
        """The webhook simulator as compose runs it: its command with the
        host network's options, its token secret, compose's lockdown."""
        compose_name = f"simulator-{partner}"
        spec = compose_spec(compose_name)
        args = [part for option, value in self.simulator_options(partner, port).items()
                for part in (option, value)]
        self._run(who or compose_name, f"mdv/tools:{self.tag}", {},
                  mounts if mounts is not None else self.secret_mounts(compose_name),
                  self.security_flags(compose_name) + ["--entrypoint", spec["entrypoint"][0]], args)
        return self.name(who or compose_name)

    def run_tool(self, who: str, entrypoint: str, env: dict[str, str], args: list[str],
                 mounts: list[tuple[Path, str]] | None = None, flags: list[str] | None = None
                 ) -> subprocess.CompletedProcess:
        """A one-shot container of the tools image; its result."""
        return self._run(who, f"mdv/tools:{self.tag}", env, mounts or [],
                         (flags or []) + ["--entrypoint", entrypoint], args, detach=False)

    # ------------------------------------------------------------ inspection

    def inspect(self, name: str, fmt: str) -> str:
        return engine_run("inspect", "--format", fmt, name).stdout.strip()

    def running(self, name: str) -> bool:
        return self.inspect(name, "{{.State.Running}}") == "true"

    def exit_code(self, name: str) -> int:
        return int(self.inspect(name, "{{.State.ExitCode}}"))

    def healthcheck(self, name: str) -> bool:
        """The image's own HEALTHCHECK, run now."""
        if engine()[0] == "podman":
            return engine_run("healthcheck", "run", name, check=False).returncode == 0
        return self.inspect(name, "{{.State.Health.Status}}") == "healthy"

    def exec(self, name: str, *argv: str) -> subprocess.CompletedProcess:
        return engine_run("exec", name, *argv, check=False)

    def logs(self, name: str) -> str:
        proc = engine_run("logs", name, check=False)
        return proc.stdout + proc.stderr

    def dump_log(self, instance: str) -> Path:
        """The container's log where the stack keeps an instance's log
        (logs/NAME.log for instance 1, logs/NAME-K.log), so that the
        process-level tests' log readers read it."""
        service, _, k = instance.partition("-")
        path = self.stack_dir / "logs" / f"{service if k in ('', '1') else instance}.log"
        path.write_text(self.logs(self.name(instance)), encoding="utf-8")
        return path

    # ------------------------------------------------------------ stopping

    def _wait_exit(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.running(name):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still running {timeout:.0f} s after its signal")
            time.sleep(0.05)

    def finished_at(self, name: str) -> dt.datetime:
        """When the container's process exited, as the engine recorded it."""
        text = self.inspect(name, "{{.State.FinishedAt}}")
        m = re.match(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?", text)
        assert m, f"{name}: FinishedAt {text!r}"
        micro = (m.group(3) or "0")[:6].ljust(6, "0")
        return dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{micro}+00:00")

    def _stopped(self, name: str, signal: str, sent: dt.datetime) -> Stop:
        return Stop(name, signal, self.exit_code(name), (self.finished_at(name) - sent).total_seconds())

    def kill(self, instance: str) -> Stop:
        name = self.name(instance)
        sent = dt.datetime.now(dt.timezone.utc)
        engine_run("kill", "--signal", "KILL", name)
        self._wait_exit(name, 60)
        return self._stopped(name, "KILL", sent)

    def terminate(self, instance: str, grace: float) -> Stop:
        """SIGTERM (the image's STOPSIGNAL), SIGKILL after `grace` seconds,
        as compose's stop_grace_period."""
        name = self.name(instance)
        sent = dt.datetime.now(dt.timezone.utc)
        engine_run("stop", "--time", str(int(grace)), name, timeout=grace + 60)
        return self._stopped(name, "TERM", sent)

    def last_message(self, instance: str) -> str | None:
        """The "message" of the container's last JSON log line."""
        records = log_records(self.dump_log(instance))
        return records[-1].get("message") if records else None

    def remove(self, name: str) -> None:
        engine_run("rm", "-f", "-t", "0", name, check=False)

    def remove_all(self) -> None:
        ids = engine_run("ps", "-aq", "--filter", f"label={self.label}", check=False).stdout.split()
        if ids:
            engine_run("rm", "-f", "-t", "0", *ids, check=False)
