"""Static checks of the deployment files against the code.

The container and cluster files (deploy/Dockerfile, docker-compose.yml,
deploy/k8s, deploy/prometheus, deploy/grafana, deploy/container/init.sh)
cannot be run here, so these tests hold them to what the code says: the
services under services/, the environment variables of the configuration
tables (shared/config.c and each service's own table), the port and probe
paths, the topics, the metric names. A new service, a renamed variable, a
new required variable or a renamed metric fails here until the files follow.

Needs only pytest, PyYAML and the standard library; reads files, runs nothing.
"""

import functools
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
COMPOSE = REPO / "docker-compose.yml"
K8S = REPO / "deploy" / "k8s"
INIT_SH = REPO / "deploy" / "container" / "init.sh"
STACK_SH = REPO / "deploy" / "local" / "stack.sh"
KAFKA_VERSION = (REPO / "deploy" / "local" / "kafka" / "VERSION").read_text().strip()

HTTP_PORT = 8080
LIVENESS = "/healthz"
READINESS = "/readyz"

SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if p.is_dir())


# --------------------------------------------------------------------------
# What the code says


def config_table(paths):
    """{name: required} of the {"MDV_...", default, ...} entries in paths."""
    entry = re.compile(r'\{\s*"(MDV_[A-Z0-9_]+)"\s*,\s*([^,]+?)\s*,')
    found = {}
    for path in paths:
        for name, default in entry.findall(path.read_text()):
            found[name] = default == "NULL"
    return found


BASE_VARS = config_table([REPO / "shared" / "config.c"])


def service_vars(service):
    """The variables a service reads: the base table and its own."""
    own = config_table(sorted((REPO / "services" / service).glob("*.c")))
    return {**BASE_VARS, **own}


def allowed_name(service, name):
    # MDV_KAFKA_<PROPERTY> goes to librdkafka as is (shared/kafka.c).
    return name in service_vars(service) or name.startswith("MDV_KAFKA_")


def exported_metrics():
    """Metric names the services register, and which are histograms."""
    counters, histograms = set(), set()
    for path in sorted((REPO / "shared").glob("*.c")) + sorted((REPO / "services").glob("*/*.c")):
        text = path.read_text()
        counters.update(re.findall(r'mdv_metrics_(?:add|set)\(\s*"(mdv_[a-z0-9_]+)"', text))
        histograms.update(re.findall(r"# TYPE (mdv_[a-z0-9_]+) histogram", text))
    return counters, histograms


def bash_array(path, name):
    text = path.read_text()
    match = re.search(rf"^{name}=\(([^)]*)\)", text, re.M)
    assert match, f"{path.relative_to(REPO)} has no array {name}"
    return match.group(1).split()


def bash_default(path, pattern):
    match = re.search(pattern, path.read_text(), re.M)
    assert match, f"{path.relative_to(REPO)}: nothing matches {pattern}"
    return match.group(1)


def topics_in_code():
    names = set()
    for path in (
        sorted((REPO / "services").glob("*/*.c"))
        + sorted((REPO / "shared").glob("*.c"))
        + sorted((REPO / "include").rglob("*.h"))
    ):
        names.update(re.findall(r'"(mdv\.[a-z_]+\.[a-z_]+\.v[0-9]+)"', path.read_text()))
    return names


def shutdown_timeout_default_ms():
    return int(
        re.search(
            r'\{"MDV_SHUTDOWN_TIMEOUT_MS",\s*"(\d+)"', (REPO / "shared" / "config.c").read_text()
        ).group(1)
    )


# --------------------------------------------------------------------------
# Images


def interpolate(value):
    """Compose's ${VAR:-default} and ${VAR-default} read as their default."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", str(value))


def split_image(ref):
    """(name, tag) of an image reference; tag None when there is none."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
        return name, tag
    return ref, None


def assert_pinned(ref, where):
    name, tag = split_image(ref)
    assert tag, f"{where}: image {ref} has no tag (pin a version)"
    assert tag != "latest", f"{where}: image {ref} uses latest (pin a version)"
    return name, tag


# --------------------------------------------------------------------------
# Dockerfile


