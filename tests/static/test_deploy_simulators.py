"""Static checks of the partners' simulators in the compose file against the
local stack: every partner of services/partners/rules/partners.tsv, on
Kafka or on webhooks, has its simulator in compose (simulator-<id>, the
tools image's mdv-simulator), given the options deploy/local/stack.sh
gives it. A webhook simulator listens on its own port, registers a URL
that names its compose service on that port, calls the partners service
where compose serves it, reads its token from its own secret (a file of
deploy/container/keys/, which git and the image builds ignore), and is
healthy by its /readyz on that port. Reads files, runs nothing.
"""

import re
import sys
from urllib.parse import urlsplit

import pytest

from test_deploy import (
    COMPOSE,
    DOCKERFILE,
    HTTP_PORT,
    READINESS,
    REPO,
    STACK_SH,
    compose_doc,
    compose_env,
    compose_services,
    df_by_name,
)

PARTNERS_TSV = REPO / "services" / "partners" / "rules" / "partners.tsv"
SIMULATOR = "/usr/local/bin/mdv-simulator"
# What compose adds to stack.sh's options: on the host, the address a
# simulator listens on is the URL it registers; in compose it listens on
# 0.0.0.0 and is reached by its service's name.
COMPOSE_ONLY_OPTIONS = {"webhook": {"--url"}, "kafka": set()}


def partners():
    """{partner: (channel, consumer group)} of partners.tsv."""
    found = {}
    for line in PARTNERS_TSV.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        found[fields[0]] = (fields[2], fields[3])
    return found


def stack_function(name):
    body = re.search(rf"^{name}\(\) \{{\n(.*?)^\}}", STACK_SH.read_text(), re.M | re.S)
    assert body, f"stack.sh has no function {name}"
    return body.group(1)


def stack_simulator_options(channel):
    """{option: its value as stack.sh writes it} of the mdv-simulator
    command stack.sh spawns for a partner of that channel."""
    body = stack_function("sim_start_webhook" if channel == "webhook" else "sim_start")
    command = re.search(r'"\$BIN/mdv-simulator"(.*?)(?<!\\)\n', body, re.S)
    assert command, f"stack.sh spawns no mdv-simulator for a partner on {channel}"
    return dict(re.findall(r'(--[a-z-]+) ("[^"]*"|\S+)', command.group(1)))


def command_options(name):
    args = compose_services()[name]["command"]
    options = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            assert i + 1 < len(args) and not args[i + 1].startswith("--"), f"{name}: {arg} has no value"
            options[arg] = args[i + 1]
    return options


def webhook_partners():
    return sorted(p for p, (channel, _) in partners().items() if channel == "webhook")


def host_port(value):
    host, _, port = value.rpartition(":")
    return host, int(port)


def healthcheck_url(name):
    test = compose_services()[name]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "curl" and "-f" in "".join(test[2:-1]), test
    return urlsplit(test[-1])


# --------------------------------------------------------------------------
# Every partner


@pytest.mark.parametrize("partner", sorted(partners()))
def test_compose_runs_a_simulator_for_every_partner_with_stack_sh_s_options(partner):
    name = f"simulator-{partner}"
    spec = compose_services().get(name)
    assert spec, f"compose has no {name}"
    assert spec["entrypoint"] == [SIMULATOR]
    assert spec["build"]["target"] == "tools" and "tools" in df_by_name()
    assert f"--partner {partner}" in " ".join(spec["command"])
    channel, _ = partners()[partner]
    stack = stack_simulator_options(channel)
    given = command_options(name)
    assert set(given) == set(stack) | COMPOSE_ONLY_OPTIONS[channel], (
        f"compose {name} gives {sorted(given)}, stack.sh {sorted(stack)}"
    )
    # The same delay as the local stack's, from the same variable.
    assert given["--delay-ms"] == stack["--delay-ms"].strip('"') == "${MDV_SIM_DELAY_MS:-0}"
    assert str(spec.get("restart")) == "unless-stopped"
    assert spec.get("read_only") is True and spec.get("cap_drop") == ["ALL"]


