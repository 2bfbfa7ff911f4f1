"""What saving or deleting an image sets off: warming its
``RENDITIOND_WARM_SPECS`` (a new file or focal point), and purging the URLs
of its earlier version from the CDN through Wagtail's frontend cache."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .conf import get_settings

#: The fields whose change makes new renditions.
RENDITION_FIELDS = {
    "file",
    "file_hash",
    "focal_point_x",
    "focal_point_y",
    "focal_point_width",
    "focal_point_height",
}


def image_saved(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    settings = get_settings()
    if raw or not settings.enabled:
        return
    if update_fields is not None and not RENDITION_FIELDS & set(update_fields):
        return
    from .offload import forget_urls, image_version

    purge(forget_urls(instance.pk, unless_version=image_version(instance)))
    if settings.warm_specs:
        from .warming import warm_in_background

        warm_in_background(instance.pk)


def image_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if get_settings().enabled:
        from .offload import forget_urls

        purge(forget_urls(instance.pk))


def purge(urls: list[str]) -> None:
    """Purges absolute ``urls`` through ``wagtail.contrib.frontend_cache``
    once the transaction commits; nothing without it."""
    urls = [u for u in urls if u.startswith(("http://", "https://"))]
    if not urls or not apps.is_installed("wagtail.contrib.frontend_cache"):
        return
    if not getattr(django_settings, "WAGTAILFRONTENDCACHE", None):
        return
    from wagtail.contrib.frontend_cache.utils import purge_urls_from_cache

    transaction.on_commit(lambda: purge_urls_from_cache(urls))


def register_signal_handlers() -> None:
    from wagtail.images import get_image_model

    model = get_image_model()
    post_save.connect(image_saved, sender=model, dispatch_uid="wagtail_renditiond_image_saved")
    post_delete.connect(image_deleted, sender=model, dispatch_uid="wagtail_renditiond_image_deleted")
