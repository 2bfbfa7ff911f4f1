"""The real renditiond binary beside the real Wagtail test site.

RENDITIOND_TEST_BINARY is the binary (scripts/test sets it); without it the
tests that need the service fail, never skip, under CI=true.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.files.images import ImageFile

from wagtail_renditiond import breaker as breaker_module
from wagtail_renditiond import offload
from wagtail_renditiond.environment import output_settings

ROOT = Path(__file__).resolve().parents[3]
TEST_IMAGES = ROOT / "test-images"


class Renditiond:
    """A running renditiond, serving the test site's database and media."""

    def __init__(self, binary: str, database_url: str, table: str) -> None:
        parts = urlsplit(settings.RENDITIOND_URL)
        self.url = settings.RENDITIOND_URL
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RENDITIOND_")}
        self.env.update(
            RENDITIOND_LISTEN=parts.netloc,
            RENDITIOND_ORIGINALS=settings.MEDIA_ROOT,
            RENDITIOND_WAGTAIL_SECRET_KEY=settings.SECRET_KEY,
            RENDITIOND_WAGTAIL_DATABASE_URL=database_url,
            RENDITIOND_WAGTAIL_IMAGE_TABLE=table,
            RENDITIOND_API_TOKEN=settings.RENDITIOND_API_TOKEN,
            RENDITIOND_SIGNING_KEYS="adapter-tests-signing-key",
            RENDITIOND_FORMAT_NEGOTIATION="avif,webp",
        )
        # The site's Wagtail version and output settings, as renditiond_env gives them.
        self.env.update(output_settings())
        self.binary = binary
        self.log = Path(settings.MEDIA_ROOT).parent / "renditiond.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"renditiond did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def counter(self, route: str) -> int:
        """Requests renditiond answered on ``route`` so far."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        pattern = re.compile(
            rf'^renditiond_http_requests_total\{{route="{route}",status="\d+"\}} (\d+)$', re.M
        )
        return sum(int(n) for n in pattern.findall(text))

    def renders(self) -> int:
        """Renditions renditiond has rendered so far."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        pattern = re.compile(r"^renditiond_render_duration_seconds_count\{[^}]*\} (\d+)$", re.M)
        return sum(int(n) for n in pattern.findall(text))

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
        """Status, headers (any case) and body of ``GET path``."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite://{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def renditiond(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Renditiond]:
    binary = os.environ.get("RENDITIOND_TEST_BINARY")
    if not binary:
        if os.environ.get("CI") == "true":
            pytest.fail("RENDITIOND_TEST_BINARY is not set: run scripts/test")
        pytest.skip("RENDITIOND_TEST_BINARY is not set")
    from wagtail.images import get_image_model

    with django_db_blocker.unblock():
        service = Renditiond(binary, _database_url(), get_image_model()._meta.db_table)
    service.start()
    yield service
    service.stop()


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Every test starts with empty caches and a closed breaker."""
    for alias in settings.CACHES:
        caches[alias].clear()
    breaker_module.breaker.reset()
    offload._warned_operations.clear()
    yield


def make_image(name: str, focal_point: tuple[int, int, int, int] | None = None, title: str = "") -> Any:
    """A saved image of the site's image model, from ``test-images/<name>``."""
    from wagtail.images import get_image_model
    from wagtail.models import Collection

    # Transactional tests flush the tables, the root collection included.
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    path = TEST_IMAGES / name
    with open(path, "rb") as f:
        image = get_image_model()(title=title or path.stem, file=ImageFile(f, name=path.name))
        image._set_image_file_metadata()
        if focal_point is not None:
            x, y, w, h = focal_point
            image.focal_point_x, image.focal_point_y = x, y
            image.focal_point_width, image.focal_point_height = w, h
        image.save()
    return image
