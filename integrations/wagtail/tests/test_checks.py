"""System checks: whole messages, as ``manage.py check`` prints them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command

from wagtail_renditiond import checks as checks_module
from wagtail_renditiond import conf, environment
from wagtail_renditiond.checks import differences


def run(deploy: bool = False) -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["renditiond"], include_deployment_checks=deploy)


def test_a_good_configuration_passes() -> None:
    assert run() == []


def test_bad_settings_are_errors_with_hints(settings: Any) -> None:
    settings.RENDITIOND_URL = "renditiond:8080"
    settings.RENDITIOND_API_TOKEN = "short"
    settings.RENDITIOND_TIMEOUT = 0
    settings.RENDITIOND_TIMOUT = 3
    assert run() == [
        checks.Error(
            "RENDITIOND_URL must be an http:// or https:// URL.",
            hint='Set it to where renditiond listens, e.g. RENDITIOND_URL = "http://renditiond:8080".',
            id="wagtailrenditiond.E001",
        ),
        checks.Error(
            "RENDITIOND_API_TOKEN must be renditiond's token, 16 characters or more.",
            hint="Set it to the value of renditiond's RENDITIOND_API_TOKEN.",
            id="wagtailrenditiond.E002",
        ),
        checks.Error(
            "RENDITIOND_TIMEOUT must be a positive number of seconds.",
            hint="Fix the value, or remove the setting to use its default.",
            id="wagtailrenditiond.E003",
        ),
        checks.Warning(
            "RENDITIOND_TIMOUT is not a setting of wagtail-renditiond.",
            hint="Known settings: " + ", ".join(conf.DEFAULTS) + ".",
            id="wagtailrenditiond.W001",
        ),
    ]
    with pytest.raises(Exception, match="RENDITIOND_URL must be"):
        conf.get_settings()


def test_switched_off_needs_nothing(settings: Any) -> None:
    settings.RENDITIOND_ENABLED = False
    del settings.RENDITIOND_URL
    assert run(deploy=True) == []
    assert not conf.get_settings().enabled


def test_deploy_checks_call_the_service(renditiond: Any, settings: Any) -> None:
    assert run(deploy=True) == []
    settings.RENDITIOND_API_TOKEN = "not-the-token-of-the-service"
    (error,) = run(deploy=True)
    assert error.id == "wagtailrenditiond.E005"
    assert error.msg == f"renditiond at {renditiond.url} does not answer (POST /v1/plan: HTTP 401)."


def test_the_deploy_check_names_every_output_setting_that_differs(renditiond: Any, settings: Any) -> None:
    settings.WAGTAILIMAGES_JPEG_QUALITY = 50
    settings.WAGTAILIMAGES_AVIF_QUALITY = 40
    del settings.WAGTAILIMAGES_FORMAT_CONVERSIONS
    assert run(deploy=True) == [
        checks.Error(
            "renditiond renders with WAGTAILIMAGES_FORMAT_CONVERSIONS {'gif': 'webp'}, this site with {}.",
            hint="Run renditiond with RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS='{}' "
            "(manage.py renditiond_env prints them all).",
            id="wagtailrenditiond.E006",
        ),
        checks.Error(
            "renditiond renders with WAGTAILIMAGES_JPEG_QUALITY 70, this site with 50.",
            hint="Run renditiond with RENDITIOND_WAGTAIL_JPEG_QUALITY=50 "
            "(manage.py renditiond_env prints them all).",
            id="wagtailrenditiond.E006",
        ),
        checks.Error(
            "renditiond renders with WAGTAILIMAGES_AVIF_QUALITY its version's default, this site with 40.",
            hint="Run renditiond with RENDITIOND_WAGTAIL_AVIF_QUALITY=40 "
            "(manage.py renditiond_env prints them all).",
            id="wagtailrenditiond.E006",
        ),
    ]


def test_warmed_formats_must_be_negotiated_by_the_service(renditiond: Any, settings: Any) -> None:
    settings.RENDITIOND_WARM_FORMATS = "webp"
    (error,) = run()
    assert error.msg == 'RENDITIOND_WARM_FORMATS must be a list of "avif" and "webp", e.g. ["avif", "webp"].'
    # The test service negotiates both.
    settings.RENDITIOND_WARM_FORMATS = ["avif", "webp"]
    assert run(deploy=True) == []
    service = {"format_negotiation": ["webp"]}
    (found,) = [d for d in differences(service) if d[3] == "RENDITIOND_FORMAT_NEGOTIATION"]
    assert found == (
        "negotiated formats (RENDITIOND_WARM_FORMATS warms)",
        "avif, webp",
        "webp",
        "RENDITIOND_FORMAT_NEGOTIATION",
        "avif,webp",
    )


def test_the_deploy_check_wants_animations_kept_as_willow_keeps_them(monkeypatch: Any) -> None:
    # Without Wand (as here), Willow reads first frames, and so must renditiond.
    assert not environment.keeps_animation()
    assert "RENDITIOND_ANIMATION" not in environment.output_settings()
    (found,) = [d for d in differences({"animation": True}) if d[3] == "RENDITIOND_ANIMATION"]
    assert found == (
        "animated GIFs",
        "first frames of animations",
        "animations kept (Wand)",
        "RENDITIOND_ANIMATION",
        "false",
    )
    # With Wand, Willow keeps them, and renditiond is told to.
    monkeypatch.setattr(environment, "keeps_animation", lambda: True)
    monkeypatch.setattr(checks_module, "keeps_animation", lambda: True)
    assert environment.output_settings()["RENDITIOND_ANIMATION"] == "true"
    (found,) = [d for d in differences({"animation": False}) if d[3] == "RENDITIOND_ANIMATION"]
    kept = ("animations kept (Wand)", "first frames of animations", "RENDITIOND_ANIMATION", "true")
    assert found[1:] == kept
    assert not [d for d in differences({"animation": True}) if d[3] == "RENDITIOND_ANIMATION"]


def test_plain_check_never_calls_the_service(settings: Any) -> None:
    settings.RENDITIOND_URL = "http://127.0.0.1:9"
    call_command("check", "--tag", "renditiond")


@pytest.mark.django_db
def test_the_app_has_no_migrations_to_make() -> None:
    call_command("makemigrations", "wagtailrenditiond", "--check", "--dry-run")
