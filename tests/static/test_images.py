"""Static checks of make images and make container-test against the
Dockerfile and the compose file: the base pinned for the Dockerfile's FROM,
every target built, and the container runner changing only what a host
network must change. Reads files, runs nothing."""

import re
import sys

from test_deploy import COMPOSE, REPO, SERVICES, allowed_name, compose_env, df_by_name, df_stages, parse_dockerfile

LOCK = REPO / "deploy" / "container" / "base-image.lock"
sys.path.insert(0, str(REPO / "tests" / "container"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))


def lock_lines(kind):
    return [line.split(" ", 1)[1] for line in LOCK.read_text().splitlines() if line.startswith(kind + " ")]


def test_the_lock_pins_both_debian_bases_the_dockerfile_starts_from():
    args, _ = parse_dockerfile()
    release = args["DEBIAN_RELEASE"]
    external = {s["base"] for s in df_stages() if s["base"] not in df_by_name()}
    assert external == {f"debian:{release}", f"debian:{release}-slim"}
    pinned = {line.split()[0]: line.split()[1] for line in lock_lines("image")}
    assert set(pinned) == external, f"base-image.lock pins {sorted(pinned)}, the Dockerfile wants {sorted(external)}"
    assert all(re.fullmatch(r"(sha256:)?[0-9a-f]{64}", v) for v in pinned.values()), pinned
    assert lock_lines("suite") == [release.split("-")[0]]


def test_the_lock_lists_a_version_of_every_package_of_a_debian_base():
    packages = dict(p.split("=", 1) for p in lock_lines("package"))
    # What every Debian system has, and what the runtime stage relies on.
    for name in ("base-files", "dpkg", "apt", "libc6", "bash", "debian-archive-keyring"):
        assert packages.get(name), f"base-image.lock lists no version of {name}"
    assert len(packages) == len(lock_lines("package")), "a package listed twice"


def test_make_images_builds_every_dockerfile_target_but_the_internal_stages():
    text = (REPO / "deploy" / "container" / "images.sh").read_text()
    assert 'for d in "$repo"/services/*/' in text and "echo tools" in text
    internal = {"build", "runtime", "service"}
    assert set(df_by_name()) - internal == set(SERVICES) | {"tools"}


def test_the_container_runner_overrides_only_what_the_host_network_changes():
    from containers import HOST_NETWORK_OVERRIDES

    assert HOST_NETWORK_OVERRIDES == {"MDV_KAFKA_BROKERS", "MDV_PG_DSN", "MDV_IDENTITY_URL", "MDV_HTTP_ADDR",
                                      "MDV_INSTANCE_ID"}
    for name in HOST_NETWORK_OVERRIDES - {"MDV_IDENTITY_URL"}:
        assert all(allowed_name(s, name) for s in SERVICES), name
    # A compose name, which the host network does not resolve: only the
    # gateway is given one (the services' own calls to identity).
    assert [s for s in SERVICES if "MDV_IDENTITY_URL" in compose_env(s)] == ["gateway"]
    assert allowed_name("gateway", "MDV_IDENTITY_URL")
    assert COMPOSE.exists()
