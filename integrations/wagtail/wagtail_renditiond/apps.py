from __future__ import annotations

from django.apps import AppConfig


class WagtailRenditiondConfig(AppConfig):
    """Offloads the image model's renditions to renditiond when Django starts."""

    name = "wagtail_renditiond"
    label = "wagtailrenditiond"
    verbose_name = "Wagtail renditiond"

    def ready(self) -> None:
        from wagtail.images import get_image_model
        from wagtail.images.models import ImageQuerySet

        from . import checks  # noqa: F401 - registers the system checks
        from .mixins import install, install_prefetch
        from .signal_handlers import register_signal_handlers

        install(get_image_model())
        install_prefetch(ImageQuerySet)
        register_signal_handlers()
