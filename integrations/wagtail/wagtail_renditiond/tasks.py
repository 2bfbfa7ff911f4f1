"""The django-tasks task that warms a saved image (for sites with ``TASKS``)."""

from __future__ import annotations

try:
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django before 6.0: the django-tasks package Wagtail requires
    from django_tasks import task  # type: ignore[import-not-found,no-redef,unused-ignore]


@task()
def warm_image(image_id: int, specs: list[str]) -> None:
    """Warms ``specs`` of image ``image_id``."""
    from .warming import warm_quietly

    warm_quietly(image_id, specs)
