"""Static checks of the broker's TLS and ACL set-up wherever a broker or a
client is described: the local stack (deploy/local/stack.sh,
deploy/local/kafka/server.properties.in, acls.tsv), the compose file, the
Kubernetes manifests (deploy/k8s, and the trial broker of
deploy/k8s/optional/kafka.yaml), the image that makes the certificates and
applies the ACLs (deploy/Dockerfile's `tools`, deploy/container/certs.sh).

They agree: every principal the ACLs name has a certificate everywhere, every
Kafka client gets its own certificate and only its own, the brokers have no
plaintext listener and the same authentication and authorization settings,
and every partner on Kafka has its simulator in compose. Reads files, runs
nothing.
"""

import functools
import re

import pytest
import yaml

from test_deploy import (
    COMPOSE,
    K8S,
    REPO,
    SERVICES,
    STACK_SH,
    bash_array,
    compose_env,
    compose_services,
    env_value,
    k8s_get,
    main_container,
    ops_of,
    statefulset,
)

ACLS = REPO / "deploy" / "local" / "kafka" / "acls.tsv"
SERVER_PROPERTIES = REPO / "deploy" / "local" / "kafka" / "server.properties.in"
CERTS_SH = REPO / "deploy" / "container" / "certs.sh"
PARTNERS_TSV = REPO / "services" / "partners" / "rules" / "partners.tsv"
K8S_KAFKA = K8S / "optional" / "kafka.yaml"

TLS_VOLUME = "kafka-tls"
SSL_VARS = (
    "MDV_KAFKA_SSL_CA_LOCATION",
    "MDV_KAFKA_SSL_CERTIFICATE_LOCATION",
    "MDV_KAFKA_SSL_KEY_LOCATION",
)


# --------------------------------------------------------------------------
# What the local stack says


@functools.cache
def acl_lines():
    """(principals, operations, resource, pattern, name) of each ACL line."""
    lines = []
    for raw in ACLS.read_text().splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        principals, operations, resource, pattern, name = raw.split()
        lines.append((principals.split(","), operations.split(","), resource, pattern, name))
    return lines


def acl_principals():
    return {p for line in acl_lines() for p in line[0]}


def allowed(principal, operation, resource, name):
    for principals, operations, kind, pattern, value in acl_lines():
        if principal in principals and operation in operations and kind == resource:
            if value == name or (pattern == "prefixed" and name.startswith(value)):
                return True
    return False


@functools.cache
def local_broker():
    props = {}
    for line in SERVER_PROPERTIES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


def kafka_partners():
    """{partner: consumer group} of the partners on Kafka (partners.tsv)."""
    found = {}
    for line in PARTNERS_TSV.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if fields[2] == "kafka":
            found[fields[0]] = fields[3]
    return found


def stack_client_vars():
    """The MDV_KAFKA_* names stack.sh's kafka_client_env gives a client."""
    body = re.search(r"^kafka_client_env\(\) \{\n(.*?)^\}", STACK_SH.read_text(), re.M | re.S)
    assert body, "stack.sh has no kafka_client_env"
    return set(re.findall(r"^\s*(MDV_KAFKA_[A-Z_]+)=", body.group(1), re.M))


def certs_clients():
    return bash_array(CERTS_SH, "CLIENTS")


def super_users(value):
    return {u.removeprefix("User:") for u in value.split(";") if u}


# --------------------------------------------------------------------------
# Brokers: what each says, as server.properties names


def compose_broker():
    """The compose broker's settings as properties (the apache/kafka image's
    mapping: KAFKA_A_B is a.b), Compose's $$ read as $."""
    env = compose_services()["kafka"]["environment"]
    return {
        k.removeprefix("KAFKA_").lower().replace("_", "."): str(v).replace("$$", "$")
        for k, v in env.items()
        if k.startswith("KAFKA_")
    }


@functools.cache
def k8s_kafka_container():
    [sts] = [d for d in yaml.safe_load_all(K8S_KAFKA.read_text()) if d["kind"] == "StatefulSet"]
    [container] = sts["spec"]["template"]["spec"]["containers"]
    return sts, container


