"""``RenditiondImageMixin`` for a site's own image model, and ``install``,
which gives the same two methods to a model that does not have the mixin
(``wagtailimages.Image`` included) without a migration."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Prefetch
from wagtail.images.models import Filter

from . import offload

logger = logging.getLogger("wagtail_renditiond")

METHODS = ("get_rendition", "get_renditions")


class RenditiondImageMixin:
    """Put first among an ``AbstractImage`` subclass's bases: its renditions
    come from renditiond, and from the next class's methods where they cannot."""

    def get_rendition(self, filter: Filter | str) -> Any:
        fallback = super().get_renditions  # type: ignore[misc]
        return _only(offload.get_renditions(self, [filter], fallback))

    def get_renditions(self, *filters: Filter | str) -> dict[str, Any]:
        return offload.get_renditions(self, filters, super().get_renditions)  # type: ignore[misc]


def overriding(model: type) -> list[str]:
    """The rendition methods ``model`` (or a base other than Wagtail's) defines itself."""
    from wagtail.images.models import AbstractImage

    found = []
    for name in METHODS:
        owner = next(c for c in model.__mro__ if name in c.__dict__)
        if owner is not AbstractImage:
            found.append(name)
    return found


def install(model: type) -> bool:
    """Offloads ``model``'s renditions; False (nothing changed) when it has
    the mixin already or overrides a rendition method itself."""
    if getattr(model, "_renditiond_installed", False):
        return True
    if issubclass(model, RenditiondImageMixin) or overriding(model):
        return False
    wagtail_get_renditions = model.get_renditions  # type: ignore[attr-defined]

    def get_rendition(self: Any, filter: Filter | str) -> Any:
        return _only(offload.get_renditions(self, [filter], wagtail_get_renditions.__get__(self)))

    def get_renditions(self: Any, *filters: Filter | str) -> dict[str, Any]:
        return offload.get_renditions(self, filters, wagtail_get_renditions.__get__(self))

    get_rendition.__doc__ = RenditiondImageMixin.get_rendition.__doc__
    model.get_rendition = get_rendition  # type: ignore[attr-defined]
    model.get_renditions = get_renditions  # type: ignore[attr-defined]
    model._renditiond_installed = True  # type: ignore[attr-defined]
    logger.info("renditions of %s are offloaded to renditiond", model._meta.label)  # type: ignore[attr-defined]
    return True


class RenditiondPrefetch(Prefetch):
    """Wagtail's prefetch of an image queryset's rendition rows, which also
    plans its specs with renditiond, all images in one call."""

    def __init__(self, wagtails: Prefetch, filters: tuple[Any, ...]) -> None:
        super().__init__(wagtails.prefetch_through, queryset=wagtails.queryset, to_attr=wagtails.to_attr)
        self.filters = filters


def install_prefetch(queryset_class: type) -> None:
    """Makes ``prefetch_renditions(*filters)`` of ``queryset_class`` (Wagtail's
    ``ImageQuerySet``) plan the filters of every image it fetches in one call."""
    if getattr(queryset_class, "_renditiond_installed", False):
        return
    wagtail_prefetch_renditions = queryset_class.prefetch_renditions  # type: ignore[attr-defined]
    django_prefetch_related_objects = queryset_class._prefetch_related_objects  # type: ignore[attr-defined]

    def prefetch_renditions(self: Any, *filters: Any) -> Any:
        queryset = wagtail_prefetch_renditions(self, *filters)
        if filters:
            queryset._prefetch_related_lookups = tuple(
                RenditiondPrefetch(lookup, filters)
                if isinstance(lookup, Prefetch)
                and not isinstance(lookup, RenditiondPrefetch)
                and lookup.to_attr == "prefetched_renditions"
                else lookup
                for lookup in queryset._prefetch_related_lookups
            )
        return queryset

    def _prefetch_related_objects(self: Any) -> None:
        django_prefetch_related_objects(self)
        for lookup in self._prefetch_related_lookups:
            if isinstance(lookup, RenditiondPrefetch):
                offload.prefetch(self._result_cache, lookup.filters)

    prefetch_renditions.__doc__ = wagtail_prefetch_renditions.__doc__
    queryset_class.prefetch_renditions = prefetch_renditions  # type: ignore[attr-defined]
    queryset_class._prefetch_related_objects = _prefetch_related_objects  # type: ignore[attr-defined]
    queryset_class._renditiond_installed = True  # type: ignore[attr-defined]


def _only(renditions: dict[str, Any]) -> Any:
    (rendition,) = renditions.values()
    return rendition
