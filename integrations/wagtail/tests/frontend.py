"""A frontend cache backend that records what it is asked to purge."""

from __future__ import annotations

from typing import Any, ClassVar

from wagtail.contrib.frontend_cache.backends.base import BaseBackend


class RecordingBackend(BaseBackend):
    purged: ClassVar[list[str]] = []

    def purge(self, url: Any) -> None:
        RecordingBackend.purged.append(url)
