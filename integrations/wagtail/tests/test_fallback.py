"""When renditiond is down or slow, pages render with Wagtail's own renditions."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.template import Context, Template
from wagtail.images.models import AbstractRendition

from wagtail_renditiond.breaker import breaker

from .conftest import make_image

pytestmark = pytest.mark.django_db(transaction=True)


class Stalling:
    """A server on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.socket.close()


@pytest.fixture
def stalling() -> Iterator[Stalling]:
    server = Stalling()
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_service_falls_back_and_says_so(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.RENDITIOND_URL = f"http://127.0.0.1:{closed_port()}"
    image = make_image("alpha.png")
    rendition = image.get_rendition("width-50")
    assert isinstance(rendition, AbstractRendition)
    assert rendition.url.startswith("/media/images/")
    assert rendition.width == 50
    assert "renditiond is unavailable (POST /v1/plan: ConnectionError)" in caplog.text
    assert breaker.is_open


def test_a_slow_service_costs_one_timeout_per_outage(settings: Any, stalling: Stalling) -> None:
    settings.RENDITIOND_URL = stalling.url
    settings.RENDITIOND_TIMEOUT = 0.5
    image = make_image("alpha.png")
    template = Template(
        "{% load wagtailimages_tags %}"
        + "".join(f"{{% image img width-{w} %}}" for w in (10, 20, 30, 40, 50, 60))
    )
    started = time.monotonic()
    html = template.render(Context({"img": image}))
    elapsed = time.monotonic() - started
    assert html.count('src="/media/images/') == 6
    assert len(stalling.accepted) == 1, "the breaker kept the other tags off the network"
    assert 0.5 <= elapsed < 3, elapsed
