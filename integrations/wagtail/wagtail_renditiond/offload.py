"""The use case: an image's renditions, from renditiond where it can make
them, from Wagtail itself where it cannot.

Sizes and URLs come from one ``POST /v1/plan`` per call and are kept in
Django's cache (the ``renditions`` alias, else ``default``) under the image
id, its version (file, file hash, focal point), the filter's focal-point key
and the spec, so a page rendered again makes no request. Whatever renditiond
cannot do falls back to Wagtail's own method, decided here and only here:
the adapter switched off, the breaker open after an outage, an operation the
site registered itself, an image renditiond does not see (yet).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, InvalidCacheBackendError, caches
from wagtail.images.exceptions import InvalidFilterSpecError
from wagtail.images.models import Filter

from . import client
from .breaker import breaker
from .conf import get_settings
from .renditions import RenditiondRendition

logger = logging.getLogger("wagtail_renditiond")

Fallback = Callable[..., dict[str, Any]]


@functools.cache
def native_operations() -> dict[str, type]:
    """The operations renditiond implements: Wagtail's own, by name and class."""
    from wagtail.images import wagtail_hooks

    return dict(wagtail_hooks.register_image_operations())


_warned_operations: set[str] = set()


def image_version(image: Any) -> str:
    """What renditiond compares to know its copy of the image row is current:
    12 hex digits of SHA-256 over the file name, file hash and focal point."""
    focal = (image.focal_point_x, image.focal_point_y, image.focal_point_width, image.focal_point_height)
    focal_text = ",".join(str(v) for v in focal) if None not in focal else ""
    text = f"{image.file.name}\n{image.file_hash or ''}\n{focal_text}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_backend() -> BaseCache:
    """Wagtail's choice: the ``renditions`` cache, else the default one."""
    try:
        return caches["renditions"]
    except InvalidCacheBackendError:
        return caches[DEFAULT_CACHE_ALIAS]


def cache_key(image: Any, version: str, flt: Filter) -> str:
    """The key of a planned rendition (hashed: specs may be long)."""
    text = f"{image.pk}\n{version}\n{flt.get_cache_key(image)}\n{flt.spec}"
    return "renditiond-rendition-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def clean_filters(image: Any, filters: Iterable[Filter | str]) -> list[Filter]:
    """``filters`` as Wagtail cleans them for ``image``, duplicates dropped."""
    cleaned: list[Filter] = []
    for flt in filters:
        if isinstance(flt, str):
            flt = Filter(spec=flt)
        elif not isinstance(flt, Filter):
            raise InvalidFilterSpecError("Unrecognised filter format - string or Filter instance expected")
        # Wagtail 7.1 and later drop ``preserve-svg`` here; 7.0 in its template tags.
        clean = getattr(image, "clean_filter_for_svg", None)
        cleaned.append(clean(flt) if clean else flt)
    return list(dict.fromkeys(cleaned))


def get_renditions(image: Any, filters: Iterable[Filter | str], fallback: Fallback) -> dict[str, Any]:
    """``get_renditions`` with Wagtail's contract: specs cleaned as Wagtail
    cleans them, duplicates dropped, a dict in input order keyed by spec."""
    unique = clean_filters(image, filters)
    settings = get_settings()
    if not settings.enabled or image.pk is None:
        return fallback(*unique)

    offloaded = [f for f in unique if _native(f)]
    found: dict[Filter, RenditiondRendition] = {}
    if offloaded:
        found = {f: r for (_, f), r in _planned([(image, offloaded)]).items()}
    missing = [f for f in unique if f not in found]
    if missing:
        found.update(zip(missing, fallback(*missing).values(), strict=True))
    return {f.spec: found[f] for f in unique}


def prefetch(images: Iterable[Any], filters: Iterable[Filter | str]) -> None:
    """Plans ``filters`` of every image in one call and keeps the answers
    in the cache, so each image's ``get_rendition(s)`` then makes no request
    (``prefetch_renditions()`` on an image queryset)."""
    if not get_settings().enabled:
        return
    specs = list(filters)
    wanted = []
    for image in images:
        if image.pk is None:
            continue
        try:
            native = [f for f in clean_filters(image, specs) if _native(f)]
        except InvalidFilterSpecError:
            # Reported when the page asks for it, as Wagtail does.
            continue
        wanted.append((image, native))
    if wanted:
        _planned(wanted)


def _native(flt: Filter) -> bool:
    """Whether renditiond can make ``flt``: every operation is Wagtail's own
    (raises ``InvalidFilterSpecError`` for a spec Wagtail refuses)."""
    for operation in flt.operations:
        if native_operations().get(operation.method) is not type(operation):
            if operation.method not in _warned_operations:
                _warned_operations.add(operation.method)
                logger.warning(
                    "the filter operation %r is the site's own; Wagtail renders specs that use it",
                    operation.method,
                )
            return False
    return True