# --------------------------------------------------------------------------
# Webhook partners


@pytest.mark.parametrize("partner", webhook_partners())
def test_a_webhook_simulator_registers_its_compose_name_on_the_port_it_listens_on(partner):
    name = f"simulator-{partner}"
    given = command_options(name)
    host, port = host_port(given["--listen"])
    assert host == "0.0.0.0", f"compose {name} must listen where the other containers reach it"
    url = urlsplit(given["--url"])
    assert (url.scheme, url.hostname, url.port, url.path) == ("http", name, port, "/webhook")
    check = healthcheck_url(name)
    assert (check.hostname, check.port, check.path) == ("127.0.0.1", port, READINESS)
    # Its own port: none of another simulator's nor the services'.
    others = {
        host_port(command_options(f"simulator-{p}")["--listen"])[1]
        for p in webhook_partners()
        if p != partner
    }
    assert port not in others | {HTTP_PORT}


@pytest.mark.parametrize("partner", webhook_partners())
def test_a_webhook_simulator_calls_the_partners_service_where_compose_serves_it(partner):
    name = f"simulator-{partner}"
    api = urlsplit(command_options(name)["--api"])
    _, partners_port = host_port(compose_env("partners")["MDV_HTTP_ADDR"])
    assert (api.scheme, api.hostname, api.port, api.path) == ("http", "partners", partners_port, "")
    assert compose_services()[name]["depends_on"]["partners"]["condition"] == "service_healthy"


@pytest.mark.parametrize("partner", webhook_partners())
def test_a_webhook_simulator_reads_its_own_token_from_a_secret_git_ignores(partner):
    name = f"simulator-{partner}"
    token_file = command_options(name)["--token-file"]
    secrets = {s.get("target", s["source"]): s["source"] for s in compose_services()[name]["secrets"]}
    assert list(secrets) == [f"{partner}.token"], f"compose {name} mounts {sorted(secrets)}"
    assert token_file == f"/run/secrets/{partner}.token"
    source = compose_doc()["secrets"][secrets[f"{partner}.token"]]["file"]
    assert source == f"./deploy/container/keys/{partner}.token"
    assert "/deploy/container/keys/" in (REPO / ".gitignore").read_text()
    assert "deploy/container/keys/" in (REPO / ".dockerignore").read_text().splitlines()
    # No other container holds it.
    holders = [
        n
        for n, spec in compose_services().items()
        if any(s["source"] == secrets[f"{partner}.token"] for s in spec.get("secrets", []) if isinstance(s, dict))
    ]
    assert holders == [name]


def test_the_token_tool_mints_for_the_issuer_and_audience_the_partners_service_checks():
    token_env = compose_env("token")
    for name in ("MDV_PARTNER_JWT_ISSUER", "MDV_PARTNER_JWT_AUDIENCE"):
        assert token_env[name] == compose_env("partners")[name], f"token and partners disagree on {name}"


def test_the_files_were_read():
    # Guards the checks above against files that no longer parse as expected.
    assert COMPOSE.exists() and DOCKERFILE.exists()
    assert webhook_partners() and len(partners()) > len(webhook_partners())
    assert {"--listen", "--api", "--token-file", "--partner"} <= set(stack_simulator_options("webhook"))
    assert {"--group", "--partner"} <= set(stack_simulator_options("kafka"))


def test_the_container_runner_changes_only_the_simulator_options_a_host_network_changes():
    """tests/container runs a webhook simulator with compose's command but
    these three options: where it listens, the URL it registers (both on
    the port stack.sh gives it) and the partners service's URL."""
    sys.path.insert(0, str(REPO / "tests" / "container"))
    sys.path.insert(0, str(REPO / "tests" / "e2e"))
    from containers import SIMULATOR_HOST_NETWORK_OPTIONS

    assert SIMULATOR_HOST_NETWORK_OPTIONS == {"--listen", "--url", "--api"}
    assert SIMULATOR_HOST_NETWORK_OPTIONS <= set(stack_simulator_options("webhook")) | COMPOSE_ONLY_OPTIONS["webhook"]
