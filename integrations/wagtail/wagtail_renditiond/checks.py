"""System checks, ids ``wagtailrenditiond.*``. Plain ``manage.py check``
reads settings only; the check that calls renditiond runs under
``manage.py check --deploy``."""

from __future__ import annotations

import json
from typing import Any

from django.core import checks

from . import client, conf
from .environment import QUALITIES, keeps_animation, wagtail_version

TAG = "renditiond"

_IDS = {
    "RENDITIOND_URL": "E001",
    "RENDITIOND_API_TOKEN": "E002",
    "RENDITIOND_PUBLIC_URL": "E001",
    "RENDITIOND_ENABLED": "E003",
    "RENDITIOND_TIMEOUT": "E003",
    "RENDITIOND_COOLDOWN": "E003",
    "RENDITIOND_WARM_TIMEOUT": "E003",
    "RENDITIOND_WARM_SPECS": "E003",
    "RENDITIOND_WARM_FORMATS": "E003",
}

_HINTS = {
    "E001": 'Set it to where renditiond listens, e.g. RENDITIOND_URL = "http://renditiond:8080".',
    "E002": "Set it to the value of renditiond's RENDITIOND_API_TOKEN.",
    "E003": "Fix the value, or remove the setting to use its default.",
}


@checks.register(TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every bad ``RENDITIOND_*`` value, and every name the adapter does not know."""
    messages: list[checks.CheckMessage] = []
    for name, what in conf.problems():
        code = _IDS[name]
        messages.append(checks.Error(f"{name} {what}.", hint=_HINTS[code], id=f"wagtailrenditiond.{code}"))
    for name in conf.unknown_names():
        messages.append(
            checks.Warning(
                f"{name} is not a setting of wagtail-renditiond.",
                hint="Known settings: " + ", ".join(conf.DEFAULTS) + ".",
                id="wagtailrenditiond.W001",
            )
        )
    return messages


@checks.register(TAG)
def check_image_model(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The image model's renditions are offloaded, unless it makes them its own way."""
    from wagtail.images import get_image_model

    from .mixins import RenditiondImageMixin, overriding

    model = get_image_model()
    if getattr(model, "_renditiond_installed", False) or issubclass(model, RenditiondImageMixin):
        return []
    return [
        checks.Warning(
            f"{model._meta.label} defines {' and '.join(overriding(model))} itself, "
            "so its renditions are not offloaded to renditiond.",
            hint="Add wagtail_renditiond.mixins.RenditiondImageMixin first among the model's bases.",
            obj=model,
            id="wagtailrenditiond.W004",
        )
    ]


@checks.register(TAG, deploy=True)
def check_service(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """renditiond answers, and takes the token."""
    if conf.problems():
        return []
    settings = conf.get_settings()
    if not settings.enabled:
        return []
    try:
        client.plan(settings, [])
        service = client.call(settings, "GET", "/v1/config")
    except client.RenditiondUnavailable as error:
        return [
            checks.Error(
                f"renditiond at {settings.url} does not answer ({error}).",
                hint="Check RENDITIOND_URL and RENDITIOND_API_TOKEN against renditiond's "
                "RENDITIOND_API_TOKEN, and that renditiond runs.",
                id="wagtailrenditiond.E005",
            )
        ]
    return [
        checks.Error(
            f"renditiond renders with {name} {theirs}, this site with {ours}.",
            hint=f"Run renditiond with {variable}={value} (manage.py renditiond_env prints them all).",
            id="wagtailrenditiond.E006",
        )
        for name, ours, theirs, variable, value in differences(service)
    ]


def differences(service: Any) -> list[tuple[str, str, str, str, str]]:
    """Each output setting renditiond (its ``/v1/config``) and this site
    disagree on: (setting, ours, theirs, renditiond's variable, its value)."""
    from django.conf import settings

    if not isinstance(service, dict):
        service = {}
    found = []
    version = wagtail_version()
    if service.get("wagtail_version") != version:
        found.append(
            (
                "the defaults of Wagtail",
                version,
                str(service.get("wagtail_version")),
                "RENDITIOND_WAGTAIL_VERSION",
                version,
            )
        )
    ours_conversions = getattr(settings, "WAGTAILIMAGES_FORMAT_CONVERSIONS", None) or {}
    theirs_conversions = service.get("format_conversions") or {}
    if ours_conversions != theirs_conversions:
        found.append(
            (
                "WAGTAILIMAGES_FORMAT_CONVERSIONS",
                repr(ours_conversions),
                repr(theirs_conversions),
                "RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS",
                "'" + json.dumps(ours_conversions, sort_keys=True) + "'",
            )
        )
    animated = keeps_animation()
    if service.get("animation", False) != animated:
        shown = {True: "animations kept (Wand)", False: "first frames of animations"}
        found.append(
            (
                "animated GIFs",
                shown[animated],
                shown[bool(service.get("animation"))],
                "RENDITIOND_ANIMATION",
                str(animated).lower(),
            )
        )
    warmed = conf.get_settings().warm_formats
    negotiated = service.get("format_negotiation") or []
    if not set(warmed) <= set(negotiated):
        found.append(
            (
                "negotiated formats (RENDITIOND_WARM_FORMATS warms)",
                ", ".join(warmed),
                ", ".join(negotiated) or "none",
                "RENDITIOND_FORMAT_NEGOTIATION",
                ",".join(warmed),
            )
        )
    for setting, variable in QUALITIES.items():
        ours = getattr(settings, setting, None)
        key = setting.removeprefix("WAGTAILIMAGES_").lower()
        theirs = service.get(key)
        if ours != theirs:
            shown = "its version's default"
            found.append(
                (
                    setting,
                    shown if ours is None else str(ours),
                    shown if theirs is None else str(theirs),
                    variable,
                    "" if ours is None else str(ours),
                )
            )
    return found
