"""Warming on save: an image saved with a new file or focal point gets its
``RENDITIOND_WARM_SPECS`` rendered after the save commits."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

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


def warm_saved_image(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    settings = get_settings()
    if raw or not settings.enabled or not settings.warm_specs:
        return
    if update_fields is not None and not RENDITION_FIELDS & set(update_fields):
        return
    from .warming import warm_in_background

    warm_in_background(instance.pk)


def register_signal_handlers() -> None:
    from wagtail.images import get_image_model

    post_save.connect(
        warm_saved_image, sender=get_image_model(), dispatch_uid="wagtail_renditiond_warm_saved_image"
    )
