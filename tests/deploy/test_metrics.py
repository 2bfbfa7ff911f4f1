"""The metrics the alerts and the dashboard read are the ones renditiond
exports: the real binary (RENDITIOND_TEST_BINARY), started with the base
Deployment's own settings, serves them on RENDITIOND_METRICS_LISTEN only,
and stops within the pods' grace period."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from kube import (
    BASE,
    MONITORING,
    ROOT,
    Document,
    dashboard_exprs,
    metric_names,
    missing,
    readme_kubernetes_section,
    rule_exprs,
)

SIGNING_KEY = "deploy-tests-signing-key"
SECRET_LIKE = re.compile(r"KEY|SECRET|TOKEN|DATABASE_URL")


def signed_path(spec: str, key: str) -> str:
    """The README's signing snippet."""
    mac = hmac.new(SIGNING_KEY.encode(), f"{spec}/{key}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return f"/r/{signature}/{quote(spec, safe='')}/{quote(key, safe='/')}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of `GET url`."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return (
                response.status,
                response.headers.get("Content-Type", ""),
                response.read().decode("latin-1"),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode("latin-1")


def base_deployment() -> Document:
    """The base Deployment as written (no kustomize needed)."""
    documents = yaml.safe_load_all((BASE / "deployment.yaml").read_text())
    return next(d for d in documents if d and d["kind"] == "Deployment")


def referenced_metrics() -> dict[str, set[str]]:
    """Metric name -> where the alerts and the dashboard read it."""
    rules = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    dashboard = json.loads((MONITORING / "renditiond-dashboard.json").read_text())
    used: dict[str, set[str]] = {}
    for where, exprs in (("PrometheusRule", rule_exprs(rules)), ("dashboard", dashboard_exprs(dashboard))):
        for expr in exprs:
            for name in metric_names(expr):
                used.setdefault(name, set()).add(where)
    return used


class Service:
    """renditiond started with the base Deployment's literal settings, on
    loopback ports, serving the bundled test images."""

    def __init__(self, binary: str, log: Path) -> None:
        container = base_deployment()["spec"]["template"]["spec"]["containers"][0]
        self.settings = {e["name"]: str(e["value"]) for e in container["env"] if "value" in e}
        self.grace = base_deployment()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        self.main = f"http://127.0.0.1:{free_port()}"
        self.metrics = f"http://127.0.0.1:{free_port()}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("RENDITIOND_", "AWS_"))}
        environment.update(self.settings)
        environment.update(
            RENDITIOND_LISTEN=self.main.removeprefix("http://"),
            RENDITIOND_METRICS_LISTEN=self.metrics.removeprefix("http://"),
            RENDITIOND_ORIGINALS=str(ROOT / "test-images"),
            RENDITIOND_SIGNING_KEYS=SIGNING_KEY,
        )
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen([binary, "serve"], env=environment, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(self.main + "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(f"renditiond did not start:\n{log.read_text()}")

    def stop(self) -> int | None:
        """SIGTERM; the exit status, or None if it outlived the grace period."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    binary = os.environ.get("RENDITIOND_TEST_BINARY")
    if not binary:
        missing("RENDITIOND_TEST_BINARY is not set: scripts/test sets it")
    running = Service(str(binary), tmp_path_factory.mktemp("renditiond") / "renditiond.log")
    yield running
    running.stop()


def test_the_base_settings_keep_secrets_out(service: Service) -> None:
    assert not [name for name in service.settings if SECRET_LIKE.search(name)]
    assert service.settings["RENDITIOND_METRICS_LISTEN"] == "0.0.0.0:9090"


def test_metrics_are_on_their_own_port_and_name_what_the_alerts_read(service: Service) -> None:
    # A render, a cache hit, a missing original.
    rendition = signed_path("fill-300x200|format-webp", "photo-baseline.jpg")
    for _ in range(2):
        status, content_type, _ = get(service.main + rendition)
        assert (status, content_type) == (200, "image/webp")
    assert get(service.main + signed_path("width-100", "missing.jpg"))[0] == 404
    # /metrics is a 404 on the main port, and served on the metrics port.
    assert get(service.main + "/metrics")[0] == 404
    assert get(service.metrics + "/healthz")[0] == 404
    status, content_type, text = get(service.metrics + "/metrics")
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    exported = {
        match.group()
        for line in text.splitlines()
        if not line.startswith("#") and (match := re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line))
    }
    used = referenced_metrics()
    assert len(used) >= 8, sorted(used)
    unknown = {name: sorted(where) for name, where in used.items() if name not in exported}
    assert not unknown, f"read by the alerts or the dashboard, not exported: {unknown}\n{sorted(exported)}"
    # The README's Kubernetes section names metrics (histograms by their
    # family's name) that exist.
    named = set(re.findall(r"\brenditiond_[a-z0-9_]+", readme_kubernetes_section()))
    assert "renditiond_render_queue_length" in named
    absent = sorted(n for n in named if n not in exported and f"{n}_bucket" not in exported)
    assert not absent, f"the README names metrics renditiond does not export: {absent}"
    # One set of metrics: both 404s (main /metrics, metrics /healthz) counted.
    assert 'renditiond_http_requests_total{route="unmatched",status="404"} 2' in text


def test_it_stops_within_the_grace_period(service: Service) -> None:
    started = time.monotonic()
    status = service.stop()
    assert status == 0, f"exit status {status}:\n{service.log.read_text()}"
    delay = float(service.settings["RENDITIOND_SHUTDOWN_DELAY"])
    assert delay <= time.monotonic() - started < service.grace
    for url in (service.main, service.metrics):
        with pytest.raises(OSError):
            get(url + "/healthz")