def parse_dockerfile():
    """(args, stages): global ARG defaults, and each stage as
    {name, base, ops: [(INSTRUCTION, text)]}, in order."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    args, stages = {}, []
    for line in lines:
        op, _, rest = line.partition(" ")
        op, rest = op.upper(), rest.strip()
        if op == "ARG" and not stages:
            key, _, default = rest.partition("=")
            args[key] = default
            continue
        if op == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--")]
            base = re.sub(
                r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), words[0]
            )
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"name": name, "base": base, "ops": []})
            continue
        assert stages, f"Dockerfile: {op} before the first FROM"
        stages[-1]["ops"].append((op, rest))
    return args, stages


@functools.cache
def df_stages():
    return parse_dockerfile()[1]


@functools.cache
def df_by_name():
    return {s["name"]: s for s in df_stages() if s["name"]}


def stage_chain(target):
    """The stages a target is built from, its first (external) base first."""
    chain, name = [], target
    while name in df_by_name():
        stage = df_by_name()[name]
        chain.insert(0, stage)
        name = stage["base"]
    return chain


def effective(target, op):
    """The last value of a single-valued instruction along the chain."""
    value = None
    for stage in stage_chain(target):
        for o, text in stage["ops"]:
            if o == op:
                value = text
    return value


def image_env(target):
    env = {}
    for stage in stage_chain(target):
        for op, text in stage["ops"]:
            if op != "ENV":
                continue
            words = shlex.split(text)
            if "=" not in words[0]:
                env[words[0]] = " ".join(words[1:])
            else:
                env.update(w.split("=", 1) for w in words)
    return env


def ops_of(target, op):
    return [text for stage in stage_chain(target) for o, text in stage["ops"] if o == op]


def test_every_service_is_a_dockerfile_target():
    missing = [s for s in SERVICES if s not in df_by_name()]
    assert not missing, f"deploy/Dockerfile has no target for {missing}"


def test_the_makefile_builds_every_service_directory():
    match = re.search(r"^SERVICES\s*:=\s*(.*)$", (REPO / "Makefile").read_text(), re.M)
    assert sorted(match.group(1).split()) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_runs_its_binary_with_its_data_as_a_non_root_user(service):
    chain = stage_chain(service)
    root = chain[0]["base"]
    name, tag = assert_pinned(root, f"Dockerfile target {service}")
    assert (
        name == "debian" and tag.startswith("bookworm") and tag.endswith("-slim")
    ), f"target {service} runs on {root}, not debian:bookworm-slim"
    assert json.loads(effective(service, "ENTRYPOINT")) == [f"/usr/local/bin/mdv-{service}"]
    data_dir = f"/usr/share/mdv/{service}"
    assert image_env(service).get("MDV_DATA_DIR") == data_dir
    copies = " ".join(ops_of(service, "COPY"))
    assert (
        f"mdv-{service} " in copies + " " and data_dir in copies
    ), f"target {service} does not copy its binary and its data folder to {data_dir}"
    user = effective(service, "USER")
    assert user, f"target {service} runs as root (no USER)"
    assert user.split(":")[0] not in ("root", "0"), f"target {service} runs as {user}"


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_listens_on_the_port_its_health_check_calls(service):
    assert image_env(service).get("MDV_HTTP_ADDR", "").endswith(f":{HTTP_PORT}")
    assert str(HTTP_PORT) in " ".join(ops_of(service, "EXPOSE")).split()
    health = effective(service, "HEALTHCHECK")
    # The check calls the port of MDV_HTTP_ADDR, which the image sets to HTTP_PORT.
    assert (
        health and f"127.0.0.1:${{MDV_HTTP_ADDR##*:}}{LIVENESS}" in health
    ), f"{service}: HEALTHCHECK {health}"
    assert effective(service, "STOPSIGNAL") == "SIGTERM"


def test_build_stage_compiles_with_make_on_bookworm_and_runs_no_tests():
    build = stage_chain("build")
    name, tag = assert_pinned(build[0]["base"], "Dockerfile build stage")
    assert name == "debian" and tag.startswith("bookworm") and not tag.endswith("-slim")
    runs = " ".join(ops_of("build", "RUN"))
    assert re.search(r"\bmake\b", runs)
    assert not re.search(r"\bmake\b[^;&|]*\b(test|unit|e2e)\b", runs)


def test_runtime_and_build_stages_share_one_debian_snapshot():
    roots = {
        split_image(s["base"])[1].removesuffix("-slim")
        for s in df_stages()
        if s["base"].startswith("debian:")
    }
    assert len(roots) == 1, f"Debian stages on different snapshots: {roots}"


def test_runtime_stages_install_no_development_packages():
    for stage in df_stages():
        if stage["name"] == "build":
            continue
        for op, text in stage["ops"]:
            if op == "RUN" and "apt-get install" in text:
                assert not re.search(
                    r"\S+-dev\b|build-essential", text
                ), f"stage {stage['name']}: {text}"


def test_every_external_base_image_is_pinned():
    for stage in df_stages():
        if stage["base"] not in df_by_name():
            assert_pinned(stage["base"], f"Dockerfile stage {stage['name']}")


def test_tools_image_has_init_and_what_it_calls():
    copies = " ".join(ops_of("tools", "COPY"))
    assert "deploy/container/init.sh" in copies and "mdv-topics" in copies and "mdv-token" in copies
    assert "postgresql-client" in " ".join(ops_of("tools", "RUN"))
    assert json.loads(effective("tools", "ENTRYPOINT")) == ["/usr/local/bin/mdv-init"]
    assert effective("tools", "USER").split(":")[0] not in ("root", "0")


def test_dockerignore_keeps_build_output_history_and_keys_out():
    patterns = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in ("build", ".run", ".cache", ".git", "deploy/container/keys"):
        assert needed in patterns, f".dockerignore lacks {needed}/"


# --------------------------------------------------------------------------
# docker-compose.yml


@functools.cache
def compose_doc():
    return yaml.safe_load(COMPOSE.read_text())


def compose_services():
    return compose_doc()["services"]


def compose_env(service):
    env = compose_services()[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def duration_seconds(text):
    total, rest = 0.0, str(text)
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s|us)", rest):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
    return total


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_in_compose_built_from_its_target(service):
    assert service in compose_services(), f"docker-compose.yml has no service {service}"
    build = compose_services()[service].get("build") or {}
    assert build.get("target") == service
    assert (
        REPO / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
    ).resolve() == DOCKERFILE


@pytest.mark.parametrize("service", SERVICES)
def test_compose_gives_each_service_exactly_its_configuration(service):
    env = compose_env(service)
    unknown = sorted(n for n in env if not allowed_name(service, n))
    assert not unknown, f"compose {service}: not in its configuration table: {unknown}"
    provided = set(env) | set(image_env(service))
    missing = sorted(
        n for n, required in service_vars(service).items() if required and n not in provided
    )
    assert not missing, f"compose {service}: required and not set: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_services_can_be_scaled(service):
    spec = compose_services()[service]
    assert (
        "container_name" not in spec and "hostname" not in spec
    ), f"compose {service}: a fixed container or host name forbids --scale"
    # Replicas must not share a static membership id: the default,
    # <service>-<hostname>, differs per container.
    assert "MDV_INSTANCE_ID" not in compose_env(service)
    if service != "gateway":
        assert "ports" not in spec, f"compose {service}: a host port forbids --scale"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_services_check_readiness_on_the_image_port(service):
    spec = compose_services()[service]
    test = " ".join(spec["healthcheck"]["test"])
    assert f"127.0.0.1:{HTTP_PORT}{READINESS}" in test
    addr = compose_env(service).get("MDV_HTTP_ADDR")
    assert addr is None or addr.endswith(f":{HTTP_PORT}")
    timeout_ms = int(
        compose_env(service).get("MDV_SHUTDOWN_TIMEOUT_MS", shutdown_timeout_default_ms())
    )
    assert (
        duration_seconds(spec.get("stop_grace_period", "10s")) * 1000 > timeout_ms
    ), f"compose {service}: stop_grace_period must exceed MDV_SHUTDOWN_TIMEOUT_MS"
    depends = spec.get("depends_on") or {}
    assert depends.get("init", {}).get("condition") == "service_completed_successfully"


def test_only_the_gateway_publishes_a_port_and_it_is_the_service_port():
    published = {
        name: spec["ports"] for name, spec in compose_services().items() if spec.get("ports")
    }
    assert list(published) == ["gateway"], f"services with host ports: {sorted(published)}"
    [mapping] = published["gateway"]
    assert interpolate(mapping).rsplit(":", 1)[-1] == str(HTTP_PORT)


def test_compose_gateway_key_file_is_a_mounted_secret_and_the_token_tool_matches():
    gateway = compose_services()["gateway"]
    key_file = compose_env("gateway")["MDV_JWT_PUBLIC_KEY_FILE"]
    targets = {s.get("target", s.get("source")): s["source"] for s in gateway.get("secrets", [])}
    assert key_file.startswith("/run/secrets/") and key_file.rsplit("/", 1)[-1] in targets
    secret = compose_doc()["secrets"][targets[key_file.rsplit("/", 1)[-1]]]
    assert secret["file"].lstrip("./").startswith("deploy/container/keys/")
    assert "/deploy/container/keys/" in (REPO / ".gitignore").read_text()
    token_env = compose_env("token")
    for name in ("MDV_JWT_ISSUER", "MDV_JWT_AUDIENCE"):
        assert (
            token_env[name] == compose_env("gateway")[name]
        ), f"token and gateway disagree on {name}"


def test_compose_init_runs_once_after_the_engines():
    init = compose_services()["init"]
    assert str(init.get("restart", "no")) == "no"
    assert init["build"]["target"] in df_by_name()
    for engine in ("kafka", "postgres"):
        assert init["depends_on"][engine]["condition"] == "service_healthy"


def test_compose_kafka_is_the_local_stack_version_in_kraft_mode():
    kafka = compose_services()["kafka"]
    name, tag = split_image(kafka["image"])
    assert (
        name == "apache/kafka" and tag == KAFKA_VERSION
    ), f"compose runs {kafka['image']}, deploy/local/kafka/VERSION says {KAFKA_VERSION}"
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"
    for name in (
        "KAFKA_NODE_ID",
        "KAFKA_CONTROLLER_QUORUM_VOTERS",
        "CLUSTER_ID",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS",
    ):
        assert name in env, f"compose kafka lacks {name}"


def test_compose_postgres_is_major_15_on_bookworm():
    name, tag = split_image(compose_services()["postgres"]["image"])
    assert name == "postgres" and re.fullmatch(r"15\.\d+-bookworm", tag), tag


def test_every_compose_image_is_pinned_and_every_build_target_exists():
    for name, spec in compose_services().items():
        assert "image" in spec, f"compose {name} has no image"
        assert_pinned(interpolate(spec["image"]), f"compose {name}")
        if "build" in spec:
            assert (
                spec["build"]["target"] in df_by_name()
            ), f"compose {name}: no target {spec['build']['target']}"


# --------------------------------------------------------------------------
# deploy/k8s


@functools.cache
def kustomization():
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@functools.cache
def k8s_objects():
    objects = []
    for resource in kustomization()["resources"]:
        objects.extend(d for d in yaml.safe_load_all((K8S / resource).read_text()) if d)
    return objects


def k8s_get(kind, name):
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return found[0] if found else None


def data_keys(obj):
    return set((obj.get("data") or {}) | (obj.get("stringData") or {}))


def k8s_env(container):
    """Every variable name the container gets, with its references checked."""
    names = set()
    for source in container.get("envFrom", []):
        kind, ref = (
            ("ConfigMap", source["configMapRef"])
            if "configMapRef" in source
            else ("Secret", source["secretRef"])
        )
        obj = k8s_get(kind, ref["name"])
        assert obj, f"{container['name']}: envFrom names a missing {kind} {ref['name']}"
        names |= data_keys(obj)
    for var in container.get("env", []):
        names.add(var["name"])
        ref = (var.get("valueFrom") or {}).get("secretKeyRef") or (var.get("valueFrom") or {}).get(
            "configMapKeyRef"
        )
        if ref:
            kind = "Secret" if "secretKeyRef" in var["valueFrom"] else "ConfigMap"
            obj = k8s_get(kind, ref["name"])
            assert obj and ref["key"] in data_keys(
                obj
            ), f"{var['name']}: no key {ref['key']} in {kind} {ref['name']}"
    return names


def env_value(container, name):
    for var in container.get("env", []):
        if var["name"] == name:
            return var
    for source in container.get("envFrom", []):
        kind, ref = (
            ("ConfigMap", source["configMapRef"])
            if "configMapRef" in source
            else ("Secret", source["secretRef"])
        )
        values = {
            **(k8s_get(kind, ref["name"]).get("data") or {}),
            **(k8s_get(kind, ref["name"]).get("stringData") or {}),
        }
        if name in values:
            return {"name": name, "value": values[name]}
    return None


def statefulset(service):
    sts = k8s_get("StatefulSet", service)
    assert sts, f"deploy/k8s has no StatefulSet {service}"
    return sts


def main_container(service):
    containers = statefulset(service)["spec"]["template"]["spec"]["containers"]
    [container] = [c for c in containers if c["name"] == service]
    return container


def test_kustomization_lists_every_manifest_and_only_existing_ones():
    listed = set(kustomization()["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert (
        listed == present
    ), f"listed {sorted(listed - present)} missing; not listed {sorted(present - listed)}"
    assert kustomization().get("namespace") == "mdv"
    assert k8s_get("Namespace", "mdv")


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_a_parallel_statefulset_with_stable_instance_ids(service):
    sts = statefulset(service)
    assert sts["spec"].get("podManagementPolicy") == "Parallel"
    instance = env_value(main_container(service), "MDV_INSTANCE_ID")
    assert instance and instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_gives_each_service_exactly_its_configuration(service):
    names = k8s_env(main_container(service))
    unknown = sorted(n for n in names if not allowed_name(service, n))
    assert not unknown, f"k8s {service}: not in its configuration table: {unknown}"
    provided = names | set(image_env(service))
    missing = sorted(
        n for n, required in service_vars(service).items() if required and n not in provided
    )
    assert not missing, f"k8s {service}: required and not set: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_probes_and_ports_are_the_image_ones(service):
    container = main_container(service)
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    assert ports.get("http") == HTTP_PORT
    addr = env_value(container, "MDV_HTTP_ADDR")
    assert addr is None or addr["value"].endswith(f":{HTTP_PORT}")
    expected = {"livenessProbe": LIVENESS, "readinessProbe": READINESS, "startupProbe": LIVENESS}
    for probe, path in expected.items():
        if probe == "startupProbe" and probe not in container:
            continue
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{service} {probe} calls {get['path']}"
        assert get["port"] in ("http", HTTP_PORT)
    service_obj = k8s_get("Service", service)
    assert service_obj, f"deploy/k8s has no Service {service}"
    assert service_obj["spec"].get("type", "ClusterIP") == "ClusterIP"
    [port] = service_obj["spec"]["ports"]
    assert port["port"] == HTTP_PORT and port["targetPort"] in ("http", HTTP_PORT)
    labels = statefulset(service)["spec"]["template"]["metadata"]["labels"]
    assert service_obj["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_pods_are_locked_down_bounded_and_outlive_their_shutdown(service):
    pod = statefulset(service)["spec"]["template"]["spec"]
    container = main_container(service)
    assert pod["securityContext"]["runAsNonRoot"] is True
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    timeout = env_value(container, "MDV_SHUTDOWN_TIMEOUT_MS")
    timeout_ms = int(timeout["value"]) if timeout else shutdown_timeout_default_ms()
    assert pod["terminationGracePeriodSeconds"] * 1000 > timeout_ms


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_disruption_budget_of_one(service):
    pdb = k8s_get("PodDisruptionBudget", service)
    assert pdb and pdb["spec"].get("maxUnavailable") == 1
    labels = statefulset(service)["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_k8s_gateway_key_file_is_in_a_mounted_secret():
    container = main_container("gateway")
    path = env_value(container, "MDV_JWT_PUBLIC_KEY_FILE")["value"]
    pod = statefulset("gateway")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "secret" in volume and path.startswith(mount["mountPath"].rstrip("/") + "/"):
            item = path[len(mount["mountPath"].rstrip("/")) + 1 :]
            items = {i["path"]: i["key"] for i in volume["secret"].get("items", [])} or {item: item}
            assert item in items
            assert items[item] in data_keys(k8s_get("Secret", volume["secret"]["secretName"]))
            return
    pytest.fail(f"MDV_JWT_PUBLIC_KEY_FILE={path} is under no mounted Secret")


def test_k8s_secrets_hold_placeholders_only():
    for obj in k8s_objects():
        if obj["kind"] != "Secret":
            continue
        for key, value in (obj.get("stringData") or {}).items():
            if key in ("PGPORT", "PGSSLMODE", "MDV_DB_OWNER"):
                continue
            assert "REPLACE_ME" in str(
                value
            ), f"Secret {obj['metadata']['name']}/{key} looks like a real value"
        assert not obj.get(
            "data"
        ), f"Secret {obj['metadata']['name']} has encoded data: placeholders only"


def k8s_images():
    for obj in k8s_objects():
        spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            yield obj["metadata"]["name"], container["image"]


def test_every_k8s_image_is_pinned_and_renamed_by_the_kustomization():
    renames = {i["name"]: i for i in kustomization().get("images", [])}
    for owner, ref in k8s_images():
        name, _ = assert_pinned(ref, f"k8s {owner}")
        assert name in renames, f"k8s {owner}: {name} has no entry in kustomization images"
        new_tag = str(renames[name].get("newTag", ""))
        assert new_tag and new_tag != "latest", f"kustomization: {name} newTag {new_tag!r}"


def test_k8s_init_job_runs_the_tools_image():
    job = k8s_get("Job", "mdv-init")
    assert job
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert split_image(container["image"])[0] == "mdv/tools"
    assert "MDV_KAFKA_BROKERS" in k8s_env(container)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_keda_example_scales_a_real_consumer_within_the_partition_count():
    scaled = yaml.safe_load((K8S / "optional" / "keda-student.yaml").read_text())
    target = scaled["spec"]["scaleTargetRef"]
    assert target["kind"] == "StatefulSet" and target["name"] in SERVICES
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["metadata"]["consumerGroup"] == f"mdv-{target['name']}"
    assert trigger["metadata"]["topic"] in bash_array(INIT_SH, "TOPICS")
    assert scaled["spec"]["maxReplicaCount"] <= int(init_partitions())


# --------------------------------------------------------------------------
# Topics and databases: one list everywhere


def init_partitions():
    return bash_default(INIT_SH, r"^PARTITIONS=\$\{MDV_TOPIC_PARTITIONS:-(\d+)\}")


def test_init_creates_the_local_stack_topics_and_every_topic_the_code_uses():
    topics = bash_array(INIT_SH, "TOPICS")
    assert sorted(topics) == sorted(bash_array(STACK_SH, "TOPICS"))
    unknown = topics_in_code() - set(topics)
    assert not unknown, f"topics in the code that init.sh does not create: {sorted(unknown)}"


def test_init_creates_a_database_per_service():
    assert sorted(bash_array(INIT_SH, "SERVICES")) == SERVICES


def test_partition_count_is_the_same_everywhere():
    stack = bash_default(STACK_SH, r"^TOPIC_PARTITIONS=(\d+)")
    assert init_partitions() == stack
    assert str(compose_services()["init"]["environment"]["MDV_TOPIC_PARTITIONS"]) == stack
    job = k8s_get("Job", "mdv-init")["spec"]["template"]["spec"]["containers"][0]
    assert env_value(job, "MDV_TOPIC_PARTITIONS")["value"] == stack


# --------------------------------------------------------------------------
# Observability


@functools.cache
def prometheus():
    return yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())


@functools.cache
def alerts():
    return yaml.safe_load((REPO / "deploy" / "prometheus" / "alerts.yml").read_text())


@functools.cache
def dashboard():
    return json.loads((REPO / "deploy" / "grafana" / "mdv-dashboard.json").read_text())


def dashboard_exprs():
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def alert_exprs():
    return [r["expr"] for g in alerts()["groups"] for r in g["rules"]]


def metric_names(expr):
    return set(re.findall(r"\bmdv_[a-z0-9_]+", expr))


def known_series():
    counters, histograms = exported_metrics()
    assert counters and histograms, "no metric found in the code: the pattern is out of date"
    return (
        counters | histograms | {f"{h}_{s}" for h in histograms for s in ("bucket", "sum", "count")}
    )


def test_dashboard_and_alerts_use_only_metrics_the_services_export():
    known = known_series()
    for expr in dashboard_exprs() + alert_exprs():
        unknown = metric_names(expr) - known
        assert not unknown, f"{expr}: unknown metric(s) {sorted(unknown)}"


def test_dashboard_shows_every_exported_metric():
    counters, histograms = exported_metrics()
    used = set().union(*(metric_names(e) for e in dashboard_exprs()))
    missing = sorted(m for m in counters if m not in used) + sorted(
        h for h in histograms if f"{h}_bucket" not in used
    )
    assert not missing, f"metrics with no dashboard panel: {missing}"


def test_dashboard_is_a_grafana_dashboard():
    assert dashboard()["schemaVersion"] >= 36 and dashboard()["title"] and dashboard()["uid"]
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in dashboard()["panels"]:
        assert {"type", "title", "gridPos"} <= set(panel)
        if panel["type"] != "row":
            assert panel["targets"] and all(t["refId"] and t["expr"] for t in panel["targets"])


def test_alerts_name_a_runbook_and_cover_the_failure_modes():
    rules = [r for g in alerts()["groups"] for r in g["rules"]]
    for rule in rules:
        assert rule["alert"] and rule["annotations"].get("runbook"), rule
    used = set().union(*(metric_names(e) for e in alert_exprs()))
    for metric in ("mdv_messages_dead_lettered_total", "mdv_consumer_lag", "mdv_outbox_backlog"):
        assert metric in used, f"no alert on {metric}"
    assert any(READINESS in e for e in alert_exprs()), "no alert on /readyz failing"


def test_prometheus_scrapes_every_local_service_port_with_a_service_label():
    # The local stack's rule (README, "Adding a service"): service number i
    # of its SERVICES list listens on base + 10 + i.
    base = int(bash_default(STACK_SH, r"^BASE=\$\{MDV_PORT_BASE:-(\d+)\}"))
    order = bash_array(STACK_SH, "SERVICES")
    [local] = [j for j in prometheus()["scrape_configs"] if j.get("static_configs")]
    scraped = {c["labels"]["service"]: c["targets"] for c in local["static_configs"]}
    assert sorted(scraped) == SERVICES == sorted(order)
    for service in SERVICES:
        assert scraped[service] == [f"127.0.0.1:{base + 10 + order.index(service)}"], service


def test_prometheus_discovers_the_k8s_pods_by_the_manifests_labels():
    [job] = [j for j in prometheus()["scrape_configs"] if j.get("kubernetes_sd_configs")]
    relabels = job["relabel_configs"]
    assert any(r.get("target_label") == "service" for r in relabels)
    keeps = {tuple(r["source_labels"]): r["regex"] for r in relabels if r.get("action") == "keep"}
    for service in SERVICES:
        template = statefulset(service)["spec"]["template"]
        labels, annotations = template["metadata"]["labels"], template["metadata"].get(
            "annotations", {}
        )
        assert re.fullmatch(
            keeps[("__meta_kubernetes_pod_label_app_kubernetes_io_part_of",)],
            labels["app.kubernetes.io/part-of"],
        )
        assert re.fullmatch(keeps[("__meta_kubernetes_pod_container_port_name",)], "http")
        assert re.fullmatch(
            keeps[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)],
            annotations.get("prometheus.io/scrape", ""),
        )
        assert annotations.get("prometheus.io/port") == str(HTTP_PORT)


# --------------------------------------------------------------------------
# Every structured file parses

STRUCTURED = sorted(
    [
        p
        for p in (REPO / "deploy").rglob("*")
        if p.suffix in (".yml", ".yaml", ".json") and p.is_file()
    ]
    + [COMPOSE]
)


@pytest.mark.parametrize("path", STRUCTURED, ids=lambda p: str(p.relative_to(REPO)))
def test_structured_file_parses(path):
    if path.suffix == ".json":
        json.loads(path.read_text())
    else:
        assert [
            d for d in yaml.safe_load_all(path.read_text()) if d is not None
        ], f"{path.name} is empty"


def test_configuration_tables_were_read():
    # Guards every check above against a pattern that silently matches nothing.
    assert {"MDV_KAFKA_BROKERS", "MDV_PG_DSN", "MDV_DATA_DIR", "MDV_INSTANCE_ID"} <= set(BASE_VARS)
    assert BASE_VARS["MDV_PG_DSN"] and not BASE_VARS["MDV_HTTP_ADDR"]
    assert service_vars("gateway")["MDV_JWT_PUBLIC_KEY_FILE"]
    assert len(SERVICES) >= 6 and len(df_stages()) > len(SERVICES)