def k8s_broker():
    _, container = k8s_kafka_container()
    return {
        v["name"].removeprefix("KAFKA_").lower().replace("_", "."): str(v["value"])
        for v in container["env"]
        if v["name"].startswith("KAFKA_")
    }


BROKERS = {"local": local_broker, "compose": compose_broker, "k8s-optional": k8s_broker}


def listener_names(value):
    return [item.split("://", 1)[0] for item in value.split(",") if item]


@pytest.mark.parametrize("where", BROKERS)
def test_the_broker_has_tls_listeners_only(where):
    props = BROKERS[where]()
    protocols = dict(item.split(":", 1) for item in props["listener.security.protocol.map"].split(","))
    plain = sorted(name for name, proto in protocols.items() if proto != "SSL")
    assert not plain, f"{where}: listeners that are not TLS: {plain}"
    for key in ("listeners", "advertised.listeners"):
        for name in listener_names(props[key]):
            assert protocols.get(name) == "SSL", f"{where}: {key} has {name}, not a TLS listener"
    assert protocols.get(props["inter.broker.listener.name"]) == "SSL"
    assert protocols.get(props["controller.listener.names"]) == "SSL"


@pytest.mark.parametrize("where", BROKERS)
def test_the_broker_authenticates_and_authorizes_as_the_local_one(where):
    props, local = BROKERS[where](), local_broker()
    for key in (
        "ssl.client.auth",
        "ssl.principal.mapping.rules",
        "authorizer.class.name",
        "allow.everyone.if.no.acl.found",
        "ssl.keystore.type",
        "ssl.truststore.type",
    ):
        assert props.get(key) == local[key], f"{where}: {key}={props.get(key)}, local {local[key]}"
    assert local["ssl.client.auth"] == "required"
    assert local["ssl.principal.mapping.rules"].startswith("RULE:^CN=(.*)$/$1/")
    assert local["authorizer.class.name"].endswith(".StandardAuthorizer")
    assert local["allow.everyone.if.no.acl.found"] == "false"
    assert super_users(props["super.users"]) == super_users(local["super.users"]) == {
        "broker",
        "admin",
    }


@pytest.mark.parametrize("where", BROKERS)
def test_the_broker_has_the_local_ones_threads(where):
    """Threads sized by measurement on two cores (README, Performance):
    Kafka's defaults (3 network threads, 8 request handlers) cost the
    broker about a quarter more CPU per declaration there."""
    props, local = BROKERS[where](), local_broker()
    assert (local.get("num.network.threads"), local.get("num.io.threads")) == ("1", "2")
    assert local.get("metadata.max.idle.interval.ms") == "5000"
    for key in ("num.network.threads", "num.io.threads", "metadata.max.idle.interval.ms"):
        assert props.get(key) == local[key], f"{where}: {key}={props.get(key)}, local {local[key]}"


def test_compose_broker_reads_its_own_folder_of_the_tls_volume():
    mounts = tls_mounts("kafka")
    assert [m["volume"]["subpath"] for m in mounts] == ["broker"]
    target = mounts[0]["target"]
    props = compose_broker()
    for key in ("ssl.keystore.location", "ssl.truststore.location"):
        assert props[key].startswith(target + "/"), f"compose kafka {key} is outside {target}"
    health = " ".join(compose_services()["kafka"]["healthcheck"]["test"])
    assert f"--command-config {target}/client.properties" in health
    assert compose_services()["kafka"]["depends_on"]["certs"]["condition"] == (
        "service_completed_successfully"
    )


# --------------------------------------------------------------------------
# Principals: one list, a certificate and ACL lines for each


def test_stack_and_certs_make_a_certificate_for_the_same_principals():
    stack = bash_array(STACK_SH, "TLS_CLIENTS")
    stack = [s for s in stack if not s.startswith('"${SERVICES')] + bash_array(STACK_SH, "SERVICES")
    assert sorted(stack) == sorted(certs_clients())


