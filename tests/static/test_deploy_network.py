"""Static checks of what reaches the services on Kubernetes: the optional
Ingress routes every path usagers and partners use (the gateway's API,
page, sign-in, journey pages and indicators; the partners' API) to the
service that serves it, and none of /healthz, /readyz, /metrics or
identity's internal routes; the optional NetworkPolicies deny every
connection to the namespace's pods but the listed ones: the gateway and
the partners service from anywhere, identity from the gateway only,
/metrics from Prometheus, the trial broker from the namespace's own pods,
each on a port the selected pods have.

The routes are read from the services' route tables, the pods from the
manifests. Reads files, runs nothing."""

import re

import pytest
import yaml

from test_deploy import K8S, REPO, SERVICES, k8s_objects

INGRESS = K8S / "optional" / "ingress-gateway.yaml"
POLICIES = K8S / "optional" / "network-policies.yaml"
KAFKA = K8S / "optional" / "kafka.yaml"
# The library's routes, in every service (shared/http.c).
INSIDE_ONLY = ["/healthz", "/readyz", "/metrics"]
# What the Ingress serves, by service; identity is the gateway's alone.
PUBLIC = ["gateway", "partners"]


def routes(service):
    """The paths of a service's route table, a concrete one for each
    pattern ({} a segment, {*} the rest)."""
    text = (REPO / "services" / service / "main.c").read_text()
    paths = re.findall(r'\{"(?:GET|POST|PUT|DELETE|PATCH)", "(/[^"]*)"', text)
    assert paths, f"no route found in services/{service}/main.c"
    return sorted({p.replace("{*}", "a/b").replace("{}", "x") for p in paths})


def ingress_paths():
    (ingress,) = [d for d in yaml.safe_load_all(INGRESS.read_text()) if d]
    return [(p["path"], p["pathType"], p["backend"]["service"]["name"])
            for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]


def routed_to(path):
    """The service the Ingress sends path to (the longest match, as the
    Ingress API orders them), or None."""
    matches = [(len(prefix), backend) for prefix, kind, backend in ingress_paths()
               if path == prefix or (kind == "Prefix" and path.startswith(prefix.rstrip("/") + "/"))]
    return max(matches)[1] if matches else None


@pytest.mark.parametrize("service", PUBLIC)
def test_the_ingress_routes_every_public_path_of_a_service_to_it(service):
    public = [p for p in routes(service) if p not in INSIDE_ONLY]
    assert public
    misrouted = {p: routed_to(p) for p in public if routed_to(p) != service}
    assert not misrouted, f"{service}'s paths not routed to it by the Ingress: {misrouted}"


def test_the_ingress_routes_neither_health_nor_metrics_nor_identity():
    for path in INSIDE_ONLY + routes("identity"):
        assert routed_to(path) is None, f"{path} is reachable from outside the cluster"


def test_the_ingress_backends_are_services_with_the_port_it_names():
    (ingress,) = [d for d in yaml.safe_load_all(INGRESS.read_text()) if d]
    for rule in ingress["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            backend = p["backend"]["service"]
            (svc,) = [o for o in k8s_objects() if o["kind"] == "Service" and o["metadata"]["name"] == backend["name"]]
            assert backend["port"]["name"] in {port["name"] for port in svc["spec"]["ports"]}, p


# ---- NetworkPolicies ----

def policies():
    docs = [d for d in yaml.safe_load_all(POLICIES.read_text()) if d]
    assert all(d["kind"] == "NetworkPolicy" and d["metadata"]["namespace"] == "mdv" for d in docs)
    return docs


def selects(selector, labels):
    """A LabelSelector's verdict on a pod's labels (matchLabels, and the
    In / NotIn / Exists / DoesNotExist expressions)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        value, present = labels.get(e["key"]), e["key"] in labels
        ok = {"In": present and value in e.get("values", []),
              "NotIn": not present or value not in e.get("values", []),
              "Exists": present, "DoesNotExist": not present}[e["operator"]]
        if not ok:
            return False
    return True


def pods():
    """Each workload's pod labels and named ports: the services, the set-up
    Job, the trial broker."""
    workloads = [o for o in k8s_objects() if o["kind"] in ("StatefulSet", "Job")]
    workloads += [d for d in yaml.safe_load_all(KAFKA.read_text()) if d and d["kind"] == "StatefulSet"]
    out = {}
    for w in workloads:
        template = w["spec"]["template"]
        ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        out[w["metadata"]["name"]] = (template["metadata"]["labels"], ports)
    return out


def rules_for(name):
    labels, _ = pods()[name]
    return [(policy["metadata"]["name"], rule) for policy in policies()
            if selects(policy["spec"]["podSelector"], labels) for rule in policy["spec"].get("ingress", [])]


def from_anywhere(rule):
    return not rule.get("from")


def from_pod(rule, name):
    labels, _ = pods()[name]
    return any("podSelector" in peer and "namespaceSelector" not in peer and selects(peer["podSelector"], labels)
               for peer in rule.get("from", []))


def from_prometheus(rule):
    return any(list((peer.get("namespaceSelector") or {}).get("matchLabels", {})) == ["kubernetes.io/metadata.name"]
               for peer in rule.get("from", []))


def test_every_pod_of_the_namespace_denies_what_is_not_listed():
    deny = [p for p in policies() if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"], "no default deny of ingress"
    assert set(pods()) >= set(SERVICES) | {"mdv-init", "kafka"}


def test_every_port_a_policy_opens_is_one_the_selected_pods_have():
    for name, (_, ports) in pods().items():
        for policy, rule in rules_for(name):
            for port in rule.get("ports", []):
                assert port["port"] in ports, f"{policy} opens {port['port']} on {name}, which has {ports}"


@pytest.mark.parametrize("service", PUBLIC)
def test_the_ingress_s_services_are_reached_from_anywhere_on_their_port(service):
    assert any(from_anywhere(r) and {p["port"] for p in r["ports"]} == {"http"} for _, r in rules_for(service))


@pytest.mark.parametrize("service", [s for s in SERVICES if s not in PUBLIC])
def test_an_inner_service_is_reached_by_no_one_else(service):
    assert not [p for p, r in rules_for(service) if from_anywhere(r)], f"{service} is open to anyone"
    others = [p for p, r in rules_for(service) if not from_prometheus(r)]
    if service == "identity":
        assert others and all(from_pod(r, "gateway") for p, r in rules_for(service) if p in others)
        assert not any(from_pod(r, s) for _, r in rules_for(service) for s in SERVICES if s != "gateway")
    else:
        assert not others, f"{service} is opened by {others}"


@pytest.mark.parametrize("service", SERVICES)
def test_prometheus_reaches_every_service_s_metrics(service):
    assert any(from_prometheus(r) and {p["port"] for p in r["ports"]} == {"http"} for _, r in rules_for(service))


def test_the_trial_broker_is_reached_by_the_namespace_s_pods_on_its_clients_port():
    rules = [r for _, r in rules_for("kafka")]
    assert rules and not any(from_anywhere(r) or from_prometheus(r) for r in rules)
    for name in list(SERVICES) + ["mdv-init"]:
        assert any(from_pod(r, name) and {p["port"] for p in r["ports"]} == {"clients"} for r in rules), name
