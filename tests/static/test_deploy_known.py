"""Static checks of what the administrations already know (GET /v1/me's
known) wherever the services are deployed: the compose file and the
Kubernetes manifests give the gateway identity's URL and the services'
private key, identity the public key of the same pair, and both the same
issuer and audience, their own (neither the usagers' nor the partners').
The keys are mounted secrets, the private one into the gateway only and
readable by the image's group, never by others, as the gateway's OpenID
client secret (sign-in: known is for a signed-in usager); the README's
snippet makes every file the compose file mounts from the keys folder.
Every file a deployed service is pointed at (a *_FILE variable) is a
secret it mounts.

Reads files, runs nothing.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from test_deploy import (
    HTTP_PORT,
    REPO,
    SERVICES,
    compose_doc,
    compose_env,
    compose_services,
    data_keys,
    effective,
    env_value,
    k8s_env,
    k8s_get,
    k8s_objects,
    main_container,
    service_vars,
    statefulset,
)

GATEWAY_VARS = ("MDV_IDENTITY_URL", "MDV_SERVICE_JWT_PRIVATE_KEY_FILE", "MDV_SERVICE_JWT_ISSUER",
                "MDV_SERVICE_JWT_AUDIENCE")
IDENTITY_VARS = ("MDV_SERVICE_JWT_PUBLIC_KEY_FILE", "MDV_SERVICE_JWT_ISSUER", "MDV_SERVICE_JWT_AUDIENCE")
SHARED = ("MDV_SERVICE_JWT_ISSUER", "MDV_SERVICE_JWT_AUDIENCE")


def image_gid(target="gateway"):
    return effective(target, "USER").split(":")[1]


def test_the_variables_are_the_services_own():
    # Guards the checks below against a renamed variable.
    for name in GATEWAY_VARS:
        assert name in service_vars("gateway"), name
    for name in IDENTITY_VARS:
        assert name in service_vars("identity"), name


# --------------------------------------------------------------------------
# docker-compose.yml


def compose_secret_file(service, path):
    """The host file (relative to the repository) of the compose secret
    mounted at path in service; fails when none is."""
    assert path.startswith("/run/secrets/"), f"compose {service}: {path} is no secret's path"
    target = path.removeprefix("/run/secrets/")
    for secret in compose_services()[service].get("secrets", []):
        source = secret["source"] if isinstance(secret, dict) else secret
        mounted = secret.get("target", source) if isinstance(secret, dict) else secret
        if mounted == target:
            return compose_doc()["secrets"][source]["file"].removeprefix("./")
    pytest.fail(f"compose {service}: no secret is mounted at {path}")


def compose_secret_readers(file):
    """The compose services that mount the secret of that host file."""
    sources = {name for name, s in compose_doc()["secrets"].items() if s["file"].removeprefix("./") == file}
    return sorted(name for name, spec in compose_services().items()
                  for s in spec.get("secrets", []) if (s["source"] if isinstance(s, dict) else s) in sources)


def test_compose_gives_the_gateway_and_identity_what_known_needs():
    gateway, identity = compose_env("gateway"), compose_env("identity")
    missing = [n for n in GATEWAY_VARS if not gateway.get(n)] + [n for n in IDENTITY_VARS if not identity.get(n)]
    assert not missing, f"compose: not set: {missing}"


def test_compose_gateway_asks_identity_by_its_compose_name_on_its_port():
    url = urlsplit(compose_env("gateway")["MDV_IDENTITY_URL"])
    assert url.scheme == "http" and not url.path.strip("/"), url
    assert url.hostname in compose_services() and url.hostname == "identity", url
    listen = compose_env("identity").get("MDV_HTTP_ADDR", f"0.0.0.0:{HTTP_PORT}")
    assert url.port == int(listen.rsplit(":", 1)[1]), (url, listen)


def test_compose_keys_are_one_pair_the_private_one_the_gateway_s_alone():
    private = compose_secret_file("gateway", compose_env("gateway")["MDV_SERVICE_JWT_PRIVATE_KEY_FILE"])
    public = compose_secret_file("identity", compose_env("identity")["MDV_SERVICE_JWT_PUBLIC_KEY_FILE"])
    assert private.startswith("deploy/container/keys/") and private.endswith("-private.pem"), private
    assert public == private.removesuffix("-private.pem") + "-public.pem", (private, public)
    assert compose_secret_readers(private) == ["gateway"], compose_secret_readers(private)
    # The usagers' and the partners' keys are other pairs.
    others = {compose_secret_file("gateway", compose_env("gateway")["MDV_JWT_PUBLIC_KEY_FILE"]),
              compose_secret_file("partners", compose_env("partners")["MDV_PARTNER_JWT_PUBLIC_KEY_FILE"])}
    assert public not in others, others


def test_compose_gateway_identity_and_the_token_tool_agree_on_the_services_tokens():
    gateway, identity, token = compose_env("gateway"), compose_env("identity"), compose_env("token")
    for name in SHARED:
        assert gateway[name] == identity[name] == token[name], (name, gateway[name], identity[name], token[name])
    issuers = {gateway.get("MDV_JWT_ISSUER"), compose_env("partners").get("MDV_PARTNER_JWT_ISSUER")}
    assert gateway["MDV_SERVICE_JWT_ISSUER"] not in issuers, issuers


@pytest.mark.parametrize("service", SERVICES)
def test_compose_every_file_a_service_reads_is_a_secret_it_mounts(service):
    for name, value in compose_env(service).items():
        if name.endswith("_FILE"):
            assert compose_secret_file(service, value).startswith("deploy/container/keys/"), (service, name)


# --------------------------------------------------------------------------
# The README's snippet that makes the keys


def readme_key_snippet():
    text = (REPO / "README.md").read_text()
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "openssl ecparam" in b]
    assert len(blocks) == 1, f"{len(blocks)} README blocks make keys with openssl ecparam"
    return blocks[0]


def snippet_commands(snippet, command):
    """{file: argument} of each `command ARG FILE...` of the snippet."""
    found = {}
    for arg, files in re.findall(rf"\b{command} (\S+) ([^&;\n]+)", snippet):
        for file in files.split():
            if "$" not in file:
                found[file] = arg
    return found


def test_the_readme_makes_every_file_compose_mounts_from_the_keys_folder():
    """The key pairs and the OpenID client secret; the simulators' tokens
    are minted by the next block."""
    snippet = readme_key_snippet()
    assert "cd deploy/container/keys" in snippet
    loop = re.search(r"^for k in ([^;]+); do$", snippet, re.M)
    assert loop, snippet
    made = {f"{k}-{half}.pem" for k in loop.group(1).split() for half in ("private", "public")}
    made |= set(re.findall(r"> ([\w.-]+)\)?$", snippet, re.M))
    mounted = {Path(s["file"]).name for s in compose_doc()["secrets"].values() if not s["file"].endswith(".token")}
    assert mounted <= made, f"compose mounts files the README does not make: {sorted(mounted - made)}"


@pytest.mark.parametrize("variable", ["MDV_SERVICE_JWT_PRIVATE_KEY_FILE", "MDV_OIDC_CLIENT_SECRET_FILE"])
def test_the_readme_gives_what_the_gateway_reads_itself_to_the_image_group_and_no_one_else(variable):
    """A file secret is bind-mounted with its host owner and mode: the
    gateway (uid and gid of the image) reads it through its group."""
    snippet = readme_key_snippet()
    file = Path(compose_secret_file("gateway", compose_env("gateway")[variable])).name
    assert snippet_commands(snippet, "chgrp").get(file) == image_gid(), f"{file}: no chgrp {image_gid()}"
    mode = snippet_commands(snippet, "chmod").get(file)
    assert mode, f"the README leaves {file} at 0600: the image's user cannot read it"
    assert int(mode, 8) & 0o040 and not int(mode, 8) & 0o007, f"{file}: mode {mode}"
    # Made inside a umask of 077, so never readable by others in between.
    made = re.search(rf"^.*(-out {re.escape(file)}|> {re.escape(file)}).*$", snippet.replace("$k", "service-jwt"), re.M)
    assert made and "umask 077" in made.group(0), f"{file} is not made under umask 077"


# --------------------------------------------------------------------------
# deploy/k8s


def k8s_value(service, name):
    var = env_value(main_container(service), name)
    assert var and "value" in var, f"k8s {service}: {name} is not set"
    return var["value"]


def mounted_secret(service, path):
    """(Secret, key, mode) of the Secret file mounted at path in the pod."""
    container = main_container(service)
    volumes = {v["name"]: v for v in statefulset(service)["spec"]["template"]["spec"]["volumes"]}
    for mount in container.get("volumeMounts", []):
        volume, base = volumes[mount["name"]], mount["mountPath"].rstrip("/") + "/"
        if "secret" in volume and path.startswith(base):
            item = path[len(base):]
            items = {i["path"]: i for i in volume["secret"].get("items", [])}
            key = items[item]["key"] if items else item
            assert not items or item in items, f"k8s {service}: {path} is no item of its Secret volume"
            secret = k8s_get("Secret", volume["secret"]["secretName"])
            assert secret and key in data_keys(secret), f"k8s {service}: no key {key} in {volume['secret']}"
            mode = (items.get(item) or {}).get("mode", volume["secret"].get("defaultMode", 0o644))
            return volume["secret"]["secretName"], key, mode
    pytest.fail(f"k8s {service}: {path} is under no mounted Secret")


def secret_readers(name):
    readers = []
    for obj in k8s_objects():
        spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        if any((v.get("secret") or {}).get("secretName") == name for v in spec.get("volumes", [])):
            readers.append(obj["metadata"]["name"])
    return sorted(readers)


def test_k8s_gives_the_gateway_and_identity_what_known_needs():
    missing = [n for n in GATEWAY_VARS if n not in k8s_env(main_container("gateway"))]
    missing += [n for n in IDENTITY_VARS if n not in k8s_env(main_container("identity"))]
    assert not missing, f"k8s: not set: {missing}"


def test_k8s_gateway_asks_identity_s_service_on_its_port():
    url = urlsplit(k8s_value("gateway", "MDV_IDENTITY_URL"))
    assert url.scheme == "http" and not url.path.strip("/"), url
    # The Service's name, alone or qualified by the namespace (kustomization).
    assert url.hostname.split(".")[0] == "identity" and url.hostname in ("identity", "identity.mdv", "identity.mdv.svc",
                                                                          "identity.mdv.svc.cluster.local"), url
    [port] = k8s_get("Service", "identity")["spec"]["ports"]
    assert url.port == port["port"], (url, port)


def test_k8s_keys_are_mounted_secrets_the_private_one_the_gateway_s_alone_and_not_world_readable():
    private, _, mode = mounted_secret("gateway", k8s_value("gateway", "MDV_SERVICE_JWT_PRIVATE_KEY_FILE"))
    assert not mode & 0o007, f"the services' private key is mounted with mode {mode:o}"
    assert mode & 0o040, f"mode {mode:o}: the pod's group cannot read it"
    pod = statefulset("gateway")["spec"]["template"]["spec"]
    assert str(pod["securityContext"]["fsGroup"]) == image_gid(), pod["securityContext"]
    assert secret_readers(private) == ["gateway"], secret_readers(private)
    public, _, _ = mounted_secret("identity", k8s_value("identity", "MDV_SERVICE_JWT_PUBLIC_KEY_FILE"))
    assert public != private and secret_readers(public) == ["identity"], (public, secret_readers(public))
    usagers, _, _ = mounted_secret("gateway", k8s_value("gateway", "MDV_JWT_PUBLIC_KEY_FILE"))
    assert public != usagers


def test_k8s_gateway_and_identity_agree_on_the_services_tokens():
    for name in SHARED:
        assert k8s_value("gateway", name) == k8s_value("identity", name), name
    assert k8s_value("gateway", "MDV_SERVICE_JWT_ISSUER") != k8s_value("gateway", "MDV_JWT_ISSUER")
    assert k8s_value("gateway", "MDV_SERVICE_JWT_ISSUER") != k8s_value("partners", "MDV_PARTNER_JWT_ISSUER")


@pytest.mark.parametrize("variable", ["MDV_SERVICE_JWT_PRIVATE_KEY_FILE", "MDV_OIDC_CLIENT_SECRET_FILE"])
def test_k8s_what_the_gateway_keeps_secret_its_group_reads_and_no_one_else(variable):
    secret, _, mode = mounted_secret("gateway", k8s_value("gateway", variable))
    assert mode & 0o040 and not mode & 0o007, f"{variable}: {secret} mounted with mode {mode:o}"
    assert secret_readers(secret) == ["gateway"], secret_readers(secret)


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_every_file_a_service_reads_is_a_secret_it_mounts(service):
    for name in sorted(k8s_env(main_container(service))):
        if name.endswith("_FILE"):
            mounted_secret(service, k8s_value(service, name))