def test_every_principal_of_the_acls_has_a_certificate_and_none_is_a_super_user():
    missing = sorted(acl_principals() - set(certs_clients()))
    assert not missing, f"acls.tsv names principals with no certificate: {missing}"
    supers = super_users(local_broker()["super.users"])
    assert not acl_principals() & supers, "a super user needs no ACL line"
    unused = sorted(set(certs_clients()) - acl_principals() - supers)
    assert not unused, f"certificates of principals with no ACL line: {unused}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_may_write_its_topic_and_consume_in_its_group(service):
    assert allowed(service, "write", "topic", f"mdv.{service}.events.v1") or allowed(
        service, "write", "topic", f"mdv.{service}.declarations.v1"
    ), f"acls.tsv: {service} may not write its own topic"
    assert allowed(service, "read", "group", f"mdv-{service}")
    assert allowed(service, "write", "topic", "mdv.dlq.v1")


@pytest.mark.parametrize("partner", sorted(kafka_partners()))
def test_every_partner_on_kafka_reads_its_topic_in_its_group(partner):
    assert partner in certs_clients()
    assert allowed(partner, "read", "topic", f"mdv.partner.{partner}.v1")
    assert allowed(partner, "write", "topic", f"mdv.partner.{partner}.outcomes.v1")
    assert allowed(partner, "read", "group", kafka_partners()[partner])


# --------------------------------------------------------------------------
# Compose: every client with its own certificate


def tls_mounts(name):
    return [
        v
        for v in compose_services()[name].get("volumes", [])
        if isinstance(v, dict) and v.get("source") == TLS_VOLUME
    ]


def compose_kafka_clients():
    """{compose service: the principal it must connect as}."""
    clients = {s: s for s in SERVICES}
    clients["init"] = "admin"
    clients.update({f"simulator-{p}": p for p in kafka_partners()})
    return clients


@pytest.mark.parametrize("name", sorted(compose_kafka_clients()))
def test_compose_client_connects_with_its_own_certificate(name):
    principal = compose_kafka_clients()[name]
    env = compose_env(name)
    assert str(env.get("MDV_KAFKA_SECURITY_PROTOCOL")).lower() == "ssl", name
    assert set(SSL_VARS) <= set(env), f"compose {name} lacks {set(SSL_VARS) - set(env)}"
    given = {n for n in env if n.startswith("MDV_KAFKA_") and n not in ("MDV_KAFKA_BROKERS",)}
    # Every MDV_KAFKA_* variable goes to librdkafka as a property: nothing
    # else may carry that prefix (init's ACL file is MDV_INIT_ACLS_FILE).
    assert given == stack_client_vars(), (
        f"compose {name} and stack.sh's kafka_client_env give different MDV_KAFKA_* settings"
    )
    mounts = tls_mounts(name)
    assert [m["volume"]["subpath"] for m in mounts] == [principal], (
        f"compose {name} must mount the folder {principal} of {TLS_VOLUME}, and only it"
    )
    assert mounts[0].get("read_only") is True
    for var in SSL_VARS:
        assert env[var].startswith(mounts[0]["target"] + "/"), f"compose {name}: {var}"
    assert principal in certs_clients()