def _planned(wanted: list[tuple[Any, list[Filter]]]) -> dict[tuple[Any, Filter], RenditiondRendition]:
    """Renditions of each image's filters from the cache, then from one plan
    call for all of them; a filter renditiond cannot plan is left out."""
    settings = get_settings()
    versions = {image.pk: image_version(image) for image, _ in wanted}
    keys = {
        (image.pk, f): cache_key(image, versions[image.pk], f) for image, filters in wanted for f in filters
    }
    cache = cache_backend()
    cached = cache.get_many(list(keys.values()))
    found: dict[tuple[Any, Filter], RenditiondRendition] = {}
    to_plan: list[tuple[Any, Filter]] = []
    for image, filters in wanted:
        for f in filters:
            hit = cached.get(keys[image.pk, f])
            if hit is None:
                to_plan.append((image, f))
            else:
                found[image.pk, f] = _rendition(image, f, hit)
    if not to_plan or not breaker.allow():
        return found
    items = [{"image_id": image.pk, "spec": f.spec, "version": versions[image.pk]} for image, f in to_plan]
    try:
        answers = client.plan(settings, items)
    except client.RenditiondUnavailable as error:
        breaker.failed(settings.cooldown, str(error))
        return found
    breaker.succeeded()
    additions = {}
    emitted: dict[Any, list[str]] = {}
    for (image, f), answer in zip(to_plan, answers, strict=True):
        planned = _read_answer(image, f, answer, versions[image.pk])
        if planned is not None:
            additions[keys[image.pk, f]] = planned
            rendition = found[image.pk, f] = _rendition(image, f, planned)
            emitted.setdefault(image.pk, []).append(rendition.url)
    if additions:
        cache.set_many(additions)
        for pk, urls in emitted.items():
            remember_urls(pk, versions[pk], urls)
    return found


#: The most URLs remembered per image for purging.
MAX_REMEMBERED_URLS = 500


def urls_key(pk: Any) -> str:
    """The key of the URLs emitted for an image's current version."""
    return f"renditiond-urls-{pk}"


def remember_urls(pk: Any, version: str, urls: list[str]) -> None:
    """Notes URLs emitted for ``version`` of image ``pk``, so that they can
    be purged from the CDN when the image changes."""
    cache = cache_backend()
    known = cache.get(urls_key(pk))
    if not isinstance(known, dict) or known.get("version") != version:
        known = {"version": version, "urls": []}
    merged = list(dict.fromkeys([*known["urls"], *urls]))[-MAX_REMEMBERED_URLS:]
    cache.set(urls_key(pk), {"version": version, "urls": merged}, None)


def forget_urls(pk: Any, unless_version: str | None = None) -> list[str]:
    """The URLs emitted for an image's earlier version (all of them with
    ``unless_version`` None), forgotten now."""
    cache = cache_backend()
    known = cache.get(urls_key(pk))
    if not isinstance(known, dict) or known.get("version") == unless_version:
        return []
    cache.delete(urls_key(pk))
    return [u for u in known.get("urls", []) if isinstance(u, str)]


def _read_answer(
    image: Any, flt: Filter, answer: dict[str, Any], version: str
) -> tuple[float, float, str] | None:
    """(width, height, relative URL) of a plan answer, or None to fall back."""
    width, height, url = answer.get("width"), answer.get("height"), answer.get("url")
    if isinstance(width, int | float) and isinstance(height, int | float) and isinstance(url, str):
        if url.rpartition("/")[2].partition("~")[0] != version:
            # renditiond planned from an older row (it reads a row again at
            # most once a second): right in a moment, not now.
            logger.info("renditiond has not seen image %s as saved yet; Wagtail renders it", image.pk)
            return None
        if answer.get("format") == "svg":
            # Wagtail's SVG renditions have whole sizes as floats (``100.0``).
            return float(int(width)), float(int(height)), url
        return int(width), int(height), url
    error = answer.get("error", "no size")
    if isinstance(error, str) and error.startswith("Invalid filter spec"):
        raise InvalidFilterSpecError(error)
    logger.warning(
        "renditiond cannot plan %r of image %s (%s); Wagtail renders it", flt.spec, image.pk, error
    )
    return None


def _rendition(image: Any, flt: Filter, planned: tuple[float, float, str]) -> RenditiondRendition:
    width, height, url = planned
    return RenditiondRendition(
        image, flt.spec, flt.get_cache_key(image), width, height, get_settings().public_url + url
    )
