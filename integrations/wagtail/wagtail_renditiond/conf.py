"""The adapter's settings: every ``RENDITIOND_*`` name with its default, read
from ``django.conf.settings`` when first needed (never at import) and again
after a test overrides one of them."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

#: The service's own minimum length of ``RENDITIOND_API_TOKEN``.
MIN_TOKEN_CHARS = 16

#: Every setting the adapter reads, with its default.
DEFAULTS: dict[str, Any] = {
    "RENDITIOND_URL": None,
    "RENDITIOND_API_TOKEN": None,
    "RENDITIOND_PUBLIC_URL": None,
    "RENDITIOND_TIMEOUT": 2.0,
    "RENDITIOND_ENABLED": True,
    "RENDITIOND_COOLDOWN": 30.0,
    "RENDITIOND_WARM_TIMEOUT": 300.0,
    "RENDITIOND_WARM_SPECS": (),
    "RENDITIOND_WARM_FORMATS": (),
}

#: The formats renditiond may negotiate (its ``RENDITIOND_FORMAT_NEGOTIATION``).
NEGOTIABLE = ("avif", "webp")


@dataclass(frozen=True)
class RenditiondSettings:
    """The adapter's settings, parsed."""

    #: Where renditiond answers ``/v1/`` (and ``/images/``), without a trailing slash.
    url: str
    #: The bearer token of ``/v1/``.
    api_token: str
    #: What goes before ``/images/…`` in HTML: the CDN origin, ``""`` for
    #: relative URLs (the ingress routes ``/images/``), by default ``url``.
    public_url: str
    #: Seconds to connect, and again to read an answer, before falling back.
    timeout: float
    #: Whether renditions are offloaded at all.
    enabled: bool
    #: Seconds renditiond is left alone after it failed, before one call tries again.
    cooldown: float
    #: Seconds one ``/v1/warm`` call may take to answer.
    warm_timeout: float
    #: Specs warmed whenever an image is saved with a new file or focal point.
    warm_specs: tuple[str, ...]
    #: Negotiated formats warmed beside each spec's default format.
    warm_formats: tuple[str, ...] = ()


def problems(values: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """Every problem of the settings, as (setting name, what is wrong)."""
    values = values if values is not None else _raw()
    found: list[tuple[str, str]] = []
    if not isinstance(values["RENDITIOND_ENABLED"], bool):
        found.append(("RENDITIOND_ENABLED", "must be True or False"))
    if values["RENDITIOND_ENABLED"] is False:
        return found
    url = values["RENDITIOND_URL"]
    if not _is_http_url(url):
        found.append(("RENDITIOND_URL", "must be an http:// or https:// URL"))
    token = values["RENDITIOND_API_TOKEN"]
    if not isinstance(token, str) or len(token.strip()) < MIN_TOKEN_CHARS:
        found.append(
            ("RENDITIOND_API_TOKEN", f"must be renditiond's token, {MIN_TOKEN_CHARS} characters or more")
        )
    public = values["RENDITIOND_PUBLIC_URL"]
    if public is not None and public != "" and not _is_http_url(public):
        found.append(("RENDITIOND_PUBLIC_URL", 'must be an http:// or https:// URL, or "" for relative URLs'))
    specs = values["RENDITIOND_WARM_SPECS"]
    if (
        isinstance(specs, str)
        or not isinstance(specs, list | tuple)
        or not all(isinstance(x, str) for x in specs)
    ):
        found.append(("RENDITIOND_WARM_SPECS", 'must be a list of filter specs, e.g. ["width-800"]'))
    formats = values["RENDITIOND_WARM_FORMATS"]
    if (
        isinstance(formats, str)
        or not isinstance(formats, list | tuple)
        or not all(x in NEGOTIABLE for x in formats)
    ):
        found.append(
            ("RENDITIOND_WARM_FORMATS", 'must be a list of "avif" and "webp", e.g. ["avif", "webp"]')
        )
    for name in ("RENDITIOND_TIMEOUT", "RENDITIOND_COOLDOWN", "RENDITIOND_WARM_TIMEOUT"):
        if not _is_positive_number(values[name]):
            found.append((name, "must be a positive number of seconds"))
    return found


def unknown_names() -> list[str]:
    """``RENDITIOND_*`` settings the adapter does not know (typos)."""
    return sorted(n for n in dir(django_settings) if n.startswith("RENDITIOND_") and n not in DEFAULTS)


@functools.cache
def get_settings() -> RenditiondSettings:
    """The parsed settings; raises ``ImproperlyConfigured`` naming every bad one."""
    values = _raw()
    found = problems(values)
    if found:
        raise ImproperlyConfigured("; ".join(f"{name} {what}" for name, what in found))
    if not values["RENDITIOND_ENABLED"]:
        return RenditiondSettings("", "", "", 1.0, False, 1.0, 1.0, ())
    url = values["RENDITIOND_URL"].rstrip("/")
    public = values["RENDITIOND_PUBLIC_URL"]
    return RenditiondSettings(
        url=url,
        api_token=values["RENDITIOND_API_TOKEN"].strip(),
        public_url=url if public is None else public.rstrip("/"),
        timeout=float(values["RENDITIOND_TIMEOUT"]),
        enabled=True,
        cooldown=float(values["RENDITIOND_COOLDOWN"]),
        warm_timeout=float(values["RENDITIOND_WARM_TIMEOUT"]),
        warm_specs=tuple(values["RENDITIOND_WARM_SPECS"]),
        warm_formats=tuple(dict.fromkeys(values["RENDITIOND_WARM_FORMATS"])),
    )


@receiver(setting_changed)
def _forget(setting: str, **kwargs: Any) -> None:
    if setting.startswith("RENDITIOND_"):
        get_settings.cache_clear()


def _raw() -> dict[str, Any]:
    return {name: getattr(django_settings, name, default) for name, default in DEFAULTS.items()}


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query and not parts.fragment


def _is_positive_number(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )
