"""deploy/kubernetes, rendered by `kubectl kustomize` (offline): every
document valid against the Kubernetes OpenAPI schemas (strict), the Prometheus
operator's resources in their documented shape, and what the service needs
from its pods: replicas, probes, a locked-down security context, a grace
period longer than its shutdown, secrets by reference only, memory under the
limit, spread across nodes, a disruption budget, an autoscaler, a metrics
port."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kube import (
    BASE,
    BUILDS,
    KUBERNETES,
    MONITORING,
    Document,
    container,
    dashboard_exprs,
    env,
    kustomize,
    literal,
    metric_names,
    missing,
    only,
    overlay,
    quantity,
    readme_kubernetes_section,
    rule_exprs,
    yaml_blocks,
)

# Schemas checked: the oldest Kubernetes release still widely run and the
# newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ["1.30", "1.37"]
SERVICE_BUILDS = list(BUILDS)
# Kinds whose schema is not Kubernetes' own: checked by shape below.
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}

MiB = 2**20
# Memory beside the budget and the cache (README, "Resource limits"): the
# fixed caches (32 + 32 + 16 + 16 MiB) and the binary, fonts, threads and
# waiting requests (about 50 MiB, 64 here).
FIXED_MEMORY = 160 * MiB
# What the budget, the cache and the fixed memory may take of the limit.
MEMORY_SHARE = 0.85

# Every secret-like variable a build may set, and whether it may be absent.
SECRETS = {
    "RENDITIOND_SIGNING_KEYS": False,
    "RENDITIOND_API_TOKEN": True,
    "RENDITIOND_WAGTAIL_SECRET_KEY": False,
    "RENDITIOND_WAGTAIL_DATABASE_URL": False,
    "AWS_ACCESS_KEY_ID": True,
    "AWS_SECRET_ACCESS_KEY": True,
}
# The secret-like variables each build must take from the Secret.
EXPECTED_SECRETS = {
    "base": {"RENDITIOND_SIGNING_KEYS", "RENDITIOND_API_TOKEN"},
    "monitoring": {"RENDITIOND_SIGNING_KEYS", "RENDITIOND_API_TOKEN"},
    "s3": {"RENDITIOND_SIGNING_KEYS", "RENDITIOND_API_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
    "wagtail": {
        "RENDITIOND_SIGNING_KEYS",
        "RENDITIOND_API_TOKEN",
        "RENDITIOND_WAGTAIL_SECRET_KEY",
        "RENDITIOND_WAGTAIL_DATABASE_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    },
}
SECRET_LIKE = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|DATABASE_URL|SESSION")


def secret_like(name: str) -> bool:
    return bool(SECRET_LIKE.search(name))


def deployment(builds: dict[str, list[Document]], build: str) -> Document:
    return only(builds[build], "Deployment")


def pod_labels(deployment: Document) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def port_number(deployment: Document, port: int | str) -> int:
    """A container port given by number or by name."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container(deployment).get("ports", [])}
    assert port in named, f"no container port named {port}"
    return named[port]


def seconds(text: str) -> float:
    return float(text)


@pytest.fixture(scope="module")
def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        missing("kubernetes-validate is not installed (tests/requirements.txt)")
    return kubernetes_validate


# Schemas and shapes.


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_every_document_is_valid_kubernetes(
    builds: dict[str, list[Document]], build: str, version: str, kubernetes_validate: Any
) -> None:
    documents = builds[build]
    assert documents
    for document in documents:
        if document["kind"] in CUSTOM_KINDS:
            continue
        name = f"{build}: {document['kind']}/{document['metadata']['name']}"
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            pytest.fail(f"{name} is not valid Kubernetes {version}: {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            pytest.fail(f"{name}: {e.message}")


def test_the_builds_hold_what_they_should(builds: dict[str, list[Document]]) -> None:
    core = ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]
    for build in ("base", "s3", "wagtail"):
        assert sorted(d["kind"] for d in builds[build]) == core, build
    assert sorted(d["kind"] for d in builds["monitoring"]) == sorted(
        [*core, "ConfigMap", "PrometheusRule", "ServiceMonitor"]
    )
    for build, documents in builds.items():
        assert "Secret" not in {d["kind"] for d in documents}, f"{build} holds a Secret"


def test_the_service_monitor_scrapes_the_metrics_port(builds: dict[str, list[Document]]) -> None:
    documents = builds["monitoring"]
    monitor = only(documents, "ServiceMonitor")
    service = only(documents, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    endpoints = monitor["spec"]["endpoints"]
    assert len(endpoints) == 1
    (endpoint,) = endpoints
    assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "scheme", "relabelings"}
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert "metrics" in service_ports, "the Service has no metrics port"
    target = service_ports["metrics"]["targetPort"]
    assert port_number(deployment(builds, "monitoring"), target) == 9090
    for duration in (endpoint["interval"], endpoint["scrapeTimeout"]):
        assert re.fullmatch(r"\d+[smh]", duration), duration


def _balanced(expr: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', "", expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def test_the_alerts_cover_errors_queue_latency_memory_and_timeouts(builds: dict[str, list[Document]]) -> None:
    rules = only(builds["monitoring"], "PrometheusRule")
    assert rules["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rules["spec"]) == {"groups"}
    alerts = {}
    for group in rules["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"]), rule["alert"]
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            assert _balanced(rule["expr"]), rule["expr"]
            alerts[rule["alert"]] = " ".join(rule["expr"].split())
    assert len(alerts) == len(rule_exprs(rules)), "alert names repeat"
    needs = {
        "5xx error rate": lambda e: "renditiond_http_requests_total" in e and 'status=~"5.."' in e,
        "queue saturation": lambda e: "renditiond_render_queue_length" in e,
        "render latency p99": lambda e: (
            "histogram_quantile(0.99" in e and "renditiond_render_duration_seconds_bucket" in e
        ),
        "memory near the budget": lambda e: (
            "renditiond_render_memory_reserved_bytes" in e and "renditiond_render_memory_budget_bytes" in e
        ),
        "render timeouts": lambda e: "renditiond_render_timeouts_total" in e,
    }
    for what, covers in needs.items():
        assert any(covers(e) for e in alerts.values()), f"no alert on {what}: {alerts}"


def test_the_dashboard_is_a_labelled_config_map_with_every_panel(builds: dict[str, list[Document]]) -> None:
    config_map = only(builds["monitoring"], "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert list(config_map["data"]) == ["renditiond-dashboard.json"]
    dashboard = json.loads(config_map["data"]["renditiond-dashboard.json"])
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    exprs = " ".join(dashboard_exprs(dashboard))
    for name in (
        "renditiond_http_requests_total",
        "renditiond_render_duration_seconds_bucket",
        "renditiond_render_queue_length",
        "renditiond_renders_in_flight",
        "renditiond_render_memory_reserved_bytes",
        "renditiond_render_memory_budget_bytes",
        "renditiond_render_timeouts_total",
    ):
        assert name in exprs, f"no panel shows {name}"
    assert 'status=~"5.."' in exprs and "histogram_quantile(0.99" in exprs
    for expr in dashboard_exprs(dashboard):
        assert _balanced(expr), expr
        assert metric_names(expr), f"no metric in {expr}"


def test_metric_names_are_read_from_promql() -> None:
    quantile = "histogram_quantile(0.99, sum by (namespace, le) (rate(a_bucket{%s}[$__rate_interval]))) > 4"
    assert metric_names(quantile % 'x=~"5..", y="$v"') == {"a_bucket"}
    assert metric_names("max by (pod) (b_bytes / c_bytes) > 0.9 and on(pod) up == 1e3") == {
        "b_bytes",
        "c_bytes",
        "up",
    }
    assert metric_names("sum(increase(d_total[15m])) > 3") == {"d_total"}


# The pods.


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_at_least_two_replicas_and_an_autoscaler(builds: dict[str, list[Document]], build: str) -> None:
    documents = builds[build]
    target = deployment(builds, build)
    assert target["spec"]["replicas"] >= 2
    hpa = only(documents, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": target["metadata"]["name"],
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    cpu = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
    assert cpu and 0 < cpu[0]["resource"]["target"]["averageUtilization"] <= 90
    behavior = hpa["spec"]["behavior"]
    assert behavior["scaleUp"]["policies"] and behavior["scaleDown"]["policies"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] > behavior["scaleUp"].get(
        "stabilizationWindowSeconds", 0
    )
    strategy = target["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0, "a rollout must not take serving pods away first"


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_a_disruption_budget_keeps_pods_serving(builds: dict[str, list[Document]], build: str) -> None:
    pdb = only(builds[build], "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    spec = pdb["spec"]
    assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable") == 1, spec
    assert selects(spec["selector"]["matchLabels"], pod_labels(deployment(builds, build)))


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_probes_ask_readyz_and_healthz(builds: dict[str, list[Document]], build: str) -> None:
    target = deployment(builds, build)
    main = container(target)
    readiness = main["readinessProbe"]["httpGet"]
    liveness = main["livenessProbe"]["httpGet"]
    assert readiness["path"] == "/readyz" and port_number(target, readiness["port"]) == 8080
    assert liveness["path"] == "/healthz" and port_number(target, liveness["port"]) == 8080
    assert literal(target, "RENDITIOND_LISTEN").endswith(":8080")


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_the_pod_is_locked_down(builds: dict[str, list[Document]], build: str) -> None:
    target = deployment(builds, build)
    pod = target["spec"]["template"]["spec"]
    pod_context = pod.get("securityContext", {})
    for each in pod["containers"] + pod.get("initContainers", []):
        context = each.get("securityContext", {})
        assert context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True, each["name"]
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        assert user is None or user > 0, each["name"]
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        assert seccomp.get("type") == "RuntimeDefault", each["name"]
        assert context.get("readOnlyRootFilesystem") is True, each["name"]
        assert context.get("allowPrivilegeEscalation") is False, each["name"]
        assert context.get("capabilities", {}).get("drop") == ["ALL"], each["name"]
        assert not context.get("capabilities", {}).get("add"), each["name"]
        assert not context.get("privileged"), each["name"]
    assert pod_context.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    assert pod.get("automountServiceAccountToken") is False
    assert pod.get("enableServiceLinks") is False, "service links would add RENDITIOND_* variables"
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= {"emptyDir", "configMap", "secret", "projected"}, volume


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_the_grace_period_outlasts_the_shutdown(builds: dict[str, list[Document]], build: str) -> None:
    target = deployment(builds, build)
    delay = seconds(literal(target, "RENDITIOND_SHUTDOWN_DELAY"))
    timeout = seconds(literal(target, "RENDITIOND_SHUTDOWN_TIMEOUT"))
    grace = target["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert delay > 0, "the endpoints need time to drop a pod before it stops listening"
    assert grace > delay + timeout, f"{grace} s <= {delay} + {timeout} s"
    # A drain has room for a render that runs to its deadline.
    assert timeout >= seconds(literal(target, "RENDITIOND_RENDER_TIMEOUT"))


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_secrets_come_from_the_secret_only(builds: dict[str, list[Document]], build: str) -> None:
    target = deployment(builds, build)
    variables = env(target)
    from_secret = set()
    for name, entry in variables.items():
        if "value" in entry:
            value = str(entry["value"])
            assert not secret_like(name), f"{name} has a literal value"
            assert not re.search(r"://[^/@\s]+@", value), f"{name} holds credentials: {value}"
            continue
        reference = entry.get("valueFrom", {}).get("secretKeyRef")
        if reference is None:
            assert not secret_like(name), f"{name} does not come from a Secret: {entry}"
            continue
        assert name in SECRETS, f"{name} comes from a Secret but is not known to be secret"
        assert reference["name"] == "renditiond" and reference["key"], entry
        assert reference.get("optional", False) is SECRETS[name], (
            f"{name}: optional should be {SECRETS[name]}"
        )
        from_secret.add(name)
    assert from_secret == EXPECTED_SECRETS[build]
    main = container(target)
    assert "envFrom" not in main, "every variable is named"
    # No value of any kind is written into a Secret or ConfigMap.
    for document in builds[build]:
        if document["kind"] == "ConfigMap":
            for key in document.get("data", {}):
                assert not secret_like(key.upper()), key


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_memory_budget_and_cache_fit_under_the_limit(builds: dict[str, list[Document]], build: str) -> None:
    target = deployment(builds, build)
    resources = container(target)["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), f"{kind}: {resources[kind]}"
    limit = quantity(resources["limits"]["memory"])
    assert quantity(resources["requests"]["memory"]) <= limit
    assert quantity(resources["requests"]["cpu"]) <= quantity(resources["limits"]["cpu"])
    budget = int(literal(target, "RENDITIOND_MEMORY_BUDGET"))
    cache = int(literal(target, "RENDITIOND_MEMORY_CACHE_BYTES"))
    assert budget >= 64 * MiB
    used = budget + cache + FIXED_MEMORY
    assert used <= MEMORY_SHARE * limit, (
        f"budget {budget / MiB:.0f} MiB + cache {cache / MiB:.0f} MiB + {FIXED_MEMORY / MiB:.0f} MiB "
        f"> {MEMORY_SHARE:.0%} of the {limit / MiB:.0f} MiB limit"
    )
    # One render per CPU of the limit.
    workers = int(literal(target, "RENDITIOND_WORKERS"))
    assert 1 <= workers <= max(1, round(quantity(resources["limits"]["cpu"])))


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_pods_spread_across_nodes(builds: dict[str, list[Document]], build: str) -> None:
    target = deployment(builds, build)
    constraints = target["spec"]["template"]["spec"]["topologySpreadConstraints"]
    by_node = [c for c in constraints if c["topologyKey"] == "kubernetes.io/hostname"]
    assert by_node, constraints
    assert by_node[0]["maxSkew"] == 1
    assert selects(by_node[0]["labelSelector"]["matchLabels"], pod_labels(target))


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_service_metrics_port_and_json_logs(builds: dict[str, list[Document]], build: str) -> None:
    target = deployment(builds, build)
    service = only(builds[build], "Service")
    assert selects(service["spec"]["selector"], pod_labels(target))
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["http"]["port"] == 80 and port_number(target, ports["http"]["targetPort"]) == 8080
    metrics_address = literal(target, "RENDITIOND_METRICS_LISTEN")
    assert metrics_address == "0.0.0.0:9090"
    assert port_number(target, "metrics") == 9090
    assert port_number(target, ports["metrics"]["targetPort"]) == 9090
    assert literal(target, "RENDITIOND_LOG_FORMAT") == "json"


@pytest.mark.parametrize("build", SERVICE_BUILDS)
def test_the_image_is_renditiond_at_a_release(builds: dict[str, list[Document]], build: str) -> None:
    image = container(deployment(builds, build))["image"]
    name, _, tag = image.rpartition(":")
    assert name == "renditiond" and tag and tag != "latest", image


def test_kustomize_can_set_the_image(tmp_path: Path) -> None:
    folder = overlay(
        tmp_path / "release",
        [BASE],
        [],
        "images:\n  - name: renditiond\n    newName: registry.example.com/renditiond\n    newTag: 9.9.9\n",
    )
    image = container(only(kustomize(folder), "Deployment"))["image"]
    assert image == "registry.example.com/renditiond:9.9.9"


# The overlays' own settings.


def test_the_s3_overlay_redirects_to_the_cdn(builds: dict[str, list[Document]]) -> None:
    target = deployment(builds, "s3")
    assert literal(target, "RENDITIOND_ORIGINALS").startswith("s3://")
    assert literal(target, "RENDITIOND_RENDITIONS").startswith("s3://")
    assert literal(target, "RENDITIOND_ACTION") == "redirect"
    assert literal(target, "RENDITIOND_PUBLIC_URL").startswith("https://")
    assert literal(target, "AWS_REGION")


def test_the_wagtail_overlay_serves_images_from_the_site(builds: dict[str, list[Document]]) -> None:
    target = deployment(builds, "wagtail")
    assert literal(target, "RENDITIOND_ORIGINALS").startswith("s3://")
    variables = env(target)
    for name in ("RENDITIOND_WAGTAIL_SECRET_KEY", "RENDITIOND_WAGTAIL_DATABASE_URL"):
        assert variables[name]["valueFrom"]["secretKeyRef"].get("optional", False) is False
    base = deployment(builds, "base")
    assert "RENDITIOND_WAGTAIL_SECRET_KEY" not in env(base)


# The README's "Running on Kubernetes".


def test_the_readme_tells_how_to_apply_and_make_the_secret(builds: dict[str, list[Document]]) -> None:
    section = readme_kubernetes_section()
    assert "kubectl apply -k deploy/kubernetes/overlays/s3" in section
    assert "kubectl create secret generic renditiond" in section
    keys = {
        entry["valueFrom"]["secretKeyRef"]["key"]
        for build in builds
        for entry in env(deployment(builds, build)).values()
        if "secretKeyRef" in entry.get("valueFrom", {})
    }
    for key in sorted(keys):
        assert f"`{key}`" in section and f"--from-literal={key}=" in section, f"the Secret's {key}"


def test_the_readme_snippets_build_and_validate(kubernetes_validate: Any, tmp_path: Path) -> None:
    blocks = yaml_blocks(readme_kubernetes_section())
    kinds = [b.get("kind") for b in blocks]
    assert sorted(k for k in kinds if k) == ["HorizontalPodAutoscaler", "Kustomization", "ScaledObject"]
    for block in blocks:
        kind = block.get("kind")
        if kind == "Kustomization":
            # Written as deploy/production/kustomization.yaml.
            home = KUBERNETES.parent / "production"
            (resource,) = block["resources"]
            folder = tmp_path / "production"
            folder.mkdir()
            block["resources"] = [os.path.relpath((home / resource).resolve(), folder)]
            (folder / "kustomization.yaml").write_text(yaml.safe_dump(block))
            documents = kustomize(folder)
            image = container(only(documents, "Deployment"))["image"]
            assert image == "registry.example.com/renditiond:0.1.0"
        elif kind == "HorizontalPodAutoscaler":
            for version in KUBERNETES_VERSIONS:
                kubernetes_validate.validate(block, version, strict=True)
            assert block["spec"]["scaleTargetRef"]["name"] == "renditiond"
            assert block["spec"]["minReplicas"] >= 2
            pods = [m["pods"]["metric"]["name"] for m in block["spec"]["metrics"] if m["type"] == "Pods"]
            assert pods == ["renditiond_render_queue_length"]
        elif kind == "ScaledObject":
            assert block["apiVersion"] == "keda.sh/v1alpha1"
            assert block["spec"]["scaleTargetRef"]["name"] == "renditiond"
            assert block["spec"]["minReplicaCount"] >= 2
            queries = [t["metadata"]["query"] for t in block["spec"]["triggers"] if t["type"] == "prometheus"]
            assert [metric_names(q) for q in queries] == [{"renditiond_render_queue_length"}]
        elif "components" in block:
            # Written in an overlay's kustomization.yaml.
            (component,) = block["components"]
            assert (KUBERNETES / "overlays" / "s3" / component).resolve() == MONITORING
        else:
            (rule,) = block["rules"]["custom"]
            assert rule["name"]["as"] == "renditiond_render_queue_length"
            assert metric_names(rule["seriesQuery"]) == {"renditiond_render_queue_length"}
