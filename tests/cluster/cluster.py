"""The whole cluster: its namespaces, SeaweedFS, three renditiond instances
and a fourth in redirect mode, HAProxy, Varnish, the Wagtail site; and what
the scenarios do with it (signed URLs, requests from the client's
namespace, metrics, the load generator)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import client
import rootfs
from client import Response
from netns import Topology
from processes import Process, Supervisor, minimal_env, wait_for
from services import (
    BUCKET,
    ORIGINALS,
    REDIRECT_METRICS_PORT,
    REDIRECT_PORT,
    RENDITIONS,
    HAProxy,
    Renditiond,
    SeaweedFS,
    Varnish,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TEST_IMAGES = ROOT / "test-images"

HOSTS = {"s3": 2, "r1": 11, "r2": 12, "r3": 13, "lb": 20, "cdn": 30, "client": 40}
INSTANCES = ("r1", "r2", "r3")
SIGNING_KEY = "cluster-test-signing-key-0123456789"
WAGTAIL_SECRET_KEY = "cluster-test-wagtail-secret-key"  # noqa: S105 - a test site's
API_TOKEN = "cluster-test-api-token-0123456789"  # noqa: S105 - a test token
SHUTDOWN_DELAY = 2.0
STORAGE_TIMEOUT = 3.0
RENDER_TIMEOUT = 20.0
VERSION_TTL = 2.0
# renditiond's render leases go stale after this long unchanged (a dead holder).
LEASE_STALE_AFTER = 5.0
# The settings every instance runs with, besides the stores and secrets.
# (Renders get 20 s, not 8: two cores are shared by everything here, and
# the slow render of the rolling restart must finish.)
SETTINGS = {
    "RENDITIOND_RENDER_TIMEOUT": str(RENDER_TIMEOUT),
    "RENDITIOND_SHUTDOWN_DELAY": str(SHUTDOWN_DELAY),
    "RENDITIOND_SHUTDOWN_TIMEOUT": "20",
    "RENDITIOND_STORAGE_TIMEOUT": str(STORAGE_TIMEOUT),
    "RENDITIOND_VERSION_TTL": str(VERSION_TTL),
    "RENDITIOND_FORMAT_NEGOTIATION": "avif,webp",
    "RUST_LOG": "info",
}
# Extra settings for every instance, "NAME=value,NAME=value": to break
# something on purpose and see a scenario fail.
OVERRIDES = "RENDITIOND_CLUSTER_ENV"
WAGTAIL_IMAGE = ("photo-baseline.jpg", "420,160,80,60")


def rendition_path(spec: str, key: str, secret: str = SIGNING_KEY) -> str:
    """The README's signing snippet."""
    mac = hmac.new(secret.encode(), f"{spec}/{key}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return f"/r/{signature}/{quote(spec, safe='')}/{quote(key, safe='/')}"


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of an OpenMetrics text: (name, labels, value)."""
    samples = []
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def overrides() -> dict[str, str]:
    text = os.environ.get(OVERRIDES, "").strip()
    return dict(item.split("=", 1) for item in text.split(",") if item) if text else {}


@dataclass
class LoadRun:
    """A steady load generator running in the client's namespace."""

    process: Process
    stop_file: Path
    out: Path

    def stop(self, timeout: float = 60) -> dict[str, Any]:
        self.stop_file.touch()
        if self.process.wait(timeout) is None:
            self.process.stop()
            raise AssertionError(f"the load generator did not stop:\n{self.process.log_tail()}")
        assert self.out.exists(), self.process.log_tail()
        return json.loads(self.out.read_text())


class Cluster:
    def __init__(self, run: Path, binary: Path, python: Path, weed: Path) -> None:
        self.run, self.binary, self.python = run, binary, python
        self.logs = run / "logs"
        self.logs.mkdir(parents=True)
        self.topology = Topology(HOSTS)
        self.supervisor = Supervisor(self.logs)
        self.client = self.topology["client"]
        self.seaweed = SeaweedFS(self.supervisor, self.topology["s3"], run / "s3", weed)
        self.s3 = self.seaweed.s3
        self.haproxy = HAProxy(self.supervisor, self.topology["lb"], run)
        self.varnish = Varnish(self.supervisor, self.topology["cdn"], run)
        self.root = run / "rootfs"
        self.wagtail_dir = run / "wagtail"
        self.instances: dict[str, Renditiond] = {}
        self.redirect: Renditiond | None = None
        self.wagtail_image: dict[str, Any] = {}
        self._loads = 0
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        started = time.monotonic()
        self.topology.create()
        self.seaweed.start()
        wait_for("SeaweedFS's bucket", self._bucket_ready, 60, 0.25, self.seaweed_log)
        self.upload_originals()
        self.wagtail_dir.mkdir(mode=0o755)
        self.wagtail_image = self.wagtail("create", str(TEST_IMAGES / WAGTAIL_IMAGE[0]), WAGTAIL_IMAGE[1])
        (self.wagtail_dir / "site.sqlite3").chmod(0o644)
        rootfs.build(self.root, self.binary)
        env = self.instance_env()
        for name in INSTANCES:
            self.instances[name] = Renditiond(
                name, self.supervisor, self.topology[name], self.root, self.wagtail_dir, env
            )
        self.redirect = Renditiond(
            "redirect",
            self.supervisor,
            self.topology["r1"],
            self.root,
            self.wagtail_dir,
            {
                **env,
                "RENDITIOND_ACTION": "redirect",
                "RENDITIOND_PUBLIC_URL": self.varnish.public_url,
            },
            REDIRECT_PORT,
            REDIRECT_METRICS_PORT,
        )
        for instance in [*self.instances.values(), self.redirect]:
            instance.start()
        self.haproxy.start({n: i.target for n, i in self.instances.items()}, self.redirect.target)
        self.varnish.start(self.topology["lb"].address, self.topology["s3"].address)
        for instance in [*self.instances.values(), self.redirect]:
            self.wait_ready(instance)
            assert instance.identity() == (rootfs.NONROOT, True), (instance.name, instance.identity())
        self.wait_all_up()
        wait_for("Varnish", lambda: self._answers(self.varnish.target, "/healthz"), 30, 0.2)
        self.timings["start"] = time.monotonic() - started

    def teardown(self) -> list[str]:
        problems = self.supervisor.stop_all()
        problems += self.topology.delete()
        return problems

    def instance_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT": self.s3.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": self.s3.key,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret,
            "RENDITIOND_ORIGINALS": f"s3://{BUCKET}/{ORIGINALS}",
            "RENDITIOND_RENDITIONS": f"s3://{BUCKET}/{RENDITIONS}",
            "RENDITIOND_SIGNING_KEYS": SIGNING_KEY,
            "RENDITIOND_WAGTAIL_DATABASE_URL": f"sqlite://{rootfs.WAGTAIL_MOUNT}/site.sqlite3",
            "RENDITIOND_WAGTAIL_SECRET_KEY": WAGTAIL_SECRET_KEY,
            "RENDITIOND_API_TOKEN": API_TOKEN,
            **SETTINGS,
            **overrides(),
        }

    # ------------------------------------------------------------ requests

    def get(
        self, target: str, path: str, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> Response:
        """GET from the client's namespace, on a new connection."""
        return self.client.call(client.fetch, target, path, "GET", headers, timeout, timeout=timeout + 5)

    def get_url(self, url: str, headers: dict[str, str] | None = None) -> Response:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.get(f"{parts.hostname}:{parts.port or 80}", path, headers)

    def _answers(self, target: str, path: str) -> bool:
        try:
            return self.get(target, path, timeout=2).status < 500
        except OSError:
            return False

    def refuses(self, target: str) -> bool:
        """Whether a connection to `target` is refused (nothing listens)."""

        def connect() -> bool:
            host, port = client.split_target(target)
            try:
                socket.create_connection((host, port), timeout=1).close()
            except ConnectionRefusedError:
                return True
            except OSError:
                return False
            return False

        return self.client.call(connect, timeout=5)

    # ------------------------------------------------------------ metrics

    def metrics(self, instance: Renditiond) -> list[tuple[str, dict[str, str], float]]:
        r = self.get(instance.metrics_target, "/metrics", timeout=10)
        assert r.status == 200, (instance.name, r.status)
        return parse_metrics(r.body.decode())

    def metric_sum(
        self, name: str, instances: Iterable[Renditiond] | None = None, **labels: str | tuple[str, ...]
    ) -> float:
        """The sum of a metric's samples over `instances` (default: the three),
        those whose labels match (a value, or one of a tuple of values)."""
        total = 0.0
        for instance in instances if instances is not None else self.instances.values():
            for sample, have, value in self.metrics(instance):
                if sample != name:
                    continue
                if all(have.get(k) in (v if isinstance(v, tuple) else (v,)) for k, v in labels.items()):
                    total += value
        return total

    def by_label(
        self, name: str, label: str, instances: Iterable[Renditiond] | None = None
    ) -> dict[str, float]:
        """A metric's sum over `instances` (default: the three), by one label."""
        out: dict[str, float] = {}
        for instance in instances if instances is not None else self.instances.values():
            for sample, labels, value in self.metrics(instance):
                if sample == name:
                    out[labels.get(label, "")] = out.get(labels.get(label, ""), 0) + value
        return out

    # ------------------------------------------------------------ health

    def wait_ready(self, instance: Renditiond, timeout: float = 60) -> float:
        def ready() -> bool:
            if not instance.alive():
                raise AssertionError(
                    f"{instance.name} exited:\n{instance.process and instance.process.log_tail()}"
                )
            try:
                return self.get(instance.target, "/readyz", timeout=5).status == 200
            except OSError:
                return False

        return wait_for(f"{instance.name} ready", ready, timeout, 0.1)

    def wait_up(self, name: str, timeout: float = 60) -> float:
        """Waits until HAProxy has `name` UP; the time it took."""
        return wait_for(
            f"HAProxy marks {name} UP",
            lambda: self.haproxy.status(name) == "UP",
            timeout,
            0.05,
            lambda: self.haproxy.command("show stat"),
        )

    def haproxy_wait_down(self, name: str, timeout: float = 30) -> float:
        """Waits until HAProxy has `name` DOWN; the time it took."""
        return wait_for(
            f"HAProxy marks {name} DOWN",
            lambda: self.haproxy.status(name).startswith("DOWN"),
            timeout,
            0.05,
            lambda: self.haproxy.command("show stat"),
        )

    def wait_all_up(self, timeout: float = 60) -> None:
        for name in INSTANCES:
            self.wait_up(name, timeout)
        wait_for(
            "HAProxy marks the redirect instance UP",
            lambda: self.haproxy.status("redirect", "redirect") == "UP",
            timeout,
            0.05,
        )

    def restart(self, name: str) -> tuple[float, float]:
        """Starts a stopped instance; (seconds until ready, until HAProxy has it UP)."""
        instance = self.instances[name]
        assert not instance.alive()
        started = time.monotonic()
        instance.start()
        ready = self.wait_ready(instance)
        self.wait_up(name)
        return ready, time.monotonic() - started

    def heal(self) -> None:
        """Every part running and healthy again (after a failed scenario)."""
        for host in HOSTS:
            self.topology.set_link(host, True)
        for name, instance in self.instances.items():
            if not instance.alive():
                self.restart(name)
        if self.redirect is not None and not self.redirect.alive():
            self.redirect.start()
            self.wait_ready(self.redirect)
        self.wait_all_up()

    # ------------------------------------------------------------ load

    def write_json(self, name: str, value: object) -> Path:
        path = self.run / name
        path.write_text(json.dumps(value))
        return path

    def load(self, cached: list[str], cold: list[str], threads: int = 6, cold_every: int = 4) -> LoadRun:
        """Starts the steady load generator on HAProxy."""
        self._loads += 1
        n = self._loads
        stop, out = self.run / f"load-{n}.stop", self.run / f"load-{n}.json"
        argv = [
            str(self.python),
            str(HERE / "client.py"),
            "steady",
            "--target",
            self.haproxy.target,
            "--cached",
            str(self.write_json(f"load-{n}-cached.json", cached)),
            "--cold",
            str(self.write_json(f"load-{n}-cold.json", cold)),
            "--threads",
            str(threads),
            "--cold-every",
            str(cold_every),
            "--stop-file",
            str(stop),
            "--out",
            str(out),
            "--max-seconds",
            "150",
        ]
        process = self.supervisor.start(f"load-{n}", self.client, argv)
        return LoadRun(process, stop, out)

    def burst(self, urls: list[str], copies: int, threads: int = 48) -> dict[str, Any]:
        """Every URL as `copies` simultaneous requests through HAProxy."""
        self._loads += 1
        n = self._loads
        out = self.run / f"burst-{n}.json"
        argv = [
            str(self.python),
            str(HERE / "client.py"),
            "burst",
            "--target",
            self.haproxy.target,
            "--urls",
            str(self.write_json(f"burst-{n}-urls.json", urls)),
            "--copies",
            str(copies),
            "--threads",
            str(threads),
            "--out",
            str(out),
        ]
        process = self.supervisor.start(f"burst-{n}", self.client, argv)
        status = process.wait(240)
        if status is None:
            process.stop()
        assert status == 0 and out.exists(), f"burst failed ({status}):\n{process.log_tail()}"
        return json.loads(out.read_text())

    # ------------------------------------------------------------ the store

    def _bucket_ready(self) -> bool:
        try:
            self.client.call(lambda: self.s3.client().list_objects_v2(Bucket=BUCKET, MaxKeys=1), timeout=10)
        except Exception:  # noqa: BLE001 - any failure means not yet
            return False
        return True

    def seaweed_log(self) -> str:
        return self.seaweed.process.log_tail() if self.seaweed.process else ""

    def put_original(self, key: str, body: bytes) -> None:
        def put() -> None:
            self.s3.client().put_object(Bucket=BUCKET, Key=f"{ORIGINALS}/{key}", Body=body)

        self.client.call(put)

    def keys(self, prefix: str) -> list[str]:
        """Every key of the bucket under `prefix`."""

        def listing() -> list[str]:
            s3 = self.s3.client()
            keys: list[str] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", [])]
            return keys

        return self.client.call(listing)

    def upload_originals(self) -> None:
        uploads = {
            f"{folder}/{name}": (TEST_IMAGES / name).read_bytes()
            for folder, names in ORIGINAL_SETS.items()
            for name in names
        }
        uploads["slow/large.jpg"] = large_jpeg()
        for key, body in uploads.items():
            self.put_original(key, body)

    # ------------------------------------------------------------ Wagtail

    def wagtail(self, *args: str) -> dict[str, Any]:
        """One command of wagtail_site.py, in the client's namespace."""
        env = minimal_env(
            CLUSTER_SECRET_KEY=WAGTAIL_SECRET_KEY,
            CLUSTER_DATABASE=str(self.wagtail_dir / "site.sqlite3"),
            CLUSTER_S3_ENDPOINT=self.s3.endpoint,
            CLUSTER_S3_BUCKET=BUCKET,
            CLUSTER_S3_KEY=self.s3.key,
            CLUSTER_S3_SECRET=self.s3.secret,
            CLUSTER_S3_LOCATION=ORIGINALS,
            CLUSTER_RENDITIOND_URL=f"http://{self.haproxy.target}",
            CLUSTER_PUBLIC_URL=f"http://{self.varnish.target}",
            CLUSTER_API_TOKEN=API_TOKEN,
        )
        argv = self.client.exec_argv([str(self.python), str(HERE / "wagtail_site.py"), *args])
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180, check=False)
        assert result.returncode == 0, f"wagtail_site.py {' '.join(args)}:\n{result.stderr[-4000:]}"
        return json.loads(result.stdout.strip().splitlines()[-1])

    def keep(self, failed: bool) -> Path | None:
        """Removes the run's folder; keeps its logs (returned) after a failure."""
        for folder in ("rootfs", "s3", "varnish"):
            shutil.rmtree(self.run / folder, ignore_errors=True)
        if failed or os.environ.get("RENDITIOND_CLUSTER_KEEP"):
            return self.run
        shutil.rmtree(self.run, ignore_errors=True)
        return None


# Originals uploaded at start, by folder (each scenario has its own).
ORIGINAL_SETS = {
    "burst": ["photo-baseline.jpg", "photo-444.jpg", "alpha.png", "photo.webp"],
    "load": ["photo-baseline.jpg", "photo-progressive.jpg", "grey.jpg", "photo-444.jpg"],
    "outage": ["photo-baseline.jpg", "photo-444.jpg"],
    "cdn": ["photo-baseline.jpg", "photo-444.jpg"],
}


def large_jpeg() -> bytes:
    """A 4000x3000 JPEG, smooth noise (deterministic): a slow AVIF render."""
    import random

    from PIL import Image

    rng = random.Random(7)  # noqa: S311 - pixels, not secrets
    small = Image.frombytes("L", (1000, 750), bytes(rng.getrandbits(8) for _ in range(1000 * 750)))
    out = io.BytesIO()
    small.resize((4000, 3000)).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
