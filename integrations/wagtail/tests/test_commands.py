"""Management commands, through call_command."""

from __future__ import annotations

import json
import subprocess
from io import StringIO
from typing import Any

import pytest
import wagtail
from django.core.management import call_command
from wagtail.images import get_image_model

from wagtail_renditiond.environment import HIDDEN


def env_output(*args: str) -> str:
    out = StringIO()
    call_command("renditiond_env", *args, stdout=out, no_color=True)
    return out.getvalue()


def test_renditiond_env_hides_secrets_unless_asked(settings: Any) -> None:
    lines = env_output().splitlines()
    table = get_image_model()._meta.db_table
    assert lines[0] == f"RENDITIOND_ORIGINALS={settings.MEDIA_ROOT}"
    assert lines[1] == f"RENDITIOND_WAGTAIL_SECRET_KEY='{HIDDEN}'"
    assert lines[2].startswith("RENDITIOND_WAGTAIL_DATABASE_URL=")
    assert lines[3:] == [
        f"RENDITIOND_WAGTAIL_IMAGE_TABLE={table}",
        f"RENDITIOND_API_TOKEN='{HIDDEN}'",
        f"RENDITIOND_WAGTAIL_VERSION={'.'.join(map(str, wagtail.VERSION[:2]))}",
        """RENDITIOND_WAGTAIL_FORMAT_CONVERSIONS='{"gif": "webp"}'""",
        "RENDITIOND_WAGTAIL_JPEG_QUALITY=70",
    ]
    shown = json.loads(env_output("--format", "json", "--show-secrets"))
    assert shown["RENDITIOND_WAGTAIL_SECRET_KEY"] == settings.SECRET_KEY
    assert shown["RENDITIOND_API_TOKEN"] == settings.RENDITIOND_API_TOKEN


def test_renditiond_env_output_is_what_renditiond_takes(renditiond: Any) -> None:
    """The printed variables, given to renditiond as they are, let it serve this site."""
    from django.db import connection

    shown = json.loads(env_output("--format", "json", "--show-secrets"))
    assert shown["RENDITIOND_WAGTAIL_DATABASE_URL"] == renditiond.env[
        "RENDITIOND_WAGTAIL_DATABASE_URL"
    ].replace(connection.settings_dict["NAME"], connection.settings_dict["NAME"])
    for name in ("RENDITIOND_ORIGINALS", "RENDITIOND_WAGTAIL_SECRET_KEY", "RENDITIOND_API_TOKEN"):
        assert shown[name] == renditiond.env[name], name
    check = subprocess.run(
        [renditiond.binary, "serve", "--help"], capture_output=True, text=True, check=True, timeout=30
    )
    for name in shown:
        assert name in check.stdout, name


@pytest.mark.parametrize("fmt", ["env", "json"])
def test_renditiond_env_writes_only_the_environment(fmt: str) -> None:
    out = env_output("--format", fmt)
    if fmt == "json":
        json.loads(out)
    else:
        assert all("=" in line for line in out.splitlines())
