"""Warming: asking renditiond to render an image's specs before anyone
visits, from ``manage.py renditiond_warm`` and after an image is saved."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.db import connection, transaction

from . import client
from .conf import get_settings

logger = logging.getLogger("wagtail_renditiond")

#: How long renditiond may keep an image row before a newer version makes it read it again.
REREAD_SECONDS = 1.1

#: renditiond's bounds on one ``/v1/warm`` call.
MAX_ITEMS = 100
MAX_SPECS = 50


@dataclass
class Tally:
    """What a warming run did, spec by spec."""

    rendered: int = 0
    cached: int = 0
    failed: list[str] = field(default_factory=list)

    def add(self, image_id: int, answer: dict[str, Any]) -> None:
        if "error" in answer:
            self.failed.append(f"image {image_id}: {answer['error']}")
            return
        for rendition in answer.get("renditions", []):
            status = rendition.get("status")
            if status == "rendered":
                self.rendered += 1
            elif status == "cached":
                self.cached += 1
            else:
                self.failed.append(f"image {image_id} {rendition.get('spec')}: {rendition.get('error')}")


def warm_images(images: Iterable[Any], specs: list[str], tally: Tally) -> None:
    """Warms ``specs`` of each image (and their ``RENDITIOND_WARM_FORMATS``),
    in calls within renditiond's bounds; raises
    ``client.RenditiondUnavailable`` when renditiond does not answer."""
    from .offload import image_version

    settings = get_settings()
    extra = {"formats": list(settings.warm_formats)} if settings.warm_formats else {}
    items = [(image.pk, image_version(image)) for image in images]
    for start in range(0, len(specs), MAX_SPECS):
        chunk_specs = specs[start : start + MAX_SPECS]
        for first in range(0, len(items), MAX_ITEMS):
            batch = items[first : first + MAX_ITEMS]
            body = [
                {"image_id": pk, "version": version, "specs": chunk_specs, **extra} for pk, version in batch
            ]
            for (pk, _), answer in zip(batch, client.warm(settings, body), strict=True):
                tally.add(pk, answer)


def warm_in_background(image_id: int) -> None:
    """Warms ``RENDITIOND_WARM_SPECS`` of an image once its save commits:
    as a django-tasks task where the site configures ``TASKS``, else on a
    thread. Never blocks the request, never raises."""
    specs = list(get_settings().warm_specs)
    if not specs:
        return

    def start() -> None:
        if getattr(django_settings, "TASKS", None):
            from .tasks import warm_image

            warm_image.enqueue(image_id, specs)
        else:
            threading.Thread(target=warm_quietly, args=(image_id, specs), daemon=True).start()

    transaction.on_commit(start)


def warm_quietly(image_id: int, specs: list[str]) -> None:
    """Warms and logs, whatever happens. Waits a second first: renditiond
    reads an image's row again at most once a second."""
    from wagtail.images import get_image_model

    time.sleep(REREAD_SECONDS)
    tally = Tally()
    try:
        image = get_image_model().objects.get(pk=image_id)
        warm_images([image], specs, tally)
    except get_image_model().DoesNotExist:
        return
    except client.RenditiondUnavailable as error:
        logger.warning("could not warm image %s: %s", image_id, error)
        return
    finally:
        # This thread's own database connection.
        connection.close()
    for failure in tally.failed:
        logger.warning("could not warm %s", failure)