def test_compose_certs_job_writes_the_tls_volume_before_the_broker_starts():
    certs = compose_services()["certs"]
    assert certs["entrypoint"] == ["/usr/local/bin/mdv-certs"]
    assert str(certs.get("restart")) == "no"
    [mount] = certs["volumes"]
    assert mount.split(":")[0] == TLS_VOLUME
    assert certs["command"] == [mount.split(":")[1]]
    sans = certs["environment"]["MDV_CERTS_BROKER_SANS"].split(",")
    host = compose_services()["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"DNS:{host.split('://')[1].rsplit(':', 1)[0]}" in sans
    assert "DNS:localhost" in sans, "the broker's health check dials localhost"
    group = str(certs["environment"]["MDV_CERTS_BROKER_GROUP"])
    assert group in [str(g) for g in compose_services()["kafka"]["group_add"]]


def test_compose_init_applies_the_acl_file_the_tools_image_ships():
    acl_file = compose_env("init")["MDV_INIT_ACLS_FILE"]
    copies = ops_of("tools", "COPY")
    assert f"deploy/local/kafka/acls.tsv {acl_file}" in copies
    assert any("deploy/container/certs.sh /usr/local/bin/mdv-certs" in c for c in copies)
    assert any("mdv-simulator" in c for c in copies)
    assert "openssl" in " ".join(ops_of("tools", "RUN"))


@pytest.mark.parametrize("partner", sorted(kafka_partners()))
def test_compose_runs_the_simulator_of_every_partner_on_kafka(partner):
    spec = compose_services().get(f"simulator-{partner}")
    assert spec, f"compose has no simulator-{partner}"
    assert spec["entrypoint"] == ["/usr/local/bin/mdv-simulator"]
    args = spec["command"]
    assert args[args.index("--partner") + 1] == partner
    assert args[args.index("--group") + 1] == kafka_partners()[partner]
    assert spec["depends_on"]["init"]["condition"] == "service_completed_successfully"


# --------------------------------------------------------------------------
# Kubernetes: a Secret per principal, mounted where mdv-config says


def k8s_tls_paths():
    config = k8s_get("ConfigMap", "mdv-config")["data"]
    assert str(config["MDV_KAFKA_SECURITY_PROTOCOL"]).lower() == "ssl"
    assert set(SSL_VARS) | {"MDV_KAFKA_SECURITY_PROTOCOL"} == stack_client_vars() & set(config)
    return [config[v] for v in SSL_VARS]


def secret_mount(container, pod):
    """(mount path, Secret name) of the Secret holding the Kafka client files."""
    paths = k8s_tls_paths()
    folder = paths[0].rsplit("/", 1)[0]
    assert all(p.rsplit("/", 1)[0] == folder for p in paths)
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container.get("volumeMounts", []):
        if mount["mountPath"].rstrip("/") == folder and "secret" in volumes[mount["name"]]:
            assert mount.get("readOnly") is True
            name = volumes[mount["name"]]["secret"]["secretName"]
            secret = k8s_get("Secret", name)
            assert secret, f"no Secret {name} in deploy/k8s"
            keys = set(secret.get("stringData") or {})
            assert {p.rsplit("/", 1)[1] for p in paths} <= keys, f"Secret {name} lacks keys"
            return name
    pytest.fail(f"{container['name']}: no Secret mounted at {folder}")


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_service_mounts_its_own_kafka_certificate(service):
    pod = statefulset(service)["spec"]["template"]["spec"]
    assert secret_mount(main_container(service), pod) == f"mdv-kafka-{service}"


def test_k8s_init_job_connects_as_admin_and_applies_the_acls():
    pod = k8s_get("Job", "mdv-init")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert secret_mount(container, pod) == "mdv-kafka-admin"
    assert env_value(container, "MDV_INIT_ACLS_FILE")["value"] == compose_env("init")[
        "MDV_INIT_ACLS_FILE"
    ]


def test_k8s_trial_broker_reads_its_secret():
    sts, container = k8s_kafka_container()
    props = k8s_broker()
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "tls"]
    [volume] = [v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls"]
    assert volume["secret"]["secretName"] == "mdv-kafka-broker"
    for key in ("ssl.keystore.location", "ssl.truststore.location"):
        assert props[key].startswith(mount["mountPath"] + "/")
    assert [i for i in listener_names(props["advertised.listeners"])] == ["CLIENTS"]


def test_the_compose_file_was_read():
    # Guards the checks above against a file that no longer parses as expected.
    assert COMPOSE.exists() and "kafka" in compose_services()
    assert len(compose_kafka_clients()) >= len(SERVICES) + 2
    assert stack_client_vars() and acl_lines() and kafka_partners()
